"""Every shipped rule: loads, carries a positive and a negative test, and passes its tests."""

from __future__ import annotations

import pytest

from trailguard.config import Config
from trailguard.rules.packs import load_packs
from trailguard.rules.testing import run_tests

LOADED = load_packs(Config())
RULES = sorted(LOADED.rules.values(), key=lambda rule: rule.rule_id)


def test_shipped_packs_load():
    assert [pack.pack_id for pack in LOADED.packs] == ["catalog", "cis", "threats"]
    assert RULES, "no detection rules shipped"


@pytest.mark.parametrize("rule", RULES, ids=[rule.rule_id for rule in RULES])
def test_rule_passes_its_inline_tests(rule):
    failures = [f"{o.test_name}: {o.problem}" for o in run_tests([rule]) if not o.passed]
    assert not failures, f"{rule.source}: " + "; ".join(failures)


@pytest.mark.parametrize("rule", RULES, ids=[rule.rule_id for rule in RULES])
def test_rule_is_documented_and_referenced(rule):
    assert rule.description
    assert rule.title
    assert rule.references.get("pci_dss"), f"{rule.rule_id} names no PCI DSS requirement"
    assert rule.rule_id.split(".")[0] in {"cis", "threats"}
