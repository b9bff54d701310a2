"""Throughput on one core, end to end, as the Lambda function runs.

`throughput_cwl`: CloudWatch Logs subscription events, json-loaded as the Lambda runtime
hands them to the handler, through `Runtime.process`: decode, every default pack, screen and
admit, an alert built and written as a JSON line for every finding (to a sink that discards
the bytes). `throughput_s3`: the same Runtime following S3 notifications to gzipped log
files, read by `S3ObjectReader` through an in-process S3 client.

Each repeat builds a fresh Runtime (as a new container would; outside the timing), warms it
on one batch, then times the measured batches. Fresh state per repeat keeps every repeat's
work identical: dedup would otherwise drop the second repeat's alerts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import benchlib
import workload

CWL = {"batches": 60, "repeats": 5}
CWL_QUICK = {"batches": 2, "repeats": 2}
S3 = {"files": 60, "records": 500, "repeats": 5}
S3_QUICK = {"files": 2, "records": 200, "repeats": 2}


def cwl_events(batches: int) -> list[dict[str, Any]]:
    """One warm-up batch and `batches` measured ones, decoded as the Lambda runtime does."""
    return [json.loads(p) for p in workload.cloudwatch_logs_events(batches + 1)]


def measure(
    events: list[dict[str, Any]], repeats: int, make_runtime: Callable[[], Any]
) -> benchlib.Result:
    """Events/s of `Runtime.process` over `events[1:]` after a warm-up on `events[0]`, each
    repeat in a fresh Runtime; the median of the repeats, and the alerts per event."""
    samples = []
    totals: dict[str, int] = {}
    for _ in range(repeats):
        runtime = make_runtime()
        runtime.process(events[0], listener=benchlib.ignore_problem)
        totals = {"alerts": 0, "invalid": 0}
        samples.append(benchlib.timed(_processing(runtime, events[1:], totals)))
        if totals["invalid"]:
            raise RuntimeError(f"the workload gave {totals['invalid']} invalid inputs")
    measured = samples[0][1]
    return {
        **benchlib.rates(samples),
        "events": measured,
        "repeats": repeats,
        "alerts": totals["alerts"],
        "alerts_per_event": round(totals["alerts"] / measured, 4),
    }


def _processing(
    runtime: Any, events: list[dict[str, Any]], totals: dict[str, int]
) -> Callable[[], int]:
    def run() -> int:
        records = 0
        for event in events:
            summary = runtime.process(event, listener=benchlib.ignore_problem)
            records += summary["records"]
            totals["alerts"] += summary["alerts"]
            totals["invalid"] += summary["invalid"]
        return records

    return run


def throughput_cwl(quick: bool) -> benchlib.Result:
    sizes = CWL_QUICK if quick else CWL
    cpu = benchlib.pin_to_one_core()
    events = cwl_events(sizes["batches"])
    result = measure(events, sizes["repeats"], benchlib.build_runtime)
    return {
        **result,
        "batches": sizes["batches"],
        "events_per_batch": workload.CWL_BATCH,
        "cpu": cpu,
    }


def throughput_s3(quick: bool) -> benchlib.Result:
    sizes = S3_QUICK if quick else S3
    cpu = benchlib.pin_to_one_core()
    files = list(workload.log_files(sizes["files"] + 1, sizes["records"]))
    client = benchlib.StandInS3(dict(files))
    events = [benchlib.s3_event(key, len(body)) for key, body in files]
    result = measure(events, sizes["repeats"], lambda: benchlib.build_runtime(s3=client))
    return {
        **result,
        "files": sizes["files"],
        "records_per_file": sizes["records"],
        "mean_file_kib": round(sum(len(b) for _, b in files[1:]) / sizes["files"] / 1024, 1),
        "cpu": cpu,
    }


BENCHMARKS = {"throughput_cwl": throughput_cwl, "throughput_s3": throughput_s3}

if __name__ == "__main__":
    benchlib.worker_main(BENCHMARKS)
