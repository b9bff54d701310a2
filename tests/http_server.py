"""A real HTTP server for sink tests, scripted per test: what to answer, and what it got.

    with ScriptedServer() as server:                  # 127.0.0.1, a free port
        server.script(Reply(500), Reply(429, headers={"Retry-After": "7"}), Reply(200))
        ... post to server.url ...
        server.requests[0].json()

Replies are used in order; when the script runs out, `server.default` answers (200 "ok").
`Reply(hang=True)` answers nothing until the client gives up (or the server stops);
`Reply(close=True)` closes the connection without an answer. `refused_url()` gives a port
nothing listens on.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_SECONDS = 30.0
"""How long a hanging reply waits at most; stopping the server releases it at once."""


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    close: bool = False


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    """As sent; look up with the exact case, or use `header()`."""
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.default = Reply()
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def always(self, reply: Reply) -> None:
        self.default = reply

    def bodies(self) -> list[Any]:
        return [request.json() for request in self.requests]

    def _next(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._script.pop(0) if self._script else self.default

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = owner._next(Recorded("POST", self.path, dict(self.headers.items()), body))
                if reply.hang:
                    owner._stopping.wait(HANG_SECONDS)
                    self.close_connection = True
                    return
                if reply.close:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows what the tests assert, not an access log."""

        return Handler


@contextmanager
def running() -> Iterator[ScriptedServer]:
    """A started server, stopped on exit: what a test's fixture yields."""
    with ScriptedServer() as server:
        yield server


@contextmanager
def refused_url() -> Iterator[str]:
    """A URL on 127.0.0.1 where nothing listens: the port is bound (so no one else takes
    it) but not listening, so a connection is refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}/hook"
