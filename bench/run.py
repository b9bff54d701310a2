"""The performance suite of issue 6: every figure, beside its target, in one command.

    make bench                          # everything: bench/results.json and docs/performance.md
    .venv/bin/python bench/run.py --quick              # tiny sizes, seconds: a smoke run
    .venv/bin/python bench/run.py --only throughput_cwl  # one benchmark (merged into the file)
    .venv/bin/python bench/run.py --write-docs         # docs table from bench/results.json

Each benchmark runs in its own process (bench/MODULE.py NAME --out FILE), and those that
measure import time or peak memory start fresh interpreters of their own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import benchlib
import report

RESULTS = benchlib.BENCH / "results.json"
QUICK_RESULTS = benchlib.BENCH / "results-quick.json"
BENCHMARKS = {
    "workload": "workload_profile",
    "throughput_cwl": "throughput",
    "throughput_s3": "throughput",
    "breakdown": "breakdown",
    "reference": "reference",
    "coldstart": "coldstart",
    "memory": "memory",
    "scan_folder": "scan_folder",
    "scaling": "scaling",
}
"""Benchmark name -> module under bench/, in the order they run and are reported."""


def run_one(name: str, quick: bool) -> dict[str, Any]:
    """Run one benchmark in a fresh process and return its figures."""
    script = benchlib.BENCH / f"{BENCHMARKS[name]}.py"
    with tempfile.TemporaryDirectory(prefix="trailguard-bench-") as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, str(script), name, "--out", str(out)]
        done = subprocess.run(
            command + (["--quick"] if quick else []),
            env=benchlib.clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(
                f"benchmark {name} failed ({done.returncode}):\n{done.stderr[-4000:]}"
            )
        result: dict[str, Any] = json.loads(out.read_text())
    result["date"] = benchlib.machine()["date"]
    return result


def load(path: Path, quick: bool) -> dict[str, Any]:
    """The results file to add to (`--only`): the existing one if made in the same mode."""
    if path.exists():
        existing: dict[str, Any] = json.loads(path.read_text())
        if existing.get("quick") == quick:
            return existing
    return {"suite": "trailguard performance (issue 6)", "quick": quick, "benchmarks": {}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run trailguard's benchmarks (issue 6) and print each figure beside its "
        "target.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (may be repeated): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"results file (default {RESULTS.name}; with --quick {QUICK_RESULTS.name})",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="only regenerate docs/performance.md's tables from the results file "
        f"(default {RESULTS.name})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.write_docs:
        source = args.output or RESULTS
        if not source.exists():
            print(f"{source}: no results yet; run `make bench` first", file=sys.stderr)
            return 2
        report.write_docs(json.loads(source.read_text()))
        print(f"updated {report.DOCS} from {source}")
        return 0
    output = args.output or (QUICK_RESULTS if args.quick else RESULTS)
    results = load(output, args.quick)
    if not args.only:
        results["benchmarks"] = {}  # a full run: nothing stale survives a failed benchmark
    results["machine"] = benchlib.machine()
    failed = []
    for name in args.only or BENCHMARKS:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            results["benchmarks"][name] = run_one(name, args.quick)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            failed.append(name)
            continue
        shown = [row for row in report.rows(results) if row.benchmark == name]
        if shown:
            print(report.text_table(shown))
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    results["benchmarks"] = {
        n: results["benchmarks"][n] for n in BENCHMARKS if n in results["benchmarks"]
    }
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {output}")
    if output.resolve() == RESULTS and not args.quick:
        report.write_docs(results)
        print(f"updated {report.DOCS}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
