"""Actor resolution: each `userIdentity` type, on real records wherever the shared data has one.

Types the shared data lacks (IdentityCenterUser, SAMLUser, Unknown, AssumedRole on behalf of
an Identity Center user, a well-formed AWSReservedSSO_ session ARN) are shaped from the
CloudTrail user guide's `userIdentity` examples.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import JSON_VALUES, SHARED_DATA, decoded, edge_case
from trailguard.actor import ACTOR_FIELDS, Actor, actor_label, resolve_actor
from trailguard.model import Place
from trailguard.sources import Decoder
from trailguard.tally import InputTally

STRATUS_LOGS = "envelopes/s3/cloudtrail_log_files"


def catalogued(file: str, line: int) -> dict[str, Any]:
    """The record on `line` of an events/*.jsonl catalogue (`event`, or the `raw_json` text)."""
    entry = orjson.loads((SHARED_DATA / "events" / file).read_text().splitlines()[line - 1])
    record = orjson.loads(entry["raw_json"]) if "raw_json" in entry else entry["event"]
    assert isinstance(record, dict)
    return record


def actor(**fields: str | None) -> Actor:
    """An expected actor: every field null unless given."""
    expected: Actor = dict.fromkeys(ACTOR_FIELDS)
    expected.update(fields)
    return expected


# --- IAMUser -------------------------------------------------------------------------------


def test_iam_user_stratus_stop_logging() -> None:
    (record,) = decoded(f"{STRATUS_LOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json.gz")
    assert resolve_actor(record["userIdentity"]) == actor(
        type="IAMUser",
        name="christophe",
        arn="arn:aws:iam::143434273843:user/christophe",
        account="143434273843",
        access_key_id="AKIAGGWFBBHBE7D3M9WI",
    )


def test_iam_user_console_sign_in_without_access_key() -> None:
    record = decoded(
        "events/awsdocs_log_files/cloudtrail-event-reference-aws-console-sign-in-events"
        "_block0_records.json"
    )[0]
    assert record["eventName"] == "ConsoleLogin"
    assert resolve_actor(record["userIdentity"]) == actor(
        type="IAMUser",
        name="anaya",
        arn="arn:aws:iam::111122223333:user/anaya",
        account="111122223333",
    )


def test_iam_user_without_user_name_is_named_from_the_arn() -> None:
    record = edge_case("iam-create-user-security-relevant")
    assert "userName" not in record["userIdentity"]
    assert resolve_actor(record["userIdentity"]) == actor(
        type="IAMUser",
        name="platform-admin",
        arn="arn:aws:iam::123456789012:user/platform-admin",
        account="123456789012",
        access_key_id="AKIAEXAMPLEADMIN001",
    )


def test_iam_user_with_an_arn_that_names_no_user() -> None:
    """cloud-custodian's fixture ARN `arn:aws:iam::00000:robot`: no name, the label uses the ARN."""
    (record,) = decoded("envelopes/eventbridge/event-appmesh-create-mesh.json")
    resolved = resolve_actor(record["userIdentity"])
    assert resolved == actor(
        type="IAMUser",
        arn="arn:aws:iam::00000:robot",
        account="00000",
        access_key_id="XXXXXXXXXXXXXXXXX",
    )
    assert actor_label(resolved) == "IAMUser arn:aws:iam::00000:robot"


# --- AssumedRole ---------------------------------------------------------------------------


def test_assumed_role_named_by_role_with_session() -> None:
    record = decoded("envelopes/cloudwatch_logs/datadog_cloudtrail_loggroup_decoded.json")[0]
    assert resolve_actor(record["userIdentity"]) == actor(
        type="AssumedRole",
        name="DatadogAWSIntegrationRole",
        arn="arn:aws:sts::123456789123:assumed-role/DatadogAWSIntegrationRole/DatadogAWSIntegration",
        account="123456789123",
        session="DatadogAWSIntegration",
        role="arn:aws:iam::123456789123:role/DatadogAWSIntegrationRole",
        issuer="arn:aws:iam::123456789123:role/DatadogAWSIntegrationRole",
        access_key_id="ASIA55TKTI7VANF3DEVD",
    )


def test_assumed_role_with_a_role_path_in_the_arn() -> None:
    """The session is the ARN's last part even when a role path precedes the role name."""
    record = edge_case("sts-assume-role-service-role")
    assert resolve_actor(record["userIdentity"]) == actor(
        type="AssumedRole",
        name="pipeline-runner",
        arn=(
            "arn:aws:sts::123456789012:assumed-role/service-role/pipeline-runner/"
            "aws-sdk-session-1717171717"
        ),
        account="123456789012",
        session="aws-sdk-session-1717171717",
        role="arn:aws:iam::123456789012:role/service-role/pipeline-runner",
        issuer="arn:aws:iam::123456789012:role/service-role/pipeline-runner",
        access_key_id="ASIAEXAMPLEKEY12345",
    )


def test_assumed_role_without_session_context_reads_the_arn() -> None:
    record = edge_case("escapes-and-unicode")
    assert "sessionContext" not in record["userIdentity"]
    assert resolve_actor(record["userIdentity"]) == actor(
        type="AssumedRole",
        name="invoker",
        arn="arn:aws:sts::123456789012:assumed-role/invoker/caller",
        account="123456789012",
        session="caller",
        access_key_id="ASIAEXAMPLEKEYINVOK",
    )


def test_assumed_role_invoked_by_a_service() -> None:
    record = edge_case("ec2-describe-launch-template-versions")
    role = (
        "arn:aws:iam::123456789012:role/aws-service-role/eks-nodegroup.amazonaws.com/"
        "AWSServiceRoleForAmazonEKSNodegroup"
    )
    assert resolve_actor(record["userIdentity"]) == actor(
        type="AssumedRole",
        name="AWSServiceRoleForAmazonEKSNodegroup",
        arn="arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAmazonEKSNodegroup/EKS",
        account="123456789012",
        session="EKS",
        role=role,
        issuer=role,
        invoked_by="eks-nodegroup.amazonaws.com",
        access_key_id="ASIAEXAMPLEKEYNODEG",
    )


def test_sso_permission_set_session_is_named_by_the_person() -> None:
    """Real (anonymised) Identity Center session: the ARN lost its session; principalId has it."""
    record = decoded(
        f"{STRATUS_LOGS}/stratus_aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json.gz"
    )[0]
    role = (
        "arn:aws:iam::844015365555:role/aws-reserved/sso.amazonaws.com/"
        "AWSReservedSSO_account-admin_599c9e90e350d2ff"
    )
    resolved = resolve_actor(record["userIdentity"])
    assert resolved == actor(
        type="AssumedRole",
        name="randomca0L529zwNAY@gmail.com",
        arn="arn:aws:sts::844015365555:assumed-role/AWSReservedSSOrandoml3I7nL6f7BmB@gmail.com",
        account="844015365555",
        session="randomca0L529zwNAY@gmail.com",
        role=role,
        issuer=role,
        access_key_id="ASIA2HJRQF0DHNYEE9N1",
    )
    assert actor_label(resolved) == "AssumedRole randomca0L529zwNAY@gmail.com"


SSO_IDENTITY: dict[str, Any] = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLEID3SSO4567:jane.doe@example.com",
    "arn": (
        "arn:aws:sts::111122223333:assumed-role/"
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com"
    ),
    "accountId": "111122223333",
    "accessKeyId": "ASIAEXAMPLEKEYSSO001",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAEXAMPLEID3SSO4567",
            "arn": (
                "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
            ),
            "accountId": "111122223333",
            "userName": "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        },
        "attributes": {"creationDate": "2024-05-02T08:11:09Z", "mfaAuthenticated": "false"},
    },
}


def test_sso_session_with_a_well_formed_arn() -> None:
    resolved = resolve_actor(SSO_IDENTITY)
    assert resolved["name"] == "jane.doe@example.com"
    assert resolved["session"] == "jane.doe@example.com"
    assert resolved["role"] == SSO_IDENTITY["sessionContext"]["sessionIssuer"]["arn"]
    assert actor_label(resolved) == "AssumedRole jane.doe@example.com"


def test_sso_session_recognised_from_the_arn_alone() -> None:
    identity = {key: value for key, value in SSO_IDENTITY.items() if key != "sessionContext"}
    resolved = resolve_actor(identity)
    assert resolved["name"] == "jane.doe@example.com"
    assert resolved["role"] is None
    assert resolved["issuer"] is None


def test_assumed_role_on_behalf_of_an_identity_center_user() -> None:
    """Trusted identity propagation: the role acts for a person, who is the actor's name."""
    identity = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEIDQBIZ001:ExampleSession",
        "arn": "arn:aws:sts::111122223333:assumed-role/QBusinessWebExperienceRole/ExampleSession",
        "accountId": "111122223333",
        "accessKeyId": "ASIAEXAMPLEKEYQBIZ01",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEIDQBIZ001",
                "arn": "arn:aws:iam::111122223333:role/QBusinessWebExperienceRole",
                "accountId": "111122223333",
                "userName": "QBusinessWebExperienceRole",
            },
            "attributes": {"creationDate": "2024-06-03T10:00:00Z", "mfaAuthenticated": "false"},
        },
        "onBehalfOf": {
            "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
            "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-9067642ac7",
        },
    }
    assert resolve_actor(identity) == actor(
        type="AssumedRole",
        name="544894e8-80c1-707f-60e3-3ba6510dfac1",
        arn="arn:aws:sts::111122223333:assumed-role/QBusinessWebExperienceRole/ExampleSession",
        account="111122223333",
        session="ExampleSession",
        role="arn:aws:iam::111122223333:role/QBusinessWebExperienceRole",
        issuer="arn:aws:iam::111122223333:role/QBusinessWebExperienceRole",
        access_key_id="ASIAEXAMPLEKEYQBIZ01",
    )


# --- FederatedUser, IdentityCenterUser, SAMLUser, WebIdentityUser --------------------------


def test_federated_user_from_stratus() -> None:
    """GetFederationToken: the issuer is the IAM user who federated, which is not a role."""
    record = decoded(f"{STRATUS_LOGS}/stratus_aws.persistence.sts-federation-token.json.gz")[1]
    resolved = resolve_actor(record["userIdentity"])
    assert resolved == actor(
        type="FederatedUser",
        name="stratus_red_team",
        arn="arn:aws:sts::742491224508:federated-user/stratus_red_team",
        account="742491224508",
        issuer="arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user",
        access_key_id="ASIASTJKC5GCM7ZE6LUP",
    )
    assert actor_label(resolved) == "FederatedUser stratus_red_team"


def test_federated_user_named_from_principal_id_without_arn() -> None:
    identity = {"type": "FederatedUser", "principalId": "742491224508:stratus_red_team"}
    assert resolve_actor(identity)["name"] == "stratus_red_team"


def test_identity_center_user_is_named_by_user_id() -> None:
    identity = {
        "type": "IdentityCenterUser",
        "accountId": "123456789012",
        "onBehalfOf": {
            "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
            "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-9067642ac7",
        },
        "credentialId": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE",
    }
    resolved = resolve_actor(identity)
    assert resolved == actor(
        type="IdentityCenterUser",
        name="544894e8-80c1-707f-60e3-3ba6510dfac1",
        account="123456789012",
    )
    assert actor_label(resolved) == "IdentityCenterUser 544894e8-80c1-707f-60e3-3ba6510dfac1"


def test_saml_user_from_assume_role_with_saml() -> None:
    identity = {
        "type": "SAMLUser",
        "principalId": "SampleUkh1i4+ExamplexL/jEvs=:SamlExample",
        "userName": "SamlExample",
        "identityProvider": "bdGOnTesti4+ExamplexL/jEvs=",
    }
    assert resolve_actor(identity) == actor(type="SAMLUser", name="SamlExample")


def test_web_identity_user_without_account_id_takes_the_provider_account() -> None:
    record = edge_case("sts-assume-role-with-web-identity-irsa")
    assert "accountId" not in record["userIdentity"]
    assert resolve_actor(record["userIdentity"]) == actor(
        type="WebIdentityUser", name="system:serviceaccount:prod:checkout", account="123456789012"
    )


def test_web_identity_user_of_a_public_provider_has_no_account() -> None:
    identity = {
        "type": "WebIdentityUser",
        "principalId": "accounts.google.com:application-id.apps.googleusercontent.com:user-id",
        "userName": "user-id",
        "identityProvider": "accounts.google.com",
    }
    assert resolve_actor(identity) == actor(type="WebIdentityUser", name="user-id")


# --- services, accounts, root, unknown, nothing ---------------------------------------------


def test_aws_service() -> None:
    record = edge_case("numeric-edge-cases")
    resolved = resolve_actor(record["userIdentity"])
    assert resolved == actor(
        type="AWSService", name="monitoring.amazonaws.com", invoked_by="monitoring.amazonaws.com"
    )
    assert actor_label(resolved) == "AWSService monitoring.amazonaws.com"


def test_no_type_but_invoked_by() -> None:
    """The user guide's KMS RotateKey record: only accountId and invokedBy."""
    record = catalogued("awsdocs_userguide_events.jsonl", 22)
    assert record["eventName"] == "RotateKey"
    resolved = resolve_actor(record["userIdentity"])
    assert resolved == actor(name="AWS Internal", account="123456789012", invoked_by="AWS Internal")
    assert actor_label(resolved) == "AWS Internal"


def test_aws_account() -> None:
    record = edge_case("additional-event-data-as-json-string")
    resolved = resolve_actor(record["userIdentity"])
    assert resolved == actor(
        type="AWSAccount", name="210987654321", account="210987654321", session="session"
    )
    assert actor_label(resolved) == "AWSAccount 210987654321/session"


def test_root_from_eventbridge() -> None:
    (record,) = decoded("envelopes/eventbridge/event-cloud-trail-create-bucket.json")
    resolved = resolve_actor(record["userIdentity"])
    assert resolved == actor(
        type="Root", name="root", arn="arn:aws:iam::619193117841:root", account="619193117841"
    )
    assert actor_label(resolved) == "Root root"


def test_root_invoked_by_a_service() -> None:
    (record,) = decoded("envelopes/eventbridge/event-cloud-trail-run-instances.json")
    assert resolve_actor(record["userIdentity"]) == actor(
        type="Root",
        name="root",
        arn="arn:aws:iam::619193117841:root",
        account="619193117841",
        invoked_by="autoscaling.amazonaws.com",
    )


def test_root_console_sign_in_with_empty_access_key() -> None:
    record = catalogued("awsdocs_userguide_events.jsonl", 6)
    assert record["userIdentity"]["accessKeyId"] == ""
    assert resolve_actor(record["userIdentity"]) == actor(
        type="Root", name="root", arn="arn:aws:iam::111122223333:root", account="111122223333"
    )


def test_unknown_failed_console_sign_in() -> None:
    """A sign-in failure names who tried, as typed; the ARN is empty."""
    identity = {
        "type": "Unknown",
        "principalId": "111122223333",
        "arn": "",
        "accountId": "111122223333",
        "accessKeyId": "",
        "userName": "jdoe",
    }
    resolved = resolve_actor(identity)
    assert resolved == actor(type="Unknown", name="jdoe", account="111122223333")
    assert actor_label(resolved) == "Unknown jdoe"


def test_unknown_without_user_name_falls_back_to_principal_id() -> None:
    identity = {"type": "Unknown", "principalId": "111122223333", "accountId": "111122223333"}
    assert resolve_actor(identity)["name"] == "111122223333"


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(
            decoded(
                "events/awsdocs_log_files/cloudtrail-event-reference_block1_insight_event.json"
            )[0],
            id="insight-event-without-userIdentity",
        ),
        pytest.param(edge_case("insight-record"), id="userIdentity-null"),
        pytest.param(
            decoded(
                "envelopes/eventbridge/event-cloud-trail-bedrock-create-customization-jobs.json"
            )[0],
            id="bedrock-userIdentity-null",
        ),
    ],
)
def test_records_without_user_identity(record: dict[str, Any]) -> None:
    resolved = resolve_actor(record.get("userIdentity"))
    assert resolved == actor()
    assert actor_label(resolved) == "?"


def test_every_real_identity_resolves() -> None:
    """Every record in the shared data: all fields, strings or null, and the types seen."""
    types: set[str | None] = set()
    for path in sorted(SHARED_DATA.rglob("*")):
        if not path.is_file():
            continue
        tally = InputTally()
        relative = str(path.relative_to(SHARED_DATA))
        for item in Decoder(tally).bytes(path.read_bytes(), Place(relative)):
            resolved = resolve_actor(item.record.get("userIdentity"))
            assert tuple(resolved) == ACTOR_FIELDS
            assert all(value is None or isinstance(value, str) for value in resolved.values())
            if isinstance(item.record.get("userIdentity"), dict):
                assert resolved["name"] or resolved["arn"], item.place
            types.add(resolved["type"])
    assert types >= {"IAMUser", "AssumedRole", "Root", "FederatedUser", None}


# --- actor_label ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        (
            {"type": "AssumedRole", "name": "deploy", "session": "ci-run-42"},
            "AssumedRole deploy/ci-run-42",
        ),
        ({"type": "Root", "name": "root"}, "Root root"),
        (
            {"type": "AssumedRole", "name": "jane@example.com", "session": "jane@example.com"},
            "AssumedRole jane@example.com",
        ),
        ({"type": "IAMUser", "arn": "arn:aws:iam::1:user/x"}, "IAMUser arn:aws:iam::1:user/x"),
        ({"name": "AWS Internal"}, "AWS Internal"),
        ({"type": "Unknown"}, "Unknown ?"),
        ({"session": "orphan"}, "?/orphan"),
        ({}, "?"),
    ],
)
def test_actor_label(fields: dict[str, str], label: str) -> None:
    assert actor_label(actor(**fields)) == label


# --- anything at all -----------------------------------------------------------------------

IDENTITY_TYPES = (
    "Root",
    "IAMUser",
    "AssumedRole",
    "FederatedUser",
    "IdentityCenterUser",
    "SAMLUser",
    "WebIdentityUser",
    "AWSService",
    "AWSAccount",
    "Unknown",
)
ARNISH = st.sampled_from(
    [
        "arn:aws:sts::1:assumed-role/",
        "arn:aws:sts::1:assumed-role/r/s",
        "arn:aws:sts::1:assumed-role/AWSReservedSSO_x/a/b",
        "arn:aws:sts::1:federated-user/",
        "arn:aws:iam::1:user/",
        "arn:",
        ":::::",
        "",
        "/",
    ]
) | st.text(max_size=30)
SHAPED_IDENTITIES = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(IDENTITY_TYPES) | JSON_VALUES,
        "arn": ARNISH | JSON_VALUES,
        "principalId": st.text(max_size=20) | JSON_VALUES,
        "accountId": JSON_VALUES,
        "userName": JSON_VALUES,
        "invokedBy": JSON_VALUES,
        "accessKeyId": JSON_VALUES,
        "identityProvider": ARNISH | JSON_VALUES,
        "onBehalfOf": st.fixed_dictionaries({}, optional={"userId": JSON_VALUES}) | JSON_VALUES,
        "sessionContext": st.fixed_dictionaries(
            {},
            optional={
                "sessionIssuer": st.fixed_dictionaries(
                    {},
                    optional={
                        "type": JSON_VALUES,
                        "arn": ARNISH | JSON_VALUES,
                        "userName": JSON_VALUES,
                    },
                )
                | JSON_VALUES
            },
        )
        | JSON_VALUES,
    },
)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES | SHAPED_IDENTITIES)
def test_any_json_as_user_identity(identity: Any) -> None:
    resolved = resolve_actor(identity)
    assert tuple(resolved) == ACTOR_FIELDS
    assert all(value is None or isinstance(value, str) for value in resolved.values())
    assert all(value != "" for value in resolved.values())
    assert isinstance(actor_label(resolved), str)


def test_iam_user_arn_without_a_name_gives_null_not_empty() -> None:
    """Found by hypothesis: `arn:aws:iam::1:user/` once resolved to the name ''."""
    resolved = resolve_actor({"type": "IAMUser", "arn": "arn:aws:iam::1:user/"})
    assert resolved["name"] is None
    assert resolved["account"] == "1"
