"""The webhook sink against a real local HTTP server: requests, signatures, failures."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from conftest import (
    REPO,
    SHARED_DATA,
    STOP_LOGGING_AWSLOGS,
    Sleeps,
    boto3_client,
    instant_policy,
)
from http_server import Reply, ScriptedServer, refused_url
from sink_alerts import alert, alerts
from trailguard import aws_lambda
from trailguard.config import ConfigError, config_from_data
from trailguard.delivery import DeliveryError, SinkError, deliver
from trailguard.sinks.registry import SinkContext, build_sinks
from trailguard.sinks.webhook import WebhookSink

KEY = "4f1c0e9d8b7a6f5e4d3c2b1a0f9e8d7c"


def sink(url: str, **options) -> WebhookSink:
    return WebhookSink("hook", url, **options)


def documented_verifier():
    """`verify_trailguard_signature` exactly as docs/configuration.md shows it."""
    text = (REPO / "docs" / "configuration.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    [snippet] = [b for b in blocks if "def verify_trailguard_signature" in b]
    scope: dict = {}
    exec(snippet, scope)
    return scope["verify_trailguard_signature"]


# --- requests ------------------------------------------------------------------------------


def test_each_alert_is_one_request_with_the_alert_as_body(server: ScriptedServer):
    batch = alerts(3)
    sink(server.url).send(batch)
    assert server.bodies() == batch
    assert [r.header("X-Trailguard-Alert-Id") for r in server.requests] == [
        a["alert_id"] for a in batch
    ]
    assert {r.header("Content-Type") for r in server.requests} == {"application/json"}
    assert {r.header("X-Trailguard-Signature") for r in server.requests} == {None}


def test_requests_are_signed_over_timestamp_and_body(server: ScriptedServer):
    one = alert()
    sink(server.url, signing_key=lambda: KEY, clock=lambda: 1_767_225_600.7).send([one])
    [request] = server.requests
    assert request.header("X-Trailguard-Timestamp") == "1767225600"
    expected = hmac.new(KEY.encode(), b"1767225600." + request.body, hashlib.sha256).hexdigest()
    assert request.header("X-Trailguard-Signature") == f"sha256={expected}"
    assert json.loads(request.body) == one


def test_the_documented_snippet_verifies_the_signature(server: ScriptedServer):
    verify = documented_verifier()
    sink(server.url, signing_key=lambda: KEY).send([alert()])
    [request] = server.requests
    headers = request.headers  # as received, names and all
    assert verify(KEY, headers, request.body) is True
    assert verify("another key", headers, request.body) is False
    assert verify(KEY, headers, request.body.replace(b"high", b"info")) is False
    stale = {**headers, "X-Trailguard-Timestamp": str(int(time.time()) - 301)}
    assert verify(KEY, stale, request.body) is False  # a replay, and its signature is wrong


def test_static_headers_are_sent(server: ScriptedServer):
    sink(server.url, headers={"X-Tenant": "payments"}).send([alert()])
    assert server.requests[0].header("X-Tenant") == "payments"


# --- failures -------------------------------------------------------------------------------


def test_200_delivers(server: ScriptedServer):
    sleeps = Sleeps()
    result = deliver("hook", sink(server.url).send, alerts(2), instant_policy(sleeps))
    assert (result.delivered, result.failed, result.attempts, sleeps) == (2, [], 1, [])


def test_500_is_retried_then_fails_with_a_delivery_error_naming_the_sink(
    server: ScriptedServer,
):
    server.always(Reply(500, b"internal error"))
    sleeps = Sleeps()
    batch = alerts(2)
    result = deliver("hook", sink(server.url).send, batch, instant_policy(sleeps))
    assert len(server.requests) == 6  # 2 alerts, 3 attempts
    assert result.failed == batch
    assert sleeps == [0.5, 1.0]
    ids = ", ".join(a["alert_id"] for a in batch)
    assert str(DeliveryError([result])) == (
        f"sink 'hook': 2 alert(s) not delivered after 3 attempt(s) ({ids}): 2 of 2 alert(s) "
        f"not delivered to {server.url}: server error (HTTP 500 'internal error'); the "
        "receiver failed, a retry may pass"
    )


def test_only_the_failed_alerts_are_sent_again(server: ScriptedServer):
    server.script(Reply(200), Reply(500, b"boom"), Reply(200))
    batch = alerts(3)
    target = sink(server.url)
    with pytest.raises(SinkError) as caught:
        target.send(batch)
    assert (caught.value.failed, caught.value.transient) == ([batch[1]], True)
    result = deliver("hook", target.send, caught.value.failed, instant_policy(Sleeps()))
    assert result.delivered == 1
    assert [b["alert_id"] for b in server.bodies()] == [a["alert_id"] for a in (*batch, batch[1])]


def test_429_waits_as_long_as_retry_after_says(server: ScriptedServer):
    server.script(Reply(429, b"slow down", {"Retry-After": "7"}))
    sleeps = Sleeps()
    result = deliver("hook", sink(server.url).send, alerts(3), instant_policy(sleeps))
    assert sleeps == [7.0]
    assert (result.delivered, result.attempts) == (3, 2)
    # the 429 stopped the first attempt: the other two alerts waited for the retry
    assert len(server.requests) == 4


def test_a_hanging_server_times_out_and_is_retried(server: ScriptedServer):
    server.script(Reply(hang=True))
    target = sink(server.url, timeout=0.2)
    with pytest.raises(SinkError) as caught:
        target.send([alert()])
    assert caught.value.transient is True
    assert str(caught.value).endswith(f"to {server.url}: no answer within 0.2 s (timed out)")
    result = deliver("hook", target.send, caught.value.failed, instant_policy(Sleeps()))
    assert (result.delivered, result.attempts) == (1, 1)


def test_a_refused_connection_is_transient():
    with refused_url() as url, pytest.raises(SinkError) as caught:
        sink(url).send(alerts(2))
    assert (caught.value.transient, len(caught.value.failed)) == (True, 2)
    assert "connection refused" in str(caught.value)
    assert "(1 request(s) not tried after it)" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (400, "HTTP 400 'nope': the receiver rejected the request; check what it expects"),
        (403, "HTTP 403 'nope': the receiver refused the credentials; check the URL and its"),
        (404, "HTTP 404 'nope': no such endpoint; check the URL"),
    ],
)
def test_client_errors_are_not_retried(server: ScriptedServer, status, says):
    server.always(Reply(status, b"nope"))
    sleeps = Sleeps()
    result = deliver("hook", sink(server.url).send, [alert()], instant_policy(sleeps))
    assert (len(server.requests), result.attempts, sleeps, len(result.failed)) == (1, 1, [], 1)
    assert says in result.errors[0]


def test_an_empty_signing_key_fails_without_sending(server: ScriptedServer):
    target = sink(server.url, signing_key=lambda: "", signing_reference="ssm:/hook/key")
    with pytest.raises(SinkError, match=r"ssm:/hook/key is empty") as caught:
        target.send([alert()])
    assert (caught.value.transient, server.requests) == (False, [])


# --- configuration -------------------------------------------------------------------------


def load(tmp_path, entry):
    return config_from_data({"sinks": [{"type": "webhook", **entry}]}, "trailguard.yaml", tmp_path)


def test_plain_http_to_another_host_is_refused_at_load(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, {"url": "http://hooks.example.com/trailguard"})
    assert str(caught.value) == (
        "trailguard.yaml: sinks[0].url: plain http to hooks.example.com would send alerts "
        "unencrypted; use https:// (http is allowed only to 127.0.0.1, ::1 or localhost, for "
        "local tests)"
    )


def test_https_and_loopback_urls_are_accepted(tmp_path):
    for url in ("https://hooks.example.com/trailguard", "http://127.0.0.1:9/x", "http://[::1]/"):
        [spec] = load(tmp_path, {"url": url, "timeout_seconds": 5}).sinks
        assert (spec.kind, spec.options["url"]) == ("webhook", url)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"url": "https://h.example.com/", "signing_secret": "hunter2"},
            "sinks[0].signing_secret: expected a secret reference: store the value in",
        ),
        ({"url": "https://h.example.com/", "timeout_seconds": 0}, "sinks[0].timeout_seconds: "),
        ({"url": "https://h.example.com/", "timeout_seconds": "5"}, "wrong type str"),
        (
            {"url": "https://h.example.com/", "headers": {"Authorization": "Bearer x"}},
            "sinks[0].headers.Authorization: looks like a credential",
        ),
        (
            {"url": "https://h.example.com/", "headers": {"X-Api-Key": "x"}},
            "sinks[0].headers.X-Api-Key: looks like a credential",
        ),
        (
            {"url": "https://h.example.com/", "headers": {"Content-Type": "text/plain"}},
            "sinks[0].headers.Content-Type: set by trailguard; leave it out",
        ),
        (
            {"url": "https://h.example.com/", "headers": {"X-Tenant": 7}},
            "sinks[0].headers.X-Tenant: expected a string (quote it)",
        ),
        ({"url": "https://h.example.com/", "secret": "x"}, "sinks[0].secret: unknown key"),
        ({}, "sinks[0].url: required for a webhook sink"),
    ],
)
def test_bad_options_are_refused_at_load(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, entry)


def test_the_signing_key_is_read_from_secrets_manager(aws, server: ScriptedServer, tmp_path):
    boto3_client("secretsmanager").create_secret(Name="trailguard/hook-key", SecretString=KEY)
    config = load(
        tmp_path, {"url": server.url, "signing_secret": "secretsmanager:trailguard/hook-key"}
    )
    [routed] = build_sinks(config.sinks, SinkContext())
    routed.sink.send([alert()])
    [request] = server.requests
    timestamp = request.header("X-Trailguard-Timestamp")
    digest = hmac.new(KEY.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.header("X-Trailguard-Signature") == f"sha256={digest.hexdigest()}"


def test_a_missing_signing_secret_fails_delivery_saying_what_to_check(aws, server, tmp_path):
    config = load(tmp_path, {"url": server.url, "signing_secret": "secretsmanager:nope"})
    [routed] = build_sinks(config.sinks, SinkContext())
    with pytest.raises(SinkError) as caught:
        routed.sink.send([alert()])
    assert caught.value.transient is False
    assert str(caught.value).startswith("webhook signing key: cannot read secretsmanager:nope: ")
    assert "check that it exists and that the function's role may read" in str(caught.value)
    assert server.requests == []


# --- the Lambda function --------------------------------------------------------------------


def lambda_with_webhook_down(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, attempts: int
) -> Sleeps:
    """The handler's runtime, built as the handler builds it, delivering to `server`, which
    answers 500; only its retry policy is swapped for one that records its waits."""
    server.always(Reply(500, b"down"))
    path = tmp_path / "trailguard.yaml"
    path.write_text(
        "packs: {catalog: false, cis: false}\n"
        f"sinks: [{{type: webhook, name: oncall, url: '{server.url}'}}]\n"
    )
    monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(path))
    sleeps = Sleeps()
    aws_lambda.runtime().policy = instant_policy(sleeps, attempts=attempts)
    return sleeps


def test_the_handler_fails_after_its_retries_when_the_webhook_stays_down(
    server: ScriptedServer, monkeypatch, tmp_path, capsys
):
    """The issue's "done when": a webhook answering 500 makes the invocation fail, naming
    the sink and the alert, after the policy's attempts. The runtime is built as the
    handler builds it; only its retry policy is swapped for one that does not wait."""
    sleeps = lambda_with_webhook_down(server, monkeypatch, tmp_path, attempts=3)
    with pytest.raises(DeliveryError) as caught:
        aws_lambda.handler(json.loads(STOP_LOGGING_AWSLOGS.read_text()), None)
    capsys.readouterr()
    [sent] = {r.body for r in server.requests}  # the same alert, three times
    alert_id = json.loads(sent)["alert_id"]
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]
    assert str(caught.value) == (
        f"sink 'oncall': 1 alert(s) not delivered after 3 attempt(s) ({alert_id}): 1 of 1 "
        f"alert(s) not delivered to {server.url}: server error (HTTP 500 'down'); the receiver "
        "failed, a retry may pass"
    )
    assert json.loads(sent)["rule_id"] == "threats.cloudtrail_stopped"


class ShortInvocation:
    """A Lambda context whose remaining time runs down with the retry policy's waits."""

    def __init__(self, seconds: float, sleeps: Sleeps) -> None:
        self.seconds = seconds
        self.sleeps = sleeps
        self.function_name = "trailguard"

    def get_remaining_time_in_millis(self) -> int:
        return int((self.seconds - sum(self.sleeps)) * 1000)


