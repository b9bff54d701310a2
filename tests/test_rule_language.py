"""The rule language: every operator, paths through objects and lists, outcomes, event names,
predicates, severity by condition, `explain()` and `evidence()`, on real CloudTrail records.

Records come from tests/fixtures/shared_data/events (Stratus detonations, the CloudTrail user
guide, cloud-custodian fixtures). Where the shared data has no record of a shape (an
`ipPermissions` request with nested `items`, a comma-separated `sourceIPAddress`), a real record
is copied and only that field is changed. Rules are built here, never taken from the packs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import JSON_VALUES, SHARED_DATA
from trailguard.model import Severity
from trailguard.rules.conditions import Explanation, compile_condition
from trailguard.rules.context import RecordContext, values_at
from trailguard.rules.errors import RuleLoadError
from trailguard.rules.loader import rule_from_data
from trailguard.rules.matchers import OPERATORS, as_network, as_number, is_open_cidr
from trailguard.rules.names import base_event_name
from trailguard.rules.predicates import predicate, registered
from trailguard.rules.rule import Rule

# --- real records ----------------------------------------------------------------------------


def catalogued(file: str, line: int) -> dict[str, Any]:
    """The CloudTrail record on `line` (1-based) of an events/*.jsonl catalogue."""
    entry = orjson.loads((SHARED_DATA / "events" / file).read_text().splitlines()[line - 1])
    record = entry["event"]
    record = record.get("detail", record)  # a few fixtures are EventBridge-wrapped
    assert isinstance(record, dict)
    return record


STRATUS = "stratus_detonations.jsonl"
PASSWORD_DATA = catalogued(STRATUS, 1)
"""GetPasswordData by an assumed role, denied (Client.UnauthorizedOperation); readOnly: true."""
ASSUME_ROLE = catalogued(STRATUS, 31)
"""AssumeRole by IAM user christophe, succeeded; requestParameters.durationSeconds: 900."""
SG_INGRESS = catalogued(STRATUS, 266)
"""AuthorizeSecurityGroupIngress with cidrIp 208.236.235.254/0 (an open range, oddly written)."""
SERIAL_CONSOLE = catalogued(STRATUS, 290)
"""SendSerialConsoleSSHPublicKey: serialPort: 0, monitorMode: false."""
LAMBDA_CODE = catalogued(STRATUS, 305)
"""UpdateFunctionCode20150331v2: Lambda's event name carries its API version."""
CONSOLE_FAILURE = catalogued("awsdocs_userguide_events.jsonl", 3)
"""A failed ConsoleLogin: responseElements.ConsoleLogin Failure, and no errorCode."""
AUTOSCALING_RUN = catalogued("fixtures_misc.jsonl", 18)
"""RunInstances whose sourceIPAddress is a service name (autoscaling.amazonaws.com)."""


def test_the_records_are_the_ones_described() -> None:
    assert (PASSWORD_DATA["eventName"], PASSWORD_DATA["errorCode"]) == (
        "GetPasswordData",
        "Client.UnauthorizedOperation",
    )
    assert PASSWORD_DATA["userIdentity"]["type"] == "AssumedRole"
    assert PASSWORD_DATA["readOnly"] is True
    assert PASSWORD_DATA["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] == (
        "false"
    )
    assert ASSUME_ROLE["eventName"] == "AssumeRole"
    assert "errorCode" not in ASSUME_ROLE
    assert ASSUME_ROLE["requestParameters"]["durationSeconds"] == 900
    assert SG_INGRESS["requestParameters"]["cidrIp"] == "208.236.235.254/0"
    assert SG_INGRESS["requestParameters"]["fromPort"] == 22
    assert SERIAL_CONSOLE["requestParameters"]["serialPort"] == 0
    assert SERIAL_CONSOLE["requestParameters"]["monitorMode"] is False
    assert LAMBDA_CODE["eventName"] == "UpdateFunctionCode20150331v2"
    assert CONSOLE_FAILURE["responseElements"] == {"ConsoleLogin": "Failure"}
    assert "errorCode" not in CONSOLE_FAILURE
    assert AUTOSCALING_RUN["eventName"] == "RunInstances"
    assert AUTOSCALING_RUN["sourceIPAddress"] == "autoscaling.amazonaws.com"


def with_fields(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A deep copy of a real record with some top-level fields replaced."""
    changed = copy.deepcopy(record)
    changed.update(fields)
    return changed


SG_PERMISSIONS = with_fields(
    SG_INGRESS,
    requestParameters={
        "groupId": "sg-003dc7f1f1c686164",
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "0.0.0.0/0"}]},
                    "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]},
                },
                {
                    "ipProtocol": "tcp",
                    "fromPort": "443",
                    "toPort": "443",
                    "ipRanges": {"items": [{"cidrIp": "192.168.0.0/16", "description": None}]},
                },
            ]
        },
    },
)
"""AuthorizeSecurityGroupIngress as the EC2 API shapes a multi-permission request (items lists);
the second permission writes its ports as strings, as some CloudTrail records do."""


def holds(where: Any, record: dict[str, Any]) -> bool:
    return compile_condition(where).test(RecordContext(record))


def make_rule(match: Mapping[str, Any] | None = None, **fields: Any) -> Rule:
    data: dict[str, Any] = {
        "id": "lang.test_rule",
        "title": "Test rule",
        "description": "A rule built by the test.",
        "severity": "medium",
    }
    if match is not None:
        data["match"] = dict(match)
    data.update(fields)
    return rule_from_data(data, "tests/test_rule_language.py")


# --- paths: objects, lists, missing and null -------------------------------------------------


def test_values_at_enters_nested_objects_and_lists() -> None:
    ctx = RecordContext(SG_PERMISSIONS)
    path = ("requestParameters", "ipPermissions", "items", "ipRanges", "items", "cidrIp")
    assert ctx.values(path) == ["10.0.0.0/8", "0.0.0.0/0", "192.168.0.0/16"]
    ports = ("requestParameters", "ipPermissions", "items", "fromPort")
    assert ctx.values(ports) == [22, "443"]


def test_values_at_skips_nulls_missing_keys_and_non_objects() -> None:
    ctx = RecordContext(SG_PERMISSIONS)
    described = ("requestParameters", "ipPermissions", "items", "ipRanges", "items", "description")
    assert ctx.values(described) == []  # only one range has the key, and it is null
    assert ctx.values(("responseElements", "nope")) == []
    assert ctx.values(("eventName", "deeper")) == []  # a string has no fields
    assert RecordContext(PASSWORD_DATA).values(("responseElements",)) == []  # null
    assert values_at({"a": [[1, None], [2, [3]]]}, ("a",)) == [1, 2, 3]
    assert values_at({"a": [{"b": None}, {"b": [None, 4]}]}, ("a", "b")) == [4]
    assert values_at({"a": []}, ("a",)) == []


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"requestParameters.ipPermissions.items.ipRanges.items.cidrIp": "0.0.0.0/0"}, True),
        ({"requestParameters.ipPermissions.items.ipRanges.items.cidrIp": "1.2.3.4/32"}, False),
        ({"requestParameters.ipPermissions.items.ipv6Ranges.items.cidrIpv6": "::/0"}, True),
        ({"requestParameters.ipPermissions.items.fromPort": 443}, True),
        ({"requestParameters.ipPermissions.items.fromPort": 80}, False),
        ({"requestParameters.ipPermissions.items.ipProtocol": ["udp", "icmp"]}, False),
        ({"requestParameters.ipPermissions.items.ipProtocol": ["udp", "tcp"]}, True),
    ],
)
def test_any_element_of_a_list_may_match(where: dict[str, Any], expected: bool) -> None:
    assert holds(where, SG_PERMISSIONS) is expected


def test_each_condition_picks_its_own_element() -> None:
    """Two paths are two conditions: port 443 and 0.0.0.0/0 are in different permissions, yet
    both hold. Tie values to one element with a predicate (docs: "any element matches")."""
    where = {
        "requestParameters.ipPermissions.items.fromPort": 443,
        "requestParameters.ipPermissions.items.ipRanges.items.cidrIp": {"open_cidr": True},
    }
    assert holds(where, SG_PERMISSIONS) is True


def test_operators_of_one_matcher_must_hold_for_the_same_value() -> None:
    path = "requestParameters.ipPermissions.items.ipRanges.items.cidrIp"
    # "10.0.0.0/8" has the prefix, "0.0.0.0/0" the suffix: no single value has both.
    assert holds({path: {"prefix": "10.", "suffix": "/0"}}, SG_PERMISSIONS) is False
    assert holds({path: {"prefix": "10.", "suffix": "/8"}}, SG_PERMISSIONS) is True


# --- equals and one_of: strings, numbers, booleans -------------------------------------------


@pytest.mark.parametrize(
    ("where", "record", "expected"),
    [
        ({"eventName": "GetPasswordData"}, PASSWORD_DATA, True),
        ({"eventName": "getpassworddata"}, PASSWORD_DATA, False),  # case matters
        ({"eventName": {"equals": "GetPasswordData"}}, PASSWORD_DATA, True),
        ({"userIdentity.type": "AssumedRole"}, PASSWORD_DATA, True),
        ({"userIdentity.type": "IAMUser"}, PASSWORD_DATA, False),
        # booleans: a real one, and CloudTrail's string booleans
        ({"readOnly": True}, PASSWORD_DATA, True),
        ({"readOnly": False}, PASSWORD_DATA, False),
        ({"readOnly": "true"}, PASSWORD_DATA, False),  # a string in the rule is a string
        ({"userIdentity.sessionContext.attributes.mfaAuthenticated": False}, PASSWORD_DATA, True),
        ({"userIdentity.sessionContext.attributes.mfaAuthenticated": True}, PASSWORD_DATA, False),
        ({"userIdentity.sessionContext.attributes.mfaAuthenticated": "false"}, PASSWORD_DATA, True),
        ({"requestParameters.monitorMode": False}, SERIAL_CONSOLE, True),
        # bool is not int: serialPort is 0, monitorMode is false
        ({"requestParameters.serialPort": 0}, SERIAL_CONSOLE, True),
        ({"requestParameters.serialPort": False}, SERIAL_CONSOLE, False),
        ({"requestParameters.monitorMode": 0}, SERIAL_CONSOLE, False),
        ({"readOnly": 1}, PASSWORD_DATA, False),
        ({"requestParameters.serialPort": [1, False]}, SERIAL_CONSOLE, False),
        ({"requestParameters.monitorMode": [0, 1]}, SERIAL_CONSOLE, False),
        ({"readOnly": [1]}, PASSWORD_DATA, False),
        ({"readOnly": [True]}, PASSWORD_DATA, True),
        ({"requestParameters.serialPort": [True]}, SERIAL_CONSOLE, False),
        ({"requestParameters.serialPort": [0]}, SERIAL_CONSOLE, True),
        ({"userIdentity.sessionContext.attributes.mfaAuthenticated": [False]}, PASSWORD_DATA, True),
        # numbers, and numbers CloudTrail wrote as strings
        ({"requestParameters.durationSeconds": 900}, ASSUME_ROLE, True),
        ({"requestParameters.durationSeconds": 900.0}, ASSUME_ROLE, True),
        ({"requestParameters.durationSeconds": 3600}, ASSUME_ROLE, False),
        ({"requestParameters.durationSeconds": "900"}, ASSUME_ROLE, False),  # a string is exact
        ({"requestParameters.ipPermissions.items.toPort": 443}, SG_PERMISSIONS, True),
        ({"requestParameters.ipPermissions.items.toPort": "443"}, SG_PERMISSIONS, True),
        ({"requestParameters.ipPermissions.items.toPort": "22"}, SG_PERMISSIONS, False),
        ({"requestParameters.ipPermissions.items.toPort": [22]}, SG_PERMISSIONS, True),
        ({"requestParameters.ipPermissions.items.toPort": [80, 443]}, SG_PERMISSIONS, True),
        ({"eventName": ["AssumeRole", "GetPasswordData"]}, PASSWORD_DATA, True),
        ({"eventName": ["AssumeRole", "GetSessionToken"]}, PASSWORD_DATA, False),
        ({"eventName": {"one_of": ["GetPasswordData"]}}, PASSWORD_DATA, True),
    ],
)
def test_equals_and_one_of(where: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    assert holds(where, record) is expected


def test_a_missing_or_null_field_equals_nothing() -> None:
    assert holds({"errorCode": "AccessDenied"}, ASSUME_ROLE) is False  # missing
    assert holds({"responseElements": "null"}, PASSWORD_DATA) is False  # null
    assert holds({"responseElements": {"exists": False}}, PASSWORD_DATA) is True


# --- strings: prefix, suffix, contains, glob, regex ------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"userIdentity.arn": {"prefix": "arn:aws:sts::"}}, True),
        ({"userIdentity.arn": {"prefix": ["arn:aws:iam::", "arn:aws-us-gov:"]}}, False),
        ({"userIdentity.arn": {"suffix": "/aws-go-sdk-1722375070115152000"}}, True),
        ({"userIdentity.arn": {"suffix": ["/root", ":root"]}}, False),
        ({"errorMessage": {"contains": "ec2:GetPasswordData"}}, True),
        ({"errorMessage": {"contains": ["iam:PassRole", "s3:GetObject"]}}, False),
        ({"userIdentity.arn": {"glob": "arn:aws:sts::*:assumed-role/stratus-red-team-*/*"}}, True),
        ({"userIdentity.arn": {"glob": "arn:aws:sts::*:assumed-role/ci-*"}}, False),
        ({"userIdentity.arn": {"glob": "ARN:AWS:*"}}, False),  # glob is case-sensitive
        ({"eventTime": {"glob": "2024-07-3?T21:*"}}, True),
        ({"errorCode": {"regex": "^Client\\."}}, True),
        ({"errorCode": {"regex": "Unauthorized"}}, True),  # search, not full match
        ({"errorCode": {"regex": "^Unauthorized"}}, False),
        ({"errorCode": {"regex": ["^Server\\.", "AccessDenied$"]}}, False),
        ({"userAgent": {"regex": "^stratus-red-team_[0-9a-f-]{36}$"}}, True),
        # string operators never match numbers or booleans
        ({"readOnly": {"prefix": "t"}}, False),
        ({"readOnly": {"regex": "."}}, False),
        ({"readOnly": {"glob": "*"}}, False),
    ],
)
def test_string_operators(where: dict[str, Any], expected: bool) -> None:
    assert holds(where, PASSWORD_DATA) is expected


