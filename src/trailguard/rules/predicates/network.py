"""Predicates for network exposure: security group ingress and network ACL entries opened
to the internet.

CloudTrail records a security group grant in several shapes, all read here:

- `AuthorizeSecurityGroupIngress` with the flat (legacy) parameters `cidrIp` / `cidrIpv6`,
  `ipProtocol`, `fromPort`, `toPort` (the Stratus detonation uses this form, with
  `ipPermissions: {}` beside it);
- `AuthorizeSecurityGroupIngress` with `ipPermissions.items[]` holding `ipRanges.items[].cidrIp`
  and `ipv6Ranges.items[].cidrIpv6`;
- its response, `responseElements.securityGroupRuleSet.items[]` with `cidrIpv4` / `cidrIpv6`
  and `isEgress` (what EC2 actually created);
- `ModifySecurityGroupRules`, whose request is wrapped as
  `requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule[.SecurityGroupRule]`
  with `CidrIpv4` / `CidrIpv6`, `IpProtocol`, `FromPort`, `ToPort` (one rule or a list).

Protocols: `-1` (or `all`) is every protocol and every port. TCP, UDP and SCTP carry port
ranges (`-1` or no range means every port). Any other protocol (ICMP, ICMPv6, GRE, ESP...)
has no ports: its `fromPort`/`toPort` are ICMP type and code, so it never "covers" a TCP port.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.matchers import as_number, is_open_cidr
from trailguard.rules.predicates import predicate

ALL_PROTOCOLS = frozenset({"-1", "all"})
PORTED_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "6", "17", "132"})
ICMP_PROTOCOLS = frozenset({"icmp", "icmpv6", "1", "58"})
LOWEST_PORT = 1
HIGHEST_PORT = 65535

Grant = tuple[Any, Any, Any, list[Any]]
"""(protocol, fromPort, toPort, CIDRs) of one permission a request grants."""


def _items(value: Any) -> list[Any]:
    """EC2 wraps lists as `{"items": [...]}`; accept that, a bare list, or one object."""
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def _protocol(value: Any) -> str:
    return str(value).strip().lower() if value is not None else ""


def ingress_permissions(params: Mapping[str, Any]) -> Iterator[Grant]:
    """(protocol, fromPort, toPort, CIDRs) for each permission an ingress request grants."""
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
    yield from modified_rules(params)


def modified_rules(params: Mapping[str, Any]) -> Iterator[Grant]:
    """The rules a `ModifySecurityGroupRules` request sets (its request says no direction)."""
    request = params.get("ModifySecurityGroupRulesRequest")
    if not isinstance(request, dict):
        return
    for update in _items(request.get("SecurityGroupRule")):
        if not isinstance(update, dict):
            continue
        rule = update.get("SecurityGroupRule", update)
        if not isinstance(rule, dict):
            continue
        yield (
            rule.get("IpProtocol"),
            rule.get("FromPort"),
            rule.get("ToPort"),
            [rule.get("CidrIpv4"), rule.get("CidrIpv6")],
        )


def created_ingress_rules(response: Any) -> Iterator[Grant]:
    """The ingress rules EC2 reports it created (`securityGroupRuleSet`), egress left out."""
    if not isinstance(response, dict):
        return
    for rule in _items(response.get("securityGroupRuleSet")):
        if not isinstance(rule, dict) or rule.get("isEgress") in (True, "true"):
            continue
        yield (
            rule.get("ipProtocol"),
            rule.get("fromPort"),
            rule.get("toPort"),
            [rule.get("cidrIpv4"), rule.get("cidrIpv6")],
        )


def record_grants(record: Mapping[str, Any]) -> Iterator[Grant]:
    params = record.get("requestParameters")
    if isinstance(params, dict):
        yield from ingress_permissions(params)
    yield from created_ingress_rules(record.get("responseElements"))


def _port_range(from_port: Any, to_port: Any) -> tuple[float, float] | None:
    """The range as numbers, or None for every port (no range given, or -1)."""
    low, high = as_number(from_port), as_number(to_port)
    low = high if low is None else low
    high = low if high is None else high
    if low is None or high is None or low < 0 or high < 0:
        return None
    return low, high


def covers(protocol: Any, from_port: Any, to_port: Any, ports: list[int]) -> bool:
    """Whether a permission reaches any of the TCP/UDP `ports` (all protocols: every port)."""
    name = _protocol(protocol)
    if name in ALL_PROTOCOLS:
        return True
    if name and name not in PORTED_PROTOCOLS:
        return False  # ICMP and other port-less protocols: the numbers are not ports
    span = _port_range(from_port, to_port)
    if span is None:
        return True
    return any(span[0] <= port <= span[1] for port in ports)


def covers_all_ports(protocol: Any, from_port: Any, to_port: Any) -> bool:
    """Every protocol, or TCP/UDP over the whole port range (0 or 1 to 65535, or -1)."""
    name = _protocol(protocol)
    if name in ALL_PROTOCOLS:
        return True
    if name and name not in PORTED_PROTOCOLS:
        return False
    span = _port_range(from_port, to_port)
    return span is None or (span[0] <= LOWEST_PORT and span[1] >= HIGHEST_PORT)


@predicate("ingress_open_to_world", ports=list, all_ports=bool, include_icmp=bool)
def ingress_open_to_world(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The request opens ingress to 0.0.0.0/0 or ::/0 (on one of `ports`, or on all ports).

    `ports`: TCP/UDP ports, any of which the opened range must include. `all_ports: true`:
    only every protocol, or a TCP/UDP range over every port. With neither, any open grant;
    `include_icmp: false` then leaves out ICMP/ICMPv6-only grants (ping, path MTU discovery).
    Reads the request and the rules EC2 says it created (module docstring).
    """
    ports = [int(p) for p in args.get("ports") or []]
    all_ports = args.get("all_ports") is True
    include_icmp = args.get("include_icmp", True) is not False
    for protocol, from_port, to_port, cidrs in record_grants(ctx.record):
        if not any(is_open_cidr(c) for c in cidrs):
            continue
        if not include_icmp and _protocol(protocol) in ICMP_PROTOCOLS:
            continue
        if all_ports and not covers_all_ports(protocol, from_port, to_port):
            continue
        if ports and not covers(protocol, from_port, to_port, ports):
            continue
        return True
    return False


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


@predicate("nacl_entry_allows_all_inbound")
def nacl_entry_allows_all_inbound(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """A network ACL entry allows all inbound traffic (every protocol or port) from anywhere.

    Reads `CreateNetworkAclEntry` / `ReplaceNetworkAclEntry` requests: `egress` false,
    `ruleAction` allow, `cidrBlock` or `ipv6CidrBlock` open (0.0.0.0/0, ::/0), and
    `aclProtocol` -1 (all) or TCP/UDP with `portRange` over every port. A port range such as
    1024-65535 or 443 is not "all inbound".
    """
    params = ctx.record.get("requestParameters")
    if not isinstance(params, dict):
        return False
    if not _is_false(params.get("egress")):
        return False
    if str(params.get("ruleAction", "")).strip().lower() != "allow":
        return False
    if not (is_open_cidr(params.get("cidrBlock")) or is_open_cidr(params.get("ipv6CidrBlock"))):
        return False
    port_range = params.get("portRange")
    port_range = port_range if isinstance(port_range, dict) else {}
    protocol = params.get("aclProtocol", params.get("protocol"))
    return covers_all_ports(protocol, port_range.get("from"), port_range.get("to"))