def test_the_handler_stops_retrying_when_the_invocation_runs_short(
    server: ScriptedServer, monkeypatch, tmp_path, capsys
):
    """17 s left and a webhook answering 500: waits of 0.5 and 1 s still leave the reserve
    for another attempt, a 2 s wait would not, so the invocation fails loudly after three
    attempts (of five), naming the alert and why it stopped, before Lambda's timeout."""
    sleeps = lambda_with_webhook_down(server, monkeypatch, tmp_path, attempts=5)
    with pytest.raises(DeliveryError) as caught:
        aws_lambda.handler(
            json.loads(STOP_LOGGING_AWSLOGS.read_text()), ShortInvocation(17.0, sleeps)
        )
    capsys.readouterr()
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]
    assert str(caught.value).endswith(
        "the receiver failed, a retry may pass; not retried: 15.5 s were left in the "
        "invocation, too few for a 2.0 s wait and another attempt; AWS retries the batch "
        "(raise the function's timeout if this recurs)"
    )
    assert caught.value.results[0].attempts == 3


class SlowReceiver(ShortInvocation):
    """As ShortInvocation, with each request to `server` taking `seconds_each` as well."""

    def __init__(
        self, seconds: float, sleeps: Sleeps, server: ScriptedServer, seconds_each: float
    ) -> None:
        super().__init__(seconds, sleeps)
        self.server = server
        self.seconds_each = seconds_each

    def get_remaining_time_in_millis(self) -> int:
        spent = self.seconds_each * len(self.server.requests)
        return super().get_remaining_time_in_millis() - int(spent * 1000)