# --- exists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "record", "expected"),
    [
        ({"errorCode": {"exists": True}}, PASSWORD_DATA, True),
        ({"errorCode": {"exists": False}}, PASSWORD_DATA, False),
        ({"errorCode": {"exists": True}}, ASSUME_ROLE, False),
        ({"errorCode": {"exists": False}}, ASSUME_ROLE, True),
        ({"responseElements": {"exists": True}}, PASSWORD_DATA, False),  # null counts as missing
        ({"userIdentity.sessionContext.sessionIssuer": {"exists": True}}, PASSWORD_DATA, True),
        ({"userIdentity.sessionContext": {"exists": False}}, ASSUME_ROLE, True),
        ({"requestParameters.ipPermissions": {"exists": False}}, SG_INGRESS, False),  # {} exists
        ({"requestParameters.ipPermissions.items": {"exists": True}}, SG_INGRESS, False),
        ({"errorCode": {"exists": True, "prefix": "Client."}}, PASSWORD_DATA, True),
        ({"errorCode": {"exists": True, "prefix": "Server."}}, PASSWORD_DATA, False),
    ],
)
def test_exists(where: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    assert holds(where, record) is expected


# --- numeric comparison ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "record", "expected"),
    [
        ({"requestParameters.durationSeconds": {"gt": 899}}, ASSUME_ROLE, True),
        ({"requestParameters.durationSeconds": {"gt": 900}}, ASSUME_ROLE, False),
        ({"requestParameters.durationSeconds": {"gte": 900}}, ASSUME_ROLE, True),
        ({"requestParameters.durationSeconds": {"gte": 900.5}}, ASSUME_ROLE, False),
        ({"requestParameters.durationSeconds": {"lt": 901}}, ASSUME_ROLE, True),
        ({"requestParameters.durationSeconds": {"lt": 900}}, ASSUME_ROLE, False),
        ({"requestParameters.durationSeconds": {"lte": 900}}, ASSUME_ROLE, True),
        ({"requestParameters.durationSeconds": {"lte": 899.9}}, ASSUME_ROLE, False),
        ({"requestParameters.durationSeconds": {"gte": 600, "lte": 1200}}, ASSUME_ROLE, True),
        # ports written as strings compare as numbers
        ({"requestParameters.ipPermissions.items.fromPort": {"gt": 100}}, SG_PERMISSIONS, True),
        ({"requestParameters.ipPermissions.items.fromPort": {"gt": 443}}, SG_PERMISSIONS, False),
        ({"requestParameters.ipPermissions.items.fromPort": {"lte": 22}}, SG_PERMISSIONS, True),
        # a boolean is not a number; a word is not a number
        ({"requestParameters.monitorMode": {"lte": 0}}, SERIAL_CONSOLE, False),
        ({"readOnly": {"gte": 1}}, PASSWORD_DATA, False),
        ({"eventName": {"gt": 0}}, PASSWORD_DATA, False),
        ({"requestParameters.serialPort": {"gte": 0}}, SERIAL_CONSOLE, True),
        ({"requestParameters.nope": {"lt": 10}}, SERIAL_CONSOLE, False),
    ],
)
def test_numeric_comparison(where: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    assert holds(where, record) is expected


def test_as_number_reads_numbers_and_numeric_strings_only() -> None:
    assert [
        as_number(v) for v in (22, 22.5, "22", " 8080 ", "-1", True, False, None, "x", [1])
    ] == [
        22.0,
        22.5,
        22.0,
        8080.0,
        -1.0,
        None,
        None,
        None,
        None,
        None,
    ]


# --- CIDRs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0.0.0/0", True),
        ("::/0", True),
        ("208.236.235.254/0", True),  # host bits set, still every IPv4 address
        (" 0.0.0.0/0 ", True),
        ("0::0/0", True),
        ("10.0.0.0/8", False),
        ("0.0.0.0/1", False),
        ("0.0.0.0", False),
        ("::/1", False),
        ("garbage", False),
        ("0.0.0.0/00x", False),
        ("", False),
        (0, False),
        (None, False),
        (["0.0.0.0/0"], False),
    ],
)
def test_is_open_cidr(value: Any, expected: bool) -> None:
    assert is_open_cidr(value) is expected


