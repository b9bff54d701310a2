"""Conditions: a small boolean language over record fields, compiled once into a tree.

A mapping is `all` of its entries; an entry is `path: matcher`, or one of the keys `all`,
`any`, `not`, `predicate`. A matcher is a scalar (equals), a list (one of), or a mapping of
operators (`matchers.OPERATORS`) that must all hold for one value. Paths are dotted and
enter lists, so a condition holds when any element matches (docs/rules.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from trailguard.record import CloudTrailRecord
from trailguard.rules import predicates
from trailguard.rules.context import ACTOR_ROOT, Path, RecordContext, path_problem
from trailguard.rules.errors import RuleSyntaxError
from trailguard.rules.matchers import OPERATORS, Test, compile_operator

BOOLEAN_KEYS = ("all", "any", "not", "predicate")
MAX_EVIDENCE_VALUES = 5


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether a condition held for a record, in words, with the parts that decided it."""

    held: bool
    text: str
    parts: tuple[Explanation, ...] = field(default=())

    def lines(self, depth: int = 0) -> list[str]:
        mark = "✓" if self.held else "✗"
        out = [f"{'  ' * depth}{mark} {self.text}"]
        for part in self.parts:
            out += part.lines(depth + 1)
        return out


class Condition(Protocol):
    def test(self, ctx: RecordContext) -> bool: ...

    def given(self, facts: Mapping[str, str]) -> Condition | bool:
        """This condition once the top-level fields in `facts` are known: True or False if
        they decide it, else what is left to test (the same object if nothing changed)."""

    def explain(self, ctx: RecordContext) -> Explanation: ...

    def evidence(self, ctx: RecordContext, out: dict[str, Any]) -> None:
        """Add the values that made this condition hold (called only for findings)."""


def _show(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_EVIDENCE_VALUES])
    return f"[{shown}{', ...' if len(values) > MAX_EVIDENCE_VALUES else ''}]"


class FieldMatch:
    __slots__ = ("exists", "fold", "label", "needles", "path", "shared", "spec", "tests")

    def __init__(
        self,
        label: str,
        tests: list[Test],
        exists: bool | None,
        spec: str,
        needles: tuple[bytes, ...] = (),
        fold: bool = False,
    ) -> None:
        self.label = label
        self.path: Path = tuple(label.split("."))
        self.tests = tests
        self.exists = exists
        self.spec = spec
        self.shared = False
        """Several rules hold this very test (`compile_field` gives them one object): its
        verdict is kept per record."""
        self.needles: tuple[bytes, ...] = ()
        """For a nested field: JSON text of which one must be in the object's raw text for
        the test to hold (the strings it must equal, the key that must exist, `true` or
        `false`). A record whose raw object holds none of them (and no escapes) cannot
        match, undecoded."""
        self.fold = fold
        """Look for the needles in the lowercased text (a boolean also matches "False")."""
        if len(self.path) > 1 and self.path[0] != ACTOR_ROOT:
            self.needles = needles

    def test(self, ctx: RecordContext) -> bool:
        if self.shared:
            memo = ctx.held
            if memo is None:
                memo = ctx.held = {}
            held = memo.get(self)
            if held is None:
                held = memo[self] = self._test(ctx)
            return held
        return self._test(ctx)

    def _test(self, ctx: RecordContext) -> bool:
        needles = self.needles
        if needles:
            record = ctx.record
            if record.__class__ is CloudTrailRecord:
                text = record.raw_json(self.path[0])
                if text is not None and b"\\" not in text:
                    if self.fold:
                        text = text.lower()
                    for needle in needles:
                        if needle in text:
                            break
                    else:
                        return False
        return self._holds(ctx.values(self.path))

    def _holds(self, values: list[Any]) -> bool:
        if self.exists is not None and bool(values) is not self.exists:
            return False
        tests = self.tests
        if not tests:
            return True
        # Plain loops: this runs for every candidate rule on every record.
        if len(tests) == 1:
            test = tests[0]
            for value in values:  # noqa: SIM110 - a plain loop is faster: hot path
                if test(value):
                    return True
            return False
        for value in values:
            for test in tests:
                if not test(value):
                    break
            else:
                return True
        return False

    def given(self, facts: Mapping[str, str]) -> Condition | bool:
        if len(self.path) == 1 and self.path[0] in facts:
            return self._holds([facts[self.path[0]]])
        return self

    def explain(self, ctx: RecordContext) -> Explanation:
        values = ctx.values(self.path)
        found = _show(values) if values else "missing"
        return Explanation(self.test(ctx), f"{self.label} {self.spec} (found {found})")

    def evidence(self, ctx: RecordContext, out: dict[str, Any]) -> None:
        values = ctx.values(self.path)
        matching = [v for v in values if all(t(v) for t in self.tests)] if self.tests else values
        if matching:
            out[self.label] = matching[:MAX_EVIDENCE_VALUES]


