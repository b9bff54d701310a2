"""The `slack` sink: Block Kit messages to a Slack incoming webhook.

The webhook URL is a credential (anyone holding it can post), so the configuration names a
secret reference (`webhook_url_secret`), read on first send. Repeats are grouped: within one
delivery, alerts of the same rule, severity and actor make one message ("and N more like
this"), so a burst of forty changes by one role is one message, not forty. Every text in a
message keeps within Slack's limits (3000 characters a section, 150 a header, 50 blocks),
cuts marked "… (truncated)". Text from the record (titles fill in request parameters) is
escaped, so a crafted value cannot add links or @channel mentions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from trailguard import aws
from trailguard.actor import actor_label
from trailguard.alerts import Alert
from trailguard.delivery import SinkError
from trailguard.secrets import SecretError
from trailguard.sinks import http
from trailguard.sinks.spec import SinkSpec

if TYPE_CHECKING:
    from trailguard.sinks.registry import SinkContext

OPTIONS = ("webhook_url_secret", "timeout_seconds")

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_LISTED = 10
"""Repeats listed by time and resource in a grouped message; the rest are counted."""
TRUNCATED = "… (truncated)"
SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":large_blue_circle:",
    "info": ":white_circle:",
}
PAYLOAD_ERRORS = frozenset(
    {
        "invalid_payload",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
        "too_many_attachments",
        "missing_text_or_fallback_or_attachments",
    }
)
WEBHOOK_ERRORS = frozenset(
    {"invalid_token", "no_service", "no_service_id", "no_team", "team_disabled"}
)
CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "channel_is_archived",
        "action_prohibited",
        "posting_to_general_channel_denied",
        "user_not_found",
    }
)


def validate(spec: SinkSpec) -> None:
    http.secret_reference_option(spec, "webhook_url_secret", required=True)
    http.timeout_option(spec)


def build(spec: SinkSpec, context: SinkContext) -> SlackSink:
    reference = http.secret_reference_option(spec, "webhook_url_secret", required=True)
    assert reference is not None  # required above
    return SlackSink(
        spec.name,
        lambda: context.secrets.resolve(reference),
        reference,
        http.timeout_option(spec),
    )


class SlackSink:
    def __init__(
        self,
        name: str,
        webhook_url: Callable[[], str],
        reference: str,
        timeout: float = http.DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self.reference = reference
        self.timeout = timeout
        self._webhook_url = webhook_url

    def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        url = self._url(alerts)
        parts = [_part(group) for group in group_alerts(alerts)]
        label = f"the Slack webhook ({self.reference})"
        http.send_parts(label, url, parts, self.timeout, self._explain)

    def _url(self, alerts: Sequence[Alert]) -> str:
        try:
            url = self._webhook_url().strip()
        except SecretError as exc:
            cause = exc.__context__
            transient = cause is not None and aws.is_transient(cause)
            raise SinkError(f"Slack webhook URL: {exc}", alerts, transient=transient) from None
        problem = http.url_problem(url)
        if problem:
            raise SinkError(
                f"the value of {self.reference} is not a usable Slack webhook URL ({problem}); "
                "store the incoming webhook's https://hooks.slack.com/... URL there",
                alerts,
                transient=False,
            )
        return url

    def _explain(self, outcome: http.Outcome) -> str:
        """Slack's answers, in words that say what to fix (its error is the body text)."""
        said = f"HTTP {outcome.status} {outcome.body!r}"
        if outcome.body in PAYLOAD_ERRORS:
            return (
                f"Slack rejected the message ({said}); this is a trailguard bug: please report "
                "it with the alert ids"
            )
        if outcome.body in CHANNEL_ERRORS:
            return (
                f"Slack will not post to the webhook's channel ({said}): it was deleted, "
                "archived or restricted; point a new incoming webhook at a channel it may "
                f"post to and store its URL in {self.reference}"
            )
        if outcome.body in WEBHOOK_ERRORS or outcome.status in (401, 403, 404, 410):
            return (
                f"Slack does not accept this webhook ({said}): the URL stored in "
                f"{self.reference} was revoked or is wrong; create an incoming webhook and "
                "store its URL in that secret"
            )
        return outcome.problem


def _part(group: list[Alert]) -> http.Part:
    body = orjson.dumps(message(group))
    return group, lambda: (body, {"Content-Type": "application/json"})


# --- grouping -----------------------------------------------------------------------------


def group_key(alert: Alert) -> tuple[str, str, str]:
    """Rule, severity and actor (its ARN, else type and name): one message per key."""
    actor = alert.get("actor") or {}
    who = actor.get("arn") or f"{actor.get('type')}:{actor.get('name')}"
    return (str(alert.get("rule_id")), str(alert.get("severity")), str(who))


