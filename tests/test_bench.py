"""The benchmark suite (bench/): it runs, it reports every figure of issue 6, its workload is
deterministic and looks like the issue says, and docs/performance.md shows bench/results.json.

No timing is asserted here: speed is what bench/ measures, on an idle machine.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from trailguard.config import config_from_data
from trailguard.rules.packs import load_packs

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results.json"

Number = (int, float)

FIGURES: dict[str, tuple[type | tuple[type, ...], ...]] = {
    # path in the results file: accepted types (numbers must be finite and not negative)
    "machine.cpu_model": (str,),
    "machine.cores": (int,),
    "machine.cores_usable": (int,),
    "machine.python": (str,),
    "machine.orjson": (str,),
    "machine.date": (str,),
    "benchmarks.workload.events": (int,),
    "benchmarks.workload.mean_event_bytes": Number,
    "benchmarks.workload.cwl_payload_kib_mean": Number,
    "benchmarks.workload.error_share": Number,
    "benchmarks.workload.services": (int,),
    "benchmarks.workload.actor_mix": (dict,),
    "benchmarks.workload.alerts_per_event": Number,
    "benchmarks.workload.events_with_alerts_share": Number,
    "benchmarks.workload.events_with_rule_alerts_share": Number,
    "benchmarks.throughput_cwl.events_per_s": (int,),
    "benchmarks.throughput_cwl.events_per_s_repeats": (list,),
    "benchmarks.throughput_cwl.events": (int,),
    "benchmarks.throughput_cwl.alerts_per_event": Number,
    "benchmarks.throughput_s3.events_per_s": (int,),
    "benchmarks.throughput_s3.events": (int,),
    "benchmarks.throughput_s3.alerts_per_event": Number,
    "benchmarks.reference.orjson_decode.events_per_s": (int,),
    "benchmarks.reference.lazy_decode.events_per_s": (int,),
    "benchmarks.reference.stdlib_catalogue.events_per_s": (int,),
    "benchmarks.reference.seed_go_quoted_events_per_s": (int,),
    "benchmarks.coldstart.import_ms_median": Number,
    "benchmarks.coldstart.import_ms_worst": Number,
    "benchmarks.coldstart.boto3_imported": (bool,),
    "benchmarks.coldstart.boto3_imported_after_invocations": (bool,),
    "benchmarks.coldstart.first_invocation_ms_median": Number,
    "benchmarks.coldstart.warm_invocation_ms_median": Number,
    "benchmarks.coldstart.pack_loads_per_container": (int,),
    "benchmarks.coldstart.no_bytecode.import_ms_median": Number,
    "benchmarks.coldstart.no_bytecode.first_invocation_ms_median": Number,
    "benchmarks.memory.baseline.peak_rss_mib": Number,
    "benchmarks.memory.baseline_runtime.peak_rss_mib": Number,
    "benchmarks.memory.cloudwatch_logs.peak_rss_mib": Number,
    "benchmarks.memory.cloudwatch_logs.payload_kib": Number,
    "benchmarks.memory.log_file.peak_rss_mib": Number,
    "benchmarks.memory.log_file.decompressed_mib": Number,
    "benchmarks.scan_folder.jobs_option": (bool,),
    "benchmarks.scan_folder.jobs_1.wall_s": Number,
    "benchmarks.scan_folder.jobs_1.events_per_s": (int,),
    "benchmarks.scan_folder.jobs_1.cores_busy": Number,
    "benchmarks.scaling.default.rules": (int,),
    "benchmarks.scaling.default.events_per_s": (int,),
    "benchmarks.scaling.x10.rules": (int,),
    "benchmarks.scaling.x10.events_per_s": (int,),
    "benchmarks.scaling.cost_per_event_ratio": Number,
}


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import bench/ modules by name (they import each other as top-level modules)."""
    monkeypatch.syspath_prepend(str(BENCH))

    def load(name: str) -> ModuleType:
        return importlib.import_module(name)

    return load


def figure(results: dict[str, Any], path: str) -> Any:
    value: Any = results
    for key in path.split("."):
        assert isinstance(value, dict), f"results lack {path}"
        assert key in value, f"results lack {path}"
        value = value[key]
    return value


