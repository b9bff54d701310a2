"""The seed's defects, one test each, each able to fail against the seed's behaviour.

Every test quotes the seed (tests/fixtures/seed/) and asserts the exact outcome trailguard
gives instead. Where it helps to show that the input really exercises the defect, the test
also runs a line-for-line Python transcription of the seed's Go (`seed_*` below) on the same
input and asserts that the seed got it wrong. docs/catalogue.md explains each defect.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from trailguard import aws_lambda
from trailguard.model import Place, Record
from trailguard.rules import default_catalog
from trailguard.rules.catalog import RULE_CHANGE, RULE_DELETION, RULE_UNLISTED_SERVICE

TESTS = Path(__file__).resolve().parent
SEED_TEXT = (TESTS / "fixtures" / "seed" / "000_55590a9cd18c7130.txt").read_text(encoding="utf-8")
ENVELOPES = TESTS / "fixtures" / "shared_data" / "envelopes"
LOG_FILES = ENVELOPES / "s3" / "cloudtrail_log_files"
SHARED_CWL = ENVELOPES / "cloudwatch_logs"
PLACE = Place("tests/test_catalog_seed_defects.py")

# --- the seed, transcribed (its data parsed from the article) -------------------------------


def _go_map_body(declaration: str) -> str:
    match = re.search(rf"^\t{re.escape(declaration)} = map\[\w+\][\w.]+\{{\n", SEED_TEXT, re.M)
    assert match is not None, declaration
    return SEED_TEXT[match.end() : SEED_TEXT.index("\n\t}", match.end())]


_CONSTANTS = dict(re.findall(r'^\t(service\w+)\s+AWSService = "([^"]+)"$', SEED_TEXT, re.M))
SEED_KNOWN_SERVICES = {
    _CONSTANTS[c] for c in re.findall(r"(service\w+):", _go_map_body("KnownServices"))
}
SEED_WHITELISTED_SERVICES = {
    _CONSTANTS[c] for c in re.findall(r"(service\w+):", _go_map_body("WhiteListedServices"))
}
SEED_WHITELISTED_EVENTS = set(re.findall(r'"(\w+)":', _go_map_body("WhiteListedEvents")))
SEED_EVENTS = dict(re.findall(r'"(\w+)":\s+logger\.(\w+),', _go_map_body("EventSeverities")))
_REGEX = re.search(r"deleteResource\s+=\s+regexp\.MustCompile\(`([^`]+)`\)", SEED_TEXT)
assert _REGEX is not None
SEED_DELETE_RESOURCE = re.compile(_REGEX.group(1))
"""The seed's deletion regex, taken verbatim from logHandler.go (RE2 and Python agree on it)."""

SEED_EVENT_NAMES = {
    "Info": "low_severity_aws_event_happened",
    "Warning": "medium_severity_aws_event_happened",
    "Fatal": "high_severity_aws_event_happened",
}


def seed_process_cloudtrail_event(record: Record) -> tuple[str, str]:
    """processCloudTrailEvent: (Event, LogLevel) as the seed logs them; "" is Go's zero value."""
    source = record.get("eventSource", "")
    name = record.get("eventName", "")
    if source in SEED_WHITELISTED_SERVICES or name in SEED_WHITELISTED_EVENTS:
        return ("aws_resource_white_listed", "Info")
    if SEED_DELETE_RESOURCE.search(name):  # deleteResource.FindString(...) != ""
        return ("an_aws_resource_was_deleted", "Fatal")
    if source not in SEED_KNOWN_SERVICES:
        return ("aws_resource_not_listed", "Info")
    level = SEED_EVENTS.get(name, "")  # EventSeverities[name]: missing -> zero value
    return (SEED_EVENT_NAMES.get(level, ""), level)  # the switch has no default case


def seed_process_log_message(messages: list[str]) -> tuple[list[str], str | None]:
    """processLogMessage: the names of the records it logs, and the error it returns."""
    logged: list[str] = []
    for message in messages:
        try:
            record = json.loads(message)
        except ValueError as exc:
            return logged, f"unexpected end of JSON input ({exc})"  # `return err`
        event, _ = seed_process_cloudtrail_event(record)
        if event == "aws_resource_white_listed":
            return logged, None  # `return nil`: the rest of the batch is never looked at
        logged.append(record["eventName"])
    return logged, None


