"""Value tests a condition applies to the values at a path, compiled once at load time."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
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
        if not isinstance(expected, list) or not all(_hashable(v) for v in expected):
            raise RuleSyntaxError(operator, "expected a list of strings, numbers or booleans")
        choices = frozenset(expected)
        return lambda v: _hashable(v) and v in choices
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
        return lambda v: _inside(v, networks)
    if operator == "open_cidr":
        if not isinstance(expected, bool):
            raise RuleSyntaxError(operator, "expected true or false")
        return lambda v: is_open_cidr(v) is expected
    raise RuleSyntaxError(operator, f"unknown operator; use one of: {', '.join(OPERATORS)}")


def _equals(expected: Any) -> Test:
    """Equality that keeps booleans apart from numbers, and lets `true` match CloudTrail's
    string booleans (`mfaAuthenticated: "true"`) as well as real ones (`readOnly: true`)."""
    if isinstance(expected, bool):
        text = "true" if expected else "false"
        return lambda v: v is expected or (isinstance(v, str) and v.lower() == text)
    if not _hashable(expected):
        raise RuleSyntaxError("equals", "expected a string, number or boolean")
    return lambda v: v == expected and not isinstance(v, bool)


def _inside(value: Any, networks: list[IPNetwork]) -> bool:
    candidate = as_network(value)
    if candidate is None:
        return False
    return any(
        candidate.version == n.version and candidate.subnet_of(n)  # type: ignore[arg-type]
        for n in networks
    )