class AllOf:
    __slots__ = ("parts",)

    def __init__(self, parts: list[Condition]) -> None:
        self.parts = tuple(parts)

    def test(self, ctx: RecordContext) -> bool:
        for part in self.parts:  # noqa: SIM110 - a plain loop is faster: hot path
            if not part.test(ctx):
                return False
        return True

    def given(self, facts: Mapping[str, str]) -> Condition | bool:
        return _joined(self, facts, decisive=False)

    def explain(self, ctx: RecordContext) -> Explanation:
        parts = tuple(part.explain(ctx) for part in self.parts)
        return Explanation(all(p.held for p in parts), "all of", parts)

    def evidence(self, ctx: RecordContext, out: dict[str, Any]) -> None:
        for part in self.parts:
            part.evidence(ctx, out)


class AnyOf:
    __slots__ = ("parts",)

    def __init__(self, parts: list[Condition]) -> None:
        self.parts = tuple(parts)

    def test(self, ctx: RecordContext) -> bool:
        for part in self.parts:  # noqa: SIM110 - a plain loop is faster: hot path
            if part.test(ctx):
                return True
        return False

    def given(self, facts: Mapping[str, str]) -> Condition | bool:
        return _joined(self, facts, decisive=True)

    def explain(self, ctx: RecordContext) -> Explanation:
        parts = tuple(part.explain(ctx) for part in self.parts)
        return Explanation(any(p.held for p in parts), "any of", parts)

    def evidence(self, ctx: RecordContext, out: dict[str, Any]) -> None:
        for part in self.parts:
            if part.test(ctx):
                part.evidence(ctx, out)


class Not:
    __slots__ = ("part",)

    def __init__(self, part: Condition) -> None:
        self.part = part

    def test(self, ctx: RecordContext) -> bool:
        return not self.part.test(ctx)

    def given(self, facts: Mapping[str, str]) -> Condition | bool:
        part = self.part.given(facts)
        if isinstance(part, bool):
            return not part
        return self if part is self.part else Not(part)

    def explain(self, ctx: RecordContext) -> Explanation:
        inner = self.part.explain(ctx)
        return Explanation(not inner.held, "not", (inner,))

    def evidence(self, ctx: RecordContext, out: dict[str, Any]) -> None:
        return None


class PredicateCall:
    __slots__ = ("args", "predicate")

    def __init__(self, predicate: predicates.Predicate, args: Mapping[str, Any]) -> None:
        self.predicate = predicate
        self.args = args

    def test(self, ctx: RecordContext) -> bool:
        return self.predicate.function(ctx, self.args)

    def given(self, facts: Mapping[str, str]) -> Condition | bool:
        return self  # code: nothing is known about what it reads

    def explain(self, ctx: RecordContext) -> Explanation:
        args = f" {dict(self.args)}" if self.args else ""
        text = f"predicate {self.predicate.name}{args}: {self.predicate.summary}"
        return Explanation(self.test(ctx), text)

    def evidence(self, ctx: RecordContext, out: dict[str, Any]) -> None:
        out[f"predicate:{self.predicate.name}"] = True


def _joined(node: AllOf | AnyOf, facts: Mapping[str, str], decisive: bool) -> Condition | bool:
    """`given` for all (`decisive` False) and any (True): a part that comes out `decisive`
    decides the whole; parts that come out the other way drop out."""
    parts: list[Condition] = []
    changed = False
    for part in node.parts:
        left = part.given(facts)
        if left is decisive:
            return decisive
        if isinstance(left, bool):
            changed = True
            continue
        changed = changed or left is not part
        parts.append(left)
    if not parts:
        return not decisive
    if not changed:
        return node
    if len(parts) == 1:
        return parts[0]
    return AnyOf(parts) if decisive else AllOf(parts)