# --- real records and a CloudWatch Logs subscription payload ---------------------------------


@cache
def _log_file(name: str) -> list[Record]:
    with gzip.open(LOG_FILES / f"{name}.json.gz", "rt", encoding="utf-8") as handle:
        records: list[Record] = json.load(handle)["Records"]
    return records


def real_record(log_file: str, event_name: str, **changes: Any) -> Record:
    """A copy of the first record named `event_name` in a real log file, fields changed."""
    for record in _log_file(log_file):
        if record.get("eventName") == event_name:
            return {**copy.deepcopy(record), **changes}
    raise LookupError(f"{event_name} not in {log_file}")


def awslogs_event(messages: list[str]) -> dict[str, Any]:
    """What a CloudWatch Logs subscription (the seed's trigger) delivers to the function."""
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": "751353041310",
        "logGroup": "CloudTrailLogs",
        "logStream": "751353041310_CloudTrail_us-east-1",
        "subscriptionFilters": ["logs-subscription-filer"],
        "logEvents": [
            {
                "id": str(36000000000000000000000000000000000000000000000000000000 + index),
                "timestamp": 1722375070000 + index,
                "message": message,
            }
            for index, message in enumerate(messages)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode("ascii")
    return {"awslogs": {"data": data}}


def run_handler(
    messages: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Invoke the Lambda handler; return its summary, the alert lines and the input lines."""
    summary = aws_lambda.handler(awslogs_event(messages), None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    lines = [line for line in lines if "_aws" not in line]  # leave out the EMF metric lines
    assert lines[-1] == summary  # the summary is logged last (before the metrics)
    alerts = [line for line in lines if "rule_id" in line]
    problems = [line for line in lines if line.get("log_type") == "trailguard.input"]
    assert len(alerts) + len(problems) + 1 == len(lines)
    return summary, alerts, problems


STOP_LOGGING = "stratus_aws.defense-evasion.cloudtrail-stop"
DELETE_TRAIL = "stratus_aws.defense-evasion.cloudtrail-delete"
GET_PASSWORD_DATA = "stratus_aws.credential-access.ec2-get-password-data"
CREATE_ADMIN_USER = "stratus_aws.persistence.iam-create-admin-user"
CONSOLE_LOGIN_DOCS = "awsdocs_cloudtrail-event-reference-aws-console-sign-in-events_block0_records"
CONSOLE_LOGIN_STRATUS = "stratus_aws.initial-access.console-login-without-mfa"


def _outcome(record: Record) -> tuple[str, str] | None:
    findings = default_catalog().evaluate(record, PLACE)
    assert len(findings) <= 1
    return (findings[0].rule_id, findings[0].severity.label) if findings else None


# --- the defects ----------------------------------------------------------------------------


@pytest.mark.usefixtures("catalog_only_lambda")
def test_whitelisted_record_skips_only_itself(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed stops at the first whitelisted record and drops the rest of the batch
    (processLogMessage, main.go):

        if eventInfo.Event == severities.WhiteListedEvent { // this to avoid logging whitel...
            return nil
        }

    `return nil` leaves processLogMessage, so every record after an sts or kms call in the
    same batch is never classified, and nothing says so: the invocation succeeds.
    """
    batch = [
        real_record(STOP_LOGGING, "StopLogging"),
        real_record(GET_PASSWORD_DATA, "AssumeRole"),  # sts: whitelisted by source
        real_record(DELETE_TRAIL, "DeleteTrail"),
        real_record(
            DELETE_TRAIL,
            "DeleteTrail",
            eventName="DeleteNetworkInterface",
            eventSource="ec2.amazonaws.com",
        ),  # whitelisted by name
        real_record(CREATE_ADMIN_USER, "CreateAccessKey"),
        real_record(CREATE_ADMIN_USER, "CreateUser"),
    ]
    messages = [json.dumps(record) for record in batch]

    assert seed_process_log_message(messages) == (["StopLogging"], None)

    summary, alerts, problems = run_handler(messages, capsys)
    assert [(a["event_name"], a["rule_id"], a["severity"]) for a in alerts] == [
        ("StopLogging", RULE_CHANGE, "high"),
        ("DeleteTrail", RULE_DELETION, "high"),
        ("CreateAccessKey", RULE_CHANGE, "high"),
        ("CreateUser", RULE_CHANGE, "low"),
    ]
    assert [a["source"]["position"] for a in alerts] == [
        "awslogs.data logEvents[0]",
        "awslogs.data logEvents[2]",
        "awslogs.data logEvents[4]",
        "awslogs.data logEvents[5]",
    ]
    assert problems == []
    assert summary["trigger"] == "cloudwatch_logs"
    assert summary["records"] == 6
    assert summary["alerts"] == 4
    assert summary["skipped"] == 0
    assert summary["invalid"] == 0


@pytest.mark.usefixtures("catalog_only_lambda")
def test_unparsable_record_is_reported_and_skipped_and_the_batch_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The seed gives up on the whole batch at the first record it cannot parse:

        eventInfo, err := logHandler.LoadEvents(logEvent.Message)
        if err != nil {
            defaultLogger.Warning(ctx, "event_not_found", ...)
            return err
        }

    Returning the error fails the invocation. Lambda retries the (asynchronous) invocation
    with the same batch, which fails the same way, then discards it unless a failure
    destination is configured; the good records after the bad one are never classified.
    """
    good = [
        real_record(STOP_LOGGING, "StopLogging"),
        real_record(CREATE_ADMIN_USER, "CreateUser"),
        real_record(DELETE_TRAIL, "DeleteTrail"),
    ]
    whole = json.dumps(real_record(CREATE_ADMIN_USER, "AttachUserPolicy"))
    truncated = whole[: len(whole) // 2]  # invalid JSON, as in the shared truncated examples
    messages = [json.dumps(good[0]), truncated, json.dumps(good[1]), json.dumps(good[2])]

    logged, error = seed_process_log_message(messages)
    assert logged == ["StopLogging"]
    assert error is not None

    summary, alerts, problems = run_handler(messages, capsys)  # returns; does not raise
    assert [(a["event_name"], a["severity"]) for a in alerts] == [
        ("StopLogging", "high"),
        ("CreateUser", "low"),
        ("DeleteTrail", "high"),
    ]
    assert len(problems) == 1
    problem = problems[0]
    assert problem["kind"] == "invalid"
    assert problem["level"] == "WARNING"
    assert problem["reason"] == "log message is not valid JSON (truncated?)"
    assert problem["position"] == "awslogs.data logEvents[1]"
    assert problem["envelope"] == "cloudwatch_logs"
    assert summary["records"] == 3
    assert summary["alerts"] == 3
    assert summary["invalid"] == 1
    assert summary["invalid_by_reason"] == {"log message is not valid JSON (truncated?)": 1}
    assert summary["skipped"] == 0

    # A payload of nothing but truncated messages (AWS documentation example) does not fail.
    payload = SHARED_CWL / "awsdocs_truncated_messages_example1.json"
    summary = aws_lambda.handler(json.loads(payload.read_text(encoding="utf-8")), None)
    assert (summary["records"], summary["alerts"], summary["invalid"]) == (0, 0, 3)


def test_known_service_event_not_in_catalogue_gets_low() -> None:
    """The seed logs an empty severity for a known service's event it does not list:

        eventInfo := &EventInfo{
            LogLevel:  EventSeverities[cloudTrailEvent.EventName],
            ...
        switch eventInfo.LogLevel {
        case logger.Info: ... case logger.Warning: ... case logger.Fatal: ...
        }

    A missing map key is Go's zero value, which no case matches, so both LogLevel and Event
    stay empty. The seed lists few read-only calls, so this is common: the real records below
    are ec2 and cloudtrail calls of known services that the catalogue does not name.
    """
    for log_file, name in [
        ("stratus_aws.execution.ec2-user-data", "DescribeInstances"),
        ("stratus_aws.execution.ec2-user-data", "ModifyInstanceAttribute"),
        (GET_PASSWORD_DATA, "GetPasswordData"),
        ("awsdocs_cloudtrail-log-file-examples_block8_records", "UpdateTrail"),
        ("stratus_aws.defense-evasion.cloudtrail-event-selectors", "PutEventSelectors"),
    ]:
        record = real_record(log_file, name)
        assert name not in SEED_EVENTS
        assert record["eventSource"] in SEED_KNOWN_SERVICES
        assert seed_process_cloudtrail_event(record) == ("", "")
        assert _outcome(record) == (RULE_CHANGE, "low")


@pytest.mark.parametrize(
    ("name", "deletion", "seed_deletion"),
    [
        # Revoke / Remove matched anywhere in the name (unanchored alternatives):
        # (illustrative names, not AWS APIs)
        ("ListRemovedThings", False, True),
        ("DescribeRevokeStatus", False, True),
        ("GetRevokedCertificates", False, True),
        ("TagResourceRemove", False, True),
        # `[D,d]`, `[R,r]`: the comma is part of each class:
        (",eleteTrail", False, True),
        (",evokeGrant", False, True),
        (",emoveTags", False, True),
        # What the seed got right and trailguard keeps:
        ("DeleteTrail", True, True),
        ("deleteFoo", True, True),
        ("RevokeSecurityGroupIngress", True, True),
        ("revokeX", True, True),
        ("RemoveUserFromGroup", True, True),
        ("removeY", True, True),
        ("AdminDeleteUser", False, False),  # Delete was anchored in the seed too
        ("Deleted", True, True),
        ("DELETEFoo", False, False),  # only the first letter may change case
    ],
)
def test_deletion_rule_matches_only_name_prefixes_either_case(
    name: str, deletion: bool, seed_deletion: bool
) -> None:
    """The seed's deletion regex, from logHandler.go:

        deleteResource = regexp.MustCompile(`^([D,d]elete).*|([R,r]evoke).*|([R,r]emove).*`)

    `^` binds to the first alternative only, so Revoke and Remove match anywhere in the name,
    and `[D,d]` is a class of three characters, the comma included. The seed then called
    names like ListRemovedThings a deletion and logged them Fatal.
    """
    assert bool(SEED_DELETE_RESOURCE.search(name)) is seed_deletion
    record = real_record(CREATE_ADMIN_USER, "CreateUser", eventName=name)  # iam: known
    expected = (RULE_DELETION, "high") if deletion else (RULE_CHANGE, "low")
    assert _outcome(record) == expected
    unknown = real_record(
        CREATE_ADMIN_USER, "CreateUser", eventName=name, eventSource="ssm.amazonaws.com"
    )
    expected = (RULE_DELETION, "high") if deletion else (RULE_UNLISTED_SERVICE, "info")
    assert _outcome(unknown) == expected


@pytest.mark.parametrize("log_file", [CONSOLE_LOGIN_DOCS, CONSOLE_LOGIN_STRATUS])
def test_signin_is_a_known_service_so_console_login_gets_its_catalogue_severity(
    log_file: str,
) -> None:
    """The seed lists ConsoleLogin (under its IAM events) but not the service that records it:

        "ConsoleLogin":                            logger.Info,

    CloudTrail records console sign-in under `signin.amazonaws.com`, which is not among the
    seed's KnownServices, so the seed logged every ConsoleLogin as aws_resource_not_listed and
    its catalogue entry was never used.
    """
    record = real_record(log_file, "ConsoleLogin")
    assert record["eventSource"] == "signin.amazonaws.com"
    assert record["eventSource"] not in SEED_KNOWN_SERVICES
    assert SEED_EVENTS["ConsoleLogin"] == "Info"
    assert seed_process_cloudtrail_event(record) == ("aws_resource_not_listed", "Info")
    assert _outcome(record) == (RULE_CHANGE, "low")
    # Other sign-in events are now a known service's unlisted events: low, not info.
    assert _outcome({**record, "eventName": "CheckMfa"}) == (RULE_CHANGE, "low")
