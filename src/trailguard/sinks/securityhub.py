"""The `securityhub` sink: alerts as AWS Security Hub findings (ASFF), via BatchImportFindings.

Each finding's `Id` is `trailguard/{rule_id}/{alert_id}`, and alert_id is stable for an
event (docs/alerts.md), so a redelivered alert updates its finding instead of adding a
second one. Findings go to the account's default product (a custom integration), which
Security Hub accepts only from that account: `AwsAccountId` is the account calling, and the
account the event happened in is named in the finding's resources and product fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from trailguard import aws
from trailguard.alerts import Alert
from trailguard.delivery import SinkError
from trailguard.rules.errors import RuleSyntaxError
from trailguard.sinks.batches import send_batches
from trailguard.sinks.spec import SinkSpec
from trailguard.times import parse_time

if TYPE_CHECKING:
    from trailguard.sinks.registry import SinkContext

OPTIONS = ("account_id", "region")

BATCH_FINDINGS = 100
"""BatchImportFindings takes at most 100 findings a call."""
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 1024
RECOMMENDATION_LIMIT = 512
REQUIREMENTS_LIMIT = 32
REQUIREMENT_LENGTH = 256
RESOURCES_LIMIT = 32
RESOURCE_ID_LIMIT = 512
PRODUCT_FIELD_LIMIT = 2048
COMPLIANCE_STATUS = "WARNING"
"""An event a requirement asks to review, not a control evaluated as failing."""

SEVERITY_LABELS = {
    "info": "INFORMATIONAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "critical": "CRITICAL",
}
TAG_TYPES = {
    "initial-access": "TTPs/Initial Access",
    "execution": "TTPs/Execution",
    "persistence": "TTPs/Persistence",
    "privilege-escalation": "TTPs/Privilege Escalation",
    "defense-evasion": "TTPs/Defense Evasion",
    "credential-access": "TTPs/Credential Access",
    "discovery": "TTPs/Discovery",
    "lateral-movement": "TTPs/Lateral Movement",
    "collection": "TTPs/Collection",
    "command-and-control": "TTPs/Command and Control",
    "exfiltration": "Effects/Data Exfiltration",
    "data-exposure": "Effects/Data Exposure",
    "impact": "Effects",
}
"""Rule tags named after MITRE ATT&CK tactics, as ASFF finding types."""
STANDARD_TYPES = {
    "CIS ": "Software and Configuration Checks/Industry and Regulatory Standards/"
    "CIS AWS Foundations Benchmark",
    "PCI DSS ": "Software and Configuration Checks/Industry and Regulatory Standards/PCI-DSS",
}
"""Reference prefixes (docs/rules.md) and the finding type of the standard they belong to."""
DEFAULT_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
RESOURCE_TYPES = {
    "AWS::ApiGateway::RestApi": "AwsApiGatewayRestApi",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    "AWS::DynamoDB::Table": "AwsDynamoDbTable",
    "AWS::EC2::Instance": "AwsEc2Instance",
    "AWS::EC2::NetworkAcl": "AwsEc2NetworkAcl",
    "AWS::EC2::RouteTable": "AwsEc2RouteTable",
    "AWS::EC2::SecurityGroup": "AwsEc2SecurityGroup",
    "AWS::EC2::Volume": "AwsEc2Volume",
    "AWS::EC2::VPC": "AwsEc2Vpc",
    "AWS::GuardDuty::Detector": "AwsGuardDutyDetector",
    "AWS::IAM::AccessKey": "AwsIamAccessKey",
    "AWS::IAM::Group": "AwsIamGroup",
    "AWS::IAM::ManagedPolicy": "AwsIamPolicy",
    "AWS::IAM::Role": "AwsIamRole",
    "AWS::IAM::User": "AwsIamUser",
    "AWS::Kinesis::Stream": "AwsKinesisStream",
    "AWS::KMS::Key": "AwsKmsKey",
    "AWS::Lambda::Function": "AwsLambdaFunction",
    "AWS::RDS::DBInstance": "AwsRdsDbInstance",
    "AWS::RDS::DBSnapshot": "AwsRdsDbSnapshot",
    "AWS::S3::Bucket": "AwsS3Bucket",
    "AWS::S3::Object": "AwsS3Object",
    "AWS::SecretsManager::Secret": "AwsSecretsManagerSecret",
    "AWS::SNS::Topic": "AwsSnsTopic",
}
"""CloudFormation types of alert resources that have an ASFF resource type; others are Other."""
TRANSIENT_FAILURES = frozenset({"InternalException", "LimitExceededException"})
NOT_ENABLED = frozenset({"InvalidAccessException"})
DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def validate(spec: SinkSpec) -> None:
    account = spec.option("account_id", (str, int), required=False)
    if account is not None and not ACCOUNT_ID.match(_account_text(account)):
        raise RuleSyntaxError(f"{spec.where}.account_id", "expected a 12-digit AWS account id")
    region = spec.option("region", required=False)
    if region is not None and not REGION.match(region):
        raise RuleSyntaxError(f"{spec.where}.region", f"{region!r} is not a region name")


def build(spec: SinkSpec, context: SinkContext) -> SecurityHubSink:
    account = spec.option("account_id", (str, int), required=False)
    client = aws.client(
        "securityhub", context.clients.get("securityhub"), spec.option("region", required=False)
    )
    return SecurityHubSink(
        spec.name,
        client,
        account=None if account is None else _account_text(account),
        sts=lambda: context.client("sts"),
    )


def _account_text(value: str | int) -> str:
    """YAML reads an unquoted account id as a number: give it back its leading zeros."""
    return str(value).zfill(12) if isinstance(value, int) else value


class SecurityHubSink:
    def __init__(
        self,
        name: str,
        client: Any,
        *,
        account: str | None = None,
        sts: Callable[[], Any] | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.name = name
        self.client = client
        self.region = str(client.meta.region_name)
        self.partition = partition_of(self.region)
        self._account = account
        self._sts = sts
        self._now = now

    @property
    def account(self) -> str:
        """The account calling Security Hub: the `account_id` option, else asked of STS once."""
        if self._account is None:
            if self._sts is None:
                raise RuntimeError("no account_id and no STS client to find it")
            self._account = str(self._sts().get_caller_identity()["Account"])
        return self._account

    @property
    def product_arn(self) -> str:
        account, region = self.account, self.region
        return f"arn:{self.partition}:securityhub:{region}:{account}:product/{account}/default"

    def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        try:
            product_arn = self.product_arn
        except Exception as exc:
            raise SinkError(
                f"Security Hub: cannot tell which account to import findings into "
                f"({_detail(exc)}): set the sink's `account_id`, or let the function reach "
                "STS for GetCallerIdentity (in a VPC: a NAT route or an STS VPC endpoint)",
                alerts,
                transient=aws.is_transient(exc),
            ) from None
        now = self._now()
        findings = [to_finding(a, self.account, product_arn, now) for a in alerts]
        batches = [
            (alerts[start : start + BATCH_FINDINGS], findings[start : start + BATCH_FINDINGS])
            for start in range(0, len(alerts), BATCH_FINDINGS)
        ]
        outcome = send_batches(
            batches,
            lambda batch: self.client.batch_import_findings(Findings=batch[1]),
            lambda batch, response: finding_failures(batch[0], batch[1], response),
            lambda batch: batch[0],
            self._explain,
            _transient_call,
        )
        if outcome.failed:
            raise SinkError(
                f"Security Hub ({self.region}, account {self.account}): {len(outcome.failed)} "
                f"of {len(alerts)} finding(s) not imported: {'; '.join(outcome.problems[:5])}",
                outcome.failed,
                transient=outcome.transient,
            )

    def _explain(self, exc: BaseException) -> str:
        detail = _detail(exc)
        code = detail.split(":", 1)[0]
        if code in NOT_ENABLED:
            return (
                f"{detail}; turn Security Hub on for account {self.account} in {self.region} "
                f"(`aws securityhub enable-security-hub --region {self.region}`), or set the "
                "sink's `region` to one where it is on"
            )
        if code in DENIED:
            return (
                f"{detail}; allow the function's role securityhub:BatchImportFindings on "
                f"{self.product_arn}"
            )
        return detail


def _detail(exc: BaseException) -> str:
    error = (getattr(exc, "response", None) or {}).get("Error") or {}
    return f"{error.get('Code') or type(exc).__name__}: {error.get('Message') or exc}"


def finding_failures(
    alerts: Sequence[Alert], findings: Sequence[dict[str, Any]], response: dict[str, Any]
) -> tuple[list[Alert], list[str], bool]:
    """The alerts whose findings Security Hub refused, why, and whether a retry may help
    (throttling and internal errors only: a finding refused as invalid stays invalid)."""
    by_id: dict[str, list[Alert]] = {}
    for alert, finding in zip(alerts, findings, strict=True):
        by_id.setdefault(finding["Id"], []).append(alert)
    lost: list[Alert] = []
    reasons: list[str] = []
    transient = False
    for item in response.get("FailedFindings") or ():
        code = str(item.get("ErrorCode") or "")
        lost.extend(by_id.pop(str(item.get("Id")), ()))
        reasons.append(f"{item.get('Id')}: {code}: {item.get('ErrorMessage') or 'no message'}")
        transient = transient or _transient_code(code)
    return lost, reasons, transient


def _transient_code(code: str) -> bool:
    return (
        code in aws.TRANSIENT_CODES
        or code in TRANSIENT_FAILURES
        or "Throttl" in code
        or "Internal" in code
    )


def _transient_call(exc: BaseException) -> bool:
    """A whole call that may pass later: what trailguard.aws calls transient, Security Hub's
    own throttling (LimitExceededException) and any 429."""
    response = getattr(exc, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return aws.is_transient(exc) or _transient_code(code) or status == 429


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# --- the alert as an ASFF finding ------------------------------------------------------


def to_finding(alert: Alert, account: str, product_arn: str, now: dt.datetime) -> dict[str, Any]:
    """One alert as an ASFF finding, every field within Security Hub's limits."""
    observed = parse_time(alert.get("event_time")) or now
    updated = max(now, observed)
    label = SEVERITY_LABELS.get(str(alert.get("severity")), "INFORMATIONAL")
    severity = {"Label": label, "Original": str(alert.get("severity"))}
    types = finding_types(alert)
    finding: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "Id": f"trailguard/{alert['rule_id']}/{alert['alert_id']}",
        "ProductArn": product_arn,
        "ProductName": "trailguard",
        "CompanyName": "trailguard",
        "GeneratorId": str(alert["rule_id"]),
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": _iso(observed),
        "FirstObservedAt": _iso(observed),
        "LastObservedAt": _iso(observed),
        "UpdatedAt": _iso(updated),
        "Severity": severity,
        "FindingProviderFields": {"Severity": dict(severity), "Types": list(types)},
        "Title": _cut(str(alert.get("title") or alert["rule_id"]), TITLE_LIMIT),
        "Description": _cut(description(alert), DESCRIPTION_LIMIT),
        "ProductFields": product_fields(alert),
        "Resources": resources(alert, account),
        "RecordState": "ACTIVE",
        "Workflow": {"Status": "NEW"},
    }
    runbook = alert.get("runbook")
    if isinstance(runbook, str) and runbook:
        finding["Remediation"] = {"Recommendation": {"Text": _cut(runbook, RECOMMENDATION_LIMIT)}}
    requirements = related_requirements(alert)
    if requirements:
        finding["Compliance"] = {
            "Status": COMPLIANCE_STATUS,
            "RelatedRequirements": requirements,
        }
    url = source_url(alert)
    if url:
        finding["SourceUrl"] = url
    return finding