@pytest.mark.parametrize(
    ("where", "record", "expected"),
    [
        ({"requestParameters.cidrIp": {"open_cidr": True}}, SG_INGRESS, True),
        ({"requestParameters.cidrIp": {"open_cidr": False}}, SG_INGRESS, False),
        (
            {"requestParameters.ipPermissions.items.ipRanges.items.cidrIp": {"open_cidr": True}},
            SG_PERMISSIONS,
            True,
        ),
        (
            {
                "requestParameters.ipPermissions.items.ipv6Ranges.items.cidrIpv6": {
                    "open_cidr": True
                }
            },
            SG_PERMISSIONS,
            True,
        ),
        # open_cidr: false holds for any value that is not open (10.0.0.0/8 here)
        (
            {"requestParameters.ipPermissions.items.ipRanges.items.cidrIp": {"open_cidr": False}},
            SG_PERMISSIONS,
            True,
        ),
        ({"requestParameters.groupId": {"open_cidr": True}}, SG_INGRESS, False),
        ({"requestParameters.missing": {"open_cidr": False}}, SG_INGRESS, False),
    ],
)
def test_open_cidr_operator(where: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    assert holds(where, record) is expected


MIXED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]


@pytest.mark.parametrize(
    ("source_ip", "expected"),
    [
        ("10.1.2.3", True),
        ("10.255.255.255", True),
        ("11.0.0.1", False),
        ("192.0.2.7", True),  # a bare address in the rule is a /32
        ("192.0.2.8", False),
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        ("::ffff:10.1.2.3", False),  # an IPv6 address is never inside an IPv4 network
        ("10.1.0.0/16", True),  # a narrower network is inside
        ("10.0.0.0/7", False),  # a wider one is not
        ("autoscaling.amazonaws.com", False),  # AWS services act without an address
        ("AWS Internal", False),
        ("", False),
        ("203.0.113.9, 10.1.2.3", True),  # CloudTrail may list several addresses
        ("203.0.113.9,198.51.100.1", False),
        ("ec2.amazonaws.com, 2001:db8::5", True),
    ],
)
def test_cidr_contains(source_ip: str, expected: bool) -> None:
    record = with_fields(AUTOSCALING_RUN, sourceIPAddress=source_ip)
    assert holds({"sourceIPAddress": {"cidr_contains": MIXED_NETWORKS}}, record) is expected


