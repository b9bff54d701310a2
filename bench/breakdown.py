"""Where the CloudWatch Logs path's time goes: the same payloads, one stage added at a time.

Each stage runs everything before it, on one core, over the payloads `throughput_cwl`
measures, so the differences between rows are what each stage costs per event:

- `decode`: the Lambda event to records (base64, inflate, the subscription document, each
  message into a lazy record), through `trailguard.sources.Decoder`;
- `rules`: plus every default pack on every record (`Engine.evaluate`);
- `detector`: plus screening and admitting each finding (`Detector.run`: overrides,
  allowlists, dedup, thresholds);
- `alerts`: plus building each alert (`build_alert`) and encoding it as a JSON line;
- `runtime`: the whole `Runtime.process`, as `throughput_cwl` measures it (adds metrics,
  delivery to the discarding sink in chunks of 500, and remembering what was delivered).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import benchlib
import orjson
import throughput

from trailguard.alerts import build_alert
from trailguard.config import Config
from trailguard.model import Place
from trailguard.pipeline import Detector, build_detector
from trailguard.sources import Decoder
from trailguard.tally import InputTally

SIZES = {"batches": 60, "repeats": 5}
QUICK = {"batches": 2, "repeats": 2}
PLACE = Place("cloudwatch_logs", envelope="cloudwatch_logs")
STAGES = ("decode", "rules", "detector", "alerts", "runtime")


def _stage(name: str, events: list[dict[str, Any]], detector: Detector) -> Callable[[], int]:
    def run() -> int:
        records = 0
        for event in events:
            tally = InputTally()
            items = Decoder(tally).document(event, PLACE)
            if name == "decode":
                for _ in items:
                    pass
            elif name == "rules":
                evaluate = detector.engine.evaluate
                for item in items:
                    evaluate(item, tally)
            elif name == "detector":
                for _ in detector.run(items, tally):
                    pass
            else:
                dumps = orjson.dumps
                for finding in detector.run(items, tally):
                    dumps(build_alert(finding))
            records += tally.records
        return records

    return run


def breakdown(quick: bool) -> benchlib.Result:
    sizes = QUICK if quick else SIZES
    cpu = benchlib.pin_to_one_core()
    events = throughput.cwl_events(sizes["batches"])
    result: benchlib.Result = {}
    for name in STAGES[:-1]:
        samples = []
        for _ in range(sizes["repeats"]):
            detector = build_detector(Config())  # fresh dedup state, built outside the timing
            _stage(name, events[:1], detector)()
            samples.append(benchlib.timed(_stage(name, events[1:], detector)))
        result[name] = benchlib.rates(samples)
    result["runtime"] = throughput.measure(events, sizes["repeats"], benchlib.build_runtime)
    per_event = {name: 1e6 / result[name]["events_per_s"] for name in STAGES}
    result["microseconds_per_event"] = {name: round(us, 2) for name, us in per_event.items()}
    result["stage_microseconds"] = {
        name: round(per_event[name] - (per_event[STAGES[i - 1]] if i else 0.0), 2)
        for i, name in enumerate(STAGES)
    }
    return {**result, "batches": sizes["batches"], "repeats": sizes["repeats"], "cpu": cpu}


BENCHMARKS = {"breakdown": breakdown}

if __name__ == "__main__":
    benchlib.worker_main(BENCHMARKS)
