"""The catalogue pack against the seed it comes from, and its decisions on real records.

The seed's Go maps are parsed out of the article itself (tests/fixtures/seed/), so the pack
is compared with what the seed says, not with a second hand-typed copy. Decisions are checked
on real CloudTrail records from tests/fixtures/shared_data, varied in eventName/eventSource.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from trailguard.alerts import build_alert
from trailguard.engine import Engine
from trailguard.model import Place, Record, Severity, SourcedRecord
from trailguard.rules import PACKS_DIR, default_catalog, load_catalog
from trailguard.rules.catalog import (
    RULE_CHANGE,
    RULE_DELETION,
    RULE_UNLISTED_SERVICE,
)
from trailguard.rules.errors import RuleLoadError
from trailguard.rules.names import base_event_name
from trailguard.sources.decoder import Decoder
from trailguard.sources.files import read_local
from trailguard.tally import InputTally

TESTS = Path(__file__).resolve().parent
SEED_FILE = TESTS / "fixtures" / "seed" / "000_55590a9cd18c7130.txt"
SHARED_DATA = TESTS / "fixtures" / "shared_data"
LOG_FILES = SHARED_DATA / "envelopes" / "s3" / "cloudtrail_log_files"
PACK_FILE = PACKS_DIR / "catalog.yaml"
PLACE = Place("tests/test_catalog.py")

# --- the seed, parsed from the article's Go code -------------------------------------------------

SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
SEED_LEVELS = {"Info": "low", "Warning": "medium", "Fatal": "high"}
"""The seed's logger levels (SeverityLow/Medium/High in severities.go) as trailguard severities."""
SIGNIN = "signin.amazonaws.com"


def go_map_body(declaration: str) -> str:
    """The text between `<declaration> = map[...]{` and the map's closing `\\t}` line."""
    match = re.search(rf"^\t{re.escape(declaration)} = map\[\w+\][\w.]+\{{\n", SEED_TEXT, re.M)
    assert match is not None, f"{declaration} not found in the seed"
    end = SEED_TEXT.index("\n\t}", match.end())
    return SEED_TEXT[match.end() : end]


def seed_event_severities() -> dict[str, str]:
    """EventSeverities as {event name: Go level}; a repeated name is a parse error here."""
    entries = re.findall(r'^\t\t"(\w+)":\s+logger\.(\w+),$', go_map_body("EventSeverities"), re.M)
    names = [name for name, _ in entries]
    assert len(names) == len(set(names)), "the seed's map literal cannot repeat a key"
    return dict(entries)


def seed_service_constants() -> dict[str, str]:
    """The AWSService constants: {Go identifier: event source}."""
    return dict(re.findall(r'^\t(service\w+)\s+AWSService = "([^"]+)"$', SEED_TEXT, re.M))


def seed_services(declaration: str) -> set[str]:
    constants = seed_service_constants()
    identifiers = re.findall(r"^\t\t(service\w+):\s+true,$", go_map_body(declaration), re.M)
    return {constants[identifier] for identifier in identifiers}


def seed_names(declaration: str) -> set[str]:
    return set(re.findall(r'^\t\t"(\w+)":\s+true,$', go_map_body(declaration), re.M))


def seed_deletion_regex() -> str:
    match = re.search(r"deleteResource\s+=\s+regexp\.MustCompile\(`([^`]+)`\)", SEED_TEXT)
    assert match is not None
    return match.group(1)


SEED_EVENTS = seed_event_severities()
SEED_KNOWN_SERVICES = seed_services("KnownServices")
SEED_WHITELISTED_SERVICES = seed_services("WhiteListedServices")
SEED_WHITELISTED_EVENTS = seed_names("WhiteListedEvents")


