"""Shared test fixtures: real CloudTrail data and helpers to load it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / "tests" / "fixtures" / "shared_data"
"""A copy of ../shared/data (see its PROVENANCE.md)."""


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA


# Property tests run derandomized by default so CI is repeatable; explore with
# `HYPOTHESIS_PROFILE=explore pytest` (random, many more examples) before a release.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
