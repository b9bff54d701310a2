"""Shared test fixtures: real CloudTrail data and helpers to load it."""

from __future__ import annotations

import copy
import functools
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from http_server import ScriptedServer, running
from trailguard.delivery import RetryPolicy
from trailguard.model import Place, SourcedRecord
from trailguard.record import plain
from trailguard.sources import Decoder
from trailguard.tally import InputTally

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / "tests" / "fixtures" / "shared_data"
STOP_LOGGING_AWSLOGS = (
    SHARED_DATA
    / "envelopes/cloudwatch_logs/stratus_awslogs/stratus_aws.defense-evasion.cloudtrail-stop.json"
)
"""A CloudWatch Logs subscription event holding a real StopLogging record."""
"""A copy of ../shared/data (see its PROVENANCE.md)."""


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA


# Property tests run derandomized by default so CI is repeatable; explore with
# `HYPOTHESIS_PROFILE=explore pytest` (random, many more examples) before a release.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def decoded_items(relative: str) -> list[SourcedRecord]:
    """The records of one shared-data file with their places, decoded as the CLI decodes them."""
    tally = InputTally()
    path = SHARED_DATA / relative
    items = list(Decoder(tally).bytes(path.read_bytes(), Place(relative)))
    assert items, f"no records in {relative}"
    assert not tally.errors, tally.errors
    return items


def decoded(relative: str) -> list[dict[str, Any]]:
    """The bare records of one shared-data file."""
    return [item.record for item in decoded_items(relative)]


def edge_case(name: str) -> dict[str, Any]:
    """A record of events/parser_edge_cases.jsonl, by its `name`."""
    for text in (SHARED_DATA / "events" / "parser_edge_cases.jsonl").read_text().splitlines():
        entry = orjson.loads(text)
        if entry["name"] == name:
            record = orjson.loads(entry["raw_json"])
            assert isinstance(record, dict)
            return record
    raise LookupError(name)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any decoded JSON value: what a malformed record may hold in place of a field."""


@pytest.fixture(autouse=True)
def fresh_lambda_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a new Lambda container: the runtime's store remembers alerts (dedup)."""
    from trailguard import aws_lambda

    monkeypatch.setattr(aws_lambda, "_runtime", None)


_event_ids = itertools.count(1)


def editable(record: Any) -> dict[str, Any]:
    """A deep, mutable copy of a record (decoded records are read-only)."""
    return copy.deepcopy(plain(record))


def with_event_id(record: Any) -> Any:
    """The record with a unique eventID if it has none: a distinct event, not a repeat."""
    if isinstance(record, dict) and "eventID" not in record:
        return {**record, "eventID": f"test-event-{next(_event_ids)}"}
    return record


CATALOG_ONLY = REPO / "tests" / "fixtures" / "config" / "catalog_only.yaml"


@pytest.fixture
def catalog_only_lambda(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The Lambda handler configured, through TRAILGUARD_CONFIG, with the catalogue alone."""
    from trailguard import aws_lambda

    monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(CATALOG_ONLY))
    monkeypatch.setattr(aws_lambda, "_runtime", None)
    yield
    aws_lambda._runtime = None


# --- AWS: moto's server over HTTP, reached by boto3 through AWS_ENDPOINT_URL -------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto server on 127.0.0.1 for the whole session; its log is kept for failures."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto server did not start; see {log.name}") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """AWS pointed at a freshly reset moto server; trailguard's cached clients dropped."""
    from trailguard import aws as trailguard_aws

    for key, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    trailguard_aws._default_client.cache_clear()
    yield moto_server
    trailguard_aws._default_client.cache_clear()


def boto3_client(service: str) -> Any:
    """A plain boto3 client, as the tests' own view of AWS (inside the `aws` fixture)."""
    import boto3

    return boto3.client(service, region_name="us-east-1")


# --- Stratus Red Team detonations and predicates, for the threat-rule tests ---------------


@functools.cache
def stratus_lines() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(technique, event) for each line of events/stratus_detonations.jsonl, in file order."""
    path = SHARED_DATA / "events" / "stratus_detonations.jsonl"
    entries = (orjson.loads(text) for text in path.read_text().splitlines())
    return tuple((entry["technique"], entry["event"]) for entry in entries)


def stratus_events(technique: str) -> list[dict[str, Any]]:
    """Fresh copies of the technique's events, in file order (newest first, as captured)."""
    return [copy.deepcopy(event) for name, event in stratus_lines() if name == technique]


def stratus_event(technique: str, event_name: str) -> dict[str, Any]:
    """A fresh copy of the technique's first event of this name (API-version suffix dropped)."""
    from trailguard.rules.names import base_event_name

    for event in stratus_events(technique):
        if base_event_name(event["eventName"]) == event_name:
            return event
    raise LookupError((technique, event_name))


def check_predicate(name: str, record: Any, **args: Any) -> bool:
    """Call a registered predicate directly on a record."""
    from trailguard.rules.context import RecordContext
    from trailguard.rules.predicates import registered

    return registered()[name].function(RecordContext(dict(record)), args)


def sns_envelopes(queue_url: str) -> list[dict[str, Any]]:
    """Every SNS envelope waiting in an SQS queue subscribed to a topic (raw delivery off),
    taken off the queue."""
    sqs = boto3_client("sqs")
    envelopes = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return envelopes
        for message in messages:
            envelopes.append(orjson.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


class Sleeps(list):  # type: ignore[type-arg]
    """An injected sleep that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def instant_policy(sleeps: Sleeps, attempts: int = 3) -> RetryPolicy:
    """A retry policy that records its waits (full, without jitter) instead of sleeping."""
    return RetryPolicy(attempts=attempts, sleep=sleeps, jitter=lambda limit: limit)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A real local HTTP server answering as each test scripts it."""
    with running() as started:
        yield started
