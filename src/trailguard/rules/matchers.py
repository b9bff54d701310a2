"""Value tests a condition applies to the values at a path, compiled once at load time."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from trailguard.rules.errors import RuleSyntaxError

Test = Callable[[Any], bool]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

OPERATORS = (
    "equals",
    "one_of",
    "prefix",
    "suffix",
    "contains",
    "glob",
    "regex",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "cidr_contains",
    "open_cidr",
)
"""Operators of a matcher mapping; `exists` looks at whether any value is there at all."""


def _strings(value: Any, operator: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise RuleSyntaxError(operator, "expected a string or a list of strings")
    return tuple(items)


def _number(value: Any, operator: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleSyntaxError(operator, f"expected a number, found {value!r}")
    return float(value)


def as_number(value: Any) -> float | None:
    """Numbers, and strings that hold one (CloudTrail writes ports both ways)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_network(value: Any) -> IPNetwork | None:
    """An address or CIDR, host bits allowed (`10.1.2.3/0` is all of IPv4)."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def is_open_cidr(value: Any) -> bool:
    """0.0.0.0/0, ::/0, or any CIDR with prefix length 0 however it is written."""
    network = as_network(value)
    return network is not None and network.prefixlen == 0


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def compile_operator(operator: str, expected: Any) -> Test:
    """One operator's test on a single value; raises RuleSyntaxError on a malformed operand."""
    if operator == "equals":
        return _equals(expected)
    if operator == "one_of":
        return _one_of(expected)
    if operator == "prefix":
        prefixes = _strings(expected, operator)
        return lambda v: isinstance(v, str) and v.startswith(prefixes)
    if operator == "suffix":
        suffixes = _strings(expected, operator)
        return lambda v: isinstance(v, str) and v.endswith(suffixes)
    if operator == "contains":
        parts = _strings(expected, operator)
        return lambda v: isinstance(v, str) and any(p in v for p in parts)
    if operator == "glob":
        patterns = _strings(expected, operator)
        return lambda v: isinstance(v, str) and any(fnmatchcase(v, p) for p in patterns)
    if operator == "regex":
        try:
            compiled = [re.compile(p) for p in _strings(expected, operator)]
        except re.error as exc:
            raise RuleSyntaxError(operator, f"invalid regular expression: {exc}") from None
        return lambda v: isinstance(v, str) and any(r.search(v) for r in compiled)
    if operator in ("gt", "gte", "lt", "lte"):
        bound = _number(expected, operator)
        compare: dict[str, Callable[[float], bool]] = {
            "gt": lambda n: n > bound,
            "gte": lambda n: n >= bound,
            "lt": lambda n: n < bound,
            "lte": lambda n: n <= bound,
        }
        check = compare[operator]
        return lambda v: (n := as_number(v)) is not None and check(n)
    if operator == "cidr_contains":
        networks = []
        for text in _strings(expected, operator):
            network = as_network(text)
            if network is None:
                raise RuleSyntaxError(operator, f"{text!r} is not a CIDR block or address")
            networks.append(network)
        return lambda v: address_in_networks(v, networks)
    if operator == "open_cidr":
        if not isinstance(expected, bool):
            raise RuleSyntaxError(operator, "expected true or false")
        return lambda v: is_open_cidr(v) is expected
    raise RuleSyntaxError(operator, f"unknown operator; use one of: {', '.join(OPERATORS)}")


def _equals(expected: Any) -> Test:
    """Equality that keeps booleans apart from numbers, and lets a typed value in the rule
    match CloudTrail's string form of it: `true` matches `mfaAuthenticated: "true"` as well as
    `readOnly: true`, and `22` matches `fromPort: "22"` as well as `fromPort: 22`."""
    if isinstance(expected, bool):
        text = "true" if expected else "false"
        return lambda v: v is expected or (isinstance(v, str) and v.lower() == text)
    if isinstance(expected, int | float):
        number = float(expected)
        return lambda v: as_number(v) == number
    if expected is None:
        raise RuleSyntaxError(
            "equals", "null never matches (a null value counts as missing); use `exists: false`"
        )
    if not isinstance(expected, str):
        raise RuleSyntaxError("equals", "expected a string, number or boolean")
    return lambda v: v == expected


def _one_of(expected: Any) -> Test:
    """Any of the choices, each compared as `equals` compares (so `1` is never `true`)."""
    if not isinstance(expected, list) or not expected or not all(_hashable(v) for v in expected):
        raise RuleSyntaxError("one_of", "expected a non-empty list of strings, numbers or booleans")
    try:
        others = [_equals(v) for v in expected if not isinstance(v, str)]
    except RuleSyntaxError as exc:
        raise RuleSyntaxError("one_of", exc.problem) from None
    strings = frozenset(v for v in expected if isinstance(v, str))
    if not others:
        return lambda v: isinstance(v, str) and v in strings
    return lambda v: (isinstance(v, str) and v in strings) or any(t(v) for t in others)


def address_in_networks(value: Any, networks: Sequence[IPNetwork]) -> bool:
    """Whether the address is in a network; `sourceIPAddress` may list several, comma-separated."""
    if not isinstance(value, str):
        return False
    for part in value.split(",") if "," in value else (value,):
        candidate = as_network(part)
        if candidate is not None and any(
            candidate.version == n.version and candidate.subnet_of(n)  # type: ignore[arg-type]
            for n in networks
        ):
            return True
    return False