def expected_outcome(record: Record) -> tuple[str, str] | None:
    """The seed's decision with the documented fixes (docs/catalogue.md), from the parsed seed.

    An oracle independent of trailguard's code: whitelist, deletion, unknown service, catalogue.
    """
    source = record.get("eventSource")
    source = source if isinstance(source, str) else None
    name = record.get("eventName")
    name = re.sub(r"\d{8}(v\d+)?$", "", name) if isinstance(name, str) else ""
    if source in SEED_WHITELISTED_SERVICES or name in SEED_WHITELISTED_EVENTS:
        return None
    if re.match(r"[Dd]elete|[Rr]evoke|[Rr]emove", name):
        return (RULE_DELETION, "high")
    if source not in SEED_KNOWN_SERVICES | {SIGNIN}:
        return (RULE_UNLISTED_SERVICE, "info")
    return (RULE_CHANGE, SEED_LEVELS[SEED_EVENTS[name]] if name in SEED_EVENTS else "low")


# --- real records --------------------------------------------------------------------------------

_MISSING = object()


@cache
def log_file_records(name: str) -> list[Record]:
    """The records of one CloudTrail log file from the shared data (callers copy them)."""
    with gzip.open(LOG_FILES / f"{name}.json.gz", "rt", encoding="utf-8") as handle:
        records: list[Record] = json.load(handle)["Records"]
    return records


def real_record(log_file: str, event_name: str, **changes: Any) -> Record:
    """The first record named `event_name` in a real log file, with fields changed or removed.

    A value of `_MISSING` removes the field.
    """
    for record in log_file_records(log_file):
        if record.get("eventName") == event_name:
            varied = copy.deepcopy(record)
            for key, value in changes.items():
                if value is _MISSING:
                    varied.pop(key, None)
                else:
                    varied[key] = value
            return varied
    raise LookupError(f"{event_name} not in {log_file}")


STOP_LOGGING = "stratus_aws.defense-evasion.cloudtrail-stop"
DELETE_TRAIL = "stratus_aws.defense-evasion.cloudtrail-delete"
ORGANIZATIONS_LEAVE = "stratus_aws.defense-evasion.organizations-leave"
GET_PASSWORD_DATA = "stratus_aws.credential-access.ec2-get-password-data"
STEAL_CREDENTIALS = "stratus_aws.credential-access.ec2-steal-instance-credentials"
CREATE_ADMIN_USER = "stratus_aws.persistence.iam-create-admin-user"
LAMBDA_OVERWRITE = "stratus_aws.persistence.lambda-overwrite-code"
RESOLVER_LOGS = "stratus_aws.defense-evasion.dns-delete-logs"


def outcome(record: Record) -> tuple[str, str] | None:
    """(rule id, severity) of the catalogue's single finding, or None when it gives none."""
    findings = default_catalog().evaluate(record, PLACE)
    assert len(findings) <= 1, findings
    return (findings[0].rule_id, findings[0].severity.label) if findings else None


