"""The workload's properties, measured on the payloads the throughput benchmarks feed.

What a reader needs to judge whether these events look like theirs: event size, payload
size, error share, services, actors, how many event names the catalogue knows or
whitelists, and how many events end as alerts with the default packs.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from typing import Any

import benchlib
import workload
import yaml

from trailguard.rules.packs import PACKS_DIR

SIZES = {"batches": 20}
QUICK = {"batches": 2}


def records_of(payload: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(message size in bytes, record) for each log event of a CloudWatch Logs event."""
    document = json.loads(gzip.decompress(base64.b64decode(payload["awslogs"]["data"])))
    return [(len(e["message"].encode()), json.loads(e["message"])) for e in document["logEvents"]]


def properties(payloads: list[bytes]) -> benchlib.Result:
    """Sizes, error share, services, actor mix and catalogue coverage of the payloads."""
    records = [r for p in payloads for r in records_of(json.loads(p))]
    count = len(records)
    catalogue = yaml.safe_load((PACKS_DIR / "catalog.yaml").read_text())
    whitelisted = set(catalogue["whitelist"]["event_sources"])
    actors = Counter((r.get("userIdentity") or {}).get("type") for _, r in records)
    services = Counter(r["eventSource"] for _, r in records)
    return {
        "events": count,
        "mean_event_bytes": round(sum(size for size, _ in records) / count),
        "cwl_payload_kib_mean": round(sum(map(len, payloads)) / len(payloads) / 1024, 1),
        "events_per_payload": workload.CWL_BATCH,
        "error_share": round(sum("errorCode" in r for _, r in records) / count, 4),
        "services": len(services),
        "top_services": {s.split(".")[0]: round(n / count, 3) for s, n in services.most_common(5)},
        "actor_mix": {str(a): round(n / count, 3) for a, n in actors.most_common()},
        "read_only_share": round(sum(r.get("readOnly") is True for _, r in records) / count, 3),
        "names_in_catalogue_share": round(
            sum(r["eventName"] in catalogue["events"] for _, r in records) / count, 3
        ),
        "whitelisted_share": round(
            sum(r["eventSource"] in whitelisted for _, r in records) / count, 3
        ),
    }


class _Alerts(benchlib.Discard):
    """Counts the alerts written to it, and the distinct events and rules behind them."""

    def __init__(self) -> None:
        self.alerts = 0
        self.events: set[str] = set()
        self.rule_events: set[str] = set()

    def write(self, data: Any) -> int:
        for line in bytes(data).splitlines():
            alert = json.loads(line)
            self.alerts += 1
            self.events.add(alert["event_id"])
            if not alert["rule_id"].startswith("catalog."):
                self.rule_events.add(alert["event_id"])
        return len(data)


def alert_shares(payloads: list[bytes]) -> benchlib.Result:
    """Share of events that end as at least one alert, with the default packs."""
    stream = _Alerts()
    runtime = benchlib.build_runtime(stream=stream)
    events = 0
    for payload in payloads:
        events += runtime.process(json.loads(payload), listener=benchlib.ignore_problem)["records"]
    return {
        "alerts_per_event": round(stream.alerts / events, 4),
        "events_with_alerts_share": round(len(stream.events) / events, 4),
        "events_with_rule_alerts_share": round(len(stream.rule_events) / events, 4),
    }


def workload_profile(quick: bool) -> benchlib.Result:
    sizes = QUICK if quick else SIZES
    payloads = workload.cloudwatch_logs_events(sizes["batches"] + 1)[1:]  # as throughput_cwl
    return {**properties(payloads), **alert_shares(payloads), "batches": sizes["batches"]}


BENCHMARKS = {"workload": workload_profile}

if __name__ == "__main__":
    benchlib.worker_main(BENCHMARKS)
