"""The HTTP helper of the slack and webhook sinks, against a real local server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from http_server import Reply, ScriptedServer, refused_url
from trailguard.sinks import http


def test_a_2xx_answer_is_delivered_and_the_request_is_recorded(server: ScriptedServer):
    server.script(Reply(202, b"accepted"))
    response = http.post(server.url, b'{"a": 1}', {"Content-Type": "application/json"}, 2)
    assert (response.status, response.body) == (202, b"accepted")
    assert http.classify(response) == http.DELIVERED
    [request] = server.requests
    assert (request.method, request.path, request.body) == ("POST", "/hook", b'{"a": 1}')
    assert request.header("content-type") == "application/json"
    assert request.header("user-agent") == f"trailguard/{http.__version__}"


def test_error_answers_are_returned_with_their_headers_and_body(server: ScriptedServer):
    server.script(Reply(503, b"down for maintenance", {"Retry-After": "12"}))
    response = http.post(server.url, b"{}", {}, 2)
    assert (response.status, response.body) == (503, b"down for maintenance")
    assert response.headers["retry-after"] == "12"
    outcome = http.classify(response)
    assert (outcome.ok, outcome.transient, outcome.retry_after, outcome.stop) == (
        False,
        True,
        12.0,
        False,
    )
    assert outcome.problem == (
        "server error (HTTP 503 'down for maintenance'); the receiver failed, a retry may pass"
    )


def test_a_redirect_is_not_followed(server: ScriptedServer):
    server.script(Reply(302, b"", {"Location": "https://elsewhere.example.com/hook"}))
    outcome = http.send(server.url, b"{}", {}, 2)
    assert len(server.requests) == 1
    assert (outcome.ok, outcome.transient, outcome.stop) == (False, False, True)
    assert outcome.problem.startswith(
        "HTTP 302: the URL redirects to https://elsewhere.example.com/hook; configure the final"
    )


@pytest.mark.parametrize(
    ("status", "transient", "stop", "says"),
    [
        (429, True, True, "throttled (HTTP 429 'slow down')"),
        (500, True, False, "server error (HTTP 500 'slow down')"),
        (408, True, False, "server error (HTTP 408 'slow down')"),
        (400, False, False, "HTTP 400 'slow down': the receiver rejected the request"),
        (401, False, True, "HTTP 401 'slow down': the receiver refused the credentials"),
        (403, False, True, "HTTP 403 'slow down': the receiver refused the credentials"),
        (404, False, True, "HTTP 404 'slow down': no such endpoint; check the URL"),
        (413, False, False, "HTTP 413 'slow down': the receiver takes no request this large"),
    ],
)
def test_statuses_are_classified(status, transient, stop, says):
    outcome = http.classify(http.HttpResponse(status, {}, b"slow down"))
    assert (outcome.ok, outcome.transient, outcome.stop) == (False, transient, stop)
    assert outcome.problem.startswith(says)


def test_retry_after_in_seconds_or_as_an_http_date():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert http.parse_retry_after("7", now) == 7.0
    assert http.parse_retry_after(" 0 ", now) == 0.0
    assert http.parse_retry_after("Sat, 01 Mar 2025 12:00:45 GMT", now) == 45.0
    assert http.parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now) == 0.0  # past
    assert http.parse_retry_after("soon", now) is None
    assert http.parse_retry_after("-3", now) is None
    assert http.parse_retry_after(None, now) is None


def test_a_429_with_an_http_date_waits_until_then():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    response = http.HttpResponse(429, {"retry-after": "Sat, 01 Mar 2025 12:00:09 GMT"}, b"")
    outcome = http.classify(response, now)
    assert (outcome.transient, outcome.retry_after) == (True, 9.0)
    assert outcome.problem == "throttled (HTTP 429); it asks to wait 9 s"


def test_no_answer_within_the_timeout_is_transient(server: ScriptedServer):
    server.script(Reply(hang=True))
    outcome = http.send(server.url, b"{}", {}, 0.2)
    assert (outcome.ok, outcome.transient, outcome.stop) == (False, True, True)
    assert outcome.problem == "no answer within 0.2 s (timed out)"


def test_a_closed_connection_is_transient(server: ScriptedServer):
    server.script(Reply(close=True))
    outcome = http.send(server.url, b"{}", {}, 2)
    assert (outcome.ok, outcome.transient, outcome.stop) == (False, True, True)
    assert outcome.problem == (
        "the connection was closed or reset before an answer (RemoteDisconnected)"
    )


def test_a_refused_connection_is_transient():
    with refused_url() as url:
        outcome = http.send(url, b"{}", {}, 2)
    assert (outcome.ok, outcome.transient, outcome.stop) == (False, True, True)
    assert outcome.problem.startswith("connection refused: nothing listens at that address")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.com/x", None),
        ("http://127.0.0.1:8080/hook", None),
        ("http://[::1]:8080/hook", None),
        ("http://localhost/hook", None),
        ("http://127.0.0.2/hook", None),
        (
            "http://hooks.example.com/x",
            "plain http to hooks.example.com would send alerts unencrypted; use https:// "
            "(http is allowed only to 127.0.0.1, ::1 or localhost, for local tests)",
        ),
        ("http://10.0.0.1/x", "plain http to 10.0.0.1 would send alerts unencrypted; use"),
        ("ftp://hooks.example.com/x", "expected an https:// URL"),
        ("hooks.example.com/x", "expected an https:// URL"),
        (
            "https://me:pw@hooks.example.com/x",
            "credentials do not belong in the URL; keep secrets in a secret reference",
        ),
        ("https://hooks.example.com:port/x", "not a valid URL ("),
    ],
)
def test_urls_must_be_https_or_loopback(url, problem):
    found = http.url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)


def test_safe_url_drops_the_query():
    assert http.safe_url("https://h.example.com/a/b?token=s3cret#x") == "https://h.example.com/a/b"
