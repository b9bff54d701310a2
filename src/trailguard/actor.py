"""Who did it: a uniform actor from CloudTrail's many `userIdentity` shapes.

A role session is named by its role and session; an AWS SSO (Identity Center) permission-set
role by the person behind it; a service by the service that acted. The rules per type are
tabled in docs/alerts.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailguard.record import CloudTrailRecord

SSO_ROLE_PREFIX = "AWSReservedSSO_"

Actor = dict[str, str | None]
ACTOR_FIELDS = (
    "type",
    "name",
    "arn",
    "account",
    "session",
    "role",
    "issuer",
    "invoked_by",
    "access_key_id",
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _arn_account(arn: str | None) -> str | None:
    parts = arn.split(":", 5) if arn and arn.startswith("arn:") else []
    return parts[4] or None if len(parts) > 4 else None


def _arn_tail(arn: str | None, marker: str) -> list[str]:
    """The `/`-separated parts after `marker` in an ARN: `assumed-role/R/S` -> [R, S]."""
    if not arn or marker not in arn:
        return []
    return arn.split(marker, 1)[1].split("/")


def _after_colon(principal_id: str | None) -> str | None:
    if principal_id and ":" in principal_id:
        return principal_id.split(":", 1)[1] or None
    return None


def _role_arn(issuer: dict[str, Any]) -> str | None:
    """The session issuer's ARN when the issuer is a role (not the user behind a federation)."""
    arn = _text(issuer.get("arn"))
    kind = _text(issuer.get("type"))
    if arn and (kind == "Role" or (kind is None and ":role/" in arn)):
        return arn
    return None


def resolve_actor(identity: Any) -> Actor:
    """Resolve `userIdentity` (which may be missing or malformed) into the alert's actor."""
    actor: Actor = dict.fromkeys(ACTOR_FIELDS)
    if not isinstance(identity, dict):
        return actor
    kind = _text(identity.get("type"))
    arn = _text(identity.get("arn"))
    principal_id = _text(identity.get("principalId"))
    actor["type"] = kind
    actor["arn"] = arn
    # Web identity users carry no accountId; their identity provider's ARN names the account.
    actor["account"] = (
        _text(identity.get("accountId"))
        or _arn_account(arn)
        or _arn_account(_text(identity.get("identityProvider")))
    )
    actor["invoked_by"] = _text(identity.get("invokedBy"))
    actor["access_key_id"] = _text(identity.get("accessKeyId"))
    user_name = _text(identity.get("userName"))
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    issuer = issuer if isinstance(issuer, dict) else {}
    actor["issuer"] = _text(issuer.get("arn"))
    on_behalf_of = identity.get("onBehalfOf")
    person = _text(on_behalf_of.get("userId")) if isinstance(on_behalf_of, dict) else None

    if kind == "Root":
        actor["name"] = user_name or "root"
    elif kind == "IAMUser":
        tail = _arn_tail(arn, ":user/")
        actor["name"] = user_name or (_text(tail[-1]) if tail else None)
    elif kind == "AssumedRole":
        # `assumed-role/ROLE/SESSION`; session names cannot contain `/`, so the session is last.
        tail = [part for part in _arn_tail(arn, ":assumed-role/") if part]
        role_name = _text(issuer.get("userName")) or (tail[-2] if len(tail) > 1 else None)
        role_name = role_name or (tail[0] if tail else None)
        session = (tail[-1] if len(tail) > 1 else None) or _after_colon(principal_id)
        actor["role"] = _role_arn(issuer)
        actor["session"] = session
        is_sso = bool(role_name and role_name.startswith(SSO_ROLE_PREFIX))
        actor["name"] = person or (session if is_sso else role_name)
    elif kind == "FederatedUser":
        tail = _arn_tail(arn, ":federated-user/")
        actor["name"] = (tail[0] if tail else None) or _after_colon(principal_id)
        actor["role"] = _role_arn(issuer)  # None: a federated user's issuer is a user or root
    elif kind == "IdentityCenterUser":
        actor["name"] = person or user_name
    elif kind == "AWSService":
        actor["name"] = actor["invoked_by"]
    elif kind == "AWSAccount":
        actor["name"] = actor["account"]
        actor["session"] = _after_colon(principal_id)
    else:  # SAMLUser, WebIdentityUser, Unknown, types yet to come, and no type at all
        actor["name"] = user_name or person or principal_id or actor["invoked_by"]
    return actor


_RESOLVED: dict[bytes, Actor] = {}
RESOLVED_LIMIT = 4096
"""Distinct userIdentity texts remembered; a role session makes many calls."""


def actor_of(record: Mapping[str, Any]) -> Actor:
    """The record's actor (a new dict); the same userIdentity JSON is resolved once."""
    raw = record.raw_json("userIdentity") if isinstance(record, CloudTrailRecord) else None
    if raw is None:
        return resolve_actor(record.get("userIdentity"))
    actor = _RESOLVED.get(raw)
    if actor is None:
        if len(_RESOLVED) >= RESOLVED_LIMIT:
            _RESOLVED.clear()
        actor = _RESOLVED[raw] = resolve_actor(record.get("userIdentity"))
    return dict(actor)


def actor_label(actor: Actor) -> str:
    """A short human label, such as `AssumedRole deploy/ci-run-42` or `Root root`."""
    name = actor.get("name") or actor.get("arn") or "?"
    session = actor.get("session")
    if session and session != name:
        name = f"{name}/{session}"
    kind = actor.get("type")
    return f"{kind} {name}" if kind else name