def test_cidr_contains_on_real_records() -> None:
    assert holds({"sourceIPAddress": {"cidr_contains": "0.0.0.0/0"}}, AUTOSCALING_RUN) is False
    assert holds({"sourceIPAddress": {"cidr_contains": "200.249.0.0/16"}}, PASSWORD_DATA) is True
    assert holds({"sourceIPAddress": {"cidr_contains": "::/0"}}, PASSWORD_DATA) is False
    assert holds({"readOnly": {"cidr_contains": "0.0.0.0/0"}}, PASSWORD_DATA) is False
    path = "requestParameters.ipPermissions.items.ipRanges.items.cidrIp"
    assert holds({path: {"cidr_contains": "192.168.0.0/16"}}, SG_PERMISSIONS) is True
    assert holds({path: {"cidr_contains": "172.16.0.0/12"}}, SG_PERMISSIONS) is False


def test_as_network_allows_host_bits_and_rejects_the_rest() -> None:
    assert str(as_network("10.1.2.3/8")) == "10.0.0.0/8"
    assert str(as_network("2001:db8::1")) == "2001:db8::1/128"
    assert [as_network(v) for v in ("10.0.0.0/33", "10.0.0", "host", 167772160, None)] == [None] * 5


# --- boolean structure: all, any, not --------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"all": [{"userIdentity.type": "AssumedRole"}, {"readOnly": True}]}, True),
        ({"all": [{"userIdentity.type": "AssumedRole"}, {"readOnly": False}]}, False),
        ({"any": [{"userIdentity.type": "Root"}, {"readOnly": True}]}, True),
        ({"any": [{"userIdentity.type": "Root"}, {"readOnly": False}]}, False),
        ({"not": {"userIdentity.type": "Root"}}, True),
        ({"not": {"userIdentity.type": "AssumedRole"}}, False),
        ({"not": {"not": {"readOnly": True}}}, True),
        # a mapping is `all` of its entries
        ({"userIdentity.type": "AssumedRole", "not": {"errorCode": {"exists": True}}}, False),
        (
            {
                "any": [
                    {"all": [{"errorCode": "AccessDenied"}, {"readOnly": True}]},
                    {
                        "all": [
                            {"errorCode": {"suffix": "UnauthorizedOperation"}},
                            {"not": {"any": [{"awsRegion": "us-east-1"}, {"readOnly": False}]}},
                        ]
                    },
                ]
            },
            True,
        ),
        (
            {
                "any": [
                    {"all": [{"errorCode": "AccessDenied"}, {"readOnly": True}]},
                    {"not": {"any": [{"awsRegion": "apiso-northsouth-3r"}, {"readOnly": False}]}},
                ]
            },
            False,
        ),
    ],
)
def test_all_any_not(where: dict[str, Any], expected: bool) -> None:
    assert holds(where, PASSWORD_DATA) is expected


# --- the actor -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"actor.type": "AssumedRole"}, True),
        ({"actor.name": "stratus-red-team-ec2-get-password-data-role"}, True),
        ({"actor.session": "aws-go-sdk-1722375070115152000"}, True),
        ({"actor.account": "457448411975"}, True),
        ({"actor.account": 457448411975}, True),  # an unquoted account id in YAML
        ({"actor.role": {"glob": "arn:aws:iam::*:role/stratus-red-team-*"}}, True),
        ({"actor.role": {"suffix": ":role/admin"}}, False),
        ({"actor.invoked_by": {"exists": False}}, True),
        ({"actor.invoked_by": {"exists": True}}, False),
        ({"actor.name": "christophe"}, False),
    ],
)
def test_actor_paths(where: dict[str, Any], expected: bool) -> None:
    assert holds(where, PASSWORD_DATA) is expected