def all_real_records() -> list[tuple[str, Record]]:
    """Every record in the shared data: those the decoder finds in any file or envelope, plus
    the `event` of each catalogue line and the raw_json of each parser edge case."""
    tally = InputTally()
    found = [
        (str(item.place), item.record) for item in read_local([str(SHARED_DATA)], Decoder(tally))
    ]
    events = SHARED_DATA / "events"
    for name in ("stratus_detonations", "awsdocs_userguide_events", "fixtures_misc"):
        lines = (events / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        found += [
            (f"{name}.jsonl line {n}", json.loads(line)["event"]) for n, line in enumerate(lines, 1)
        ]
    lines = (events / "parser_edge_cases.jsonl").read_text(encoding="utf-8").splitlines()
    found += [
        (f"parser_edge_cases.jsonl line {n}", json.loads(json.loads(line)["raw_json"]))
        for n, line in enumerate(lines, 1)
    ]
    return found


# --- the seed, as parsed -------------------------------------------------------------------------


def test_seed_parse_finds_the_whole_catalogue() -> None:
    assert len(SEED_EVENTS) == 318
    assert set(SEED_EVENTS.values()) == set(SEED_LEVELS)
    # Every `logger.X,` line of the map was parsed (none skipped by a stricter regex).
    body = go_map_body("EventSeverities")
    assert body.count("logger.") == 318
    assert len(SEED_KNOWN_SERVICES) == 12
    assert {"sts.amazonaws.com", "kms.amazonaws.com"} == SEED_WHITELISTED_SERVICES
    assert {"DeleteNetworkInterface", "DeletePolicyVersion"} == SEED_WHITELISTED_EVENTS
    assert seed_deletion_regex() == "^([D,d]elete).*|([R,r]evoke).*|([R,r]emove).*"


def test_seed_decision_order_is_whitelist_deletion_unknown_service_catalogue() -> None:
    """processCloudTrailEvent returns at the first check that applies, in this order."""
    start = SEED_TEXT.index("func processCloudTrailEvent(")
    body = SEED_TEXT[start : SEED_TEXT.index("func processDefaultKnownEvent(")]
    steps = [
        "if WhiteListedServices[cloudTrailEvent.EventSource] || WhiteListedEvents[",
        "deleteEvent := deleteResource.FindString(cloudTrailEvent.EventName)",
        "if !KnownServices[cloudTrailEvent.EventSource] {",
        "return processDefaultKnownEvent(cloudTrailEvent)",
    ]
    positions = [body.index(step) for step in steps]
    assert positions == sorted(positions)


# --- the shipped pack equals the seed ------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses repeated mapping keys (PyYAML keeps the last silently)."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(key_node) for key_node, _ in node.value]
    repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
    assert not repeated, f"repeated keys in {PACK_FILE}: {repeated}"
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


@pytest.fixture(scope="module")
def raw_pack() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(PACK_FILE.read_text(encoding="utf-8"), _UniqueKeyLoader)
    return data


def test_raw_yaml_events_are_the_seed_event_severities(raw_pack: dict[str, Any]) -> None:
    events = raw_pack["events"]
    assert all(isinstance(name, str) for name in events)
    assert set(events) == set(SEED_EVENTS)
    assert len(events) == 318
    assert {name: SEED_LEVELS[level] for name, level in SEED_EVENTS.items()} == events


def test_raw_yaml_services_whitelists_and_rules(raw_pack: dict[str, Any]) -> None:
    assert raw_pack["id"] == "catalog"
    assert raw_pack["kind"] == "catalog"
    services = raw_pack["known_services"]
    assert len(services) == len(set(services)) == 13
    assert set(services) == SEED_KNOWN_SERVICES | {SIGNIN}
    assert set(raw_pack["whitelist"]["event_sources"]) == SEED_WHITELISTED_SERVICES
    assert set(raw_pack["whitelist"]["event_names"]) == SEED_WHITELISTED_EVENTS
    assert raw_pack["deletion"] == {"prefixes": ["Delete", "Revoke", "Remove"], "severity": "high"}
    assert raw_pack["unlisted_service_severity"] == "info"
    assert raw_pack["unnamed_event_severity"] == "low"


def test_loaded_pack_is_the_seed_catalogue() -> None:
    pack = default_catalog()
    assert pack.pack_id == "catalog"
    assert {name: severity.label for name, severity in pack.events.items()} == {
        name: SEED_LEVELS[level] for name, level in SEED_EVENTS.items()
    }
    assert pack.known_services == SEED_KNOWN_SERVICES | {SIGNIN}
    assert pack.whitelisted_sources == SEED_WHITELISTED_SERVICES
    assert pack.whitelisted_names == SEED_WHITELISTED_EVENTS
    assert set(pack.deletion_prefixes) == {
        "Delete",
        "delete",
        "Revoke",
        "revoke",
        "Remove",
        "remove",
    }
    assert pack.deletion_severity is Severity.HIGH
    assert pack.unlisted_service_severity is Severity.INFO
    assert pack.unnamed_event_severity is Severity.LOW


def test_loading_the_file_twice_gives_the_same_pack() -> None:
    assert load_catalog(PACK_FILE) == default_catalog()


def test_pack_loads_with_pyyaml_built_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML without libyaml has no CSafeLoader; the pure-Python loader reads the same pack."""
    shipped = default_catalog()
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert load_catalog(PACK_FILE) == shipped


# --- decisions, in the seed's order --------------------------------------------------------------


@pytest.mark.parametrize(
    ("log_file", "event_name", "changes"),
    [
        pytest.param(GET_PASSWORD_DATA, "AssumeRole", {}, id="sts-real"),
        pytest.param(STEAL_CREDENTIALS, "GetCallerIdentity", {}, id="sts-real-2"),
        pytest.param(
            STOP_LOGGING, "StopLogging", {"eventSource": "kms.amazonaws.com"}, id="kms-source"
        ),
        pytest.param(
            STOP_LOGGING,
            "StopLogging",
            {"eventSource": "kms.amazonaws.com", "eventName": "ScheduleKeyDeletion"},
            id="kms-catalogued-high",
        ),
        pytest.param(
            GET_PASSWORD_DATA,
            "AssumeRole",
            {"eventName": "DeleteSomething"},
            id="sts-source-beats-deletion",
        ),
    ],
)
def test_whitelisted_source_gives_no_finding(
    log_file: str, event_name: str, changes: dict[str, Any]
) -> None:
    record = real_record(log_file, event_name, **changes)
    assert record["eventSource"] in SEED_WHITELISTED_SERVICES
    assert outcome(record) is None


@pytest.mark.parametrize("name", sorted(SEED_WHITELISTED_EVENTS))
@pytest.mark.parametrize(
    "source",
    ["ec2.amazonaws.com", "iam.amazonaws.com", "rolesanywhere.amazonaws.com", _MISSING],
)
def test_whitelisted_name_gives_no_finding_even_though_it_is_a_deletion(
    name: str, source: object
) -> None:
    """Whitelist comes before deletion: `DeleteNetworkInterface` is not `catalog.deletion`."""
    record = real_record(DELETE_TRAIL, "DeleteTrail", eventName=name, eventSource=source)
    assert outcome(record) is None


def test_delete_trail_is_a_deletion_though_the_catalogue_does_not_name_it() -> None:
    record = real_record(DELETE_TRAIL, "DeleteTrail")
    assert "DeleteTrail" not in default_catalog().events
    assert outcome(record) == (RULE_DELETION, "high")


@pytest.mark.parametrize(
    ("name", "catalogued"),
    [
        ("DeleteRoute", "medium"),
        ("RemoveUserFromGroup", "medium"),
        ("RemoveTagsFromStream", "medium"),
        ("RevokeSecurityGroupIngress", "high"),
    ],
)
def test_deletion_comes_before_the_catalogue_severity(name: str, catalogued: str) -> None:
    """The seed checks deletion before looking the name up: `DeleteRoute` (Warning) is high."""
    assert SEED_LEVELS[SEED_EVENTS[name]] == catalogued
    assert default_catalog().events[name].label == catalogued
    record = real_record(GET_PASSWORD_DATA, "GetPasswordData", eventName=name)
    assert outcome(record) == (RULE_DELETION, "high")


def test_every_catalogued_deletion_name_is_high_whatever_the_catalogue_says() -> None:
    """76 catalogue entries start with a deletion prefix; the order makes their severity moot.

    Five of them say Warning in the seed and can never be logged at that level.
    """
    shadowed = {
        name: SEED_LEVELS[level]
        for name, level in SEED_EVENTS.items()
        if re.match("Delete|Revoke|Remove", name) and name not in SEED_WHITELISTED_EVENTS
    }
    assert len(shadowed) == 76
    assert {name for name, level in shadowed.items() if level != "high"} == {
        "DeleteRoute",
        "RemoveClientIDFromOpenIDConnectProvider",
        "RemoveRoleFromInstanceProfile",
        "RemoveUserFromGroup",
        "RemoveTagsFromStream",
    }
    for name in shadowed:
        record = real_record(CREATE_ADMIN_USER, "CreateUser", eventName=name)
        assert outcome(record) == (RULE_DELETION, "high"), name


@pytest.mark.parametrize(
    ("log_file", "event_name"),
    [
        (RESOLVER_LOGS, "DeleteResolverQueryLogConfig"),  # route53resolver: not known
        (DELETE_TRAIL, "DeleteTrail"),
    ],
)
def test_deletion_comes_before_the_unknown_service_check(log_file: str, event_name: str) -> None:
    record = real_record(log_file, event_name)
    assert outcome(record) == (RULE_DELETION, "high")
    unknown = real_record(log_file, event_name, eventSource="lightsail.amazonaws.com")
    assert outcome(unknown) == (RULE_DELETION, "high")


@pytest.mark.parametrize(
    ("log_file", "event_name", "changes"),
    [
        pytest.param(STEAL_CREDENTIALS, "SendCommand", {}, id="ssm-real"),
        pytest.param(ORGANIZATIONS_LEAVE, "LeaveOrganization", {}, id="organizations-real"),
        pytest.param(
            STOP_LOGGING,
            "StopLogging",
            {"eventSource": "logs.amazonaws.com"},
            id="catalogued-high-name-unknown-service",
        ),
        pytest.param(
            CREATE_ADMIN_USER,
            "CreateUser",
            {"eventSource": "identitystore.amazonaws.com", "eventName": "RunInstances"},
            id="runinstances-unknown-service",
        ),
    ],
)
def test_unknown_service_is_info_before_the_catalogue_severity(
    log_file: str, event_name: str, changes: dict[str, Any]
) -> None:
    record = real_record(log_file, event_name, **changes)
    assert outcome(record) == (RULE_UNLISTED_SERVICE, "info")


@pytest.mark.parametrize(
    ("log_file", "event_name", "changes", "severity"),
    [
        pytest.param(STOP_LOGGING, "StopLogging", {}, "high", id="StopLogging-real"),
        pytest.param(CREATE_ADMIN_USER, "CreateAccessKey", {}, "high", id="CreateAccessKey-real"),
        pytest.param(CREATE_ADMIN_USER, "CreateUser", {}, "low", id="CreateUser-real"),
        pytest.param(CREATE_ADMIN_USER, "AttachUserPolicy", {}, "low", id="AttachUserPolicy-real"),
        pytest.param(
            CREATE_ADMIN_USER,
            "CreateUser",
            {"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy"},
            "medium",
            id="PutBucketPolicy",
        ),
        pytest.param(
            CREATE_ADMIN_USER,
            "CreateUser",
            {"eventName": "DetachUserPolicy"},
            "medium",
            id="DetachUserPolicy",
        ),
        pytest.param(
            CREATE_ADMIN_USER,
            "CreateUser",
            {"eventName": "UpdateAccountPasswordPolicy"},
            "high",
            id="UpdateAccountPasswordPolicy",
        ),
    ],
)
def test_catalogue_severity_for_a_known_service(
    log_file: str, event_name: str, changes: dict[str, Any], severity: str
) -> None:
    record = real_record(log_file, event_name, **changes)
    assert outcome(record) == (RULE_CHANGE, severity)


@pytest.mark.parametrize("name", sorted(SEED_EVENTS))
def test_every_seed_event_name_on_a_known_service(name: str) -> None:
    """Each of the 318 names on a real iam record: whitelist, deletion or the seed's level."""
    record = real_record(CREATE_ADMIN_USER, "CreateUser", eventName=name)
    if name in SEED_WHITELISTED_EVENTS:
        expected = None
    elif re.match("Delete|Revoke|Remove", name):
        expected = (RULE_DELETION, "high")
    else:
        expected = (RULE_CHANGE, SEED_LEVELS[SEED_EVENTS[name]])
    assert outcome(record) == expected


def test_the_catalogue_is_keyed_by_name_not_by_service() -> None:
    """As in the seed: `CreateAlias` is listed under KMS but applies to Lambda's CreateAlias."""
    record = real_record(LAMBDA_OVERWRITE, "UpdateFunctionCode20150331v2", eventName="CreateAlias")
    assert outcome(record) == (RULE_CHANGE, "low")
    record["eventName"] = "StopLogging"
    assert outcome(record) == (RULE_CHANGE, "high")


# --- Lambda API-version suffixes (a deliberate improvement on the seed) --------------------------


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("UpdateFunctionCode20150331v2", "UpdateFunctionCode"),
        ("UpdateEventSourceMapping20150331", "UpdateEventSourceMapping"),
        ("AddPermission20150331v2", "AddPermission"),
        ("GetFunction20150331v10", "GetFunction"),
        ("UpdateFunctionCode", "UpdateFunctionCode"),
        ("CreateKey2", "CreateKey2"),  # not eight digits: kept
        ("Get2015033", "Get2015033"),
        ("", ""),
    ],
)
def test_base_event_name_drops_only_an_api_version_suffix(raw: str, base: str) -> None:
    assert base_event_name(raw) == base


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("UpdateFunctionCode20150331v2", (RULE_CHANGE, "low")),
        ("UpdateEventSourceMapping20150331", (RULE_CHANGE, "medium")),
        ("RemovePermission20150331v2", (RULE_DELETION, "high")),
        ("DeleteFunction20150331", (RULE_DELETION, "high")),
        ("DeletePolicyVersion20150331v2", None),  # the whitelist sees the base name too
    ],
)
def test_lambda_api_version_suffix_is_dropped_before_lookup(
    name: str, expected: tuple[str, str] | None
) -> None:
    """The seed looked `UpdateEventSourceMapping20150331` up verbatim, missed, and logged an
    empty severity; trailguard looks up `UpdateEventSourceMapping` (Warning -> medium)."""
    record = real_record(LAMBDA_OVERWRITE, "UpdateFunctionCode20150331v2", eventName=name)
    assert name not in SEED_EVENTS
    assert outcome(record) == expected
    findings = default_catalog().evaluate(record, PLACE)
    if findings:
        alert = build_alert(findings[0])
        assert alert["event_name"] == name  # the alert keeps the name CloudTrail recorded
        assert name in alert["title"]