def check_figures(results: dict[str, Any]) -> None:
    for path, types in FIGURES.items():
        value = figure(results, path)
        assert isinstance(value, types), f"{path}: {value!r} is not {types}"
        if isinstance(value, float | int) and not isinstance(value, bool):
            assert math.isfinite(value), f"{path}: {value!r}"
            assert value >= 0, f"{path}: {value!r}"
    benchmarks = results["benchmarks"]
    assert benchmarks["coldstart"]["boto3_imported"] is False
    assert benchmarks["coldstart"]["pack_loads_per_container"] == 1
    scan = benchmarks["scan_folder"]
    if scan["jobs_option"]:
        assert isinstance(scan["all_cores"]["events_per_s"], int)
    scaling = benchmarks["scaling"]
    assert scaling["x10"]["rules"] == 10 * scaling["default"]["rules"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(output.read_text()), done.stdout


def test_quick_run_reports_every_figure(quick_run: tuple[dict[str, Any], str]) -> None:
    results, _ = quick_run
    assert results["quick"] is True
    check_figures(results)


def test_quick_run_prints_each_figure_beside_its_target(
    quick_run: tuple[dict[str, Any], str], bench: Any
) -> None:
    results, printed = quick_run
    rows = bench("report").rows(results)
    assert len(rows) >= 15
    for row in rows:
        assert row.measured, row
        assert row.target, row
        assert row.figure in printed
        assert row.measured in printed


def test_committed_results_have_every_figure() -> None:
    results = json.loads(RESULTS.read_text())
    assert results["quick"] is False
    check_figures(results)


def test_docs_tables_match_the_results(bench: Any) -> None:
    report = bench("report")
    results = json.loads(RESULTS.read_text())
    docs = report.DOCS.read_text(encoding="utf-8")
    assert report.blocks_in(docs) == report.render_blocks(results), (
        "docs/performance.md does not show bench/results.json: "
        "run `.venv/bin/python bench/run.py --write-docs`"
    )
    assert "## How it is fast" in docs


# --- the workload ----------------------------------------------------------------------------


def documents(payload: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        gzip.decompress(base64.b64decode(json.loads(payload)["awslogs"]["data"]))
    )
    return document


def test_the_workload_is_deterministic(bench: Any, tmp_path: Path) -> None:
    workload = bench("workload")
    first, again = workload.Workload(), workload.Workload()
    assert first.cloudwatch_logs_event() == again.cloudwatch_logs_event()
    assert first.log_file(50) == again.log_file(50)
    assert workload.Workload(workload.SEED + 1).cloudwatch_logs_event() != (
        workload.Workload().cloudwatch_logs_event()
    )
    one, two = tmp_path / "one.json.gz", tmp_path / "two.json.gz"
    assert workload.write_log_file(one, 300_000) == workload.write_log_file(two, 300_000)
    assert one.read_bytes() == two.read_bytes()
    count, payload = workload.cloudwatch_logs_event_within(64 * 1024)
    assert len(payload) <= 64 * 1024
    assert workload.cloudwatch_logs_event_within(64 * 1024) == (count, payload)


def test_the_workload_for_the_seed_has_not_changed(bench: Any) -> None:
    """The published figures were measured on these events; changing them is a new baseline
    (update the digests and rerun `make bench`). Digests of the decompressed JSON, so a
    different zlib does not matter."""
    workload = bench("workload")
    w = workload.Workload()
    document = gzip.decompress(
        base64.b64decode(json.loads(w.cloudwatch_logs_event())["awslogs"]["data"])
    )
    _, log_file = w.log_file(100)
    assert hashlib.sha256(document).hexdigest() == (
        "54971bbed5820de10d7d9d966908940a16fd9dec723d45bbc9fa24fc63d849ae"
    )
    assert hashlib.sha256(gzip.decompress(log_file)).hexdigest() == (
        "66fec7cba88e536823afb4c8d4217f75740fe7d25d87a9dc8b9926ad18a95936"
    )


def test_the_workload_looks_as_the_issue_says(bench: Any) -> None:
    workload = bench("workload")
    payloads = workload.cloudwatch_logs_events(8)
    messages = [e["message"] for p in payloads for e in documents(p)["logEvents"]]
    assert all(len(documents(p)["logEvents"]) == 500 for p in payloads)
    records = [json.loads(m) for m in messages]
    count = len(records)
    services = Counter(r["eventSource"] for r in records)
    assert 18 <= len(services) <= 22
    assert {"sts.amazonaws.com", "kms.amazonaws.com"} <= set(services)
    assert 0.03 <= sum("errorCode" in r for r in records) / count <= 0.05
    actors = {r["userIdentity"]["type"] for r in records}
    assert actors == {"AssumedRole", "IAMUser", "Root", "AWSService"}
    mean_size = sum(len(m.encode()) for m in messages) / count
    assert 1300 <= mean_size <= 1700
    catalogued = set(bench("reference").SeedCatalogue().events)
    names = {r["eventName"] for r in records}
    assert names & catalogued  # names in the catalogue
    assert names - catalogued  # and out of it
    key, body = workload.Workload().log_file(20)
    assert key.startswith("AWSLogs/111122223333/CloudTrail/")
    assert key.endswith(".json.gz")
    assert len(json.loads(gzip.decompress(body))["Records"]) == 20


def test_rule_variants_are_valid_distinct_rules(bench: Any, tmp_path: Path) -> None:
    variants = bench("rule_variants")
    made = variants.write_variants(tmp_path, 120)
    assert made["variants"] == 120
    assert made["naming_workload_calls"] > 0
    loaded = load_packs(config_from_data({"rule_folders": [str(tmp_path)]}, "t", tmp_path))
    ids = [rule_id for rule_id in loaded.rules if rule_id.startswith("bench.")]
    assert len(ids) == 120
    assert variants.variants(120) == variants.variants(120)  # deterministic
