"""POSTing to webhooks with the standard library, and judging the answer.

Shared by the `slack` and `webhook` sinks. No dependency beyond urllib: the Lambda package
stays small. Redirects are never followed (urllib would replay a POST as a GET and report
success on a page that never saw the alert). Every failure is classified: 2xx delivered;
429, 408, 5xx, timeouts, refused and reset connections may pass if tried again (with the
server's Retry-After); any other answer will not, and the message says what to check.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import math
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from trailguard import __version__
from trailguard.alerts import Alert
from trailguard.delivery import SinkError
from trailguard.rules.errors import RuleSyntaxError
from trailguard.secrets import REFERENCE_FORMS, is_reference
from trailguard.sinks.spec import SinkSpec

USER_AGENT = f"trailguard/{__version__}"
MAX_BODY = 64 * 1024
"""Read at most this much of an answer: enough for any error text, bounded for memory."""
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
LOOPBACK_NAMES = frozenset({"localhost"})
STOP_STATUSES = frozenset({401, 403, 404, 405, 410})
"""Answers about the endpoint, not the alert (as are redirects): the next alert would fail
the same way, so a sink stops sending there for this attempt."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes

    def text(self, limit: int = 200) -> str:
        """The start of the body, as text on one line, for error messages."""
        text = " ".join(self.body[: limit * 4].decode("utf-8", "replace").split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request came to: delivered, or why not and whether a retry may help."""

    ok: bool
    transient: bool = False
    retry_after: float | None = None
    problem: str = ""
    stop: bool = False
    """Sending more to this endpoint now is pointless (throttled, unreachable, refused)."""
    status: int | None = None
    body: str = ""


DELIVERED = Outcome(ok=True)


class TransportError(Exception):
    """No HTTP answer at all: timeout, refused or reset connection, name or TLS failure."""

    def __init__(self, problem: str, *, transient: bool) -> None:
        super().__init__(problem)
        self.problem = problem
        self.transient = transient


class _Opener(urllib.request.OpenerDirector):
    """http(s) only, proxies from the environment, no redirects, no file: or ftp: URLs."""

    def __init__(self) -> None:
        super().__init__()
        for handler in (
            urllib.request.ProxyHandler(),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPSHandler(context=ssl.create_default_context()),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
        ):
            self.add_handler(handler)


_opener: _Opener | None = None


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResponse:
    """POST `body`; any HTTP answer is returned (not raised), the lack of one raises.

    `timeout` bounds the connection and each read, not the whole exchange.
    """
    global _opener
    if _opener is None:
        _opener = _Opener()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"User-Agent": USER_AGENT, **headers},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=timeout) as answer:
            return HttpResponse(answer.status, _lower(answer.headers), answer.read(MAX_BODY))
    except urllib.error.HTTPError as answer:
        try:
            payload = answer.read(MAX_BODY)
        except (OSError, http.client.HTTPException):
            payload = b""
        finally:
            answer.close()
        return HttpResponse(answer.code, _lower(answer.headers), payload)
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise _transport_error(
            reason if isinstance(reason, BaseException) else exc, timeout
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _transport_error(exc, timeout) from None


def send(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Outcome:
    """POST and classify: the one call a sink makes per request."""
    try:
        response = post(url, body, headers, timeout)
    except TransportError as exc:
        return Outcome(ok=False, transient=exc.transient, problem=exc.problem, stop=True)
    return classify(response)


def _lower(headers: Message | None) -> dict[str, str]:
    return {key.lower(): str(value) for key, value in (headers.items() if headers else ())}


def _transport_error(exc: BaseException, timeout: float) -> TransportError:
    if isinstance(exc, TimeoutError):
        return TransportError(f"no answer within {timeout:g} s (timed out)", transient=True)
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(
            "connection refused: nothing listens at that address; check the URL, or the "
            "receiver is down",
            transient=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(
            f"the server's TLS certificate is not valid ({exc.verify_message}); check the "
            "URL's host name",
            transient=False,
        )
    if isinstance(exc, socket.gaierror):
        permanent = exc.errno == socket.EAI_NONAME
        return TransportError(
            f"cannot resolve the host name ({exc.strerror}); check the URL",
            transient=not permanent,
        )
    if isinstance(exc, ConnectionError | http.client.HTTPException):
        return TransportError(
            f"the connection was closed or reset before an answer ({type(exc).__name__})",
            transient=True,
        )
    return TransportError(f"network error: {type(exc).__name__}: {exc}", transient=True)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds: delay-seconds or an HTTP date (RFC 9110); None if unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def classify(response: HttpResponse, now: datetime | None = None) -> Outcome:
    """2xx delivered; 408, 429 and 5xx transient (with Retry-After); other answers not."""
    status = response.status
    if 200 <= status < 300:
        return DELIVERED
    body = response.text()
    said = f"HTTP {status}" + (f" {body!r}" if body else "")
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    if status == 429:
        wait = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
        return Outcome(
            ok=False,
            transient=True,
            retry_after=retry_after,
            problem=f"throttled ({said}){wait}",
            stop=True,
            status=status,
            body=body,
        )
    if status >= 500 or status == 408:
        return Outcome(
            ok=False,
            transient=True,
            retry_after=retry_after,
            problem=f"server error ({said}); the receiver failed, a retry may pass",
            status=status,
            body=body,
        )
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        problem = (
            f"{said}: the URL redirects to {location}; configure the final URL (redirects are "
            "not followed, so a POST is never replayed as a GET)"
        )
    elif status in (401, 403):
        problem = f"{said}: the receiver refused the credentials; check the URL and its secret"
    elif status in (404, 410):
        problem = f"{said}: no such endpoint; check the URL"
    elif status == 413:
        problem = f"{said}: the receiver takes no request this large; raise its body limit"
    else:
        problem = f"{said}: the receiver rejected the request; check what it expects"
    stop = status in STOP_STATUSES or 300 <= status < 400
    return Outcome(ok=False, problem=problem, stop=stop, status=status, body=body)


def url_problem(url: str) -> str | None:
    """Why `url` may not receive alerts, or None: https, or plain http to loopback only."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("https", "http") or not host:
        return "expected an https:// URL"
    if parts.username is not None or parts.password is not None:
        return "credentials do not belong in the URL; keep secrets in a secret reference"
    if parts.scheme == "http" and not is_loopback(host):
        return (
            f"plain http to {host} would send alerts unencrypted; use https:// (http is "
            "allowed only to 127.0.0.1, ::1 or localhost, for local tests)"
        )
    return None


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: str) -> str:
    """The URL without query or fragment, which may carry tokens, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def timeout_problem(value: float) -> str | None:
    if not 0 < value <= MAX_TIMEOUT:
        return f"expected a number of seconds above 0 and at most {MAX_TIMEOUT:g}"
    return None


# --- what the HTTP sinks share: their options, and sending one request per part ----------


def secret_reference_option(spec: SinkSpec, key: str, *, required: bool) -> str | None:
    """A secret option: a reference, never the secret itself (errors name the key)."""
    value: str | None = spec.option(key, str, required=required)
    if value is not None and not is_reference(value):
        hint = " (it looks like the URL itself)" if "://" in value else ""
        raise RuleSyntaxError(
            f"{spec.where}.{key}",
            f"expected a secret reference{hint}: store the value in Secrets Manager or as an "
            f"SSM SecureString and give {REFERENCE_FORMS}",
        )
    return value


def timeout_option(spec: SinkSpec) -> float:
    value = spec.option("timeout_seconds", (int, float), required=False)
    if value is None:
        return DEFAULT_TIMEOUT
    problem = timeout_problem(float(value))
    if problem:
        raise RuleSyntaxError(f"{spec.where}.timeout_seconds", problem)
    return float(value)


Part = tuple[Sequence[Alert], Callable[[], tuple[bytes, dict[str, str]]]]
"""The alerts one request carries, and how to make its body and headers just before sending."""


def send_parts(
    label: str,
    url: str,
    parts: Sequence[Part],
    timeout: float,
    explain: Callable[[Outcome], str] = lambda outcome: outcome.problem,
) -> None:
    """One request per part; raise SinkError naming the alerts of the parts that failed.

    Sending stops at an answer about the endpoint (throttled, unreachable, refused): the
    parts not tried fail with it, so a retry sends them after the wait.
    """
    failed: list[Alert] = []
    problems: list[str] = []
    transient = False
    retry_after: float | None = None
    untried = 0
    for index, (alerts, make) in enumerate(parts):
        body, headers = make()
        outcome = send(url, body, headers, timeout)
        if outcome.ok:
            continue
        failed.extend(alerts)
        problem = explain(outcome)
        if problem not in problems:
            problems.append(problem)
        transient = transient or outcome.transient
        if outcome.retry_after is not None:
            retry_after = max(retry_after or 0.0, outcome.retry_after)
        if outcome.stop:
            rest = parts[index + 1 :]
            untried = len(rest)
            failed.extend(alert for more, _ in rest for alert in more)
            break
    if not failed:
        return
    total = sum(len(alerts) for alerts, _ in parts)
    message = f"{len(failed)} of {total} alert(s) not delivered to {label}: {problems[0]}"
    if len(problems) > 1:
        message += f"; also: {problems[1]}"
    if untried:
        message += f" ({untried} request(s) not tried after it)"
    raise SinkError(message, failed, transient=transient, retry_after=retry_after)
