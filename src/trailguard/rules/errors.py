"""Errors raised while loading rule packs: they name the file, the field and what is allowed."""

from __future__ import annotations


class RuleLoadError(ValueError):
    """A rule pack that cannot be loaded."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(f"{source}: {field}: {problem}")
