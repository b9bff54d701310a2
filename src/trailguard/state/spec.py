"""State configuration: `state: {type: memory | sqlite | dynamodb, ...}`.

    state: {type: dynamodb, table: trailguard-state}     # the Lambda function
    state: {type: sqlite, path: ~/.cache/trailguard.db}  # the CLI, across runs

Without it, state lives in memory: dedup and thresholds last one CLI run or one Lambda
container.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from trailguard.rules.errors import RuleSyntaxError

STORE_MODULES = {
    "memory": "trailguard.state.memory",
    "sqlite": "trailguard.state.sqlite",
    "dynamodb": "trailguard.state.dynamodb",
}


@dataclass(frozen=True, slots=True)
class StateSpec:
    kind: str = "memory"
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str, kind: type = str, required: bool = True) -> Any:
        value = self.options.get(key)
        if value is None:
            if required:
                raise RuleSyntaxError(f"state.{key}", f"required for a {self.kind} store")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise RuleSyntaxError(f"state.{key}", f"wrong type {type(value).__name__}")
        return value


def store_module(kind: str) -> Any:
    return importlib.import_module(STORE_MODULES[kind])


def parse_state(value: Any) -> StateSpec:
    if value is None:
        return StateSpec()
    if not isinstance(value, dict):
        raise RuleSyntaxError("state", "expected a mapping such as {type: dynamodb, table: NAME}")
    kind = value.get("type", "memory")
    if kind not in STORE_MODULES:
        raise RuleSyntaxError("state.type", f"{kind!r}: use one of {', '.join(STORE_MODULES)}")
    module = store_module(kind)
    allowed = ("type", *module.OPTIONS)
    unknown = [key for key in value if key not in allowed]
    if unknown:
        problem = f"unknown key for a {kind} store; allowed: {', '.join(allowed)}"
        raise RuleSyntaxError(f"state.{unknown[0]}", problem)
    spec = StateSpec(kind, {k: v for k, v in value.items() if k != "type"})
    module.validate(spec)
    return spec
