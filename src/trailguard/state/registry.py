"""Building the configured state store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailguard.state import StateStore
from trailguard.state.spec import StateSpec, store_module


def build_store(spec: StateSpec, clients: Mapping[str, Any] | None = None) -> StateStore:
    """The store the configuration names; `clients` injects AWS clients (tests)."""
    store: StateStore = store_module(spec.kind).build(spec, clients or {})
    return store
