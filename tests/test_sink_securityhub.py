"""The securityhub sink against moto's server: findings in ASFF, updates, batches, failures."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import orjson
import pytest

from canned_aws import Answer, canned_aws, plain_client
from conftest import REPO, STOP_LOGGING_AWSLOGS, boto3_client
from trailguard import aws_lambda
from trailguard.delivery import RetryPolicy, SinkError, deliver
from trailguard.rules.errors import RuleSyntaxError
from trailguard.sinks import securityhub
from trailguard.sinks.registry import SinkContext
from trailguard.sinks.spec import parse_sinks

MOTO_ACCOUNT = "123456789012"
PRODUCT_ARN = f"arn:aws:securityhub:us-east-1:{MOTO_ACCOUNT}:product/{MOTO_ACCOUNT}/default"
FIRST = dt.datetime(2024, 8, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)

ALERT = {
    "schema_version": 1,
    "alert_id": "3083b4360345b9955448cf2a75cdcb11",
    "rule_id": "threats.cloudtrail_stopped",
    "severity": "high",
    "title": "CloudTrail logging stopped: stratus-red-team-ct-stop-trail-buykxbqejv",
    "description": "Someone stopped a trail from recording (StopLogging).",
    "references": [
        "PCI DSS v4.0/10.2.1.6",
        "PCI DSS v4.0/10.7.2",
        "CIS AWS Foundations Benchmark v1.4.0/4.5",
        "Security Hub CloudWatch.5",
        "MITRE ATT&CK T1562.008",
    ],
    "tags": ["audit-logging", "cloudtrail", "defense-evasion"],
    "runbook": "Confirm with the actor and the change record whether this was planned.",
    "context": None,
    "event_id": "10163ed2-2253-469d-a5ee-cbc6651f8934",
    "event_time": "2024-07-31T13:06:24Z",
    "event_name": "StopLogging",
    "event_source": "cloudtrail.amazonaws.com",
    "event_type": "AwsApiCall",
    "aws_region": "eu-west-1",
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
        "location": "cloudwatch_logs",
        "position": "awslogs.data logEvents[0]",
        "envelope": "cloudwatch_logs",
    },
}

FINDING = {
    "SchemaVersion": "2018-10-08",
    "Id": "trailguard/threats.cloudtrail_stopped/3083b4360345b9955448cf2a75cdcb11",
    "ProductArn": PRODUCT_ARN,
    "ProductName": "trailguard",
    "CompanyName": "trailguard",
    "GeneratorId": "threats.cloudtrail_stopped",
    "AwsAccountId": MOTO_ACCOUNT,
    "Types": [
        "TTPs/Defense Evasion",
        "Software and Configuration Checks/Industry and Regulatory Standards/PCI-DSS",
        "Software and Configuration Checks/Industry and Regulatory Standards/"
        "CIS AWS Foundations Benchmark",
    ],
    "CreatedAt": "2024-07-31T13:06:24.000Z",
    "FirstObservedAt": "2024-07-31T13:06:24.000Z",
    "LastObservedAt": "2024-07-31T13:06:24.000Z",
    "UpdatedAt": "2024-08-01T09:30:00.123Z",
    "Severity": {"Label": "HIGH", "Original": "high"},
    "FindingProviderFields": {
        "Severity": {"Label": "HIGH", "Original": "high"},
        "Types": [
            "TTPs/Defense Evasion",
            "Software and Configuration Checks/Industry and Regulatory Standards/PCI-DSS",
            "Software and Configuration Checks/Industry and Regulatory Standards/"
            "CIS AWS Foundations Benchmark",
        ],
    },
    "Title": "CloudTrail logging stopped: stratus-red-team-ct-stop-trail-buykxbqejv",
    "Description": (
        "StopLogging (cloudtrail.amazonaws.com) on stratus-red-team-ct-stop-trail-buykxbqejv "
        "by IAMUser christophe (arn:aws:iam::143434273843:user/christophe) from "
        "86.245.153.234 in account 143434273843, region eu-west-1, at 2024-07-31T13:06:24Z. "
        "Someone stopped a trail from recording (StopLogging)."
    ),
    "ProductFields": {
        "trailguard/RuleId": "threats.cloudtrail_stopped",
        "trailguard/AlertId": "3083b4360345b9955448cf2a75cdcb11",
        "trailguard/Severity": "high",
        "trailguard/EventId": "10163ed2-2253-469d-a5ee-cbc6651f8934",
        "trailguard/EventName": "StopLogging",
        "trailguard/EventSource": "cloudtrail.amazonaws.com",
        "trailguard/EventTime": "2024-07-31T13:06:24Z",
        "trailguard/AccountId": "143434273843",
        "trailguard/Region": "eu-west-1",
        "trailguard/ActorType": "IAMUser",
        "trailguard/ActorName": "christophe",
        "trailguard/ActorArn": "arn:aws:iam::143434273843:user/christophe",
        "trailguard/SourceIp": "86.245.153.234",
        "trailguard/Tags": "audit-logging, cloudtrail, defense-evasion",
        "trailguard/SourceLocation": "cloudwatch_logs",
        "trailguard/SourcePosition": "awslogs.data logEvents[0]",
        "trailguard/SourceEnvelope": "cloudwatch_logs",
    },
    "Resources": [
        {"Type": "AwsCloudTrailTrail", "Id": "stratus-red-team-ct-stop-trail-buykxbqejv"}
    ],
    "RecordState": "ACTIVE",
    "Workflow": {"Status": "NEW"},
    "Remediation": {
        "Recommendation": {
            "Text": "Confirm with the actor and the change record whether this was planned."
        }
    },
    "Compliance": {
        "Status": "WARNING",
        "RelatedRequirements": [
            "PCI DSS v4.0/10.2.1.6",
            "PCI DSS v4.0/10.7.2",
            "CIS AWS Foundations Benchmark v1.4.0/4.5",
        ],
    },
    "SourceUrl": "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1"
    "#/events/10163ed2-2253-469d-a5ee-cbc6651f8934",
}


def alert(**changes):
    return {**copy.deepcopy(ALERT), **changes}


def numbered(count, **changes):
    return [alert(alert_id=f"{n:032x}", **changes) for n in range(count)]


def no_wait(attempts=4):
    return RetryPolicy(attempts=attempts, sleep=lambda seconds: None)


class Clock:
    def __init__(self, moment):
        self.moment = moment

    def __call__(self):
        return self.moment


def make_sink(clock=None, client=None, **options):
    """The sink as the configuration builds it, with a clock the test sets."""
    spec = parse_sinks([{"type": "securityhub", "name": "hub", **options}])[0]
    clients = {"securityhub": client} if client is not None else {}
    sink = securityhub.build(spec, SinkContext(clients=clients))
    sink._now = clock or Clock(FIRST)
    return sink


def all_findings():
    hub = boto3_client("securityhub")
    return [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]


@pytest.fixture
def hub(aws):
    boto3_client("securityhub").enable_security_hub()


def count_calls(sink):
    calls = []
    sink.client.meta.events.register(
        "provide-client-params.securityhub.BatchImportFindings",
        lambda params, **kwargs: calls.append(len(params["Findings"])),
    )
    return calls


# --- findings in Security Hub ----------------------------------------------------------


def test_a_finding_lands_with_every_field_mapped(hub):
    make_sink().send([ALERT])
    assert all_findings() == [FINDING]


def test_sending_the_same_alert_again_updates_its_finding(hub):
    clock = Clock(FIRST)
    sink = make_sink(clock)
    sink.send([ALERT])
    clock.moment = FIRST + dt.timedelta(hours=2)
    sink.send([alert(severity="critical")])
    [finding] = all_findings()
    assert finding["Id"] == FINDING["Id"]
    assert finding["CreatedAt"] == "2024-07-31T13:06:24.000Z"
    assert finding["UpdatedAt"] == "2024-08-01T11:30:00.123Z"
    assert finding["Severity"] == {"Label": "CRITICAL", "Original": "critical"}


def test_more_than_100_alerts_are_imported_100_at_a_time(hub):
    sink = make_sink()
    calls = count_calls(sink)
    alerts = numbered(250)
    sink.send(alerts)
    assert calls == [100, 100, 50]
    ids = sorted(f["Id"] for f in all_findings())
    assert ids == sorted(f"trailguard/threats.cloudtrail_stopped/{n:032x}" for n in range(250))


def test_the_account_can_be_given_instead_of_asked_of_sts(hub):
    sink = make_sink(account_id=210987654321)  # unquoted in YAML: read as a number
    assert sink.account == "210987654321"
    sink.send([ALERT])
    [finding] = all_findings()
    assert finding["AwsAccountId"] == "210987654321"
    assert finding["ProductArn"] == (
        "arn:aws:securityhub:us-east-1:210987654321:product/210987654321/default"
    )


def test_the_region_option_picks_the_region_of_security_hub(aws):
    boto3_client("securityhub").enable_security_hub()
    sink = make_sink(region="eu-west-1")
    assert sink.region == "eu-west-1"
    assert sink.product_arn == (
        f"arn:aws:securityhub:eu-west-1:{MOTO_ACCOUNT}:product/{MOTO_ACCOUNT}/default"
    )
    sink.send([ALERT])
    assert all_findings() == []  # us-east-1 has none: they went to eu-west-1
    import boto3

    hub_eu = boto3.client("securityhub", region_name="eu-west-1")
    assert [f["ProductArn"] for f in hub_eu.get_findings()["Findings"]] == [sink.product_arn]


def test_options_are_checked_when_the_config_loads():
    with pytest.raises(RuleSyntaxError, match=r"sinks\[0\]\.account_id: expected a 12-digit"):
        parse_sinks([{"type": "securityhub", "account_id": "12345"}])
    with pytest.raises(RuleSyntaxError, match=r"sinks\[0\]\.region: 'Ireland' is not a region"):
        parse_sinks([{"type": "securityhub", "region": "Ireland"}])
    with pytest.raises(RuleSyntaxError, match=r"sinks\[0\]\.product: unknown key"):
        parse_sinks([{"type": "securityhub", "product": "x"}])


def test_the_documented_example_loads(tmp_path):
    import yaml

    from trailguard.config import config_from_data

    text = (REPO / "docs" / "configuration.md").read_text()
    start = text.index("\n### Sinks: securityhub\n")
    section = text[start : text.index("\n### ", start + 1)]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    [spec] = config_from_data(yaml.safe_load(block), "doc", tmp_path).sinks
    assert (spec.kind, spec.min_severity.label, spec.options) == ("securityhub", "medium", {})


# --- the mapping -----------------------------------------------------------------------


def finding_of(**changes):
    return securityhub.to_finding(alert(**changes), MOTO_ACCOUNT, PRODUCT_ARN, FIRST)


@pytest.mark.parametrize(
    ("severity", "label"),
    [
        ("info", "INFORMATIONAL"),
        ("low", "LOW"),
        ("medium", "MEDIUM"),
        ("high", "HIGH"),
        ("critical", "CRITICAL"),
    ],
)
def test_severities_map_to_labels(severity, label):
    assert finding_of(severity=severity)["Severity"] == {"Label": label, "Original": severity}


def test_types_come_from_tactic_tags_and_standards_else_best_practices():
    assert finding_of(tags=["exfiltration", "s3", "persistence"], references=[])["Types"] == [
        "Effects/Data Exfiltration",
        "TTPs/Persistence",
    ]
    assert finding_of(tags=["iam"], references=["MITRE ATT&CK T1098"])["Types"] == [
        "Software and Configuration Checks/AWS Security Best Practices"
    ]


def test_an_alert_without_resources_names_the_events_account():
    assert finding_of(resources=[])["Resources"] == [
        {"Type": "AwsAccount", "Id": "AWS::::Account:143434273843"}
    ]
    assert finding_of(resources=[], account_id=None)["Resources"] == [
        {"Type": "AwsAccount", "Id": f"AWS::::Account:{MOTO_ACCOUNT}"}
    ]


def test_resources_keep_their_arn_and_a_known_type():
    listed = [
        {
            "type": "AWS::IAM::Role",
            "arn": "arn:aws:iam::457448411975:role/r",
            "name": "arn:aws:iam::457448411975:role/r",
            "account_id": "457448411975",
        },
        {"type": "AWS::SSM::Parameter", "arn": None, "name": "/db/password", "account_id": None},
        {"type": None, "arn": None, "name": "thing", "account_id": None},
    ]
    assert finding_of(resources=listed)["Resources"] == [
        {"Type": "AwsIamRole", "Id": "arn:aws:iam::457448411975:role/r"},
        {
            "Type": "Other",
            "Id": "/db/password",
            "Details": {"Other": {"Type": "AWS::SSM::Parameter"}},
        },
        {"Type": "Other", "Id": "thing"},
    ]


def test_an_alert_with_little_known_still_makes_a_finding():
    bare = {
        **dict.fromkeys(ALERT),
        "schema_version": 1,
        "alert_id": "0" * 32,
        "rule_id": "custom.rule",
        "severity": "low",
        "title": "",
        "references": [],
        "tags": [],
        "resources": [],
        "actor": {},
        "source": {"location": "<stdin>", "position": "", "envelope": ""},
    }
    finding = securityhub.to_finding(bare, MOTO_ACCOUNT, PRODUCT_ARN, FIRST)
    assert finding["Title"] == "custom.rule"
    assert finding["Description"] == "An event."
    assert finding["CreatedAt"] == finding["UpdatedAt"] == "2024-08-01T09:30:00.123Z"
    assert finding["Resources"] == [{"Type": "AwsAccount", "Id": f"AWS::::Account:{MOTO_ACCOUNT}"}]
    assert finding["ProductFields"] == {
        "trailguard/RuleId": "custom.rule",
        "trailguard/AlertId": "0" * 32,
        "trailguard/Severity": "low",
        "trailguard/SourceLocation": "<stdin>",
    }
    assert "Compliance" not in finding
    assert "SourceUrl" not in finding
    assert "Remediation" not in finding


def test_event_times_are_written_in_utc_with_z():
    assert finding_of(event_time="2024-07-31T15:06:24+02:00")["CreatedAt"] == (
        "2024-07-31T13:06:24.000Z"
    )
    assert finding_of(event_time="yesterday")["CreatedAt"] == "2024-08-01T09:30:00.123Z"


# --- ASFF limits -----------------------------------------------------------------------

NAMESPACES = (
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REQUIRED = (
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
)


def check_asff(finding):
    """Security Hub's documented limits on what BatchImportFindings accepts."""
    import boto3
    from botocore.validate import ParamValidator

    model = boto3.client("securityhub", region_name="us-east-1").meta.service_model
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": [finding]}, shape)
    assert not report.has_errors(), report.generate_report()
    for key in REQUIRED:
        assert finding[key], key
    assert len(orjson.dumps(finding)) <= 240 * 1024
    assert len(finding["Id"]) <= 512
    assert len(finding["GeneratorId"]) <= 512
    assert re.fullmatch(r"\d{12}", finding["AwsAccountId"])
    assert len(finding["Title"]) <= 256
    assert len(finding["Description"]) <= 1024
    for key in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
        assert TIMESTAMP.match(finding[key]), key
    assert finding["UpdatedAt"] >= finding["CreatedAt"]
    for types in (finding["Types"], finding["FindingProviderFields"]["Types"]):
        assert 1 <= len(types) <= 50
        assert all(t.split("/")[0] in NAMESPACES and len(t.split("/")) <= 3 for t in types)
    assert finding["Severity"]["Label"] in {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert 1 <= len(finding["Resources"]) <= 32
    for resource in finding["Resources"]:
        assert resource["Type"]
        assert 0 < len(resource["Id"]) <= 512
    fields = finding["ProductFields"]
    assert len(fields) <= 50
    assert all(0 < len(k) <= 128 and 0 < len(v) <= 2048 for k, v in fields.items())
    assert not any(k.startswith("aws/") for k in fields)
    if "Compliance" in finding:
        compliance = finding["Compliance"]
        assert compliance["Status"] in {"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"}
        assert 1 <= len(compliance["RelatedRequirements"]) <= 32
        assert all(len(r) <= 256 for r in compliance["RelatedRequirements"])
    if "Remediation" in finding:
        assert len(finding["Remediation"]["Recommendation"]["Text"]) <= 512
    assert finding["RecordState"] == "ACTIVE"
    assert finding["Workflow"] == {"Status": "NEW"}


HUGE = "h" * 300_000
MANGLED = {
    "as shipped": {},
    "huge text everywhere": {
        "title": HUGE,
        "description": HUGE,
        "runbook": HUGE,
        "event_name": HUGE,
        "source_ip": HUGE,
        "actor": {**ALERT["actor"], "arn": HUGE, "name": HUGE},
        "source": {"location": HUGE, "position": HUGE, "envelope": "cloudwatch_logs"},
        "tags": ["defense-evasion", HUGE],
    },
    "many references": {
        "references": [f"PCI DSS v4.0/{n}" for n in range(40)] + ["CIS " + HUGE],
    },
    "many resources": {
        "resources": [
            {
                "type": "AWS::S3::Bucket",
                "arn": None,
                "name": f"bucket-{n}-{HUGE}",
                "account_id": None,
            }
            for n in range(100)
        ],
    },
    "no resources, no account": {"resources": [], "account_id": None},
    "an account id that is not one": {"resources": [], "account_id": "12345"},
    "every tag a tactic": {"tags": list(securityhub.TAG_TYPES) * 3},
    "a time in the future": {"event_time": "2031-01-01T00:00:00Z"},
}


@pytest.mark.parametrize("changes", MANGLED.values(), ids=MANGLED.keys())
def test_every_finding_is_within_the_asff_limits(changes):
    check_asff(finding_of(**changes))


def test_findings_from_the_shared_data_are_within_the_asff_limits(shared_data):
    """Every alert the shipped packs raise on the Stratus detonations."""
    from trailguard.alerts import build_alert
    from trailguard.config import Config
    from trailguard.model import Place, SourcedRecord
    from trailguard.pipeline import build_detector
    from trailguard.state.registry import build_store
    from trailguard.tally import InputTally

    lines = (shared_data / "events/stratus_detonations.jsonl").read_text().splitlines()
    items = [
        SourcedRecord(json.loads(line)["event"], Place("stratus_detonations.jsonl", f"line {n}"))
        for n, line in enumerate(lines, 1)
    ]
    config = Config()
    detector = build_detector(config, build_store(config.state))
    alerts = [build_alert(f) for f in detector.run(items, InputTally())]
    assert len(alerts) > 50
    for one in alerts:
        check_asff(securityhub.to_finding(one, MOTO_ACCOUNT, PRODUCT_ARN, FIRST))


# --- failures --------------------------------------------------------------------------


def import_answer(fail):
    """A canned Security Hub: findings whose Id ends with a key of `fail` fail with its
    error code; the others are imported."""

    def respond(path, body):
        assert path == "/findings/import"
        findings = json.loads(body)["Findings"]
        failed = [
            {"Id": f["Id"], "ErrorCode": fail[key], "ErrorMessage": f"{fail[key]} for {key}"}
            for f in findings
            for key in fail
            if f["Id"].endswith(f"/{key}")
        ]
        return Answer(
            200,
            json.dumps(
                {
                    "FailedCount": len(failed),
                    "SuccessCount": len(findings) - len(failed),
                    "FailedFindings": failed,
                }
            ),
            content_type="application/json",
        )

    return respond


def canned_sink(server):
    return make_sink(client=plain_client("securityhub", server.url), account_id=MOTO_ACCOUNT)


def test_failed_findings_are_reported_and_throttled_ones_retried():
    alerts = [alert(alert_id=f"id-{n}") for n in range(4)]
    respond = import_answer({"id-1": "ThrottlingException", "id-2": "InvalidInput"})
    with canned_aws(respond) as server, pytest.raises(SinkError) as failure:
        canned_sink(server).send(alerts)
    assert [a["alert_id"] for a in failure.value.failed] == ["id-1", "id-2"]
    assert failure.value.transient is True
    assert str(failure.value) == (
        "Security Hub (us-east-1, account 123456789012): 2 of 4 finding(s) not imported: "
        "trailguard/threats.cloudtrail_stopped/id-1: ThrottlingException: ThrottlingException "
        "for id-1; trailguard/threats.cloudtrail_stopped/id-2: InvalidInput: InvalidInput for id-2"
    )


def test_findings_refused_as_invalid_are_not_retried():
    alerts = [alert(alert_id=f"id-{n}") for n in range(3)]
    with canned_aws(import_answer({"id-0": "InvalidInput"})) as server:
        result = deliver("hub", canned_sink(server).send, alerts, no_wait())
        assert len(server.requests) == 1
    assert [a["alert_id"] for a in result.failed] == ["id-0"]
    assert (result.delivered, result.attempts) == (2, 1)


def test_only_the_failed_findings_are_sent_again():
    alerts = [alert(alert_id=f"id-{n}") for n in range(3)]
    failures = {"id-2": "InternalException"}

    def respond(path, body):
        answer = import_answer(dict(failures))(path, body)
        failures.clear()
        return answer

    with canned_aws(respond) as server:
        result = deliver("hub", canned_sink(server).send, alerts, no_wait())
        sent = [[f["Id"] for f in json.loads(body)["Findings"]] for _, body in server.requests]
    assert (result.delivered, result.failed, result.attempts) == (3, [], 2)
    assert sent[1] == ["trailguard/threats.cloudtrail_stopped/id-2"]


def hub_error(status, code, message):
    return Answer(
        status,
        json.dumps({"Message": message, "Code": code}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": code},
    )


@pytest.mark.parametrize(
    ("status", "code", "transient", "advice"),
    [
        (
            401,
            "InvalidAccessException",
            False,
            "turn Security Hub on for account 123456789012 in us-east-1 "
            "(`aws securityhub enable-security-hub --region us-east-1`)",
        ),
        (
            403,
            "AccessDeniedException",
            False,
            f"allow the function's role securityhub:BatchImportFindings on {PRODUCT_ARN}",
        ),
        (429, "LimitExceededException", True, ""),
        (429, "TooManyRequestsException", True, ""),
        (500, "InternalException", True, ""),
        (400, "InvalidInputException", False, ""),
    ],
)
def test_a_failed_call_says_whether_to_retry_and_what_to_check(status, code, transient, advice):
    alerts = numbered(150)
    with canned_aws(lambda path, body: hub_error(status, code, "refused")) as server:
        with pytest.raises(SinkError) as failure:
            canned_sink(server).send(alerts)
        assert len(server.requests) == 1
    assert failure.value.transient is transient
    assert failure.value.failed == alerts
    assert str(failure.value).startswith(
        "Security Hub (us-east-1, account 123456789012): 150 of 150 finding(s) not imported: "
        f"{code}: refused"
    )
    assert advice in str(failure.value)


def test_an_unknown_account_fails_with_what_to_do(aws):
    dead_sts = plain_client("sts", "http://127.0.0.1:9")  # nothing listens there
    spec = parse_sinks([{"type": "securityhub"}])[0]
    sink = securityhub.build(spec, SinkContext(clients={"sts": dead_sts}))
    with pytest.raises(SinkError) as failure:
        sink.send([ALERT])
    assert failure.value.transient is True
    assert str(failure.value).startswith(
        "Security Hub: cannot tell which account to import findings into (EndpointConnectionError"
    )
    assert str(failure.value).endswith(
        "set the sink's `account_id`, or let the function reach STS for GetCallerIdentity "
        "(in a VPC: a NAT route or an STS VPC endpoint)"
    )


# --- through the Lambda handler --------------------------------------------------------


def test_the_lambda_function_imports_a_stop_logging_finding_once(
    hub, monkeypatch, tmp_path, capsys
):
    config = tmp_path / "trailguard.yaml"
    config.write_text(
        "packs: {catalog: false, cis: false}\nsinks:\n  - {type: securityhub, min_severity: high}\n"
    )
    monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(config))
    monkeypatch.setattr(aws_lambda, "_runtime", None)
    event = json.loads(STOP_LOGGING_AWSLOGS.read_text())

    summary = aws_lambda.handler(event, None)
    assert (summary["alerts"], summary["delivered"]) == (1, {"securityhub": 1})
    [finding] = all_findings()
    assert finding["Id"] == "trailguard/threats.cloudtrail_stopped/3083b4360345b9955448cf2a75cdcb11"
    assert finding["ProductArn"] == PRODUCT_ARN
    assert finding["AwsAccountId"] == MOTO_ACCOUNT
    assert finding["GeneratorId"] == "threats.cloudtrail_stopped"
    assert finding["Severity"] == {"Label": "HIGH", "Original": "high"}
    assert (
        finding["Title"] == "CloudTrail logging stopped: stratus-red-team-ct-stop-trail-buykxbqejv"
    )
    assert finding["CreatedAt"] == "2024-07-31T13:06:24.000Z"
    assert finding["Resources"] == [
        {"Type": "AwsCloudTrailTrail", "Id": "stratus-red-team-ct-stop-trail-buykxbqejv"}
    ]
    assert finding["ProductFields"]["trailguard/AccountId"] == "143434273843"
    assert finding["ProductFields"]["trailguard/SourcePosition"] == "awslogs.data logEvents[0]"
    assert "SourceUrl" not in finding  # the shared data's region name is anonymised

    again = aws_lambda.handler(event, None)
    assert (again["alerts"], again["duplicates"]) == (0, 1)
    assert [f["Id"] for f in all_findings()] == [finding["Id"]]
    capsys.readouterr()
