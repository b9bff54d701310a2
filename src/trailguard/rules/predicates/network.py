"""Predicates for network exposure: security group ingress opened to the internet."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.matchers import as_number, is_open_cidr
from trailguard.rules.predicates import predicate

ALL_PROTOCOLS = ("-1", "all")


def _items(value: Any) -> list[Any]:
    """EC2 wraps lists as `{"items": [...]}`; accept that, a bare list, or one object."""
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def ingress_permissions(params: Mapping[str, Any]) -> Iterator[tuple[Any, Any, Any, list[Any]]]:
    """(protocol, fromPort, toPort, CIDRs) for each permission a request grants."""
    if params.get("cidrIp") is not None or params.get("cidrIpv6") is not None:
        cidrs = [params.get("cidrIp"), params.get("cidrIpv6")]
        yield params.get("ipProtocol"), params.get("fromPort"), params.get("toPort"), cidrs
    for permission in _items(params.get("ipPermissions")):
        if not isinstance(permission, dict):
            continue
        cidrs = [r.get("cidrIp") for r in _items(permission.get("ipRanges")) if isinstance(r, dict)]
        cidrs += [
            r.get("cidrIpv6") for r in _items(permission.get("ipv6Ranges")) if isinstance(r, dict)
        ]
        yield (
            permission.get("ipProtocol"),
            permission.get("fromPort"),
            permission.get("toPort"),
            cidrs,
        )


def covers(protocol: Any, from_port: Any, to_port: Any, ports: list[int]) -> bool:
    """Whether a permission's port range includes any of `ports` (all protocols: every port)."""
    if str(protocol).lower() in ALL_PROTOCOLS:
        return True
    low, high = as_number(from_port), as_number(to_port)
    if low is None or high is None or low < 0:
        return True  # no range given, or -1: every port
    return any(low <= port <= high for port in ports)


@predicate("ingress_open_to_world", ports=list)
def ingress_open_to_world(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The request opens ingress to 0.0.0.0/0 or ::/0 (on one of `ports`, if given)."""
    params = ctx.record.get("requestParameters")
    if not isinstance(params, dict):
        return False
    ports = [int(p) for p in args.get("ports") or []]
    for protocol, from_port, to_port, cidrs in ingress_permissions(params):
        if any(is_open_cidr(c) for c in cidrs) and (
            not ports or covers(protocol, from_port, to_port, ports)
        ):
            return True
    return False
