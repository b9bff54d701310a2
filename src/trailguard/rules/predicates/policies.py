"""Predicates over policy documents: IAM, resource and role-trust policies.

CloudTrail records policy documents as JSON text (sometimes URL-encoded) or as objects;
both are read. Only `Allow` statements grant anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from trailguard.rules.context import RecordContext
from trailguard.rules.predicates import predicate

ACCOUNT_ID = re.compile(r"^\d{12}$")
ARN_ACCOUNT = re.compile(r"^arn:[^:]+:iam::(\d{12}):")
# Condition keys that pin who may use a policy; a wildcard principal under one is not public.
RESTRICTING_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:userid",
        "aws:username",
        "lambda:FunctionArn",
    )
)


def parse_document(value: Any) -> dict[str, Any] | None:
    """A policy document from CloudTrail: an object, JSON text, or URL-encoded JSON text."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


def documents(ctx: RecordContext, path: str) -> Iterator[dict[str, Any]]:
    for value in ctx.values(tuple(path.split("."))):
        document = parse_document(value)
        if document is not None:
            yield document


def allow_statements(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return
    for statement in statements:
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            yield statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def principals(statement: Mapping[str, Any]) -> list[str]:
    """Every principal a statement names: `*`, account ids, ARNs, service names."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        found: list[str] = []
        for value in principal.values():
            found += [v for v in _as_list(value) if isinstance(v, str)]
        return found
    return []


def _restricted(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for clauses in condition.values():
        if isinstance(clauses, dict) and any(
            str(key).lower() in RESTRICTING_CONDITION_KEYS for key in clauses
        ):
            return True
    return False


def principal_account(principal: str) -> str | None:
    if ACCOUNT_ID.match(principal):
        return principal
    match = ARN_ACCOUNT.match(principal)
    return match.group(1) if match else None


def own_account(ctx: RecordContext) -> str | None:
    account = ctx.record.get("recipientAccountId")
    if isinstance(account, str) and account:
        return account
    return ctx.actor.get("account")


def _lowered(value: Any) -> list[str]:
    return [v.lower() for v in _as_list(value) if isinstance(v, str)]


def grants_everything(statement: Mapping[str, Any]) -> bool:
    """An Allow statement with every action (`*`, `*:*`) on every resource (`*`)."""
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    return any(a in ("*", "*:*") for a in actions) and "*" in resources


def grants_admin_equivalent(statement: Mapping[str, Any]) -> bool:
    """An Allow statement that amounts to administrator access, though not literally `*` on `*`.

    Every action, or every IAM action (`iam:*`, enough to attach AdministratorAccess to
    oneself), on all resources (`Resource: *`, or any `NotResource`, which allows all but a
    few); or `NotAction` on all resources whose exclusions leave every IAM action allowed.
    A `NotAction` that excludes any IAM action is not counted (it may or may not leave a
    path to admin), nor are statements whose resources are named.
    """
    if grants_everything(statement):
        return True
    on_everything = "*" in _as_list(statement.get("Resource")) or (
        statement.get("NotResource") is not None
    )
    if not on_everything:
        return False
    if statement.get("Action") is not None:
        return any(a in ("*", "*:*", "iam:*") for a in _lowered(statement.get("Action")))
    if statement.get("NotAction") is not None:
        excluded = _lowered(statement.get("NotAction"))
        return not any(a in ("*", "*:*") or a.startswith("iam:") for a in excluded)
    return False


@predicate("policy_grants_admin", required=("path",), path=str, admin_equivalent=bool)
def policy_grants_admin(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The policy at `path` allows every action on every resource (or an equivalent, if asked).

    With `admin_equivalent: true`, statements that amount to administrator access without
    being literally `*` on `*` count too (`grants_admin_equivalent`).
    """
    check = grants_admin_equivalent if args.get("admin_equivalent") else grants_everything
    for document in documents(ctx, args["path"]):
        for statement in allow_statements(document):
            if check(statement):
                return True
    return False


@predicate("policy_is_public", required=("path",), path=str)
def policy_is_public(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The resource policy at `path` allows anyone (`*`) without a condition pinning who."""
    for document in documents(ctx, args["path"]):
        for statement in allow_statements(document):
            if "*" in principals(statement) and not _restricted(statement):
                return True
    return False


@predicate("policy_trusts_outsiders", required=("path",), path=str)
def policy_trusts_outsiders(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The policy at `path` lets `*` or another AWS account in (a role trust or resource policy)."""
    own = own_account(ctx)
    for document in documents(ctx, args["path"]):
        for statement in allow_statements(document):
            for principal in principals(statement):
                if principal == "*" and not _restricted(statement):
                    return True
                account = principal_account(principal)
                if account is not None and own is not None and account != own:
                    return True
    return False


@predicate("principal_outside_account", required=("path",), path=str)
def principal_outside_account(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The principal at `path` is `*` or an account (id or ARN) other than the record's own."""
    own = own_account(ctx)
    for value in ctx.values(tuple(args["path"].split("."))):
        if not isinstance(value, str):
            continue
        if value == "*":
            return True
        account = principal_account(value)
        if account is not None and own is not None and account != own:
            return True
    return False