# --- every real record ---------------------------------------------------------------------------


def test_exactly_one_finding_per_non_whitelisted_real_record() -> None:
    records = all_real_records()
    assert len(records) > 1000
    catalog = default_catalog()
    seen: dict[tuple[str, str] | None, int] = {}
    for where, record in records:
        findings = catalog.evaluate(record, PLACE)
        expected = expected_outcome(record)
        got = (findings[0].rule_id, findings[0].severity.label) if findings else None
        assert len(findings) == (0 if expected is None else 1), where
        assert got == expected, where
        seen[got] = seen.get(got, 0) + 1
    # The real data exercises every branch of the decision.
    assert seen[None] > 0
    assert seen[(RULE_DELETION, "high")] > 0
    assert seen[(RULE_UNLISTED_SERVICE, "info")] > 0
    assert seen[(RULE_CHANGE, "low")] > 0
    assert seen[(RULE_CHANGE, "high")] > 0


# --- odd records never crash ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"eventName": _MISSING}, (RULE_CHANGE, "low"), id="no-name"),
        pytest.param({"eventSource": _MISSING}, (RULE_UNLISTED_SERVICE, "info"), id="no-source"),
        pytest.param(
            {"eventName": _MISSING, "eventSource": _MISSING},
            (RULE_UNLISTED_SERVICE, "info"),
            id="neither",
        ),
        pytest.param({"eventName": None}, (RULE_CHANGE, "low"), id="name-null"),
        pytest.param({"eventName": ""}, (RULE_CHANGE, "low"), id="name-empty"),
        pytest.param({"eventName": 42}, (RULE_CHANGE, "low"), id="name-number"),
        pytest.param({"eventName": 1.5e300}, (RULE_CHANGE, "low"), id="name-float"),
        pytest.param({"eventName": True}, (RULE_CHANGE, "low"), id="name-bool"),
        pytest.param({"eventName": ["DeleteTrail"]}, (RULE_CHANGE, "low"), id="name-list"),
        pytest.param({"eventName": {"DeleteTrail": 1}}, (RULE_CHANGE, "low"), id="name-dict"),
        pytest.param(
            {"eventName": ["DeleteNetworkInterface"]}, (RULE_CHANGE, "low"), id="name-list-wl"
        ),
        pytest.param({"eventSource": 7}, (RULE_UNLISTED_SERVICE, "info"), id="source-number"),
        pytest.param(
            {"eventSource": ["sts.amazonaws.com"]},
            (RULE_UNLISTED_SERVICE, "info"),
            id="source-list",
        ),
        pytest.param(
            {"eventSource": {"sts.amazonaws.com": True}},
            (RULE_UNLISTED_SERVICE, "info"),
            id="source-dict",
        ),
        pytest.param({"eventSource": None}, (RULE_UNLISTED_SERVICE, "info"), id="source-null"),
        pytest.param(
            {"eventSource": [1], "eventName": "DeleteTrail"},
            (RULE_DELETION, "high"),
            id="source-list-deletion",
        ),
        pytest.param(
            {"eventSource": {}, "eventName": "DeleteNetworkInterface"},
            None,
            id="source-dict-whitelisted-name",
        ),
        pytest.param(
            {"eventSource": "STS.AMAZONAWS.COM"},
            (RULE_UNLISTED_SERVICE, "info"),
            id="source-other-case",
        ),
    ],
)
def test_records_with_missing_or_mistyped_fields_get_a_defined_result(
    changes: dict[str, Any], expected: tuple[str, str] | None
) -> None:
    record = real_record(STOP_LOGGING, "StopLogging", **changes)
    assert outcome(record) == expected
    assert expected_outcome(record) == expected
    # The whole path after the pack copes too: the engine reports nothing, the alert builds.
    tally = InputTally()
    findings = Engine([default_catalog()]).evaluate(SourcedRecord(record, PLACE), tally)
    assert tally.invalid_total == 0
    assert [build_alert(finding)["rule_id"] for finding in findings] == (
        [expected[0]] if expected else []
    )


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_names = st.sampled_from(
    [*sorted(SEED_EVENTS), "deleteX", "RevokeY", "ListRemovedThings", ",eleteZ", "Get20150331"]
)
_sources = st.sampled_from(sorted(SEED_KNOWN_SERVICES | {SIGNIN, "ssm.amazonaws.com", ""}))


