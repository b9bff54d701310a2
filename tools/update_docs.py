"""Regenerate the generated parts of the docs (the rules table in docs/rules.md).

Run: `.venv/bin/python tools/update_docs.py`; `tests/test_docs_rules.py` fails until you do
after changing rules.
"""

from __future__ import annotations

import re
from pathlib import Path

from trailguard.commands.rules import markdown_table, rows
from trailguard.commands.setup import load_setup

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
START, END = "<!-- rules-table:start -->", "<!-- rules-table:end -->"
STRATUS_START, STRATUS_END = "<!-- stratus-coverage:start -->", "<!-- stratus-coverage:end -->"
DETONATIONS = DOCS.parents[1] / "tests" / "fixtures" / "shared_data" / "events"
DETONATIONS /= "stratus_detonations.jsonl"


def rules_table() -> str:
    return markdown_table(rows(load_setup(None)))


def stratus_table() -> str:
    """Per detonated technique: the highest severity the detection packs raise, and the rules."""
    from collections import defaultdict

    import orjson

    from trailguard.config import Config
    from trailguard.engine import Engine
    from trailguard.model import Place, Severity, SourcedRecord
    from trailguard.pipeline import Detector
    from trailguard.rules.packs import load_packs
    from trailguard.tally import InputTally

    config = Config(packs={"catalog": False})
    packs = load_packs(config).packs
    by_technique: dict[str, list[SourcedRecord]] = defaultdict(list)
    for line in DETONATIONS.read_text().splitlines():
        entry = orjson.loads(line)
        by_technique[entry["technique"]].append(SourcedRecord(entry["event"], Place("stratus")))
    lines = ["| technique | highest | rules (medium or higher) |", "|---|---|---|"]
    for technique, items in sorted(by_technique.items()):
        findings = [
            f
            for f in Detector(Engine(packs), config).run(items, InputTally())
            if f.severity >= Severity.MEDIUM
        ]
        highest = max((f.severity for f in findings), default=None)
        rules = ", ".join(f"`{r}`" for r in sorted({f.rule_id for f in findings})) or "none"
        lines.append(f"| `{technique}` | {highest.label if highest else '-'} | {rules} |")
    return "\n".join(lines) + "\n"


def replace_between(text: str, start: str, end: str, body: str) -> str:
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    return pattern.sub(lambda _: f"{start}\n{body}{end}", text)


def main() -> None:
    text = replace_between(DOCS.read_text(), START, END, rules_table())
    text = replace_between(text, STRATUS_START, STRATUS_END, stratus_table())
    DOCS.write_text(text)
    print(f"updated {DOCS}")


if __name__ == "__main__":
    main()