def group_alerts(alerts: Sequence[Alert]) -> list[list[Alert]]:
    """Alerts grouped by `group_key`, groups in order of their first alert."""
    groups: dict[tuple[str, str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(group_key(alert), []).append(alert)
    return list(groups.values())


# --- the message --------------------------------------------------------------------------


def message(group: Sequence[Alert]) -> dict[str, Any]:
    """One Block Kit message for a group: its first alert in full, the others listed."""
    lead = group[0]
    severity = str(lead.get("severity") or "info")
    title = str(lead.get("title") or lead.get("rule_id") or "trailguard alert")
    more = len(group) - 1
    headline = f"{severity.upper()}: {title}" + (f" (and {more} more like this)" if more else "")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": cut(f"{SEVERITY_EMOJI.get(severity, '')} {headline}", MAX_HEADER),
                "emoji": True,
            },
        }
    ]
    if lead.get("description"):
        blocks.append(section(str(lead["description"])))
    blocks.append({"type": "section", "fields": facts(lead)})
    links = link_line(lead)
    if links:
        blocks.append(section(links, escaped=True))
    if more:
        blocks.append(section(repeats(group[1:]), escaped=True))
    if lead.get("runbook"):
        blocks.append(section(f"*Runbook*\n{escape(str(lead['runbook']))}", escaped=True))
    context = f"rule `{lead.get('rule_id')}` · alert `{lead.get('alert_id')}` · trailguard"
    blocks.append({"type": "context", "elements": [mrkdwn(context)]})
    return {
        "text": fit(headline, MAX_SECTION),
        "blocks": blocks[:MAX_BLOCKS],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def facts(alert: Alert) -> list[dict[str, str]]:
    """Who, what, where, when, the resource and the source address."""
    actor = alert.get("actor") or {}
    what = f"`{alert.get('event_source') or '?'}:{alert.get('event_name') or '?'}`"
    if alert.get("error_code"):
        what += f" failed: {alert['error_code']}"
    where = f"account {alert.get('account_id') or '?'}, {alert.get('aws_region') or '?'}"
    named = _resources(alert)
    resources = ", ".join(r.get("arn") or r.get("name") or "?" for r in named[:3])
    if len(named) > 3:
        resources += f" (+{len(named) - 3})"
    pairs = [
        ("Who", actor_label(actor) + (f"\n{actor['arn']}" if actor.get("arn") else "")),
        ("What", what),
        ("Where", where),
        ("When", str(alert.get("event_time") or "?")),
        ("Resource", resources or "none named"),
        ("Source IP", str(alert.get("source_ip") or "?")),
    ]
    return [
        {"type": "mrkdwn", "text": f"*{label}*\n" + fit(value, MAX_FIELD - len(label) - 3)}
        for label, value in pairs
    ]


def repeats(others: Sequence[Alert]) -> str:
    """The other alerts of a group, by time, resource and event link, within one section."""
    lines = [f"*…and {len(others)} more like this* (same rule and actor):"]
    listed = 0
    for alert in others[:MAX_LISTED]:
        resource = ", ".join(r.get("arn") or r.get("name") or "?" for r in _resources(alert)[:2])
        line = f"• {escape(str(alert.get('event_time') or '?'))}"
        if resource:
            line += f" · {escape(resource)}"
        url = event_url(alert)
        if url:
            line += f" · <{url}|event>"
        if sum(len(x) + 1 for x in lines) + len(line) + 40 > MAX_SECTION:
            break
        lines.append(line)
        listed += 1
    if listed < len(others):
        lines.append(f"…and {len(others) - listed} more not listed")
    return "\n".join(lines)


def link_line(alert: Alert) -> str:
    links = []
    url = event_url(alert)
    if url:
        links.append(f"<{url}|CloudTrail event>")
    for resource in _resources(alert)[:3]:
        found = resource_link(resource, alert.get("aws_region"))
        if found:
            label, target = found
            links.append(f"<{target}|{escape(label)}>")
    return "  ·  ".join(links)


def _resources(alert: Alert) -> list[dict[str, Any]]:
    resources = alert.get("resources")
    return [r for r in resources if isinstance(r, dict)] if isinstance(resources, list) else []


def section(text: str, *, escaped: bool = False) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text if escaped else escape(text))}


def mrkdwn(text: str) -> dict[str, str]:
    """A mrkdwn text object within the section limit; `text` is already escaped."""
    return {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}