def test_actor_paths_on_an_iam_user_and_a_record_without_identity() -> None:
    assert holds({"actor.name": "christophe", "actor.role": {"exists": False}}, ASSUME_ROLE)
    no_identity = {k: v for k, v in ASSUME_ROLE.items() if k != "userIdentity"}
    assert holds({"actor.name": {"exists": False}}, no_identity) is True
    assert holds({"actor.type": "IAMUser"}, no_identity) is False


# --- rules: outcome, event names, sources ----------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "record", "expected"),
    [
        (None, ASSUME_ROLE, True),  # success by default
        (None, PASSWORD_DATA, False),  # errorCode: a failure
        ("success", PASSWORD_DATA, False),
        ("failure", PASSWORD_DATA, True),
        ("failure", ASSUME_ROLE, False),
        ("any", PASSWORD_DATA, True),
        ("any", ASSUME_ROLE, True),
        (None, with_fields(ASSUME_ROLE, errorCode=""), True),  # empty errorCode: no error
        (None, with_fields(ASSUME_ROLE, errorCode=None), True),
        # a failed console sign-in has no errorCode, so it is a "success" by this definition
        (None, CONSOLE_FAILURE, True),
        ("failure", CONSOLE_FAILURE, False),
    ],
)
def test_outcome(outcome: str | None, record: dict[str, Any], expected: bool) -> None:
    rule = make_rule({"outcome": outcome} if outcome else {})
    assert rule.matches(RecordContext(record)) is expected


@pytest.mark.parametrize(
    ("written", "record_name", "expected"),
    [
        ("UpdateFunctionCode", "UpdateFunctionCode20150331v2", True),
        ("UpdateFunctionCode", "UpdateFunctionCode20150331", True),
        ("UpdateFunctionCode", "UpdateFunctionCode", True),
        ("UpdateFunctionCode20150331v2", "UpdateFunctionCode", True),
        ("UpdateFunctionCode20150331v2", "UpdateFunctionCode20150331v2", True),
        ("UpdateFunctionCode", "UpdateFunctionConfiguration20150331v2", False),
        ("UpdateFunction", "UpdateFunctionCode20150331v2", False),
        (["AddPermission", "UpdateFunctionCode"], "UpdateFunctionCode20150331v2", True),
    ],
)
def test_event_names_tolerate_api_version_suffixes(
    written: str | list[str], record_name: str, expected: bool
) -> None:
    rule = make_rule({"event_source": "lambda.amazonaws.com", "event_name": written})
    record = with_fields(LAMBDA_CODE, eventName=record_name)
    assert rule.matches(RecordContext(record)) is expected


def test_base_event_name() -> None:
    assert base_event_name("UpdateFunctionCode20150331v2") == "UpdateFunctionCode"
    assert base_event_name("AddPermission20150331") == "AddPermission"
    assert base_event_name("GetFunction20150331v10") == "GetFunction"
    assert base_event_name("CreateBucket") == "CreateBucket"
    assert base_event_name("Version2") == "Version2"  # one digit is not an API version
    assert base_event_name("") == ""
    assert RecordContext(LAMBDA_CODE).event_name == "UpdateFunctionCode"
    assert RecordContext(with_fields(LAMBDA_CODE, eventName=7)).event_name == ""


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"event_source": "ec2.amazonaws.com"}, True),
        ({"event_source": ["iam.amazonaws.com", "ec2.amazonaws.com"]}, True),
        ({"event_source": "iam.amazonaws.com"}, False),
        ({"event_name": "AuthorizeSecurityGroupIngress"}, True),
        ({"event_name": "RevokeSecurityGroupIngress"}, False),
        (
            {"event_source": "iam.amazonaws.com", "event_name": "AuthorizeSecurityGroupIngress"},
            False,
        ),
    ],
)
def test_event_source_and_name(match: dict[str, Any], expected: bool) -> None:
    assert make_rule(match).matches(RecordContext(SG_INGRESS)) is expected


def test_malformed_event_source_and_name_never_match_nor_raise() -> None:
    rule = make_rule({"event_source": "ec2.amazonaws.com", "event_name": "RunInstances"})
    for value in ([], {}, ["ec2.amazonaws.com"], None, 3):
        record = with_fields(AUTOSCALING_RUN, eventSource=value)
        ctx = RecordContext(record)
        assert rule.matches(ctx) is False
        assert rule.explain(ctx).held is False
    record = with_fields(AUTOSCALING_RUN, eventName={"a": 1})
    assert rule.matches(RecordContext(record)) is False


# --- severity by condition, titles ----------------------------------------------------------


def test_severity_when_first_matching_case_wins() -> None:
    rule = make_rule(
        {"outcome": "any"},
        severity="low",
        severity_when=[
            {"when": {"userIdentity.type": "Root"}, "severity": "critical"},
            {"when": {"errorCode": {"exists": True}}, "severity": "medium"},
            {"when": {"userIdentity.type": "AssumedRole"}, "severity": "high"},
        ],
    )
    assert rule.severity_for(RecordContext(PASSWORD_DATA)) is Severity.MEDIUM
    assert rule.severity_for(RecordContext(ASSUME_ROLE)) is Severity.LOW
    root = with_fields(ASSUME_ROLE, userIdentity={"type": "Root", "accountId": "457448411975"})
    assert rule.severity_for(RecordContext(root)) is Severity.CRITICAL
    assumed = with_fields(PASSWORD_DATA, errorCode=None)
    assert rule.severity_for(RecordContext(assumed)) is Severity.HIGH


def test_title_placeholders() -> None:
    rule = make_rule(title="{eventName} by {actor.name} on {requestParameters.instanceId}{x.y}")
    assert rule.title_for(RecordContext(PASSWORD_DATA)) == (
        "GetPasswordData by stratus-red-team-ec2-get-password-data-role on i-i2jnm5swa59p4fxg?"
    )
    assert make_rule().title_for(RecordContext(PASSWORD_DATA)) == "Test rule"
    assert make_rule(title="{eventName}").title_for(RecordContext(PASSWORD_DATA)) == (
        "GetPasswordData"
    )


# --- predicates ------------------------------------------------------------------------------


