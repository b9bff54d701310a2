"""Many more rules, realistically: variants of the shipped cis and threats rules, as YAML.

A site with ten times the shipped rules writes rules like the shipped ones: the same kinds
of conditions, thresholds and severities, about the events its own services produce. So a
variant copies a shipped rule whole (conditions, threshold, severity cases) under a new id,
and names events two ways: a variant of a rule with conditions is, more often than not,
pointed at 1 to 3 calls of one of the workload's services (so it is a candidate for the
records the benchmark feeds, and its conditions are evaluated on them); otherwise it keeps
the events of a shipped rule (its own, or, for the few rules that name none, another's).
Variants of rules without conditions keep their shipped events: pointed at everyday calls
they would alert on every one, which no one would run. Likewise a variant whose conditions
only exclude rare cases (the event itself is the signal) would alert on most calls it is
pointed at: the variants are tried on a sample of the workload (another seed than the one
measured) and each that alerts on more than 1 in 1,000 sampled events keeps its shipped
events instead. Deterministic for a seed.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from pathlib import Path
from typing import Any

import benchlib
import orjson
import workload
import yaml

from trailguard.config import config_from_data
from trailguard.rules.packs import PACKS_DIR

SHIPPED_RULE_PACKS = ("cis", "threats")
TO_WORKLOAD_SHARE = 0.6
RULES_PER_FILE = 50
SAMPLE_BATCHES = 4
NOISY_SHARE = 1 / 1000


def shipped_rules() -> list[dict[str, Any]]:
    """The shipped rule documents (cis, threats), without their tests, in load order."""
    rules = []
    for pack in SHIPPED_RULE_PACKS:
        for path in sorted((PACKS_DIR / pack).rglob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for rule in data["rules"] if "rules" in data and "id" not in data else [data]:
                rules.append({k: v for k, v in rule.items() if k != "tests"})
    return rules


def variants(
    count: int, seed: int = workload.SEED, keep: frozenset[int] = frozenset()
) -> list[Any]:
    """`count` variant rule documents; those at the indices in `keep` keep shipped events."""
    rng = random.Random(seed)
    bases = shipped_rules()
    named = [r["match"] for r in bases if "event_name" in r.get("match", {})]
    services = [(service, [n for n, _, _ in names]) for service, _, names in workload.SERVICES]
    made = []
    for index in range(count):
        base = bases[index % len(bases)]
        rule = copy.deepcopy(base)
        rule["id"] = variant_id(base["id"], index)
        match = rule.setdefault("match", {})
        to_workload = rng.random() < TO_WORKLOAD_SHARE
        service, names = rng.choice(services)
        picked = rng.sample(names, min(len(names), rng.randint(1, 3)))
        other = rng.choice(named)
        if "where" in match and to_workload and index not in keep:
            match["event_source"] = f"{service}.amazonaws.com"
            match["event_name"] = picked
        elif "event_name" not in match:
            match["event_name"] = copy.deepcopy(other["event_name"])
            if "event_source" in other:
                match["event_source"] = copy.deepcopy(other["event_source"])
        made.append(rule)
    return made


def variant_id(base_id: str, index: int) -> str:
    return f"bench.{base_id.split('.', 1)[1]}_v{index:04d}"


def write_variants(folder: Path, count: int, seed: int = workload.SEED) -> dict[str, int]:
    """Write `count` variant rules as YAML files under `folder`, the noisy ones pointed back
    at shipped events; how many files, and how many variants name workload calls."""
    rules = variants(count, seed)
    _write(folder, rules)
    noisy = _noisy(folder, seed)
    keep = frozenset(i for i, rule in enumerate(rules) if rule["id"] in noisy)
    if keep:
        rules = variants(count, seed, keep)
        _write(folder, rules)
    calls = {name for _, _, names in workload.SERVICES for name, _, _ in names}
    return {
        "variants": len(rules),
        "files": -(-len(rules) // RULES_PER_FILE),
        "naming_workload_calls": sum(
            bool(calls & _listed(r["match"]["event_name"])) for r in rules
        ),
        "pointed_back_as_noisy": len(keep),
    }


def _listed(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def _write(folder: Path, rules: list[Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(rules), RULES_PER_FILE)):
        chunk = rules[start : start + RULES_PER_FILE]
        text = yaml.safe_dump({"rules": chunk}, sort_keys=False, allow_unicode=True)
        (folder / f"variants_{number:03d}.yaml").write_text(text, encoding="utf-8")


class _AlertCounter(benchlib.Discard):
    """A sink stream that counts the alerts of each rule in the JSON lines written to it."""

    def __init__(self) -> None:
        self.by_rule: Counter[str] = Counter()

    def write(self, data: Any) -> int:
        for line in bytes(data).splitlines():
            self.by_rule[orjson.loads(line)["rule_id"]] += 1
        return len(data)


def _noisy(folder: Path, seed: int) -> set[str]:
    """Ids of the variants that alert on more than 1 in 1,000 events of a workload sample."""
    config = config_from_data({"rule_folders": [str(folder)]}, "bench", folder)
    counter = _AlertCounter()
    runtime = benchlib.build_runtime(config, stream=counter)
    sample = [orjson.loads(p) for p in workload.cloudwatch_logs_events(SAMPLE_BATCHES, seed + 1)]
    for event in sample:
        runtime.process(event, listener=benchlib.ignore_problem)
    limit = SAMPLE_BATCHES * workload.CWL_BATCH * NOISY_SHARE
    return {rule for rule, alerts in counter.by_rule.items() if alerts > limit}
