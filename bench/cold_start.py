"""Cold start: wall time to import the Lambda entry point in a fresh interpreter.

Run: `.venv/bin/python bench/cold_start.py [RUNS]`. Prints the median and worst of RUNS
fresh imports, and whether boto3 was imported (it must not be: no AWS sink is configured).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

PROBE = (
    "import sys, time; t = time.perf_counter(); import trailguard.aws_lambda; "
    "print((time.perf_counter() - t) * 1000, 'boto3' in sys.modules)"
)


def main(runs: int = 15) -> None:
    times: list[float] = []
    boto3_seen = False
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
        ).stdout.split()
        times.append(float(out[0]))
        boto3_seen |= out[1] == "True"
    print(
        f"import trailguard.aws_lambda: median {statistics.median(times):.1f} ms, "
        f"worst {max(times):.1f} ms over {runs} runs; boto3 imported: {boto3_seen}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
