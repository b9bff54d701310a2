"""Shared test fixtures: real CloudTrail data and helpers to load it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / "tests" / "fixtures" / "shared_data"
"""A copy of ../shared/data (see its PROVENANCE.md)."""


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA
