"""Peak memory (RSS) of the Lambda paths, each case in a fresh interpreter.

- `baseline`: the interpreter with `trailguard.aws_lambda` imported; `baseline_runtime`:
  also with the Runtime built (configuration read, packs compiled);
- `cloudwatch_logs`: one CloudWatch Logs event of at most 256 KiB (Lambda's limit for an
  asynchronous invocation), json-loaded as the runtime does, through `handler`;
- `log_file`: one gzipped CloudTrail log file of at least 100 MiB decompressed, written to a
  temporary folder by the workload, through the S3 trigger: `S3ObjectReader` reading the
  file as a stream (a stand-in S3 client returns the open file as the object's body).

The peak is `ru_maxrss` of the probe process at its end.

- `threshold_windows`: the memory state store kept at its limit (`HITS_LIMIT`) by a flood
  of threshold hits, shaped two ways: one hit per group (a source address each) and many
  hits in few groups; the peak of what Python allocated for it (tracemalloc), in MiB.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import benchlib
import workload

LAMBDA_EVENT_LIMIT = 256 * 1024
BIG_FILE_BYTES = 100 * 1024 * 1024
QUICK_FILE_BYTES = 4 * 1024 * 1024
BIG_FILE_KEY = (
    f"AWSLogs/{workload.ACCOUNT}/CloudTrail/us-east-1/2026/11/02/"
    f"{workload.ACCOUNT}_CloudTrail_us-east-1_20261102T0800Z_bench000000000big.json.gz"
)

PROBES = {
    "baseline": "import trailguard.aws_lambda",
    "baseline_runtime": "import trailguard.aws_lambda as l; l.runtime()",
}


def probe_cloudwatch_logs(path: str) -> benchlib.Result:
    """The handler on one Lambda event, alerts to stdout as in Lambda (here /dev/null)."""
    import os

    from trailguard import aws_lambda

    event = json.loads(Path(path).read_bytes())
    real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
    try:
        summary = aws_lambda.handler(event, None)
    finally:
        sys.stdout = real_stdout
    return {"records": summary["records"], "alerts": summary["alerts"]}


def probe_log_file(path: str) -> benchlib.Result:
    """The S3 trigger on one notification naming the big file, read as a stream."""
    file = Path(path)
    runtime = benchlib.build_runtime(s3=benchlib.StandInS3({BIG_FILE_KEY: file}))
    event = benchlib.s3_event(BIG_FILE_KEY, file.stat().st_size)
    summary = runtime.process(event, listener=benchlib.ignore_problem)
    return {"records": summary["records"], "alerts": summary["alerts"]}


def _probe(kind: str, path: str) -> None:
    """`python bench/memory.py --probe KIND PATH`: one case, then the peak RSS, as JSON."""
    probe = {"cloudwatch_logs": probe_cloudwatch_logs, "log_file": probe_log_file}[kind]
    result = probe(path)
    print(json.dumps({**result, "peak_rss_mib": benchlib.peak_rss_mib()}))


def _baseline(code: str) -> float:
    measure = "import resource, sys; r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
    unit = "(1 << 20 if sys.platform == 'darwin' else 1 << 10)"
    out = benchlib.run_python(["-c", f"{code}\n{measure}print(round(r / {unit}, 1))"])
    return float(out)


def _run_probe(kind: str, path: Path) -> benchlib.Result:
    out = benchlib.run_python([str(Path(__file__).resolve()), "--probe", kind, str(path)])
    result: benchlib.Result = json.loads(out)
    return result


def memory(quick: bool) -> benchlib.Result:
    result: benchlib.Result = {name: {"peak_rss_mib": _baseline(c)} for name, c in PROBES.items()}
    with tempfile.TemporaryDirectory(prefix="trailguard-bench-") as folder:
        count, payload = workload.cloudwatch_logs_event_within(LAMBDA_EVENT_LIMIT)
        batch = Path(folder) / "batch.json"
        batch.write_bytes(payload)
        result["cloudwatch_logs"] = {
            **_run_probe("cloudwatch_logs", batch),
            "payload_kib": round(len(payload) / 1024, 1),
            "events": count,
        }
        big = Path(folder) / "big.json.gz"
        written = workload.write_log_file(big, QUICK_FILE_BYTES if quick else BIG_FILE_BYTES)
        result["log_file"] = {
            **_run_probe("log_file", big),
            "decompressed_mib": round(written["decompressed_bytes"] / (1 << 20), 1),
            "compressed_mib": round(written["compressed_bytes"] / (1 << 20), 1),
            "events": written["records"],
        }
    result["threshold_windows"] = threshold_windows(quick)
    return result


FLOOD_HITS = 300_000
QUICK_FLOOD_HITS = 30_000


def threshold_windows(quick: bool) -> benchlib.Result:
    """Peak MiB allocated by a MemoryStore fed three times its limit in hits, two ways."""
    import hashlib
    import tracemalloc

    from trailguard.state.memory import HITS_LIMIT, MemoryStore

    hits = QUICK_FLOOD_HITS if quick else FLOOD_HITS
    limit = HITS_LIMIT * hits // FLOOD_HITS  # the store's own limit, scaled down when quick
    shapes = {"one_hit_per_group": (hits, 900, 10), "many_hits_per_group": (10_000, 300, 1000)}
    result: benchlib.Result = {"hits_fed": hits, "hits_limit": limit}
    for shape, (groups, window, count) in shapes.items():
        tracemalloc.start()
        store = MemoryStore(hits_limit=limit)
        for index in range(hits):
            event_key = hashlib.blake2b(str(index).encode(), digest_size=16).hexdigest()
            key = f"threats.console_login_failures_per_source_ip\x1f{index % groups}"
            store.window_hit(key, 1.7e9 + index / 1000, window, count, event_key=event_key)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result[shape] = {
            "peak_mib": round(peak / (1 << 20), 1),
            "windows_kept": len(store._windows),
            "windows_dropped": store.windows_dropped,
        }
    return result


BENCHMARKS = {"memory": memory}

if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        _probe(sys.argv[2], sys.argv[3])
    else:
        benchlib.worker_main(BENCHMARKS)
