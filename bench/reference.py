"""Reference points on the CloudWatch Logs payloads of `throughput_cwl`, on one core.

- `orjson_decode`: only decoding: base64, gunzip, orjson of the subscription document and of
  every log event's message. No detection, no output: a ceiling for any Python design that
  decodes whole records.
- `lazy_decode`: the same, with each message decoded as trailguard does (top-level fields,
  nested objects kept raw until read).
- `stdlib_catalogue`: the seed's logic as a plain Python loop: stdlib `json` for every
  message, the catalogue alone (whitelist skip, deletion prefixes, known services, a dict
  lookup of the severity), and every classified event logged as a JSON line (the seed's
  resource fields) with `json.dumps` to a stream that discards it.

All start from the same json-loaded Lambda events the Runtime gets. The seed's Go design is
not runnable here; the issue's figure for it is quoted, not measured.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import benchlib
import orjson
import throughput
import yaml

from trailguard.rules.packs import PACKS_DIR

SIZES = {"batches": 60, "repeats": 5}
QUICK = {"batches": 2, "repeats": 2}
SEED_GO_EVENTS_PER_S = 31_000
"""Quoted by issue 6 ("the seed's Go design does about 31,000 events/s per core"); not run."""


def lazy_decode(events: list[dict[str, Any]]) -> Callable[[], int]:
    """`orjson_decode`, but each message decoded as trailguard decodes it (`decode_json`:
    top-level fields only, nested objects kept raw): what the lazy record saves."""
    from trailguard.record import decode_json

    def run() -> int:
        count = 0
        loads = orjson.loads
        for event in events:
            document = loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
            for log_event in document["logEvents"]:
                decode_json(log_event["message"])
                count += 1
        return count

    return run


def orjson_decode(events: list[dict[str, Any]]) -> Callable[[], int]:
    def run() -> int:
        count = 0
        loads = orjson.loads
        for event in events:
            document = loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
            for log_event in document["logEvents"]:
                loads(log_event["message"])
                count += 1
        return count

    return run


class SeedCatalogue:
    """The seed's classification (severities.go, logHandler.go) over catalog.yaml's data."""

    def __init__(self) -> None:
        data = yaml.safe_load((PACKS_DIR / "catalog.yaml").read_text())
        self.known = frozenset(data["known_services"])
        self.skip_sources = frozenset(data["whitelist"]["event_sources"])
        self.skip_names = frozenset(data["whitelist"]["event_names"])
        prefixes = data["deletion"]["prefixes"]
        self.deletion = tuple(p for word in prefixes for p in (word, word[0].lower() + word[1:]))
        self.events: dict[str, str] = data["events"]

    def classify(self, record: dict[str, Any]) -> tuple[str, str] | None:
        source, name = record.get("eventSource"), record.get("eventName") or ""
        if source in self.skip_sources or name in self.skip_names:
            return None
        if name.startswith(self.deletion):
            return "resource_deleted", "high"
        if source not in self.known:
            return "resource_not_listed", "info"
        severity = self.events.get(name, "low")
        return f"{severity}_severity_event", severity


def stdlib_catalogue(events: list[dict[str, Any]]) -> Callable[[], int]:
    catalogue = SeedCatalogue()
    stream = benchlib.Discard()

    def run() -> int:
        count = 0
        for event in events:
            document = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
            for log_event in document["logEvents"]:
                record = json.loads(log_event["message"])
                count += 1
                verdict = catalogue.classify(record)
                if verdict is None:
                    continue
                line = {"event": verdict[0], "level": verdict[1], "events": _resource(record)}
                stream.write((json.dumps(line) + "\n").encode())
        return count

    return run


def _resource(record: dict[str, Any]) -> dict[str, Any]:
    """The seed's `getResourceInformation`: a flat dict of the fields its log line carries."""
    identity = record.get("userIdentity") or {}
    info = {
        "s_event_category": record.get("eventCategory"),
        "s_event_name": record.get("eventName"),
        "s_event_source": record.get("eventSource"),
        "s_event_time": record.get("eventTime"),
        "s_event_type": record.get("eventType"),
        "s_source_ip_address": record.get("sourceIPAddress"),
        "s_user_agent": record.get("userAgent"),
        "s_user_identity_account_id": identity.get("accountId"),
        "s_user_identity_arn": identity.get("arn"),
        "s_user_identity_name": identity.get("userName"),
        "s_user_identity_type": identity.get("type"),
        "s_error_code": record.get("errorCode"),
        "s_error_message": record.get("errorMessage"),
    }
    resources = record.get("resources") or []
    if resources:
        info["s_resource_arn"] = resources[0].get("ARN")
        info["s_resource_type"] = resources[0].get("type")
        info["s_resource_account_id"] = resources[0].get("accountId")
    return info


def reference(quick: bool) -> benchlib.Result:
    sizes = QUICK if quick else SIZES
    cpu = benchlib.pin_to_one_core()
    events = throughput.cwl_events(sizes["batches"])[1:]
    result: benchlib.Result = {}
    for name, loop in (
        ("orjson_decode", orjson_decode),
        ("lazy_decode", lazy_decode),
        ("stdlib_catalogue", stdlib_catalogue),
    ):
        run = loop(events)
        run()  # warm-up
        samples = [benchlib.timed(run) for _ in range(sizes["repeats"])]
        result[name] = {**benchlib.rates(samples), "events": samples[0][1]}
    result["seed_go_quoted_events_per_s"] = SEED_GO_EVENTS_PER_S
    return {**result, "batches": sizes["batches"], "repeats": sizes["repeats"], "cpu": cpu}


BENCHMARKS = {"reference": reference}

if __name__ == "__main__":
    benchlib.worker_main(BENCHMARKS)