def finding_types(alert: Alert) -> list[str]:
    """Tactic tags as TTPs/Effects types, references to a standard as its type; else the
    general best-practices type."""
    types: list[str] = []
    for tag in alert.get("tags") or ():
        kind = TAG_TYPES.get(str(tag))
        if kind and kind not in types:
            types.append(kind)
    for reference in alert.get("references") or ():
        for prefix, kind in STANDARD_TYPES.items():
            if str(reference).startswith(prefix) and kind not in types:
                types.append(kind)
    return types or [DEFAULT_TYPE]


def related_requirements(alert: Alert) -> list[str]:
    """The alert's PCI DSS and CIS references, as Compliance.RelatedRequirements."""
    found: list[str] = []
    for reference in alert.get("references") or ():
        text = _cut(str(reference), REQUIREMENT_LENGTH)
        if text.startswith(tuple(STANDARD_TYPES)) and text not in found:
            found.append(text)
    return found[:REQUIREMENTS_LIMIT]


def description(alert: Alert) -> str:
    """What happened, on what, by whom, from where and when; then the rule's description."""
    actor = _mapping(alert.get("actor"))
    who = " ".join(str(actor[k]) for k in ("type", "name") if actor.get(k))
    if actor.get("arn") and actor.get("arn") != actor.get("name"):
        who = f"{who} ({actor['arn']})" if who else str(actor["arn"])
    names = [r.get("name") for r in alert.get("resources") or () if isinstance(r, dict)]
    names = [str(n) for n in names if n]
    parts = [str(alert.get("event_name") or "An event")]
    if alert.get("event_source"):
        parts.append(f"({alert['event_source']})")
    if names:
        parts.append(f"on {names[0]}" + (f" and {len(names) - 1} more" if len(names) > 1 else ""))
    if who:
        parts.append(f"by {who}")
    if alert.get("source_ip"):
        parts.append(f"from {alert['source_ip']}")
    place = ", ".join(
        f"{label} {alert[key]}"
        for label, key in (("account", "account_id"), ("region", "aws_region"))
        if alert.get(key)
    )
    if place:
        parts.append(f"in {place}" + ("," if alert.get("event_time") else ""))
    if alert.get("event_time"):
        parts.append(f"at {alert['event_time']}")
    text = " ".join(parts)
    if alert.get("error_code"):
        text += f", which failed with {alert['error_code']}"
    text += "."
    if alert.get("description"):
        text += f" {alert['description']}"
    return text


