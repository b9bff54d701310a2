"""Rule scaling: the CloudWatch Logs path on one core with the default packs, then with ten
times as many rules (the default packs plus variants of their rules, `rule_variants.py`,
loaded from a folder named in the configuration's `rule_folders`, as a site adds its own).

Both are measured here, in the same process and the same way as `throughput_cwl`, so their
ratio compares like with like: alternately, repeat by repeat, so that the machine's drift
falls on both alike, and the ratio is the median of the repeats' ratios. How much slower
ten times the rules make each event is the figure: an engine that indexes rules by event
pays for the rules an event can meet, not for every rule loaded.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import benchlib
import rule_variants
import throughput

from trailguard.config import Config, config_from_data
from trailguard.rules.packs import load_packs

SIZES = {"batches": 60, "repeats": 5}
QUICK = {"batches": 2, "repeats": 2}
FACTOR = 10


def rule_count(config: Config) -> int:
    loaded = load_packs(config)
    return len(loaded.rules) + len(loaded.catalog_rule_ids)


def load_seconds(config: Config) -> float:
    started = time.perf_counter()
    benchlib.build_runtime(config)
    return time.perf_counter() - started


def scaling(quick: bool) -> benchlib.Result:
    sizes = QUICK if quick else SIZES
    cpu = benchlib.pin_to_one_core()
    events = throughput.cwl_events(sizes["batches"])
    default = Config()
    default_rules = rule_count(default)
    with tempfile.TemporaryDirectory(prefix="trailguard-bench-") as folder:
        rules_folder = Path(folder) / "rules"
        made = rule_variants.write_variants(rules_folder, default_rules * (FACTOR - 1))
        more = config_from_data({"rule_folders": [str(rules_folder)]}, "bench", Path(folder))
        more_rules = rule_count(more)
        configs = {"default": (default, default_rules), "x10": (more, more_rules)}
        runs: dict[str, Any] = {
            name: {"rules": rules, "build_s": round(load_seconds(config), 3)}
            for name, (config, rules) in configs.items()
        }
        rates: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(sizes["repeats"]):  # alternately: drift falls on both alike
            for name, (config, _rules) in configs.items():
                one = throughput.measure(events, 1, partial(benchlib.build_runtime, config))
                rates[name].append(one["events_per_s"])
                runs[name].update(one)
        for name, measured in rates.items():
            runs[name].update(
                events_per_s=round(statistics.median(measured)),
                events_per_s_repeats=measured,
                repeats=sizes["repeats"],
            )
    slowdown = statistics.median(d / x for d, x in zip(rates["default"], rates["x10"], strict=True))
    return {
        **runs,
        "rules_ratio": round(more_rules / default_rules, 2),
        "cost_per_event_ratio": round(slowdown, 2),
        "variant_rules": made,
        "batches": sizes["batches"],
        "cpu": cpu,
    }


BENCHMARKS = {"scaling": scaling}

if __name__ == "__main__":
    benchlib.worker_main(BENCHMARKS)
