"""`trailguard scan --deliver`: show the alerts and deliver them to the configured sinks.

Chunks go out as they fill, with the same routing, retries and failure as in Lambda; a
chunk that fails raises DeliveryError, and the scan remembers nothing (state store), so the
next run sends again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from trailguard.alerts import Alert
from trailguard.delivery import DeliveryError, RetryPolicy
from trailguard.scan import AlertWriter, ScanResult
from trailguard.sinks.registry import RoutedSink

CHUNK = 500


class DeliveringWriter:
    def __init__(
        self, inner: AlertWriter, sinks: Sequence[RoutedSink], policy: RetryPolicy
    ) -> None:
        self.inner = inner
        self.sinks = tuple(sinks)
        self.policy = policy
        self.chunk: list[Alert] = []
        self.delivered: Counter[str] = Counter()

    def write(self, alert: Alert) -> None:
        self.inner.write(alert)
        self.chunk.append(alert)
        if len(self.chunk) >= CHUNK:
            self._flush()

    def finish(self, result: ScanResult) -> None:
        try:
            self._flush()
        finally:
            self.inner.finish(result)

    def _flush(self) -> None:
        chunk, self.chunk = self.chunk, []
        if not chunk:
            return
        results = [sink.deliver(chunk, self.policy) for sink in self.sinks]
        for result in results:
            self.delivered[result.sink] += result.delivered
        if any(result.failed for result in results):
            raise DeliveryError(results)