def compile_condition(spec: Any, where: str = "where") -> Condition:
    """Compile YAML into a condition tree; errors name the field path inside the rule."""
    if not isinstance(spec, dict) or not spec:
        raise RuleSyntaxError(where, "expected a mapping of `path: matcher` or all/any/not")
    if "predicate" in spec:
        return _predicate(spec, where)
    parts: list[Condition] = []
    for key, value in spec.items():
        if not isinstance(key, str) or not key:
            raise RuleSyntaxError(where, f"{key!r} is not a field path")
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise RuleSyntaxError(f"{where}.{key}", "expected a non-empty list of conditions")
            nodes = [compile_condition(v, f"{where}.{key}[{i}]") for i, v in enumerate(value)]
            parts.append(AllOf(nodes) if key == "all" else AnyOf(nodes))
        elif key == "not":
            parts.append(Not(compile_condition(value, f"{where}.not")))
        elif key == "args":
            raise RuleSyntaxError(f"{where}.args", "`args` goes with `predicate`")
        else:
            parts.append(compile_field(key, value, f"{where}.{key}"))
    return parts[0] if len(parts) == 1 else AllOf(parts)


_INTERNED: dict[tuple[str, str], FieldMatch] = {}


def compile_field(path: str, matcher: Any, where: str) -> FieldMatch:
    """One field test; the same test written in several rules is one shared object."""
    match = _compile_field(path, matcher, where)
    known = _INTERNED.setdefault((match.label, match.spec), match)
    if known is not match:
        known.shared = True
    return known


def _compile_field(path: str, matcher: Any, where: str) -> FieldMatch:
    problem = path_problem(path)
    if problem:
        raise RuleSyntaxError(where, problem)
    if isinstance(matcher, dict):
        if not matcher:
            raise RuleSyntaxError(where, f"empty matcher; use one of: {', '.join(OPERATORS)}")
        tests: list[Test] = []
        exists: bool | None = None
        for operator, operand in matcher.items():
            if operator == "exists":
                if not isinstance(operand, bool):
                    raise RuleSyntaxError(f"{where}.exists", "expected true or false")
                exists = operand
                continue
            try:
                tests.append(compile_operator(str(operator), operand))
            except RuleSyntaxError as exc:
                raise exc.inside(where) from None
        spec = " ".join(f"{op}: {operand!r}" for op, operand in matcher.items())
        key = orjson.dumps(path.rsplit(".", 1)[-1])  # a field that must exist names its key
        return FieldMatch(path, tests, exists, spec, (key,) if exists else ())
    # A bare list or scalar names no operator, so errors name the path itself.
    if isinstance(matcher, list):
        try:
            strings = all(isinstance(m, str) for m in matcher)
            return FieldMatch(
                path,
                [compile_operator("one_of", matcher)],
                None,
                f"one of {matcher!r}",
                tuple(orjson.dumps(m) for m in matcher) if strings else (),
            )
        except RuleSyntaxError as exc:
            raise RuleSyntaxError(where, exc.problem) from None
    try:
        test = compile_operator("equals", matcher)
    except RuleSyntaxError as exc:
        raise RuleSyntaxError(where, exc.problem) from None
    spec = f"= {matcher!r}"
    if isinstance(matcher, bool):  # true, or text that reads true in any case
        return FieldMatch(path, [test], None, spec, (b"true" if matcher else b"false",), True)
    needles = (orjson.dumps(matcher),) if isinstance(matcher, str) else ()
    return FieldMatch(path, [test], None, spec, needles)


def _predicate(spec: dict[str, Any], where: str) -> PredicateCall:
    extra = set(spec) - {"predicate", "args"}
    if extra:
        raise RuleSyntaxError(
            where, f"a predicate takes only `predicate` and `args`, not {sorted(extra)}"
        )
    name = spec["predicate"]
    args = spec.get("args")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise RuleSyntaxError(f"{where}.args", "expected a mapping of argument names to values")
    found = predicates.lookup(str(name), f"{where}.predicate")
    found.check_args(args, f"{where}.args")
    return PredicateCall(found, args)
