"""Predicates for sharing: snapshots, images and database snapshots given to others."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.predicates import predicate
from trailguard.rules.predicates.policies import ACCOUNT_ID, own_account

PUBLIC_GROUP = "all"


@predicate("shares_outside_account", required=("paths",), paths=list)
def shares_outside_account(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """A value at any of `paths` is `all` (public) or an account id other than the record's own."""
    own = own_account(ctx)
    for path in args["paths"]:
        for value in ctx.values(tuple(str(path).split("."))):
            if not isinstance(value, str):
                continue
            if value.lower() == PUBLIC_GROUP:
                return True
            if ACCOUNT_ID.match(value) and value != own:
                return True
    return False
