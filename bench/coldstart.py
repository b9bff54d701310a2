"""Cold start: what a new Lambda container pays before and during its first invocation.

Each run is a fresh interpreter (as a new container is): the wall time of `import
trailguard.aws_lambda` (nothing else imported first but sys and time), whether boto3 came
with it, then three `handler` calls on different 500-event CloudWatch Logs batches: the
first builds the Runtime (reads the configuration, compiles the rule packs), the others are
warm. `load_packs` is counted, so "compiled once per container" is measured, not assumed.
Alerts go to stdout, as in Lambda, here /dev/null.

All of it twice: with bytecode caches (an interpreter that has run the code before; a first,
uncounted run writes them), as in a Lambda zip built with the runtime's Python, which
carries bytecode; and from sources alone, where every import compiles, as in a zip built
with another Python (`tools/build_lambda_zip.py` adds bytecode only for its own version).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import statistics
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import benchlib
import workload

RUNS = 15
QUICK_RUNS = 3
INVOCATIONS = 3
TOOL = benchlib.REPO / "tools" / "build_lambda_zip.py"

PROBE = """
import sys, time
started = time.perf_counter()
import trailguard.aws_lambda
import_ms = (time.perf_counter() - started) * 1000
boto3_on_import = "boto3" in sys.modules

import json, os
import trailguard.rules.packs as packs
from trailguard import aws_lambda

loads = {"count": 0, "ms": 0.0}
load_packs = packs.load_packs
def counted(*args, **kwargs):
    started = time.perf_counter()
    try:
        return load_packs(*args, **kwargs)
    finally:
        loads["count"] += 1
        loads["ms"] += (time.perf_counter() - started) * 1000
packs.load_packs = counted

events = [json.loads(open(path, "rb").read()) for path in sys.argv[1:]]
real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")
calls = []
for event in events:
    started = time.perf_counter()
    aws_lambda.handler(event, None)
    calls.append((time.perf_counter() - started) * 1000)
real_stdout.write(json.dumps({
    "import_ms": import_ms,
    "boto3_on_import": boto3_on_import,
    "boto3_after_invocations": "boto3" in sys.modules,
    "invocation_ms": calls,
    "pack_loads": loads["count"],
    "pack_load_ms": loads["ms"],
    "module": trailguard.aws_lambda.__file__,
}))
"""


def coldstart(quick: bool) -> benchlib.Result:
    runs = QUICK_RUNS if quick else RUNS
    with tempfile.TemporaryDirectory(prefix="trailguard-bench-") as folder:
        paths = []
        for index, payload in enumerate(workload.cloudwatch_logs_events(INVOCATIONS)):
            path = Path(folder) / f"batch-{index}.json"
            path.write_bytes(payload)
            paths.append(str(path))
        probe = ["-c", PROBE, *paths]
        benchlib.run_python(probe)  # not counted: writes any missing .pyc
        cached = [json.loads(benchlib.run_python(probe)) for _ in range(runs)]
        sources = _sources_only(Path(folder) / "packages")
        env = {**benchlib.clean_env(), "PYTHONPATH": str(sources), "PYTHONDONTWRITEBYTECODE": "1"}
        uncached = [json.loads(benchlib.run_python(probe, env)) for _ in range(runs)]
    if not all(p["module"].startswith(str(sources)) for p in uncached):
        raise RuntimeError("the no-bytecode runs did not import the copied sources")
    return {
        "runs": runs,
        **_summary(cached),
        "boto3_imported": any(p["boto3_on_import"] for p in cached + uncached),
        "boto3_imported_after_invocations": any(
            p["boto3_after_invocations"] for p in cached + uncached
        ),
        "pack_loads_per_container": max(p["pack_loads"] for p in cached + uncached),
        "invocations_per_run": INVOCATIONS,
        "events_per_invocation": workload.CWL_BATCH,
        "no_bytecode": _summary(uncached),
    }


def _summary(probes: list[dict[str, Any]]) -> benchlib.Result:
    imports = [p["import_ms"] for p in probes]
    first = statistics.median(p["invocation_ms"][0] for p in probes)
    warm = statistics.median(statistics.mean(p["invocation_ms"][1:]) for p in probes)
    return {
        "import_ms_median": round(statistics.median(imports), 1),
        "import_ms_worst": round(max(imports), 1),
        "first_invocation_ms_median": round(first, 1),
        "warm_invocation_ms_median": round(warm, 1),
        "first_invocation_extra_ms": round(first - warm, 1),
        "pack_load_ms_median": round(statistics.median(p["pack_load_ms"] for p in probes), 1),
    }


def _sources_only(folder: Path) -> Path:
    """trailguard and its runtime dependencies as a Lambda zip built with another Python
    than the runtime's holds them: sources without bytecode, so every import compiles, as
    on Lambda, whose package folder is read-only. Compiled extensions are copied as they are."""
    folder.mkdir(parents=True)
    for name in ("trailguard", *lambda_packaged()):
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
            skip = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(source, folder / name, ignore=skip)
        elif spec.origin:
            shutil.copy2(spec.origin, folder / Path(spec.origin).name)
    return folder


def lambda_packaged() -> list[str]:
    """Top-level modules of the runtime dependencies the Lambda zip carries (named in
    tools/build_lambda_zip.py), as installed here."""
    spec = importlib.util.spec_from_file_location("build_lambda_zip", TOOL)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {TOOL}")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    wanted = {name.lower() for name in tool.RUNTIME_DEPENDENCIES}
    return sorted(
        top
        for top, distributions in metadata.packages_distributions().items()
        if any(d.lower() in wanted for d in distributions)
    )


BENCHMARKS = {"coldstart": coldstart}

if __name__ == "__main__":
    benchlib.worker_main(BENCHMARKS)
