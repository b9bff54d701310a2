"""Errors raised while loading rules: they name the file, rule and field, and what is allowed."""

from __future__ import annotations


class RuleSyntaxError(ValueError):
    """A malformed part of a rule, before the file and rule it sits in are known."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")

    def inside(self, parent: str) -> RuleSyntaxError:
        """The same error, with the field path prefixed by the enclosing field."""
        return RuleSyntaxError(f"{parent}.{self.field}" if parent else self.field, self.problem)


class RuleLoadError(ValueError):
    """A rule pack or rule that cannot be loaded."""

    def __init__(self, source: str, field: str, problem: str, rule_id: str | None = None) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.rule_id = rule_id
        where = f"{source}: rule {rule_id}" if rule_id else source
        super().__init__(f"{where}: {field}: {problem}")