@given(
    name=_json_values | _names | st.text(max_size=30),
    source=_json_values | _sources,
)
def test_any_name_and_source_give_the_oracle_outcome(name: object, source: object) -> None:
    record = real_record(STOP_LOGGING, "StopLogging", eventName=name, eventSource=source)
    assert outcome(record) == expected_outcome(record)


# --- loader errors -------------------------------------------------------------------------------


def _shipped_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PACK_FILE.read_text(encoding="utf-8"))
    return data


def _write_pack(tmp_path: Path, change: Any) -> Path:
    """The shipped pack with `change(data)` applied, written as YAML."""
    data = _shipped_data()
    change(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


ALLOWED_SEVERITIES = "use one of: info, low, medium, high, critical"


def _set(*keys: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


def _drop(*keys: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "field", "allowed"),
    [
        pytest.param(
            _set("events", "StopLogging", value="Fatal"),
            "events.StopLogging",
            ALLOWED_SEVERITIES,
            id="seed-level-name-as-severity",
        ),
        pytest.param(
            _set("events", "CreateApi", value=3),
            "events.CreateApi",
            ALLOWED_SEVERITIES,
            id="number-as-severity",
        ),
        pytest.param(
            _set("deletion", "severity", value="severe"),
            "deletion.severity",
            ALLOWED_SEVERITIES,
            id="bad-deletion-severity",
        ),
        pytest.param(
            _drop("unlisted_service_severity"),
            "unlisted_service_severity",
            ALLOWED_SEVERITIES,
            id="missing-unlisted-severity",
        ),
        pytest.param(
            _set("unnamed_event_severity", value=""),
            "unnamed_event_severity",
            ALLOWED_SEVERITIES,
            id="empty-unnamed-severity",
        ),
        pytest.param(_drop("events"), "events", "expected a mapping", id="missing-events"),
        pytest.param(
            _set("events", value=["StopLogging"]),
            "events",
            "expected a mapping, found list",
            id="events-a-list",
        ),
        pytest.param(_drop("whitelist"), "whitelist", "expected a mapping", id="missing-whitelist"),
        pytest.param(
            _set("kind", value="detections"),
            "kind",
            "expected 'catalog', found 'detections'",
            id="wrong-kind",
        ),
        pytest.param(_drop("kind"), "kind", "expected 'catalog', found None", id="missing-kind"),
        pytest.param(_drop("id"), "id", "expected a non-empty string", id="missing-id"),
        pytest.param(
            _set("known_services", value="ec2.amazonaws.com"),
            "known_services",
            "expected a list of non-empty strings",
            id="services-a-string",
        ),
        pytest.param(
            _set("whitelist", "event_names", value=["DeletePolicyVersion", 7]),
            "whitelist.event_names",
            "expected a list of non-empty strings",
            id="whitelist-number",
        ),
        pytest.param(
            _set("whitelist", "event_sources", value=None),
            "whitelist.event_sources",
            "expected a list of non-empty strings",
            id="whitelist-null",
        ),
        pytest.param(
            _set("deletion", "prefixes", value=["Delete", ""]),
            "deletion.prefixes",
            "expected a list of non-empty strings",
            id="empty-prefix",
        ),
    ],
)
def test_malformed_pack_names_file_field_and_what_is_allowed(
    tmp_path: Path, change: Any, field: str, allowed: str
) -> None:
    path = _write_pack(tmp_path, change)
    with pytest.raises(RuleLoadError) as caught:
        load_catalog(path)
    error = caught.value
    assert error.source == str(path)
    assert error.field == field
    assert allowed in error.problem
    assert str(error).startswith(f"{path}: {field}: ")


@pytest.mark.parametrize(
    ("text", "field", "allowed"),
    [
        pytest.param(
            "- id: catalog\n- kind: catalog\n", "(top level)", "expected a mapping", id="a-list"
        ),
        pytest.param("catalog\n", "(top level)", "expected a mapping", id="a-string"),
        pytest.param("", "(top level)", "expected a mapping", id="empty-file"),
        pytest.param(
            "id: catalog\nkind: catalog\nevents: {CreateApi: low\n",
            "(file)",
            "cannot read YAML",
            id="invalid-yaml",
        ),
        pytest.param("id: [catalog\n", "(file)", "cannot read YAML", id="unclosed-list"),
    ],
)
def test_unreadable_pack_names_the_file(
    tmp_path: Path, text: str, field: str, allowed: str
) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleLoadError) as caught:
        load_catalog(path)
    assert caught.value.source == str(path)
    assert caught.value.field == field
    assert allowed in str(caught.value)
    assert str(path) in str(caught.value)


def test_invalid_yaml_error_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("id: catalog\nkind: catalog\nevents: {CreateApi: low\n", encoding="utf-8")
    with pytest.raises(RuleLoadError, match=r"line \d+"):
        load_catalog(path)


def test_missing_pack_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(RuleLoadError) as caught:
        load_catalog(path)
    assert caught.value.source == str(path)
    assert caught.value.field == "(file)"
