"""What the benchmarks share: the Runtime under test, a discarding sink, timing, isolation.

Each benchmark module runs as its own process (`python bench/MODULE.py NAME --out FILE`,
started by bench/run.py), so one benchmark's imports, caches and heap never colour the
next one's numbers; `worker_main` is that entry point.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, cast

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

Result = dict[str, Any]
Benchmark = Callable[[bool], Result]
"""A benchmark: `quick` in, its figures (JSON-ready) out."""


class Discard(io.RawIOBase):
    """A binary stream that takes every byte and keeps none: the sink's output costs its
    encoding and the write call, not a terminal or a disk."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def ignore_problem(problem: object) -> None:
    """A listener for skipped or invalid input: the workload has none, and we count them."""


def build_runtime(
    config: Any | None = None, s3: Any | None = None, stream: io.RawIOBase | None = None
) -> Any:
    """A Lambda `Runtime` as `trailguard.aws_lambda.runtime()` builds it for `config` (default:
    the default configuration: every shipped pack, the memory state store), but with its one
    `log` sink writing to `stream` (default: a `Discard`) and, for S3 triggers, the given S3
    client."""
    from trailguard.aws_lambda import Runtime
    from trailguard.config import Config
    from trailguard.pipeline import build_detector
    from trailguard.sinks.log import LogSink
    from trailguard.sinks.registry import RoutedSink
    from trailguard.sinks.spec import parse_sinks
    from trailguard.state.registry import build_store

    config = config or Config()
    detector = build_detector(config, build_store(config.state))
    (spec,) = parse_sinks([{"type": "log"}])
    sink = LogSink(stream=cast(BinaryIO, stream if stream is not None else Discard()))
    return Runtime(detector, [RoutedSink(spec, sink)], s3=s3)


class StandInS3:
    """An in-process S3 client with `get_object` only: we measure our decoding, not a network."""

    def __init__(self, objects: Mapping[str, bytes | Path]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        body = self.objects[Key]
        if isinstance(body, Path):
            return {"Body": body.open("rb")}  # streamed from disk, as S3 streams it
        return {"Body": io.BytesIO(body)}


BUCKET = "trail-logs-111122223333"


def s3_event(key: str, size: int, bucket: str = BUCKET) -> dict[str, Any]:
    """An `ObjectCreated:Put` notification as S3 sends it to Lambda (one object per event)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-02T08:05:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AROAEXAMPLE:regionalDeliverySession"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "trailguard",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "EXAMPLE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {"key": key, "size": size, "sequencer": "0055AED6DCD90281E5"},
                },
            }
        ]
    }


def pin_to_one_core() -> int | None:
    """Run this process on one CPU (the last one allowed); None where that is not possible."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def timed(run: Callable[[], int]) -> tuple[float, int]:
    """Seconds `run` took, and what it counted; a collection first so no earlier garbage
    is paid for inside the measurement."""
    gc.collect()
    start = time.perf_counter()
    count = run()
    return time.perf_counter() - start, count


def rates(samples: Iterable[tuple[float, int]]) -> Result:
    """Events per second over repeats: the median is the figure, the spread is shown."""
    per_second = [count / seconds for seconds, count in samples]
    return {
        "events_per_s": round(statistics.median(per_second)),
        "events_per_s_repeats": [round(r) for r in per_second],
    }


def run_python(code_or_script: list[str], env: Mapping[str, str] | None = None) -> str:
    """Run the venv's Python on arguments in a fresh process; its stdout (it must succeed)."""
    done = subprocess.run(
        [sys.executable, *code_or_script],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else clean_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(code_or_script[:2])} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return done.stdout


def clean_env() -> dict[str, str]:
    """The environment without trailguard's or Lambda's own settings, so every run sees the
    default configuration whatever the caller's shell holds."""
    drop = ("TRAILGUARD_", "AWS_LAMBDA_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB, macOS bytes)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def machine() -> Result:
    """The facts a reader needs to compare these numbers with theirs."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "orjson": _version("orjson"),
        "msgspec": _version("msgspec"),
        "pyyaml": _version("PyYAML"),
        "trailguard": _version("trailguard"),
        "commit": _git("rev-parse", "--short=12", "HEAD"),
        "worktree_dirty": bool(_git("status", "--porcelain", "--", "src")),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def worker_main(benchmarks: Mapping[str, Benchmark]) -> None:
    """`python bench/MODULE.py NAME --out FILE [--quick]`: run one benchmark, write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=sorted(benchmarks))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    result = benchmarks[args.name](args.quick)
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
