"""Predicates about S3: access control lists opened to everyone, Block Public Access weakened,
bucket policies shared with other AWS accounts.

CloudTrail records S3 request headers as lists (`"x-amz-acl": ["public-read"]`) and XML
bodies as objects (`AccessControlPolicy.AccessControlList.Grant[].Grantee.URI`,
`PublicAccessBlockConfiguration.BlockPublicAcls`); both are read here, strings or lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.predicates import predicate
from trailguard.rules.predicates.policies import (
    allow_statements,
    documents,
    own_account,
    principal_account,
    principals,
)

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


ELB_LOG_DELIVERY_ACCOUNTS = frozenset(
    {
        "127311923021",  # us-east-1
        "033677994240",  # us-east-2
        "027434742980",  # us-west-1
        "797873946194",  # us-west-2
        "098369216593",  # af-south-1
        "754344448648",  # ap-east-1
        "582318560864",  # ap-northeast-1
        "600734575887",  # ap-northeast-2
        "383597477331",  # ap-northeast-3
        "718504428378",  # ap-south-1
        "114774131450",  # ap-southeast-1
        "783225319266",  # ap-southeast-2
        "589379963580",  # ap-southeast-3
        "985666609251",  # ca-central-1
        "054676820928",  # eu-central-1
        "156460612806",  # eu-west-1
        "652711504416",  # eu-west-2
        "009996457667",  # eu-west-3
        "635631232127",  # eu-south-1
        "897822967062",  # eu-north-1
        "076674570225",  # me-south-1
        "507241528517",  # sa-east-1
        "638102146993",  # cn-north-1
        "037604701340",  # cn-northwest-1
        "190560391635",  # us-gov-east-1
        "048591011584",  # us-gov-west-1
    }
)
"""AWS-owned accounts that write Elastic Load Balancing access logs, one per Region.

An access-log bucket's policy must let the Region's ELB account put objects (the ELB user
guide, "Attach a policy to your S3 bucket"; the same table backs Terraform's
aws_elb_service_account). Regions opened since August 2022 name the service principal
logdelivery.elasticloadbalancing.amazonaws.com instead, which is no account.
"""


STS_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:sts::(\d{12}):")


def _sts_account(principal: str) -> str | None:
    """The account of an STS principal (`arn:aws:sts::444455556666:assumed-role/R/S`)."""
    match = STS_ARN_ACCOUNT.match(principal)
    return match.group(1) if match else None


@predicate("bucket_policy_shares_with_account", required=("path",), path=str)
def bucket_policy_shares_with_account(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The bucket policy at `path` lets a named AWS account other than the bucket's own in.

    Counts Allow statements whose principal is an account id or an ARN in another account
    (`{"AWS": "arn:aws:iam::444455556666:root"}`, a role, user or STS session there, or the
    bare id). Not counted: the principal `*` (public, or pinned by a condition; see
    `policy_is_public`), service principals, CloudFront origin access identities, canonical
    user ids, Deny statements, the bucket's own account (`recipientAccountId`), and the AWS
    accounts that deliver ELB access logs. A record without its own account id is not judged.
    """
    own = own_account(ctx)
    if own is None:
        return False
    for document in documents(ctx, args["path"]):
        for statement in allow_statements(document):
            for principal in principals(statement):
                account = principal_account(principal) or _sts_account(principal)
                if account is None or account == own or account in ELB_LOG_DELIVERY_ACCOUNTS:
                    continue
                return True
    return False
