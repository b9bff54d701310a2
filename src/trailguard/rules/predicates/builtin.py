"""The shipped predicate modules; importing this registers them all."""

from trailguard.rules.predicates import (  # noqa: F401
    audit_logging,
    compute,
    identity,
    network,
    policies,
    s3,
    sharing,
)
