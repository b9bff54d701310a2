"""`trailguard scan` over a folder of gzipped log files, as a backlog is cleared by hand.

The workload writes a trail bucket's tree of log files to a temporary folder; the CLI scans
it in a fresh process with `--format jsonl` (every alert, one JSON line each) to a stdout
that discards it: once with `--jobs 1` and once with every core, when the CLI has `--jobs`
(older versions had none and read files one by one). Wall time covers the whole command,
start-up included. CPU time of the command and its workers over wall time shows how many
cores it kept busy.
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import workload

SIZES = {"files": 200, "records": 500, "repeats": 3}
QUICK = {"files": 4, "records": 100, "repeats": 1}
RECORDS_READ = re.compile(r"(\d+) records read")


def scan_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "trailguard", "scan", *args]


def has_jobs_option() -> bool:
    """Whether this version's `scan --help` lists `--jobs`."""
    help_text = subprocess.run(
        scan_command("--help"), capture_output=True, text=True, check=True, env=benchlib.clean_env()
    ).stdout
    return "--jobs" in help_text


def run_scan(folder: Path, jobs: int | None) -> benchlib.Result:
    """One scan: wall seconds, cores kept busy, and the records it reports having read."""
    args = [str(folder), "--format", "jsonl", "--color", "never"]
    if jobs is not None:
        args += ["--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        scan_command(*args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env=benchlib.clean_env(),
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"trailguard scan failed ({done.returncode}):\n{done.stderr[-3000:]}")
    read = RECORDS_READ.findall(done.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": wall,
        "cores_busy": cpu / wall,
        "records_read": int(read[-1]) if read else None,
    }


def measure(folder: Path, jobs: int | None, events: int, repeats: int) -> benchlib.Result:
    runs = [run_scan(folder, jobs) for _ in range(repeats)]
    wall = statistics.median(r["wall_s"] for r in runs)
    return {
        "jobs": jobs,
        "wall_s": round(wall, 2),
        "events_per_s": round(events / wall),
        "cores_busy": round(statistics.median(r["cores_busy"] for r in runs), 2),
        "records_read": runs[-1]["records_read"],
    }


def scan_folder(quick: bool) -> benchlib.Result:
    sizes = QUICK if quick else SIZES
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs_option = has_jobs_option()
    with tempfile.TemporaryDirectory(prefix="trailguard-bench-") as folder:
        root = Path(folder)
        events = workload.write_log_folder(root, sizes["files"], sizes["records"])
        size = sum(p.stat().st_size for p in root.rglob("*.json.gz"))
        one = measure(root, 1 if jobs_option else None, events, sizes["repeats"])
        every = measure(root, cores, events, sizes["repeats"]) if jobs_option else None
    return {
        "files": sizes["files"],
        "records_per_file": sizes["records"],
        "events": events,
        "folder_mib": round(size / (1 << 20), 1),
        "repeats": sizes["repeats"],
        "cores": cores,
        "jobs_option": jobs_option,
        "jobs_1": one,
        "all_cores": every,
        "speedup": round(one["wall_s"] / every["wall_s"], 2) if every else None,
    }


BENCHMARKS = {"scan_folder": scan_folder}

if __name__ == "__main__":
    benchlib.worker_main(BENCHMARKS)