@predicate("test_lang_duration_over", required=("seconds",), seconds=int, field=str)
def duration_over(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """A requested duration is longer than `seconds`."""
    path = tuple(str(args.get("field", "requestParameters.durationSeconds")).split("."))
    return any((as_number(v) or 0) > args["seconds"] for v in ctx.values(path))


def test_predicates_by_name() -> None:
    assert registered()["test_lang_duration_over"].summary == (
        "A requested duration is longer than `seconds`."
    )
    over = {"predicate": "test_lang_duration_over", "args": {"seconds": 600}}
    under = {"predicate": "test_lang_duration_over", "args": {"seconds": 900}}
    assert holds(over, ASSUME_ROLE) is True
    assert holds(under, ASSUME_ROLE) is False
    assert holds({"not": under, "eventName": "AssumeRole"}, ASSUME_ROLE) is True
    elsewhere = {"predicate": "test_lang_duration_over", "args": {"seconds": 0, "field": "x"}}
    assert holds(elsewhere, ASSUME_ROLE) is False


def test_predicate_explain_and_evidence() -> None:
    rule = make_rule({"where": {"predicate": "test_lang_duration_over", "args": {"seconds": 600}}})
    ctx = RecordContext(ASSUME_ROLE)
    assert rule.explain(ctx).lines() == [
        "✓ rule lang.test_rule",
        "  ✓ outcome success (errorCode None)",
        "  ✓ predicate test_lang_duration_over {'seconds': 600}: "
        "A requested duration is longer than `seconds`.",
    ]
    assert rule.evidence(ctx) == {"predicate:test_lang_duration_over": True}


# --- explain() and evidence() ----------------------------------------------------------------


EXPLAINED = {
    "event_source": "ec2.amazonaws.com",
    "event_name": "GetPasswordData",
    "outcome": "failure",
    "where": {
        "actor.type": "AssumedRole",
        "any": [{"readOnly": True}, {"errorCode": {"prefix": "Server."}}],
        "not": {"userAgent": {"glob": "aws-cli/*"}},
        "requestParameters.instanceId": {"exists": True, "regex": "^i-"},
    },
}


def test_explain_a_match() -> None:
    explanation = make_rule(EXPLAINED).explain(RecordContext(PASSWORD_DATA))
    assert explanation.held is True
    assert explanation.lines() == [
        "✓ rule lang.test_rule",
        "  ✓ eventSource one of ['ec2.amazonaws.com'] (found 'ec2.amazonaws.com')",
        "  ✓ eventName one of ['GetPasswordData'] (found 'GetPasswordData')",
        "  ✓ outcome failure (errorCode 'Client.UnauthorizedOperation')",
        "  ✓ all of",
        "    ✓ actor.type = 'AssumedRole' (found ['AssumedRole'])",
        "    ✓ any of",
        "      ✓ readOnly = True (found [True])",
        "      ✗ errorCode prefix: 'Server.' (found ['Client.UnauthorizedOperation'])",
        "    ✓ not",
        "      ✗ userAgent glob: 'aws-cli/*' (found "
        "['stratus-red-team_5c59eb79-6dac-405c-a4c4-e19aec03c666'])",
        "    ✓ requestParameters.instanceId exists: True regex: '^i-' "
        "(found ['i-i2jnm5swa59p4fxg'])",
    ]


def test_explain_a_miss_marks_what_failed() -> None:
    record = with_fields(PASSWORD_DATA, errorCode=None, readOnly=False, requestParameters=None)
    explanation = make_rule(EXPLAINED).explain(RecordContext(record))
    assert explanation.held is False
    held = [explanation.held, *(part.held for part in explanation.parts)]
    assert held == [False, True, True, False, False]
    assert explanation.parts[2].text == "outcome failure (errorCode None)"
    condition = explanation.parts[3]
    assert [(p.held, p.text) for p in condition.parts] == [
        (True, "actor.type = 'AssumedRole' (found ['AssumedRole'])"),
        (False, "any of"),
        (True, "not"),
        (False, "requestParameters.instanceId exists: True regex: '^i-' (found missing)"),
    ]
    assert [(p.held, p.text) for p in condition.parts[1].parts] == [
        (False, "readOnly = True (found [False])"),
        (False, "errorCode prefix: 'Server.' (found missing)"),
    ]


def test_explain_shows_at_most_five_values_and_eight_names() -> None:
    record = with_fields(ASSUME_ROLE, resources=[{"ARN": f"arn:{i}"} for i in range(7)])
    explanation = compile_condition({"resources.ARN": "arn:6"}).explain(RecordContext(record))
    assert explanation == Explanation(
        True, "resources.ARN = 'arn:6' (found ['arn:0', 'arn:1', 'arn:2', 'arn:3', 'arn:4', ...])"
    )
    names = [f"Name{i}" for i in range(10)]
    explained = make_rule({"event_name": names}).explain(RecordContext(ASSUME_ROLE))
    assert explained.parts[0].text == (
        "eventName one of ['Name0', 'Name1', 'Name2', 'Name3', 'Name4', 'Name5', 'Name6', "
        "'Name7', '...'] (found 'AssumeRole')"
    )
    assert explained.held is False


def test_explain_one_of_and_outcome_any() -> None:
    rule = make_rule({"outcome": "any", "where": {"awsRegion": ["us-east-1", "eu-west-1"]}})
    assert rule.explain(RecordContext(PASSWORD_DATA)).lines() == [
        "✗ rule lang.test_rule",
        "  ✗ awsRegion one of ['us-east-1', 'eu-west-1'] (found ['apiso-northsouth-3r'])",
    ]


def test_evidence_names_the_values_that_matched() -> None:
    rule = make_rule(EXPLAINED)
    assert rule.evidence(RecordContext(PASSWORD_DATA)) == {
        "actor.type": ["AssumedRole"],
        "readOnly": [True],
        "requestParameters.instanceId": ["i-i2jnm5swa59p4fxg"],
    }


def test_evidence_keeps_only_matching_elements_and_held_branches() -> None:
    path = "requestParameters.ipPermissions.items.ipRanges.items.cidrIp"
    rule = make_rule(
        {
            "where": {
                path: {"open_cidr": True},
                "any": [
                    {"requestParameters.ipPermissions.items.fromPort": {"gte": 100}},
                    {"eventName": "RevokeSecurityGroupIngress"},
                ],
                "not": {"awsRegion": "us-east-1"},
                "errorCode": {"exists": False},
                "requestParameters.groupId": {"exists": True},
            }
        }
    )
    ctx = RecordContext(SG_PERMISSIONS)
    assert rule.matches(ctx) is True
    assert rule.evidence(ctx) == {
        path: ["0.0.0.0/0"],
        "requestParameters.ipPermissions.items.fromPort": ["443"],
        "requestParameters.groupId": ["sg-003dc7f1f1c686164"],
    }


def test_evidence_of_a_rule_without_condition_is_empty() -> None:
    assert make_rule({"event_name": "AssumeRole"}).evidence(RecordContext(ASSUME_ROLE)) == {}


def test_evidence_lists_at_most_five_values() -> None:
    record = with_fields(ASSUME_ROLE, resources=[{"ARN": f"arn:{i}"} for i in range(7)])
    rule = make_rule({"where": {"resources.ARN": {"prefix": "arn:"}}})
    assert rule.evidence(RecordContext(record)) == {
        "resources.ARN": ["arn:0", "arn:1", "arn:2", "arn:3", "arn:4"]
    }


# --- load-time checks of the language itself (the loader's own errors: test_rule_loader) ------


NULL = "null never matches (a null value counts as missing); use `exists: false`"
ACTOR_FIELDS_TEXT = (
    "the actor has the fields: actor.type, actor.name, actor.arn, actor.account, "
    "actor.session, actor.role, actor.issuer, actor.invoked_by, actor.access_key_id"
)


@pytest.mark.parametrize(
    ("where", "field", "problem"),
    [
        ({"errorCode": None}, "match.where.errorCode", NULL),
        ({"errorCode": [None, "x"]}, "match.where.errorCode", NULL),
        ({"errorCode": {"equals": None}}, "match.where.errorCode.equals", NULL),
        ({"errorCode": {"one_of": ["x", None]}}, "match.where.errorCode.one_of", NULL),
        (
            {"errorCode": []},
            "match.where.errorCode",
            "expected a non-empty list of strings, numbers or booleans",
        ),
        ({"actor.nmae": "x"}, "match.where.actor.nmae", ACTOR_FIELDS_TEXT),
        ({"actor": "x"}, "match.where.actor", ACTOR_FIELDS_TEXT),
        ({"actor.name.first": "x"}, "match.where.actor.name.first", ACTOR_FIELDS_TEXT),
        (
            {"a..b": "x"},
            "match.where.a..b",
            "a field path is dot-separated names, e.g. userIdentity.type",
        ),
    ],
)
def test_conditions_that_could_never_hold_are_load_errors(
    where: dict[str, Any], field: str, problem: str
) -> None:
    """A condition that can never hold is a load error, not a rule that silently never fires."""
    with pytest.raises(RuleLoadError) as caught:
        make_rule({"where": where})
    assert (caught.value.field, caught.value.problem) == (field, problem)
    assert (
        str(caught.value) == f"tests/test_rule_language.py: rule lang.test_rule: {field}: {problem}"
    )


# --- arbitrary input never breaks a rule -------------------------------------------------------

PATH = "requestParameters.items.value"
EVERY_OPERATOR: list[dict[str, Any]] = [
    {PATH: "text"},
    {PATH: 22},
    {PATH: True},
    {PATH: ["a", 1, 2.5, False]},
    {PATH: {"equals": 0}},
    {PATH: {"one_of": ["x", 0, True]}},
    {PATH: {"prefix": ["a", "b"]}},
    {PATH: {"suffix": "z"}},
    {PATH: {"contains": ""}},
    {PATH: {"glob": "*[a-c]?"}},
    {PATH: {"regex": "^(a|b)+$"}},
    {PATH: {"exists": True}},
    {PATH: {"exists": False}},
    {PATH: {"gt": 0}},
    {PATH: {"gte": -1.5}},
    {PATH: {"lt": 1e9}},
    {PATH: {"lte": 0}},
    {PATH: {"cidr_contains": ["10.0.0.0/8", "::/0"]}},
    {PATH: {"open_cidr": True}},
    {PATH: {"open_cidr": False}},
    {"actor.name": {"glob": "*"}},
    {"actor.role": {"exists": True}},
    {"sourceIPAddress": {"cidr_contains": "0.0.0.0/0"}},
    {"predicate": "test_lang_duration_over", "args": {"seconds": 1, "field": PATH}},
]
EVERY_RULE = make_rule(
    {
        "event_source": ["ec2.amazonaws.com", "x"],
        "event_name": ["AuthorizeSecurityGroupIngress", "x"],
        "outcome": "any",
        "where": {"any": [*EVERY_OPERATOR, {"not": {"all": EVERY_OPERATOR}}]},
    },
    title="{requestParameters.items.value} {actor.name} {eventName}",
    severity_when=[{"when": {"all": EVERY_OPERATOR}, "severity": "high"}],
)
CONDITIONS = [compile_condition(where) for where in EVERY_OPERATOR]
FIELDS = st.sampled_from(
    [
        "eventSource",
        "eventName",
        "errorCode",
        "userIdentity",
        "sourceIPAddress",
        "requestParameters",
        "eventTime",
    ]
)


def test_every_operator_is_exercised() -> None:
    used = {
        op for where in EVERY_OPERATOR for m in where.values() if isinstance(m, dict) for op in m
    }
    assert used >= set(OPERATORS)


def exercise(record: dict[str, Any]) -> None:
    ctx = RecordContext(record)
    for condition in CONDITIONS:
        held = condition.test(ctx)
        assert condition.explain(ctx).held is held
        condition.evidence(ctx, {})
    matched = EVERY_RULE.matches(ctx)
    assert EVERY_RULE.explain(ctx).held is matched
    EVERY_RULE.evidence(ctx)
    EVERY_RULE.severity_for(ctx)
    assert isinstance(EVERY_RULE.title_for(ctx), str)


@given(st.dictionaries(FIELDS | st.text(max_size=8), JSON_VALUES, max_size=8))
def test_arbitrary_records_never_raise(record: dict[str, Any]) -> None:
    exercise(record)


@given(JSON_VALUES, JSON_VALUES)
def test_arbitrary_values_at_the_path_never_raise(value: Any, identity: Any) -> None:
    base = with_fields(SG_INGRESS, userIdentity=identity)
    for params in (
        {"items": {"value": value}},
        {"items": [{"value": value}, {"value": [value, None]}, value]},
        value,
    ):
        exercise({**base, "requestParameters": params, "sourceIPAddress": value})
        exercise({**base, "requestParameters": params, "eventSource": value, "eventName": value})


def test_a_test_written_in_several_rules_is_one_object_judged_once_per_record() -> None:
    where = {"userIdentity.type": "Root", "eventType": {"prefix": "Aws"}}
    first = compile_condition(dict(where))
    second = compile_condition(dict(where))
    other = compile_condition({"userIdentity.type": "IAMUser"})
    first_parts, second_parts = first.parts, second.parts  # type: ignore[attr-defined]
    assert [id(p) for p in first_parts] == [id(p) for p in second_parts]
    assert all(p.shared for p in first_parts)
    root = with_fields(PASSWORD_DATA, userIdentity={"type": "Root"})
    ctx = RecordContext(root)
    assert first.test(ctx)
    assert second.test(ctx)
    assert not other.test(ctx)
    assert ctx.held[first_parts[0]] is True  # judged once, kept for the second rule
    assert ctx.held[first_parts[1]] is True
    fresh = RecordContext(PASSWORD_DATA)  # another record: judged again
    assert not first.test(fresh)
    assert not second.test(fresh)


# --- conditions reduced by what a kind of event fixes -----------------------------------------

_LEAVES = st.one_of(
    st.fixed_dictionaries({"eventName": st.sampled_from(["StopLogging", ["StopLogging", "X"]])}),
    st.fixed_dictionaries({"eventName": st.just({"prefix": "Stop"})}),
    st.fixed_dictionaries({"eventName": st.just({"exists": False})}),
    st.fixed_dictionaries({"eventSource": st.sampled_from(["a.amazonaws.com", "b"])}),
    st.fixed_dictionaries({"requestParameters.name": st.sampled_from(["t1", ["t1", "t2"]])}),
    st.fixed_dictionaries({"errorCode": st.just({"exists": True})}),
)
_CONDITIONS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"any": parts}),
        inner.map(lambda part: {"not": part}),
        st.tuples(inner, inner).map(lambda pair: {**pair[1], **pair[0]}),
    ),
    max_leaves=6,
)
_RECORDS = st.fixed_dictionaries(
    {
        "eventName": st.sampled_from(["StopLogging", "StartLogging", "X"]),
        "eventSource": st.sampled_from(["a.amazonaws.com", "b"]),
        "requestParameters": st.sampled_from([{"name": "t1"}, {"name": "t3"}, None]),
    },
    optional={"errorCode": st.just("AccessDenied")},
)


