"""The alert schema (docs/alerts.md): every field, from real records, whatever they lack."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import JSON_VALUES, REPO, SHARED_DATA, editable
from conftest import decoded_items as decoded
from trailguard import aws_lambda
from trailguard.actor import ACTOR_FIELDS
from trailguard.alerts import SCHEMA_VERSION, alert_id, build_alert
from trailguard.engine import default_engine
from trailguard.model import SEVERITY_LABELS, Finding, Place, Severity, SourcedRecord
from trailguard.record import plain
from trailguard.sources import Decoder
from trailguard.tally import InputTally

ALERTS_DOC = REPO / "docs" / "alerts.md"
LOG_FILES = "envelopes/s3/cloudtrail_log_files"
STRATUS_AWSLOGS = "envelopes/cloudwatch_logs/stratus_awslogs"

# The documented schema, in the documented order (docs/alerts.md).
ALERT_KEYS = (
    "schema_version",
    "alert_id",
    "rule_id",
    "severity",
    "title",
    "description",
    "references",
    "tags",
    "runbook",
    "context",
    "event_id",
    "event_time",
    "event_name",
    "event_source",
    "event_type",
    "aws_region",
    "account_id",
    "actor",
    "source_ip",
    "user_agent",
    "error_code",
    "error_message",
    "read_only",
    "resources",
    "source",
)
STRING_OR_NULL = (
    "description",
    "runbook",
    "event_id",
    "event_time",
    "event_name",
    "event_source",
    "event_type",
    "aws_region",
    "account_id",
    "source_ip",
    "user_agent",
    "error_code",
    "error_message",
)
RESOURCE_KEYS = ("type", "arn", "name", "account_id")
SOURCE_KEYS = ("location", "position", "envelope")
HEX_ID = re.compile(r"[0-9a-f]{32}")


# --- real data -----------------------------------------------------------------------------


def catalogue_records(path: Path) -> Iterator[SourcedRecord]:
    """The records an events/*.jsonl catalogue wraps (`event`, or the `raw_json` text)."""
    relative = str(path.relative_to(SHARED_DATA))
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        entry = orjson.loads(text)
        record = orjson.loads(entry["raw_json"]) if "raw_json" in entry else entry.get("event")
        if isinstance(record, dict) and isinstance(record.get("detail"), dict):
            record = record["detail"]  # EventBridge-wrapped fixtures
        if isinstance(record, dict) and ("eventName" in record or "eventType" in record):
            yield SourcedRecord(record, Place(relative, f"line {number}", "catalogue"))


@cache
def real_items() -> tuple[tuple[SourcedRecord, ...], InputTally]:
    """Every record in the shared data: decoded from every file, plus the catalogues' records."""
    tally = InputTally()
    decoder = Decoder(tally)
    items: list[SourcedRecord] = []
    for path in sorted(SHARED_DATA.rglob("*")):
        if path.is_file():
            items += decoder.bytes(path.read_bytes(), Place(str(path.relative_to(SHARED_DATA))))
    for path in sorted((SHARED_DATA / "events").glob("*.jsonl")):
        items += catalogue_records(path)
    return tuple(items), tally


def real_records() -> list[dict[str, Any]]:
    return [item.record for item in real_items()[0]]


def finding(
    item: SourcedRecord, rule_id: str = "test.rule", severity: Severity = Severity.HIGH
) -> Finding:
    return Finding(rule_id, severity, f"{rule_id} fired", item.record, item.place)


def assert_schema(alert: dict[str, Any]) -> None:
    """The documented keys, each of its documented JSON type."""
    assert tuple(alert) == ALERT_KEYS
    assert alert["schema_version"] == SCHEMA_VERSION
    assert HEX_ID.fullmatch(alert["alert_id"])
    assert alert["severity"] in SEVERITY_LABELS
    assert isinstance(alert["rule_id"], str)
    assert alert["rule_id"]
    assert isinstance(alert["title"], str)
    for key in STRING_OR_NULL:
        value = alert[key]
        assert value is None or (isinstance(value, str) and value), (key, value)
    assert alert["read_only"] is None or isinstance(alert["read_only"], bool)
    assert all(isinstance(text, str) for text in alert["references"] + alert["tags"])
    assert tuple(alert["actor"]) == ACTOR_FIELDS
    assert all(v is None or (isinstance(v, str) and v) for v in alert["actor"].values())
    assert isinstance(alert["resources"], list)
    for resource in alert["resources"]:
        assert tuple(resource) == RESOURCE_KEYS
        assert all(v is None or isinstance(v, str) for v in resource.values())
    assert tuple(alert["source"]) == SOURCE_KEYS
    assert all(isinstance(v, str) for v in alert["source"].values())
    assert orjson.loads(orjson.dumps(alert)) == alert


# --- every field from real records ---------------------------------------------------------


def test_every_field_of_a_real_stop_logging_alert() -> None:
    (item,) = decoded(f"{LOG_FILES}/stratus_aws.defense-evasion.cloudtrail-stop.json.gz")
    alert = build_alert(
        Finding(
            "catalog.change",
            Severity.HIGH,
            "StopLogging: high-severity event in the catalogue",
            item.record,
            Place("s3://trail-bucket/AWSLogs/x.json.gz", "Records[0]", "cloudtrail_log_file"),
            description="Logging was stopped.",
            references=("https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/",),
            tags=("defense-evasion",),
        )
    )
    assert alert == {
        "schema_version": 1,
        "alert_id": alert_id("catalog.change", "10163ed2-2253-469d-a5ee-cbc6651f8934", {}),
        "rule_id": "catalog.change",
        "severity": "high",
        "title": "StopLogging: high-severity event in the catalogue",
        "description": "Logging was stopped.",
        "references": ["https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/"],
        "tags": ["defense-evasion"],
        "runbook": None,
        "context": None,
        "event_id": "10163ed2-2253-469d-a5ee-cbc6651f8934",
        "event_time": "2024-07-31T13:06:24Z",
        "event_name": "StopLogging",
        "event_source": "cloudtrail.amazonaws.com",
        "event_type": "AwsApiCall",
        "aws_region": "apiso-centralnorth-2r",
        "account_id": "143434273843",
        "actor": {
            "type": "IAMUser",
            "name": "christophe",
            "arn": "arn:aws:iam::143434273843:user/christophe",
            "account": "143434273843",
            "session": None,
            "role": None,
            "issuer": None,
            "invoked_by": None,
            "access_key_id": "AKIAGGWFBBHBE7D3M9WI",
        },
        "source_ip": "86.245.153.234",
        "user_agent": "stratus-red-team_c97089f1-1ae3-4ecc-b006-f5e8fd0f2571",
        "error_code": None,
        "error_message": None,
        "read_only": False,
        "resources": [
            {
                "type": "AWS::CloudTrail::Trail",
                "arn": None,
                "name": "stratus-red-team-ct-stop-trail-buykxbqejv",
                "account_id": None,
            }
        ],
        "source": {
            "location": "s3://trail-bucket/AWSLogs/x.json.gz",
            "position": "Records[0]",
            "envelope": "cloudtrail_log_file",
        },
    }
    assert_schema(alert)


def test_failed_call_by_a_role_session() -> None:
    item = decoded(f"{LOG_FILES}/stratus_aws.credential-access.ec2-get-password-data.json.gz")[0]
    alert = build_alert(finding(item, "catalog.unlisted_service", Severity.INFO))
    assert alert["severity"] == "info"
    assert alert["event_name"] == "GetPasswordData"
    assert alert["error_code"] == "Client.UnauthorizedOperation"
    assert alert["error_message"].startswith("You are not authorized to perform this operation.")
    assert alert["read_only"] is True
    assert alert["actor"]["type"] == "AssumedRole"
    assert alert["actor"]["name"] == "stratus-red-team-ec2-get-password-data-role"
    assert alert["resources"][0]["type"] == "AWS::EC2::Instance"
    assert alert["source"] == {
        "location": f"{LOG_FILES}/stratus_aws.credential-access.ec2-get-password-data.json.gz",
        "position": "Records[0]",
        "envelope": "cloudtrail_log_file",
    }
    assert_schema(alert)


def test_insight_event_has_nulls_not_errors() -> None:
    """No userIdentity, source IP, agent or request: every such field is null.

    (eventName and eventSource come from insightDetails: see the test below.)
    """
    (item,) = decoded(
        "events/awsdocs_log_files/cloudtrail-event-reference_block1_insight_event.json"
    )
    alert = build_alert(finding(item))
    assert alert["event_type"] == "AwsCloudTrailInsight"
    for key in ("source_ip", "user_agent", "error_code"):
        assert alert[key] is None
    assert set(alert["actor"].values()) == {None}
    assert alert["resources"] == []
    assert alert["read_only"] is None
    assert_schema(alert)


def test_eventbridge_record_without_event_time_or_user_identity() -> None:
    (item,) = decoded(
        "envelopes/eventbridge/event-cloud-trail-bedrock-create-customization-jobs.json"
    )
    assert "eventTime" not in item.record
    assert "eventID" not in item.record
    alert = build_alert(finding(item))
    assert alert["event_time"] is None
    assert alert["event_id"] is None
    assert alert["event_name"] == "CreateModelCustomizationJob"
    assert_schema(alert)


@pytest.mark.parametrize("severity", list(Severity))
def test_severity_labels(severity: Severity) -> None:
    item = decoded(f"{STRATUS_AWSLOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    assert build_alert(finding(item, severity=severity))["severity"] == severity.label


def test_empty_description_is_null() -> None:
    item = decoded(f"{STRATUS_AWSLOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    alert = build_alert(finding(item))
    assert alert["description"] is None
    assert alert["references"] == []
    assert alert["tags"] == []


def test_values_of_the_wrong_type_are_null() -> None:
    item = decoded(f"{STRATUS_AWSLOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    record = editable(item.record)
    record.update(
        eventTime=1722431184,
        eventName=["StopLogging"],
        awsRegion={"name": "eu-west-1"},
        recipientAccountId=143434273843,
        sourceIPAddress="",
        readOnly="false",
        errorCode=False,
    )
    alert = build_alert(Finding("r", Severity.LOW, "t", record, item.place))
    for key in ("event_time", "event_name", "aws_region", "account_id", "source_ip"):
        assert alert[key] is None, key
    assert alert["read_only"] is None
    assert alert["error_code"] is None
    assert_schema(alert)


# --- alert_id ------------------------------------------------------------------------------


def test_alert_id_is_the_same_for_a_redelivered_record() -> None:
    """The same StopLogging event via a CloudWatch Logs subscription and in the S3 log file."""
    engine = default_engine()
    tally = InputTally()
    (via_logs,) = decoded(f"{STRATUS_AWSLOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json")
    (via_s3,) = decoded(f"{LOG_FILES}/stratus_aws.defense-evasion.cloudtrail-stop.json.gz")
    (first,) = [
        build_alert(f) for f in engine.evaluate(via_logs, tally) if f.rule_id == "catalog.change"
    ]
    (second,) = [
        build_alert(f) for f in engine.evaluate(via_s3, tally) if f.rule_id == "catalog.change"
    ]
    assert first["source"] != second["source"]
    assert first["alert_id"] == second["alert_id"] == "8a9a5966c885468b4f97cdf5258da66a"
    assert {k: v for k, v in first.items() if k != "source"} == {
        k: v for k, v in second.items() if k != "source"
    }


def test_alert_id_depends_on_rule_and_event_id_only() -> None:
    item = decoded(f"{STRATUS_AWSLOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json")[0]
    base = build_alert(finding(item, "rule.a", Severity.HIGH))["alert_id"]
    other_place = SourcedRecord(item.record, Place("elsewhere", "line 9", "json_lines"))
    assert build_alert(finding(other_place, "rule.a", Severity.LOW))["alert_id"] == base
    assert build_alert(finding(item, "rule.b"))["alert_id"] != base
    changed = editable(item.record)
    changed["eventID"] = "00000000-0000-0000-0000-000000000000"
    assert build_alert(finding(SourcedRecord(changed, item.place), "rule.a"))["alert_id"] != base
    changed = editable(item.record)
    changed["userAgent"] = "something else"
    assert build_alert(finding(SourcedRecord(changed, item.place), "rule.a"))["alert_id"] == base


def test_alert_id_without_event_id_is_stable_across_copies() -> None:
    """The user guide's StartInstances example has no eventID; its two copies agree."""
    (plain,) = decoded("events/awsdocs_log_files/cloudtrail-log-file-examples_block2_records.json")
    (gzipped,) = decoded(f"{LOG_FILES}/awsdocs_cloudtrail-log-file-examples_block2_records.json.gz")
    assert "eventID" not in plain.record
    first = build_alert(finding(plain))["alert_id"]
    assert build_alert(finding(gzipped))["alert_id"] == first
    reordered = SourcedRecord(dict(reversed(list(plain.record.items()))), plain.place)
    assert build_alert(finding(reordered))["alert_id"] == first
    assert build_alert(finding(plain, "test.other"))["alert_id"] != first
    changed = editable(plain.record)
    changed["eventTime"] = "2014-03-06T21:22:55Z"
    assert build_alert(finding(SourcedRecord(changed, plain.place)))["alert_id"] != first


def test_alert_ids_of_distinct_records_without_event_id_differ() -> None:
    records = [r for r in real_records() if not isinstance(r.get("eventID"), str)]
    assert len(records) >= 10
    ids = {alert_id("r", None, r) for r in records}
    distinct = {orjson.dumps(plain(r), option=orjson.OPT_SORT_KEYS) for r in records}
    assert len(ids) == len(distinct)


@pytest.mark.parametrize("event_id", [None, "", 42, ["x"], {"id": "x"}])
def test_unusable_event_ids_fall_back_to_content(event_id: Any) -> None:
    record = {"eventID": event_id, "eventName": "StopLogging"}
    assert alert_id("r", event_id, record) == alert_id("r", event_id, dict(record))
    assert HEX_ID.fullmatch(alert_id("r", event_id, record))


def test_alert_id_of_content_orjson_cannot_write() -> None:
    """Integers past 64 bits (a Lambda runtime's json parses them) and very deep nesting."""
    deep: Any = []
    for _ in range(400):
        deep = [deep]
    big = {"eventName": "PutMetricData", "requestParameters": {"value": 2**80}}
    nested = {"eventName": "PutMetricData", "requestParameters": {"deep": deep}}
    for record in (big, nested):
        first = alert_id("r", None, record)
        assert HEX_ID.fullmatch(first)
        assert alert_id("r", None, copy.deepcopy(record)) == first
        alert = build_alert(Finding("r", Severity.INFO, "t", record, Place("x")))
        orjson.dumps(alert)
    assert alert_id("r", None, big) != alert_id("r", None, nested)


# --- every real record through the engine --------------------------------------------------


def test_every_real_record_through_the_engine() -> None:
    items, read_tally = real_items()
    assert read_tally.records > 600
    engine = default_engine()
    tally = InputTally()
    alerts = [build_alert(f) for item in items for f in engine.evaluate(item, tally)]
    assert not tally.errors, tally.errors[:3]
    assert len(alerts) > 900
    for alert in alerts:
        assert_schema(alert)
    catalogue = [a for a in alerts if a["rule_id"].startswith("catalog.")]
    by_source = {(a["source"]["location"], a["source"]["position"]) for a in catalogue}
    assert len(by_source) == len(catalogue)  # the catalogue: one finding per record, at most
    # The catalogue whitelists STS, so the federated and web-identity records give no finding.
    assert {a["actor"]["type"] for a in alerts} >= {
        "IAMUser",
        "AssumedRole",
        "Root",
        "AWSService",
        "AWSAccount",
        None,
    }
    assert {a["source"]["envelope"] for a in alerts} >= {
        "cloudwatch_logs",
        "cloudtrail_log_file",
        "eventbridge",
        "catalogue",
    }


def test_every_real_record_with_any_rule() -> None:
    """build_alert does not depend on what the catalogue happens to whitelist."""
    types = set()
    for item in real_items()[0]:
        alert = build_alert(finding(item))
        assert_schema(alert)
        types.add(alert["actor"]["type"])
    assert types >= {"FederatedUser", "WebIdentityUser"}


# --- anything a record may lack or get wrong -----------------------------------------------

DELETE = object()
CHANGES = st.just(DELETE) | JSON_VALUES
READ_FIELDS = (
    "eventID",
    "eventTime",
    "eventName",
    "eventSource",
    "eventType",
    "awsRegion",
    "recipientAccountId",
    "userIdentity",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "readOnly",
    "resources",
    "requestParameters",
)


def paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[Any, ...]]:
    """Every key and index inside a record, to depth 5."""
    if depth > 5 or not isinstance(value, dict | list):
        return
    for key, child in value.items() if isinstance(value, dict) else enumerate(value):
        yield (*prefix, key)
        yield from paths(child, (*prefix, key), depth + 1)


def apply(record: dict[str, Any], path: tuple[Any, ...], change: Any) -> None:
    parent: Any = record
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        if change is DELETE:
            parent.pop(last, None)
        else:
            parent[last] = change
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        if change is DELETE:
            del parent[last]
        else:
            parent[last] = change


@st.composite
def mangled_records(draw: st.DrawFn) -> dict[str, Any]:
    """A real record with fields deleted and values replaced by JSON of any type."""
    record = editable(draw(st.sampled_from(real_records())))
    for key, change in draw(
        st.dictionaries(st.sampled_from(READ_FIELDS), CHANGES, max_size=5)
    ).items():
        apply(record, (key,), change)
    inner = list(paths(record))
    if inner:
        for index, change in draw(
            st.lists(st.tuples(st.integers(0, len(inner) - 1), CHANGES), max_size=6)
        ):
            apply(record, inner[index], change)
    return record


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=mangled_records(), rule_id=st.text(min_size=1, max_size=20))
def test_mangled_real_records_always_give_a_whole_alert(
    record: dict[str, Any], rule_id: str
) -> None:
    alert = build_alert(Finding(rule_id, Severity.MEDIUM, "title", record, Place("p", "line 1")))
    assert_schema(alert)


# --- the documentation ---------------------------------------------------------------------


def test_docs_name_every_field() -> None:
    text = ALERTS_DOC.read_text()
    for key in (*ALERT_KEYS, *ACTOR_FIELDS, *RESOURCE_KEYS, *SOURCE_KEYS):
        assert f"`{key}`" in text, key


def test_docs_example_is_what_the_handler_writes(capsys: pytest.CaptureFixture[str]) -> None:
    """The complete example in docs/alerts.md is real output; regenerate it if this fails."""
    event = json.loads(
        (
            SHARED_DATA / STRATUS_AWSLOGS / "stratus_aws.defense-evasion.cloudtrail-stop.json"
        ).read_text()
    )
    aws_lambda.handler(event, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (written,) = [line for line in lines if line.get("rule_id") == "catalog.change"]
    blocks = re.findall(r"```json\n(.*?)```", ALERTS_DOC.read_text(), re.DOTALL)
    documented = [json.loads(block) for block in blocks if '"alert_id"' in block]
    assert written in documented


def test_insight_event_alert_names_the_api_call_it_is_about():
    """Insight records have no top-level eventName; the alert names the call from insightDetails."""
    path = (
        SHARED_DATA
        / "events/awsdocs_log_files/cloudtrail-event-reference_block1_insight_event.json"
    )
    record = json.loads(path.read_text())
    assert "eventName" not in record
    alert = build_alert(Finding("t.insight", Severity.INFO, "t", record, Place(str(path))))
    assert alert["event_name"] == "CompleteLifecycleAction"
    assert alert["event_source"] == "autoscaling.amazonaws.com"
    assert alert["event_type"] == "AwsCloudTrailInsight"


def test_an_integer_too_large_for_json_encoders_is_quoted_as_text() -> None:
    """msgspec reads integers of any size; the alert must still encode (and deliver)."""
    from trailguard.record import decode_json

    huge = 123456789012345678901234567890
    record = decode_json(
        b'{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventName":"X",'
        b'"eventID":"e-1","requestParameters":{"fromPort":' + str(huge).encode() + b"}}"
    )
    context = {"matched": {"requestParameters.fromPort": [huge, 22, -(1 << 70)]}}
    alert = build_alert(Finding("r", Severity.HIGH, "t", record, Place("x"), context=context))
    assert alert["context"] == {
        "matched": {"requestParameters.fromPort": [str(huge), 22, str(-(1 << 70))]}
    }
    assert orjson.loads(orjson.dumps(alert))["context"] == alert["context"]
