"""The `log` sink: one JSON line per alert, as the seed logged each classified event."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import BinaryIO

import orjson

from trailguard.alerts import Alert


class LogSink:
    name = "log"

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream

    def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        stream = self._stream if self._stream is not None else sys.stdout.buffer
        dumps = orjson.dumps
        stream.write(b"".join(dumps(alert) + b"\n" for alert in alerts))
        stream.flush()
