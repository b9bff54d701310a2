"""A real local HTTP server that answers AWS API calls with responses a test chooses.

For what moto's server cannot be made to say (per-entry failures that are SNS's fault,
throttling of a single finding, an authorization error): boto3 talks to it over HTTP and
parses the answer exactly as it would AWS's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int
    body: str
    content_type: str = "text/xml"
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[str, bytes], Answer]
"""(path, request body) -> the answer."""


@dataclass
class CannedAws:
    url: str
    requests: list[tuple[str, bytes]]


@contextmanager
def canned_aws(respond: Responder) -> Iterator[CannedAws]:
    """Serve on 127.0.0.1 until the block ends; every request is recorded."""
    seen: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append((self.path, body))
            answer = respond(self.path, body)
            data = answer.body.encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: pytest shows what matters."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield CannedAws(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def plain_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for the canned server: no retries of its own, so the test sees each
    answer as trailguard does."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2),
    )
