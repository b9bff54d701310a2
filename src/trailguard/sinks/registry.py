"""Building the configured sinks, each behind its routing filter and the retry policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from trailguard.alerts import Alert
from trailguard.delivery import DeliveryResult, RetryPolicy, deliver
from trailguard.model import Severity
from trailguard.secrets import SecretResolver
from trailguard.sinks import Sink
from trailguard.sinks.spec import SinkSpec, sink_module

_SEVERITIES = {severity.label: severity for severity in Severity}


@dataclass(slots=True)
class SinkContext:
    """What sinks may need, injected: AWS clients by service (tests pass moto-backed ones),
    the secret resolver, and the retry policy."""

    clients: dict[str, Any] = field(default_factory=dict)
    secrets: SecretResolver = field(default_factory=SecretResolver)
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def client(self, service: str) -> Any:
        from trailguard import aws

        return aws.client(service, self.clients.get(service))


@dataclass(slots=True)
class RoutedSink:
    """A sink and the alerts it wants: at or above `min_severity`, of matching rules and tags."""

    spec: SinkSpec
    sink: Sink

    @property
    def name(self) -> str:
        return self.spec.name

    def wants(self, alert: Alert) -> bool:
        spec = self.spec
        if _SEVERITIES[alert["severity"]] < spec.min_severity:
            return False
        if spec.rules and not any(fnmatchcase(alert["rule_id"], g) for g in spec.rules):
            return False
        return not spec.tags or bool(spec.tags.intersection(alert.get("tags") or ()))

    def deliver(self, alerts: Sequence[Alert], policy: RetryPolicy) -> DeliveryResult:
        spec = self.spec
        takes_all = spec.min_severity == Severity.INFO and not spec.rules and not spec.tags
        wanted = list(alerts) if takes_all else [a for a in alerts if self.wants(a)]
        if not wanted:
            return DeliveryResult(self.name)
        return deliver(self.name, self.sink.send, wanted, policy)


def build_sinks(specs: Sequence[SinkSpec], context: SinkContext | None = None) -> list[RoutedSink]:
    """The configured sinks, or the log sink alone when the configuration names none."""
    context = context or SinkContext()
    if not specs:
        from trailguard.sinks.spec import parse_sinks

        specs = parse_sinks([{"type": "log"}])
    return [RoutedSink(spec, sink_module(spec.kind).build(spec, context)) for spec in specs]
