"""Predicates about S3: access control lists opened to everyone, Block Public Access weakened.

CloudTrail records S3 request headers as lists (`"x-amz-acl": ["public-read"]`) and XML
bodies as objects (`AccessControlPolicy.AccessControlList.Grant[].Grantee.URI`,
`PublicAccessBlockConfiguration.BlockPublicAcls`); both are read here, strings or lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.predicates import predicate

PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
"""Canned ACLs that grant to AllUsers or AuthenticatedUsers (any AWS account)."""
PUBLIC_GROUP_URIS = (
    "acs.amazonaws.com/groups/global/AllUsers",
    "acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
"""Grantee groups that mean "anyone" (LogDelivery is S3's own log writer: not public)."""
GRANT_HEADERS = (
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)
BLOCK_PUBLIC_ACCESS_FLAGS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def _strings(value: Any) -> Iterator[str]:
    """Strings in a value that may be one string or a (nested) list of them."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _names_public_group(text: str) -> bool:
    return any(uri in text for uri in PUBLIC_GROUP_URIS)


def _grants(params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    policy = params.get("AccessControlPolicy")
    acl = policy.get("AccessControlList") if isinstance(policy, dict) else None
    grants = acl.get("Grant") if isinstance(acl, dict) else None
    for grant in _as_list(grants):
        if isinstance(grant, dict):
            yield grant


@predicate("acl_grants_public")
def acl_grants_public(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The S3 request sets an ACL that grants to AllUsers or AuthenticatedUsers.

    Reads a canned ACL (`x-amz-acl`: public-read, public-read-write, authenticated-read),
    grant headers (`x-amz-grant-read: uri="http://acs.amazonaws.com/groups/global/AllUsers"`),
    and an ACL body (`AccessControlPolicy.AccessControlList.Grant[].Grantee.URI`). Works for
    PutBucketAcl, PutObjectAcl, CreateBucket and PutObject requests alike.
    """
    params = ctx.record.get("requestParameters")
    if not isinstance(params, dict):
        return False
    if any(v.strip().lower() in PUBLIC_CANNED_ACLS for v in _strings(params.get("x-amz-acl"))):
        return True
    for header in GRANT_HEADERS:
        if any(_names_public_group(v) for v in _strings(params.get(header))):
            return True
    for grant in _grants(params):
        grantee = grant.get("Grantee")
        uri = grantee.get("URI") if isinstance(grantee, dict) else None
        if isinstance(uri, str) and _names_public_group(uri):
            return True
    return False


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@predicate("public_access_block_weakened")
def public_access_block_weakened(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """A Block Public Access configuration is put with one of its four settings off or left out.

    S3 replaces the whole configuration on each put and an omitted setting is false, so
    `{BlockPublicAcls: true}` alone turns the other three off. A request without a
    `PublicAccessBlockConfiguration` (a delete, a malformed record) is not judged here.
    """
    params = ctx.record.get("requestParameters")
    if not isinstance(params, dict):
        return False
    config = params.get("PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        return False
    return not all(_is_true(config.get(flag)) for flag in BLOCK_PUBLIC_ACCESS_FLAGS)