def resources(alert: Alert, account: str) -> list[dict[str, Any]]:
    """The alert's resources (ASFF type when known, else Other; Id the ARN or the name),
    or the event's account when it names none: a finding needs at least one."""
    found: list[dict[str, Any]] = []
    for item in alert.get("resources") or ():
        if not isinstance(item, dict) or not (item.get("arn") or item.get("name")):
            continue
        cfn_type = item.get("type")
        entry: dict[str, Any] = {
            "Type": RESOURCE_TYPES.get(str(cfn_type), "Other"),
            "Id": _cut(str(item.get("arn") or item.get("name")), RESOURCE_ID_LIMIT),
        }
        if entry["Type"] == "Other" and cfn_type:
            entry["Details"] = {"Other": {"Type": _cut(str(cfn_type), PRODUCT_FIELD_LIMIT)}}
        if entry not in found:
            found.append(entry)
    if not found:
        owner = alert.get("account_id")
        owner = owner if isinstance(owner, str) and ACCOUNT_ID.match(owner) else account
        found.append({"Type": "AwsAccount", "Id": f"AWS::::Account:{owner}"})
    return found[:RESOURCES_LIMIT]


def product_fields(alert: Alert) -> dict[str, str]:
    """trailguard's own fields, for filtering and for finding the event again."""
    actor, source = _mapping(alert.get("actor")), _mapping(alert.get("source"))
    tags = ", ".join(str(t) for t in alert.get("tags") or ())
    values = {
        "trailguard/RuleId": alert.get("rule_id"),
        "trailguard/AlertId": alert.get("alert_id"),
        "trailguard/Severity": alert.get("severity"),
        "trailguard/EventId": alert.get("event_id"),
        "trailguard/EventName": alert.get("event_name"),
        "trailguard/EventSource": alert.get("event_source"),
        "trailguard/EventTime": alert.get("event_time"),
        "trailguard/AccountId": alert.get("account_id"),
        "trailguard/Region": alert.get("aws_region"),
        "trailguard/ActorType": actor.get("type"),
        "trailguard/ActorName": actor.get("name"),
        "trailguard/ActorArn": actor.get("arn"),
        "trailguard/SourceIp": alert.get("source_ip"),
        "trailguard/ErrorCode": alert.get("error_code"),
        "trailguard/Tags": tags,
        "trailguard/SourceLocation": source.get("location"),
        "trailguard/SourcePosition": source.get("position"),
        "trailguard/SourceEnvelope": source.get("envelope"),
    }
    return {
        key: _cut(str(value), PRODUCT_FIELD_LIMIT)
        for key, value in values.items()
        if value is not None and str(value) != ""
    }


def source_url(alert: Alert) -> str | None:
    """The event in the CloudTrail console's event history (management events, 90 days)."""
    event_id, region = alert.get("event_id"), alert.get("aws_region")
    if not (isinstance(event_id, str) and isinstance(region, str) and REGION.match(region)):
        return None
    if partition_of(region) != "aws":
        return None
    return (
        f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}"
        f"#/events/{quote(event_id, safe='')}"
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and Z, as Security Hub's examples write it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
