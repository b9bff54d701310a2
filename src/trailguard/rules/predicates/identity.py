"""Predicates about identity: who a request acts on, compared with who made it.

See docs/rules.md, "Predicates".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.predicates import predicate

ROOT_USER_PLACEHOLDER = "aws root user"
"""How IAM names the root user in some requests (EnableMFADevice: `userName: AWS ROOT USER`)."""


def _names(ctx: RecordContext, path: str) -> list[str]:
    return [v for v in ctx.values(tuple(path.split("."))) if isinstance(v, str) and v]


@predicate("targets_other_user", required=("path",), path=str)
def targets_other_user(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The IAM user named at `path` is someone other than the caller (no name: the caller)."""
    targets = _names(ctx, args["path"])
    if not targets:
        # IAM applies CreateAccessKey, UpdateLoginProfile, ... to the caller when no user
        # name is given: the caller acts on itself.
        return False
    kind = ctx.actor.get("type")
    if kind is None:
        return False  # no userIdentity: a malformed record, nothing to compare with
    if kind == "IAMUser":
        own = ctx.actor.get("name")
        if not own:
            return False  # an IAM user without name or ARN: malformed, cannot compare
        # IAM user names are unique regardless of case.
        return any(target.casefold() != own.casefold() for target in targets)
    if kind == "Root":
        return any(target.casefold() != ROOT_USER_PLACEHOLDER for target in targets)
    # Roles, federated and Identity Center sessions, services: never an IAM user themselves.
    return True
