"""Alerts for sink tests, built by `build_alert` from a real CloudTrail record.

The record is the Stratus Red Team detonation `ec2-security-group-open-port-22-ingress`
(tests/fixtures/shared_data/events/stratus_detonations.jsonl), with a real region in place
of the anonymised one so that console links can be built.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import orjson

from conftest import SHARED_DATA
from trailguard.alerts import Alert, build_alert
from trailguard.model import Finding, Place, Severity


def _stratus_record() -> dict[str, Any]:
    for line in (SHARED_DATA / "events/stratus_detonations.jsonl").read_text().splitlines():
        entry = orjson.loads(line)
        if entry["technique"] == "aws.exfiltration.ec2-security-group-open-port-22-ingress":
            record: dict[str, Any] = entry["event"]
            if record["eventName"] == "AuthorizeSecurityGroupIngress":
                return {**record, "awsRegion": "us-east-1"}
    raise LookupError("the Stratus port-22 detonation")


RECORD = _stratus_record()
_ids = itertools.count(1)


def alert(
    *,
    rule_id: str = "threats.security_group_open_to_world",
    severity: Severity = Severity.HIGH,
    title: str = "Port 22 of sg-003dc7f1f1c686164 opened to the world",
    description: str = "A security group now admits SSH from any address.",
    runbook: str = "Ask the actor why; remove the rule if it is not expected.",
    **record_changes: Any,
) -> Alert:
    """An alert for a copy of the record; each call is a distinct event unless `eventID`
    is given. `record_changes` replace top-level record fields."""
    record = copy.deepcopy(RECORD)
    record["eventID"] = f"9fd68588-ecbf-4528-a345-{next(_ids):012d}"
    record.update(record_changes)
    finding = Finding(
        rule_id=rule_id,
        severity=severity,
        title=title,
        record=record,
        place=Place("test"),
        description=description,
        runbook=runbook,
    )
    return build_alert(finding)


def alerts(count: int, **changes: Any) -> list[Alert]:
    return [alert(**changes) for _ in range(count)]