def test_an_sqs_batch_short_of_time_reports_the_messages_it_could_not_deliver(
    server: ScriptedServer, monkeypatch, tmp_path, capsys
):
    """Two SQS messages, a webhook answering 500 after 3 s, 20 s left: the first message
    tries while the reserve allows, the second is not even attempted, and both are reported
    as failed items for SQS to redrive, rather than the invocation timing out."""
    sleeps = lambda_with_webhook_down(server, monkeypatch, tmp_path, attempts=5)
    lines = (SHARED_DATA / "events/stratus_detonations.jsonl").read_text().splitlines()
    record = json.loads(lines[117])["event"]
    assert record["eventName"] == "StopLogging"
    messages = [
        {
            "messageId": f"m{index}",
            "eventSource": "aws:sqs",
            "body": json.dumps({"Records": [{**record, "eventID": f"stop-{index}"}]}),
        }
        for index in range(2)
    ]
    context = SlowReceiver(20.0, sleeps, server, seconds_each=3.0)
    answer = aws_lambda.handler({"Records": messages}, context)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
    assert len(server.requests) == 2  # m0's two attempts (a 1 s wait at 13.5 s left: no)
    assert sleeps == [0.5]
    reasons = {entry["message_id"]: entry["reason"] for entry in logged if "message_id" in entry}
    assert "after 2 attempt(s)" in reasons["m0"]
    assert "not retried: 13.5 s were left in the invocation" in reasons["m0"]
    assert "after 0 attempt(s)" in reasons["m1"]
    assert "not attempted: 13.5 s were left in the invocation" in reasons["m1"]


def test_the_documented_slack_and_webhook_examples_load(tmp_path):
    text = (REPO / "docs" / "configuration.md").read_text()
    start = text.index("\n### Sinks: slack\n")
    end = text.find("\n## ", start)
    blocks = re.findall(r"```yaml\n(.*?)```", text[start : end if end != -1 else None], re.S)
    kinds = [
        [spec.kind for spec in config_from_data(yaml.safe_load(b), "doc", tmp_path).sinks]
        for b in blocks
    ]
    assert kinds == [["slack"], ["webhook"]]
