"""The docs say what the code does: the rules table and the configuration example."""

from __future__ import annotations

import re
import sys

import yaml

from conftest import REPO
from trailguard.config import config_from_data
from trailguard.rules.packs import load_packs

sys.path.insert(0, str(REPO / "tools"))
import update_docs

RULES_DOC = REPO / "docs" / "rules.md"
CONFIG_DOC = REPO / "docs" / "configuration.md"


def test_rules_table_is_current():
    text = RULES_DOC.read_text()
    match = re.search(
        re.escape(update_docs.START) + r"\n(.*?)" + re.escape(update_docs.END), text, re.DOTALL
    )
    assert match, "docs/rules.md lost its rules-table markers"
    assert match.group(1) == update_docs.rules_table(), (
        "docs/rules.md is stale: run .venv/bin/python tools/update_docs.py"
    )


def test_stratus_coverage_table_is_current():
    text = RULES_DOC.read_text()
    start, end = update_docs.STRATUS_START, update_docs.STRATUS_END
    match = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), text, re.DOTALL)
    assert match, "docs/rules.md lost its stratus-coverage markers"
    assert match.group(1) == update_docs.stratus_table(), (
        "docs/rules.md is stale: run .venv/bin/python tools/update_docs.py"
    )


def test_configuration_example_loads(tmp_path):
    (block,) = re.findall(r"## Example\n\n```yaml\n(.*?)```", CONFIG_DOC.read_text(), re.DOTALL)
    (tmp_path / "rules").mkdir()
    config = config_from_data(yaml.safe_load(block), "docs/configuration.md", tmp_path)
    loaded = load_packs(config)
    assert len(config.allowlist.entries) == 3
    assert loaded.rules
