"""Shared test fixtures: real CloudTrail data and helpers to load it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import settings
from hypothesis import strategies as st

from trailguard.model import Place, SourcedRecord
from trailguard.sources import Decoder
from trailguard.tally import InputTally

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


def decoded_items(relative: str) -> list[SourcedRecord]:
    """The records of one shared-data file with their places, decoded as the CLI decodes them."""
    tally = InputTally()
    path = SHARED_DATA / relative
    items = list(Decoder(tally).bytes(path.read_bytes(), Place(relative)))
    assert items, f"no records in {relative}"
    assert not tally.errors, tally.errors
    return items


def decoded(relative: str) -> list[dict[str, Any]]:
    """The bare records of one shared-data file."""
    return [item.record for item in decoded_items(relative)]


def edge_case(name: str) -> dict[str, Any]:
    """A record of events/parser_edge_cases.jsonl, by its `name`."""
    for text in (SHARED_DATA / "events" / "parser_edge_cases.jsonl").read_text().splitlines():
        entry = orjson.loads(text)
        if entry["name"] == name:
            record = orjson.loads(entry["raw_json"])
            assert isinstance(record, dict)
            return record
    raise LookupError(name)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any decoded JSON value: what a malformed record may hold in place of a field."""


@pytest.fixture(autouse=True)
def fresh_lambda_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a new Lambda container: the runtime's store remembers alerts (dedup)."""
    from trailguard import aws_lambda

    monkeypatch.setattr(aws_lambda, "_runtime", None)


_event_ids = itertools.count(1)


def with_event_id(record: Any) -> Any:
    """The record with a unique eventID if it has none: a distinct event, not a repeat."""
    if isinstance(record, dict) and "eventID" not in record:
        return {**record, "eventID": f"test-event-{next(_event_ids)}"}
    return record


CATALOG_ONLY = REPO / "tests" / "fixtures" / "config" / "catalog_only.yaml"


@pytest.fixture
def catalog_only_lambda(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The Lambda handler configured, through TRAILGUARD_CONFIG, with the catalogue alone."""
    from trailguard import aws_lambda

    monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(CATALOG_ONLY))
    monkeypatch.setattr(aws_lambda, "_runtime", None)
    yield
    aws_lambda._runtime = None