@given(spec=_CONDITIONS, record=_RECORDS)
def test_a_condition_reduced_by_the_kind_of_event_judges_as_the_whole(
    spec: dict[str, Any], record: dict[str, Any]
) -> None:
    """The rule index reduces each condition by the record's eventSource and eventName
    (`given`) once per kind of event: what is left must judge every record of that kind as
    the whole condition does."""
    condition = compile_condition(spec)
    ctx = RecordContext(record)
    left = condition.given({"eventSource": record["eventSource"], "eventName": record["eventName"]})
    judged = left if isinstance(left, bool) else left.test(RecordContext(record))
    assert judged is condition.test(ctx)


def test_a_kind_of_event_decides_tests_on_its_name_and_source() -> None:
    condition = compile_condition(
        {
            "any": [
                {"eventName": "StopLogging"},
                {"eventName": "UpdateTrail", "requestParameters.x": "y"},
            ]
        }
    )
    facts = {"eventSource": "cloudtrail.amazonaws.com"}
    assert condition.given({**facts, "eventName": "StopLogging"}) is True
    assert condition.given({**facts, "eventName": "DeleteTrail"}) is False
    left = condition.given({**facts, "eventName": "UpdateTrail"})
    assert not isinstance(left, bool)
    assert left.explain(RecordContext({"requestParameters": {"x": "y"}})).lines() == [
        "✓ requestParameters.x = 'y' (found ['y'])"
    ]
    untouched = compile_condition({"requestParameters.x": "y"})
    assert untouched.given({"eventName": "UpdateTrail"}) is untouched


