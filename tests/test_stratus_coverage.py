"""Every Stratus Red Team technique that CloudTrail can reveal raises a medium+ detection.

The real detonations (events/stratus_detonations.jsonl) run, technique by technique and in
file order (thresholds need the whole burst), through the `cis` and `threats` packs with
the catalogue off: the catalogue alone would call every deletion high.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from conftest import REPO, SHARED_DATA
from trailguard.config import Config
from trailguard.engine import Engine
from trailguard.model import Place, Severity, SourcedRecord
from trailguard.pipeline import Detector
from trailguard.rules.packs import load_packs
from trailguard.tally import InputTally

DETONATIONS = SHARED_DATA / "events" / "stratus_detonations.jsonl"
DETECTIONS_ONLY = Config(packs={"catalog": False})

EXCEPTIONS: dict[str, str] = {}
"""Techniques CloudTrail cannot reveal with a medium+ detection, and why (also in docs/rules.md)."""


def techniques() -> dict[str, list[SourcedRecord]]:
    by_technique: dict[str, list[SourcedRecord]] = defaultdict(list)
    for number, line in enumerate(DETONATIONS.read_text().splitlines(), start=1):
        entry = json.loads(line)
        place = Place(str(DETONATIONS), f"line {number}")
        by_technique[entry["technique"]].append(SourcedRecord(entry["event"], place))
    return dict(by_technique)


TECHNIQUES = techniques()


def detections(items: list[SourcedRecord]) -> list[tuple[str, str]]:
    detector = Detector(Engine(load_packs(DETECTIONS_ONLY).packs), DETECTIONS_ONLY)
    findings = detector.run(items, InputTally())
    return [(f.rule_id, f.severity.label) for f in findings if f.severity >= Severity.MEDIUM]


def test_every_detonated_technique_is_covered_or_excused():
    assert len(TECHNIQUES) == 35
    assert set(EXCEPTIONS) <= set(TECHNIQUES)


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_technique_raises_a_medium_or_higher_detection(technique):
    found = detections(TECHNIQUES[technique])
    if technique in EXCEPTIONS:
        assert not found, f"{technique} is detected now: remove it from EXCEPTIONS ({found})"
    else:
        assert found, f"no medium+ detection for {technique}"


def test_exceptions_are_documented():
    docs = (REPO / "docs" / "rules.md").read_text()
    section = re.search(
        r"<!-- stratus-exceptions:start -->(.*?)<!-- stratus-exceptions:end -->", docs, re.DOTALL
    )
    assert section
    for technique in EXCEPTIONS:
        assert technique in section.group(1), f"{technique} is not explained in docs/rules.md"
