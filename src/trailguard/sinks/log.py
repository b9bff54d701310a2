"""The `log` sink: one JSON line per alert, as the seed logged each classified event."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

import orjson

from trailguard.alerts import Alert
from trailguard.sinks.spec import SinkSpec

if TYPE_CHECKING:
    from trailguard.sinks.registry import SinkContext

OPTIONS: tuple[str, ...] = ()


def validate(spec: SinkSpec) -> None:
    """Nothing to check: the log sink has no options."""


def build(spec: SinkSpec, context: SinkContext) -> LogSink:
    return LogSink(name=spec.name)


class LogSink:
    def __init__(self, stream: BinaryIO | None = None, name: str = "log") -> None:
        self.name = name
        self._stream = stream

    def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        stream = self._stream if self._stream is not None else sys.stdout.buffer
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        stream.write(b"".join([dumps(alert, option=newline) for alert in alerts]))
        stream.flush()
