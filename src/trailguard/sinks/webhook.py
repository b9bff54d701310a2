"""The `webhook` sink: each alert POSTed as JSON to a URL, signed when a key is configured.

One alert per request: a receiver handles the documented alert JSON (docs/alerts.md) as is,
and a failure names exactly the alert it lost. With `signing_secret`, each request carries
`X-Trailguard-Timestamp` (Unix seconds) and `X-Trailguard-Signature: sha256=<hex>`, the
HMAC-SHA256 of `<timestamp>.<body>` keyed with the secret: the receiver knows the alert came
from trailguard and unchanged, and can reject old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import orjson

from trailguard import aws
from trailguard.alerts import Alert
from trailguard.delivery import SinkError
from trailguard.rules.errors import RuleSyntaxError
from trailguard.secrets import SecretError
from trailguard.sinks import http
from trailguard.sinks.spec import SinkSpec

if TYPE_CHECKING:
    from trailguard.sinks.registry import SinkContext

OPTIONS = ("url", "signing_secret", "headers", "timeout_seconds")

SIGNATURE_HEADER = "X-Trailguard-Signature"
TIMESTAMP_HEADER = "X-Trailguard-Timestamp"
ALERT_ID_HEADER = "X-Trailguard-Alert-Id"
RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "user-agent"})
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
SECRET_LIKE = re.compile(r"auth|token|secret|key|pass|cookie|signature|credential", re.I)
"""Header names that usually carry credentials: refused, since `headers` is plain config."""


def validate(spec: SinkSpec) -> None:
    url_option(spec)
    http.secret_reference_option(spec, "signing_secret", required=False)
    headers_option(spec)
    http.timeout_option(spec)


def build(spec: SinkSpec, context: SinkContext) -> WebhookSink:
    reference = http.secret_reference_option(spec, "signing_secret", required=False)
    return WebhookSink(
        spec.name,
        url_option(spec),
        headers=headers_option(spec),
        timeout=http.timeout_option(spec),
        signing_key=(lambda: context.secrets.resolve(reference)) if reference else None,
        signing_reference=reference,
    )


def url_option(spec: SinkSpec) -> str:
    url: str = spec.option("url")
    problem = http.url_problem(url)
    if problem:
        raise RuleSyntaxError(f"{spec.where}.url", problem)
    return url


def headers_option(spec: SinkSpec) -> dict[str, str]:
    """Static, non-secret headers (a routing key, a tenant id); credentials are refused."""
    value = spec.option("headers", dict, required=False) or {}
    for name, text in value.items():
        where = f"{spec.where}.headers.{name}"
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
            raise RuleSyntaxError(where, "not a valid HTTP header name")
        lowered = name.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith("x-trailguard-"):
            raise RuleSyntaxError(where, "set by trailguard; leave it out")
        if SECRET_LIKE.search(name):
            raise RuleSyntaxError(
                where,
                "looks like a credential, and `headers` is plain configuration: sign requests "
                "with `signing_secret` (a secret reference) instead",
            )
        if not isinstance(text, str) or any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise RuleSyntaxError(where, "expected a string (quote it) without control characters")
    return dict(value)


def signature(key: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` under the UTF-8 key."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookSink:
    def __init__(
        self,
        name: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = http.DEFAULT_TIMEOUT,
        signing_key: Callable[[], str] | None = None,
        signing_reference: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.signing_reference = signing_reference
        self._signing_key = signing_key
        self._clock = clock

    def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        key = self._key(alerts)
        parts: list[http.Part] = [([alert], self._request(alert, key)) for alert in alerts]
        http.send_parts(http.safe_url(self.url), self.url, parts, self.timeout)

    def _request(self, alert: Alert, key: str | None) -> Callable[[], tuple[bytes, dict[str, str]]]:
        def make() -> tuple[bytes, dict[str, str]]:
            body = orjson.dumps(alert)
            headers = {
                **self.headers,
                "Content-Type": "application/json",
                ALERT_ID_HEADER: str(alert.get("alert_id")),
            }
            if key is not None:  # signed when sent, so each retry has a fresh timestamp
                timestamp = str(int(self._clock()))
                headers[TIMESTAMP_HEADER] = timestamp
                headers[SIGNATURE_HEADER] = signature(key, timestamp, body)
            return body, headers

        return make

    def _key(self, alerts: Sequence[Alert]) -> str | None:
        if self._signing_key is None:
            return None
        try:
            key = self._signing_key()
        except SecretError as exc:
            cause = exc.__context__
            transient = cause is not None and aws.is_transient(cause)
            raise SinkError(f"webhook signing key: {exc}", alerts, transient=transient) from None
        if not key:
            raise SinkError(
                f"webhook signing key: {self.signing_reference} is empty; store a long random "
                "value there (and give the receiver the same)",
                alerts,
                transient=False,
            )
        return key
