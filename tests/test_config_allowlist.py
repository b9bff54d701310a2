"""The user's configuration: packs, rule folders, per-rule overrides, and allowlists.

Each allowlist criterion is checked on real records, alone and together (all must hold), with
expiry judged per finding against the detector's clock. Rules are built here; the shipped packs
are swapped for an empty copy (catalogue kept) wherever `load_packs` runs.
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import JSON_VALUES, SHARED_DATA, with_event_id
from trailguard.config import (
    ALLOW_KEYS,
    TOP_KEYS,
    Config,
    ConfigError,
    RuleOverride,
    config_from_data,
    load_config,
)
from trailguard.engine import Engine
from trailguard.model import Finding, Place, Severity, SourcedRecord
from trailguard.pipeline import Detector, build_detector
from trailguard.rules import packs as packs_module
from trailguard.rules.context import RecordContext
from trailguard.rules.loader import rule_from_data
from trailguard.rules.matchers import OPERATORS
from trailguard.rules.packs import load_packs
from trailguard.rules.rule import Rule
from trailguard.rules.ruleset import RuleSet
from trailguard.tally import InputTally

PLACE = Place("tests/test_config_allowlist.py")
TODAY = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
BASE = Path("/etc/trailguard")


def catalogued(file: str, line: int) -> dict[str, Any]:
    """The CloudTrail record on `line` (1-based) of an events/*.jsonl catalogue."""
    entry = orjson.loads((SHARED_DATA / "events" / file).read_text().splitlines()[line - 1])
    record = entry["event"]
    record = record.get("detail", record)
    assert isinstance(record, dict)
    return record


PASSWORD_DATA = catalogued("stratus_detonations.jsonl", 1)
"""GetPasswordData by role session stratus-red-team-ec2-get-password-data-role/aws-go-sdk-...,
account 457448411975, region apiso-northsouth-3r, from 200.249.253.51."""
LAMBDA_CODE = catalogued("stratus_detonations.jsonl", 305)
FEDERATED = catalogued("stratus_detonations.jsonl", 309)
"""GetCallerIdentity by a federated user; its issuer is an IAM user."""
AUTOSCALING_RUN = catalogued("fixtures_misc.jsonl", 18)
"""RunInstances with sourceIPAddress `autoscaling.amazonaws.com`."""


def test_the_records_are_the_ones_described() -> None:
    assert PASSWORD_DATA["userIdentity"]["arn"] == (
        "arn:aws:sts::457448411975:assumed-role/stratus-red-team-ec2-get-password-data-role/"
        "aws-go-sdk-1722375070115152000"
    )
    assert PASSWORD_DATA["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == (
        "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role"
    )
    assert (
        PASSWORD_DATA["recipientAccountId"],
        PASSWORD_DATA["awsRegion"],
        PASSWORD_DATA["sourceIPAddress"],
        PASSWORD_DATA["userAgent"],
    ) == (
        "457448411975",
        "apiso-northsouth-3r",
        "200.249.253.51",
        "stratus-red-team_5c59eb79-6dac-405c-a4c4-e19aec03c666",
    )
    assert LAMBDA_CODE["eventName"] == "UpdateFunctionCode20150331v2"
    assert FEDERATED["userIdentity"]["type"] == "FederatedUser"
    assert AUTOSCALING_RUN["sourceIPAddress"] == "autoscaling.amazonaws.com"


def with_fields(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    changed = copy.deepcopy(record)
    changed.update(fields)
    return changed


def make_rule(rule_id: str, match: dict[str, Any], **fields: Any) -> Rule:
    data = {
        "id": rule_id,
        "title": f"Rule {rule_id}",
        "description": "A rule built by the test.",
        "severity": "medium",
        "match": match,
        **fields,
    }
    return rule_from_data(data, "tests/test_config_allowlist.py")


BROAD = make_rule("lang.broad", {"outcome": "any", "where": {"eventName": {"exists": True}}})
"""Fires on every record that names an event."""


def config(data: dict[str, Any]) -> Config:
    return config_from_data(data, "cfg.yaml", BASE)


def allowing(*entries: dict[str, Any]) -> Config:
    return config({"allowlist": list(entries)})


def items(records: list[dict[str, Any]]) -> list[SourcedRecord]:
    """Each record a distinct event, as CloudTrail writes them (the detector drops repeats of
    one eventID), unless the test gave it an eventID of its own."""
    return [
        SourcedRecord(with_event_id(r), PLACE.child(f"records[{i}]")) for i, r in enumerate(records)
    ]


def run(detector: Detector, records: list[dict[str, Any]]) -> list[Finding]:
    tally = InputTally()
    findings = list(detector.run(items(records), tally))
    assert not tally.errors, [e.message() for e in tally.errors]
    return findings


def detector(cfg: Config, *rules: Rule) -> Detector:
    return Detector(Engine([RuleSet("lang", rules or (BROAD,))]), cfg, clock=lambda: TODAY)


def suppressed(entry: dict[str, Any], record: dict[str, Any]) -> bool:
    found = run(detector(allowing({"reason": "expected", **entry})), [record])
    assert len(found) <= 1
    return not found


ROLE_SESSION_ARN = PASSWORD_DATA["userIdentity"]["arn"]


# --- each criterion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "record", "expected"),
    [
        # actor ARN glob: the session's own ARN, the role behind it, or the issuer
        ({"actor_arn": ROLE_SESSION_ARN}, PASSWORD_DATA, True),
        (
            {"actor_arn": "arn:aws:sts::*:assumed-role/stratus-red-team-ec2-*-role/*"},
            PASSWORD_DATA,
            True,
        ),
        (
            {"actor_arn": "arn:aws:iam::*:role/stratus-red-team-ec2-get-password-data-role"},
            PASSWORD_DATA,
            True,
        ),
        ({"actor_arn": "arn:aws:iam::457448411975:role/stratus-red-team-*"}, PASSWORD_DATA, True),
        ({"actor_arn": "arn:aws:iam::*:role/ci-deployer"}, PASSWORD_DATA, False),
        ({"actor_arn": "arn:aws:iam::111122223333:role/stratus-*"}, PASSWORD_DATA, False),
        ({"actor_arn": "arn:aws:iam::*:user/christophe"}, PASSWORD_DATA, False),
        (
            {"actor_arn": "arn:aws:iam::*:user/stratus-red-team-user-federation-user"},
            FEDERATED,
            True,
        ),
        (
            {
                "actor_arn": [
                    "arn:aws:iam::*:user/nobody",
                    "arn:aws:sts::*:federated-user/stratus_*",
                ]
            },
            FEDERATED,
            True,
        ),
        ({"actor_arn": "*"}, with_fields(PASSWORD_DATA, userIdentity=None), False),
        # account: the record's recipientAccountId
        ({"account": "457448411975"}, PASSWORD_DATA, True),
        ({"account": 457448411975}, PASSWORD_DATA, True),
        ({"account": ["111122223333", "457448411975"]}, PASSWORD_DATA, True),
        ({"account": "111122223333"}, PASSWORD_DATA, False),
        ({"account": "457448411975"}, with_fields(PASSWORD_DATA, recipientAccountId="1"), False),
        ({"account": "457448411975"}, with_fields(PASSWORD_DATA, recipientAccountId=[1]), False),
        # region
        ({"region": "apiso-northsouth-3r"}, PASSWORD_DATA, True),
        ({"region": ["us-east-1", "eu-west-1"]}, PASSWORD_DATA, False),
        ({"region": "us-east-1"}, with_fields(PASSWORD_DATA, awsRegion={"a": 1}), False),
        # source IP CIDR
        ({"source_ip": "200.249.0.0/16"}, PASSWORD_DATA, True),
        ({"source_ip": "200.249.253.51"}, PASSWORD_DATA, True),
        ({"source_ip": ["10.0.0.0/8", "2001:db8::/32"]}, PASSWORD_DATA, False),
        ({"source_ip": "::/0"}, PASSWORD_DATA, False),
        (
            {"source_ip": "200.249.253.51/32"},
            with_fields(PASSWORD_DATA, sourceIPAddress="10.9.9.9, 200.249.253.51"),
            True,
        ),
        (
            {"source_ip": "192.168.0.0/16"},
            with_fields(PASSWORD_DATA, sourceIPAddress="10.9.9.9, 200.249.253.51"),
            False,
        ),
        (
            {"source_ip": "2001:db8::/32"},
            with_fields(PASSWORD_DATA, sourceIPAddress="2001:db8::7"),
            True,
        ),
        ({"source_ip": "0.0.0.0/0"}, AUTOSCALING_RUN, False),  # a service name is no address
        ({"source_ip": "0.0.0.0/0"}, with_fields(PASSWORD_DATA, sourceIPAddress=None), False),
        # user agent glob
        ({"user_agent": "stratus-red-team_*"}, PASSWORD_DATA, True),
        ({"user_agent": ["aws-cli/*", "Boto3/*"]}, PASSWORD_DATA, False),
        ({"user_agent": "Stratus*"}, PASSWORD_DATA, False),  # case-sensitive
        # event name, API-version suffix tolerated both ways
        ({"event_name": "UpdateFunctionCode"}, LAMBDA_CODE, True),
        ({"event_name": "UpdateFunctionCode20150331v2"}, LAMBDA_CODE, True),
        (
            {"event_name": "UpdateFunctionCode20150331v2"},
            with_fields(LAMBDA_CODE, eventName="UpdateFunctionCode"),
            True,
        ),
        ({"event_name": ["UpdateFunctionConfiguration", "AddPermission"]}, LAMBDA_CODE, False),
        # any rule condition
        ({"where": {"requestParameters.instanceId": {"prefix": "i-i2j"}}}, PASSWORD_DATA, True),
        ({"where": {"actor.type": "IAMUser"}}, PASSWORD_DATA, False),
        (
            {"where": {"any": [{"readOnly": False}, {"errorCode": {"exists": True}}]}},
            PASSWORD_DATA,
            True,
        ),
        # rule id globs
        ({"rules": "lang.*"}, PASSWORD_DATA, True),
        ({"rules": ["cis.*", "threats.*"]}, PASSWORD_DATA, False),
        ({"rules": "lang.b?oad"}, PASSWORD_DATA, True),
    ],
)
def test_each_criterion(entry: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    assert suppressed(entry, record) is expected


EVERYTHING_HOLDS: dict[str, Any] = {
    "rules": ["lang.*"],
    "actor_arn": "arn:aws:iam::*:role/stratus-red-team-*",
    "account": 457448411975,
    "region": "apiso-northsouth-3r",
    "source_ip": "200.249.0.0/16",
    "user_agent": "stratus-red-team_*",
    "event_name": "GetPasswordData",
    "where": {"readOnly": True},
}


def test_every_criterion_together() -> None:
    assert suppressed(EVERYTHING_HOLDS, PASSWORD_DATA) is True


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rules", "cis.*"),
        ("actor_arn", "arn:aws:iam::*:role/other"),
        ("account", "111122223333"),
        ("region", "us-east-1"),
        ("source_ip", "10.0.0.0/8"),
        ("user_agent", "aws-cli/*"),
        ("event_name", "AssumeRole"),
        ("where", {"readOnly": False}),
    ],
)
def test_all_criteria_must_hold(key: str, value: Any) -> None:
    assert suppressed({**EVERYTHING_HOLDS, key: value}, PASSWORD_DATA) is False


def test_the_first_covering_entry_is_counted_per_entry() -> None:
    cfg = allowing(
        {"reason": "sandbox region", "region": "apiso-northsouth-3r"},
        {"reason": "known noise", "rules": "lang.*"},
        {"reason": "never used", "account": "000000000000"},
    )
    watched = detector(cfg)
    assert run(watched, [PASSWORD_DATA, LAMBDA_CODE, PASSWORD_DATA, FEDERATED]) == []
    assert watched.stats() == {
        "suppressed": 4,
        "suppressed_by_entry": {
            "allowlist[0] (sandbox region)": 2,
            "allowlist[1] (known noise)": 2,
        },
        "below_threshold": 0,
        "duplicates": 0,
        "windows_dropped": 0,
    }


def test_allowlisted_matches_do_not_count_towards_a_threshold() -> None:
    burst = make_rule(
        "lang.burst",
        {"event_name": "GetPasswordData", "outcome": "failure"},
        threshold={"count": 3, "window": "5m"},
    )
    records = [  # three distinct denied calls (distinct eventIDs), one from the office
        with_fields(PASSWORD_DATA, sourceIPAddress="192.0.2.1", eventID="burst-1"),
        with_fields(PASSWORD_DATA, eventID="burst-2"),
        with_fields(PASSWORD_DATA, eventID="burst-3"),
    ]
    cfg = allowing({"reason": "office", "source_ip": "192.0.2.0/24"})
    watched = detector(cfg, burst)
    assert run(watched, records) == []
    assert watched.stats() == {
        "suppressed": 1,
        "suppressed_by_entry": {"allowlist[0] (office)": 1},
        "below_threshold": 2,
        "duplicates": 0,
        "windows_dropped": 0,
    }
    (finding,) = run(detector(Config(), burst), records)
    assert finding.title == "Rule lang.burst (3 in 5m)"


# --- expiry -------------------------------------------------------------------------------------


def test_an_expired_entry_stops_applying_and_warns() -> None:
    cfg = allowing(
        {"reason": "migration", "region": "apiso-northsouth-3r", "expires": "2025-01-14"}
    )
    assert run(detector(cfg), [PASSWORD_DATA]) != []
    assert cfg.warnings(TODAY.date()) == [
        "cfg.yaml: allowlist[0] expired on 2025-01-14 and no longer applies "
        "(reason was: migration); renew or remove it"
    ]


def test_an_entry_applies_through_its_expiry_day() -> None:
    cfg = allowing(
        {"reason": "migration", "region": "apiso-northsouth-3r", "expires": "2025-01-15"}
    )
    assert run(detector(cfg), [PASSWORD_DATA]) == []
    assert cfg.warnings(TODAY.date()) == []
    assert len(cfg.warnings(dt.date(2025, 1, 16))) == 1


def test_warnings_default_to_today() -> None:
    cfg = allowing({"reason": "old", "region": "x", "expires": dt.date(2001, 1, 1)})
    assert cfg.warnings() == [
        "cfg.yaml: allowlist[0] expired on 2001-01-01 and no longer applies (reason was: old); "
        "renew or remove it"
    ]


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def test_expiry_is_checked_per_finding() -> None:
    """A long run (a Lambda container, a follow mode) crosses midnight: the entry stops then."""
    cfg = allowing({"reason": "until the 14th", "rules": "lang.*", "expires": "2025-01-14"})
    clock = Clock(dt.datetime(2025, 1, 14, 23, 58, 30, tzinfo=dt.UTC))
    watched = Detector(Engine([RuleSet("lang", [BROAD])]), cfg, clock=clock)

    def ticking() -> Iterator[SourcedRecord]:
        for item in items([PASSWORD_DATA, LAMBDA_CODE, FEDERATED]):
            clock.now += dt.timedelta(minutes=1)  # 23:59:30, then 00:00:30, 00:01:30
            yield item

    found = list(watched.run(ticking(), InputTally()))
    assert [f.record["eventName"] for f in found] == [
        "UpdateFunctionCode20150331v2",
        "GetCallerIdentity",
    ]
    assert watched.stats()["suppressed_by_entry"] == {"allowlist[0] (until the 14th)": 1}


# --- reading the configuration -----------------------------------------------------------------


FULL = """\
packs: {cis: false, threats: true}
rule_folders: [./our-rules, /srv/more-rules]
rules:
  lang.broad: {severity: critical}
  lang.other: {enabled: false}
  lang.third: {enabled: true, severity: Low}
allowlist:
  - reason: "  CI deploys from this role  "
    expires: 2027-06-30
    rules: [cis.*]
    actor_arn: arn:aws:iam::*:role/ci-deployer
  - reason: sandbox accounts
    account: [001234567012, 123456789012, 42, "000000000007"]
    region: [us-east-1]
    source_ip: [10.0.0.0/8, "2001:db8::/32"]
    user_agent: Terraform/*
    event_name: [UpdateFunctionCode20150331v2]
    where: {requestParameters.fromPort: 22}
"""


def test_load_config_reads_every_key(tmp_path: Path) -> None:
    path = tmp_path / "trailguard.yaml"
    path.write_text(FULL, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.source == str(path)
    assert cfg.packs == {"cis": False, "threats": True}
    assert cfg.pack_enabled("cis") is False
    assert cfg.pack_enabled("catalog") is True
    assert cfg.rule_folders == (tmp_path / "our-rules", Path("/srv/more-rules"))
    assert cfg.overrides == {
        "lang.broad": RuleOverride(None, Severity.CRITICAL),
        "lang.other": RuleOverride(False, None),
        "lang.third": RuleOverride(True, Severity.LOW),
    }
    first, second = cfg.allowlist.entries
    assert (first.label, first.reason, first.expires) == (
        "allowlist[0]",
        "CI deploys from this role",
        dt.date(2027, 6, 30),
    )
    assert (first.rules, first.actor_arns) == (("cis.*",), ("arn:aws:iam::*:role/ci-deployer",))
    # unquoted account ids: 001234567012 would read as octal 175304202 without care
    assert second.accounts == frozenset(
        {"001234567012", "123456789012", "000000000042", "000000000007"}
    )
    assert second.regions == frozenset({"us-east-1"})
    assert [str(n) for n in second.source_ips] == ["10.0.0.0/8", "2001:db8::/32"]
    assert second.user_agents == ("Terraform/*",)
    assert second.event_names == frozenset({"UpdateFunctionCode"})
    assert second.condition is not None


def test_an_unquoted_leading_zero_account_suppresses(tmp_path: Path) -> None:
    path = tmp_path / "trailguard.yaml"
    path.write_text("allowlist:\n  - {reason: sandbox, account: 001234567012}\n", encoding="utf-8")
    record = with_fields(PASSWORD_DATA, recipientAccountId="001234567012")
    assert run(detector(load_config(path)), [record]) == []


def test_an_unquoted_number_in_a_where_still_compares_as_a_number(tmp_path: Path) -> None:
    path = tmp_path / "trailguard.yaml"
    path.write_text(
        "allowlist:\n  - {reason: ssh, where: {requestParameters.durationSeconds: {gte: 900}}}\n",
        encoding="utf-8",
    )
    record = with_fields(PASSWORD_DATA, requestParameters={"durationSeconds": 900})
    assert run(detector(load_config(path)), [record]) == []


def test_an_empty_config_file_is_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_config(path) == Config(source=str(path))


def test_a_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'nope.yaml'}: (file): no such file; pass the path of a YAML configuration"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("packs: {cis: [\n", "invalid YAML: "),
        (
            "allowlist:\n  - {reason: r, region: x, expires: 2027-02-30}\n",
            "invalid YAML: day is out",
        ),
    ],
)
def test_unreadable_config_yaml(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: (file): {problem}")
    assert str(caught.value).count(str(path)) == 1


ALLOW_HELP = ", ".join(ALLOW_KEYS)
SEVERITIES = "use one of: info, low, medium, high, critical"


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"allowlists": []}, "allowlists", f"unknown key; allowed: {', '.join(TOP_KEYS)}"),
        ({"pack": {"cis": False}}, "pack", f"unknown key; allowed: {', '.join(TOP_KEYS)}"),
        ({"packs": {"cis": "no"}}, "packs", "expected a mapping of pack id to true or false"),
        ({"packs": ["cis"]}, "packs", "expected a mapping of pack id to true or false"),
        ({"rule_folders": [1]}, "rule_folders", "expected a string or a list of strings"),
        (
            {"rules": ["lang.broad"]},
            "rules",
            "expected a mapping of rule id to {enabled, severity}",
        ),
        (
            {"rules": {"lang.broad": {"enabled": "no"}}},
            "rules.lang.broad.enabled",
            "expected true or false",
        ),
        (
            {"rules": {"lang.broad": {"severity": "urgent"}}},
            "rules.lang.broad.severity",
            f"unknown severity 'urgent'; {SEVERITIES}",
        ),
        (
            {"rules": {"lang.broad": {"muted": True}}},
            "rules.lang.broad",
            "expected a mapping with enabled and/or severity",
        ),
        (
            {"rules": {"lang.broad": {}}},
            "rules.lang.broad",
            "expected a mapping with enabled and/or severity",
        ),
        (
            {"rules": {"lang.broad": False}},
            "rules.lang.broad",
            "expected a mapping with enabled and/or severity",
        ),
        (
            {"allowlist": {"reason": "x"}},
            "allowlist",
            "expected a list of entries, each with a `reason`",
        ),
        ({"allowlist": ["x"]}, "allowlist[0]", "expected a mapping"),
        (
            {"allowlist": [{"region": "x"}]},
            "allowlist[0].reason",
            "required: say why this is expected",
        ),
        (
            {"allowlist": [{"reason": "  ", "region": "x"}]},
            "allowlist[0].reason",
            "required: say why this is expected",
        ),
        (
            {"allowlist": [{"reason": "ok", "region": "x"}, {"region": "y"}]},
            "allowlist[1].reason",
            "required: say why this is expected",
        ),
        (
            {"allowlist": [{"reason": "r"}]},
            "allowlist[0]",
            "an entry needs at least one criterion besides `reason`",
        ),
        (
            {"allowlist": [{"reason": "r", "expires": "2027-01-01"}]},
            "allowlist[0]",
            "an entry needs at least one criterion besides `reason`",
        ),
        (
            {"allowlist": [{"reason": "r", "actor": "x"}]},
            "allowlist[0].actor",
            f"unknown key; allowed: {ALLOW_HELP}",
        ),
        (
            {"allowlist": [{"reason": "r", "region": 5}]},
            "allowlist[0].region",
            "expected a string or a list of strings",
        ),
        (
            {"allowlist": [{"reason": "r", "actor_arn": ["arn:*", None]}]},
            "allowlist[0].actor_arn",
            "expected a string or a list of strings",
        ),
        (
            {"allowlist": [{"reason": "r", "rules": []}]},
            "allowlist[0].rules",
            "expected at least one value; leave the key out instead",
        ),
        (
            {"allowlist": [{"reason": "r", "region": "x", "user_agent": []}]},
            "allowlist[0].user_agent",
            "expected at least one value; leave the key out instead",
        ),
        (
            {"allowlist": [{"reason": "r", "account": []}]},
            "allowlist[0].account",
            "expected at least one account id",
        ),
        (
            {"allowlist": [{"reason": "r", "account": True}]},
            "allowlist[0].account",
            "expected account ids",
        ),
        (
            {"allowlist": [{"reason": "r", "account": 1.5}]},
            "allowlist[0].account",
            "expected account ids",
        ),
        (
            {"allowlist": [{"reason": "r", "source_ip": "10.0.0.0/33"}]},
            "allowlist[0].source_ip",
            "'10.0.0.0/33' is not an IP address or CIDR block",
        ),
        (
            {"allowlist": [{"reason": "r", "source_ip": "office"}]},
            "allowlist[0].source_ip",
            "'office' is not an IP address or CIDR block",
        ),
        (
            {"allowlist": [{"reason": "r", "region": "x", "expires": "soon"}]},
            "allowlist[0].expires",
            "'soon': expected a date such as 2027-06-30",
        ),
        (
            {"allowlist": [{"reason": "r", "where": {"eventName": {"bogus": 1}}}]},
            "allowlist[0].where.eventName.bogus",
            f"unknown operator; use one of: {', '.join(OPERATORS)}",
        ),
        (
            {"allowlist": [{"reason": "r", "where": []}]},
            "allowlist[0].where",
            "expected a mapping of `path: matcher` or all/any/not",
        ),
    ],
)
def test_config_errors_name_the_key(data: Any, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(data)
    assert caught.value.key == key
    assert str(caught.value) == f"cfg.yaml: {key}: {problem}"


def test_a_config_that_is_not_a_mapping() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_data(["packs"], "cfg.yaml", BASE)
    assert str(caught.value) == (
        f"cfg.yaml: (top level): expected a mapping with: {', '.join(TOP_KEYS)}"
    )


def test_overrides_in_the_detector() -> None:
    other = make_rule("lang.other", {"event_name": "GetPasswordData", "outcome": "any"})
    cfg = config(
        {"rules": {"lang.broad": {"severity": "critical"}, "lang.other": {"enabled": False}}}
    )
    found = run(detector(cfg, BROAD, other), [PASSWORD_DATA])
    assert [(f.rule_id, f.severity) for f in found] == [("lang.broad", Severity.CRITICAL)]


# --- packs, folders and override ids (through load_packs) ----------------------------------------


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Shipped packs with the real catalogue but no rule files (theirs are being written)."""
    packs = tmp_path / "shipped"
    packs.mkdir()
    shutil.copy(packs_module.PACKS_DIR / "catalog.yaml", packs / "catalog.yaml")
    for pack_id in ("cis", "threats"):
        (packs / pack_id).mkdir()
    monkeypatch.setattr(packs_module, "PACKS_DIR", packs)
    return packs


def write_rule(folder: Path, rule_id: str, **fields: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rule_id.replace('.', '_')}.yaml"
    data = {
        "id": rule_id,
        "title": f"Rule {rule_id}",
        "description": "d",
        "severity": "medium",
        "match": {"event_name": "GetPasswordData", "outcome": "any"},
        **fields,
    }
    path.write_text(orjson.dumps(data).decode(), encoding="utf-8")  # JSON is YAML
    return path


def config_file(folder: Path, text: str) -> Config:
    path = folder / "trailguard.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_an_unknown_rule_id_in_overrides_suggests_the_near_one(
    shipped: Path, tmp_path: Path
) -> None:
    write_rule(tmp_path / "ours", "lang.broad")
    cfg = config_file(tmp_path, "rule_folders: [ours]\nrules:\n  lang.brod: {enabled: false}\n")
    with pytest.raises(ConfigError) as caught:
        load_packs(cfg)
    assert str(caught.value) == (
        f"{tmp_path / 'trailguard.yaml'}: rules.lang.brod: no such rule; did you mean lang.broad?"
    )


def test_an_unknown_catalogue_id_suggests_the_near_one(shipped: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(config({"rules": {"catalog.chnage": {"severity": "low"}}}))
    assert str(caught.value) == (
        "cfg.yaml: rules.catalog.chnage: no such rule; "
        "did you mean catalog.change, catalog.deletion?"
    )


def test_an_unknown_rule_id_with_nothing_near(shipped: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(config({"rules": {"zzz.qqq": {"enabled": False}}}))
    assert str(caught.value) == (
        "cfg.yaml: rules.zzz.qqq: no such rule; `trailguard rules list` shows them"
    )


def test_overriding_a_rule_of_a_disabled_pack_is_not_a_typo(shipped: Path) -> None:
    write_rule(shipped / "threats", "threats.quiet")
    cfg = config({"packs": {"threats": False}, "rules": {"threats.quiet": {"severity": "low"}}})
    loaded = load_packs(cfg)
    assert [pack.pack_id for pack in loaded.packs] == ["catalog", "cis"]
    assert "threats.quiet" not in loaded.rules


def test_an_unknown_pack(shipped: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(config({"packs": {"threat": False}}))
    assert str(caught.value) == (
        "cfg.yaml: packs.threat: no such pack; shipped packs: catalog, cis, threats"
    )


def test_enabled_overrides_switch_rules_on_and_off(shipped: Path, tmp_path: Path) -> None:
    write_rule(tmp_path / "ours", "lang.dormant", enabled=False)
    write_rule(tmp_path / "ours", "lang.noisy")
    cfg = config_file(
        tmp_path,
        "packs: {catalog: false}\nrule_folders: [ours]\nrules:\n"
        "  lang.dormant: {enabled: true}\n  lang.noisy: {enabled: false}\n",
    )
    loaded = load_packs(cfg)
    assert (loaded.rules["lang.dormant"].enabled, loaded.rules["lang.noisy"].enabled) == (
        True,
        False,
    )
    found = run(Detector(Engine(loaded.packs), cfg), [PASSWORD_DATA])
    assert [f.rule_id for f in found] == ["lang.dormant"]


def test_build_detector_end_to_end(shipped: Path, tmp_path: Path) -> None:
    write_rule(tmp_path / "ours", "lang.password", severity="high")
    cfg = config_file(
        tmp_path,
        "rule_folders: [ours]\n"
        "rules:\n  catalog.change: {enabled: false}\n  lang.password: {severity: low}\n"
        "allowlist:\n  - {reason: lab account, account: 457448411975, rules: [lang.*],"
        " expires: 2099-01-01}\n",
    )
    watched = build_detector(cfg)
    other_account = with_fields(PASSWORD_DATA, recipientAccountId="111122223333")
    found = run(watched, [PASSWORD_DATA, other_account, LAMBDA_CODE])
    assert [(f.rule_id, f.severity, f.record["recipientAccountId"]) for f in found] == [
        ("lang.password", Severity.LOW, "111122223333"),
    ]
    assert watched.stats()["suppressed_by_entry"] == {"allowlist[0] (lab account)": 1}


# --- arbitrary records through overrides, allowlists and thresholds ------------------------------

FIELDS = st.sampled_from(
    [
        "eventName",
        "eventSource",
        "eventTime",
        "userIdentity",
        "recipientAccountId",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "requestParameters",
    ]
)
FUZZ_RULES = (
    make_rule("fuzz.everything", {"outcome": "any"}),
    make_rule(
        "fuzz.burst",
        {"outcome": "any", "where": {"userAgent": {"exists": False}}},
        threshold={"count": 2, "window": "1m", "group_by": ["actor.name", "requestParameters.x"]},
    ),
)
FUZZ_CONFIG = allowing(
    {**EVERYTHING_HOLDS, "reason": "all criteria", "rules": "fuzz.*"},
    {"reason": "actor", "actor_arn": "arn:*", "expires": "2025-01-14"},
    {"reason": "ip", "source_ip": ["10.0.0.0/8", "::/0"]},
    {"reason": "where", "where": {"requestParameters.x": {"gt": 5}}},
)


@given(st.lists(st.dictionaries(FIELDS | st.text(max_size=6), JSON_VALUES, max_size=8), max_size=4))
def test_arbitrary_records_never_break_the_detector(records: list[dict[str, Any]]) -> None:
    watched = Detector(Engine([RuleSet("fuzz", FUZZ_RULES)]), FUZZ_CONFIG, clock=lambda: TODAY)
    found = run(watched, records)
    stats = watched.stats()
    bursts = sum(1 for r in records if not RecordContext(r).values(("userAgent",)))
    # every match is accounted for: alerted, suppressed, or waiting below its threshold
    assert len(found) + stats["suppressed"] + stats["below_threshold"] == len(records) + bursts
