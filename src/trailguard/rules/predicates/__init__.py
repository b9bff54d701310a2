"""Python predicates: conditions that data cannot say (is this policy open to the world?).

A predicate is a function of the record context and the rule's `args`, registered by name
with `@predicate`. Adding one: docs/rules.md, "Predicates".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.errors import RuleSyntaxError

PredicateFunction = Callable[[RecordContext, Mapping[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class Predicate:
    name: str
    function: PredicateFunction
    summary: str
    arg_types: Mapping[str, type | tuple[type, ...]]
    required: frozenset[str]

    def check_args(self, args: Mapping[str, Any], where: str) -> None:
        unknown = set(args) - set(self.arg_types)
        if unknown:
            allowed = ", ".join(sorted(self.arg_types)) or "none"
            raise RuleSyntaxError(
                where, f"unknown argument(s) {sorted(unknown)}; allowed: {allowed}"
            )
        missing = self.required - set(args)
        if missing:
            raise RuleSyntaxError(where, f"missing argument(s) {sorted(missing)}")
        for key, value in args.items():
            expected = self.arg_types[key]
            kinds = expected if isinstance(expected, tuple) else (expected,)
            # YAML `true` is a Python int too; it only counts where bool is allowed.
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                names = " or ".join(kind.__name__ for kind in kinds)
                raise RuleSyntaxError(
                    f"{where}.{key}", f"wrong type {type(value).__name__}; expected {names}"
                )


_REGISTRY: dict[str, Predicate] = {}


def predicate(
    name: str,
    *,
    required: tuple[str, ...] = (),
    **arg_types: type | tuple[type, ...],
) -> Callable[[PredicateFunction], PredicateFunction]:
    """Register `function` as predicate `name`; its docstring's first line is its summary."""

    def register(function: PredicateFunction) -> PredicateFunction:
        if name in _REGISTRY:
            raise ValueError(f"predicate {name!r} is registered twice")
        summary = (function.__doc__ or name).strip().splitlines()[0]
        _REGISTRY[name] = Predicate(name, function, summary, arg_types, frozenset(required))
        return function

    return register


def lookup(name: str, where: str) -> Predicate:
    _load_builtins()
    found = _REGISTRY.get(name)
    if found is None:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise RuleSyntaxError(where, f"unknown predicate {name!r}; known: {known}")
    return found


def registered() -> dict[str, Predicate]:
    _load_builtins()
    return dict(_REGISTRY)


_loaded = False


def _load_builtins() -> None:
    """Import the shipped predicate modules once, on first use (they register themselves)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from trailguard.rules.predicates import builtin  # noqa: F401