def escape(text: str) -> str:
    """Slack's three control characters; the rest is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """Escape and cut `text` to `limit` characters."""
    return cut(escape(text), limit)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` UTF-16 units (as Slack counts), the cut marked; never inside an
    entity (`&amp;`) or a link (`<url|label>`)."""
    if _units(text) <= limit:
        return text
    budget = limit - _units(TRUNCATED)
    kept: list[str] = []
    used = 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            break
        kept.append(char)
    head = "".join(kept)
    for opener, closer in (("&", ";"), ("<", ">")):
        start = head.rfind(opener)
        if start != -1 and closer not in head[start:]:
            head = head[:start]
    return head + TRUNCATED


def _units(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


# --- console links ------------------------------------------------------------------------

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
IAM_NAME = re.compile(r"[\w+=,.@-]{1,128}")
FUNCTION_NAME = re.compile(r"[\w-]{1,140}")
IAM_CONSOLE = "https://console.aws.amazon.com/iam/home"


def console_base(region: Any) -> str | None:
    """The regional console of the commercial partition; None for China, GovCloud, ISO or a
    region that is not one (links there would need another domain and sign-in)."""
    if not isinstance(region, str) or not REGION.fullmatch(region):
        return None
    if region.startswith(("cn-", "us-gov-", "us-iso")):
        return None
    return f"https://{region}.console.aws.amazon.com"


def event_url(alert: Alert) -> str | None:
    """The event's page in the CloudTrail console (Event history: management events of the
    last 90 days, in the event's region); None without an event id or a known region."""
    region = alert.get("aws_region")
    base = console_base(region)
    event_id = alert.get("event_id")
    if base is None or not event_id or alert.get("event_type") == "AwsCloudTrailInsight":
        return None
    return f"{base}/cloudtrailv2/home?region={region}#/events/{quote(str(event_id), safe='')}"


def resource_link(resource: dict[str, Any], region: Any) -> tuple[str, str] | None:
    """A label and console URL for an S3 bucket, security group, EC2 instance, IAM user or
    role, or Lambda function; None for anything else."""
    base = console_base(region)
    if base is None:
        return None
    kind, value = _kind_and_id(resource)
    if kind == "AWS::S3::Bucket" and BUCKET.fullmatch(value):
        return f"S3 bucket {value}", f"https://s3.console.aws.amazon.com/s3/buckets/{value}"
    if kind == "AWS::EC2::SecurityGroup" and GROUP_ID.fullmatch(value):
        url = f"{base}/ec2/home?region={region}#SecurityGroup:groupId={value}"
        return f"security group {value}", url
    if kind == "AWS::EC2::Instance" and INSTANCE_ID.fullmatch(value):
        url = f"{base}/ec2/home?region={region}#InstanceDetails:instanceId={value}"
        return f"EC2 instance {value}", url
    if kind == "AWS::IAM::User" and IAM_NAME.fullmatch(value):
        return f"IAM user {value}", f"{IAM_CONSOLE}#/users/details/{quote(value, safe='')}"
    if kind == "AWS::IAM::Role" and IAM_NAME.fullmatch(value):
        return f"IAM role {value}", f"{IAM_CONSOLE}#/roles/details/{quote(value, safe='')}"
    if kind == "AWS::Lambda::Function" and FUNCTION_NAME.fullmatch(value):
        url = f"{base}/lambda/home?region={region}#/functions/{value}"
        return f"Lambda function {value}", url
    return None


def _kind_and_id(resource: dict[str, Any]) -> tuple[str, str]:
    """The resource's type (from its ARN when not given) and its console identifier."""
    kind = resource.get("type") or ""
    value = str(resource.get("arn") or resource.get("name") or "")
    if not value.startswith("arn:"):
        if kind == "AWS::Lambda::Function" and ":function:" in value:  # 123456789012:function:f
            value = value.split(":function:", 1)[1].split(":")[0]
        return kind, value
    fields = value.split(":", 5)
    if len(fields) < 6 or fields[1] != "aws":
        return "", ""
    service, rest = fields[2], fields[5]
    if service == "s3" and "/" not in rest:
        return "AWS::S3::Bucket", rest
    if service == "ec2" and rest.startswith("security-group/"):
        return "AWS::EC2::SecurityGroup", rest.split("/", 1)[1]
    if service == "ec2" and rest.startswith("instance/"):
        return "AWS::EC2::Instance", rest.split("/", 1)[1]
    if service == "iam" and rest.startswith("user/"):
        return "AWS::IAM::User", rest.rsplit("/", 1)[1]
    if service == "iam" and rest.startswith("role/"):
        return "AWS::IAM::Role", rest.rsplit("/", 1)[1]
    if service == "lambda" and rest.startswith("function:"):
        return "AWS::Lambda::Function", rest.split(":")[1]
    return "", ""