# --- the raw-text shortcut judges as the decoded record does ------------------------------------

_SPELLINGS = {
    "true": [True, "true", "True", "TRUE", "tRuE"],
    "false": [False, "false", "False", "FALSE", "fAlSe"],
}
_RAW_VALUES = st.one_of(
    st.sampled_from([*_SPELLINGS["true"], *_SPELLINGS["false"], "x", 1, 0, None, "ab"]),
    st.lists(st.sampled_from([True, False, "False", "ab", {"key": False}]), max_size=3),
    st.fixed_dictionaries({"key": st.sampled_from([True, "FALSE", "ab", None])}),
)
_RAW_CONDITIONS = st.sampled_from(
    [
        {"requestParameters.key": True},
        {"requestParameters.key": False},
        {"requestParameters.key.key": False},
        {"requestParameters.key": "ab"},
        {"requestParameters.key": ["ab", "x"]},
        {"requestParameters.key": {"exists": True}},
        {"requestParameters.key.key": {"exists": True}},
        {"requestParameters.key": {"exists": True, "equals": False}},
        {"requestParameters.other": {"exists": True}},
        {"requestParameters.key": {"exists": False}},
    ]
)


@given(
    condition=_RAW_CONDITIONS,
    params=st.dictionaries(st.sampled_from(["key", "other", "k\u00e9y"]), _RAW_VALUES, max_size=3),
    escaped=st.booleans(),
)
def test_the_raw_text_shortcut_judges_as_the_decoded_record(
    condition: dict[str, Any], params: dict[str, Any], escaped: bool
) -> None:
    """A nested test first looks for its strings, its key or its boolean in the object's raw
    JSON (lowercased for a boolean); it must never rule out a record the decoded values
    would match, escapes included."""
    from trailguard.record import CloudTrailRecord, decode_json

    record = {"eventSource": "s.amazonaws.com", "eventName": "X", "requestParameters": params}
    text = orjson.dumps(record)
    if escaped:  # the same JSON, every "k" written as an escape
        text = text.replace(b'"key"', b'"\\u006bey"')
    lazy = decode_json(text)
    assert isinstance(lazy, CloudTrailRecord)
    compiled = compile_condition(condition)
    assert compiled.test(RecordContext(lazy)) is compiled.test(RecordContext(record))
