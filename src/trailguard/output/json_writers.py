"""Machine-readable output: JSON lines (one alert a line) or one JSON document."""

from __future__ import annotations

from typing import BinaryIO, TextIO

import orjson

from trailguard.alerts import Alert
from trailguard.output.table import render_summary
from trailguard.scan import ScanResult


class JsonLinesWriter:
    """Alerts only on stdout, in the schema of docs/alerts.md; the summary goes to stderr."""

    def __init__(self, stream: BinaryIO, summary_stream: TextIO | None) -> None:
        self.stream = stream
        self.summary_stream = summary_stream

    def write(self, alert: Alert) -> None:
        self.stream.write(orjson.dumps(alert, option=orjson.OPT_APPEND_NEWLINE))

    def write_json(self, line: bytes) -> None:
        """An alert already encoded as a JSON line (with its newline): parallel scans encode
        in their workers."""
        self.stream.write(line)

    def finish(self, result: ScanResult) -> None:
        self.stream.flush()
        if self.summary_stream is not None:
            self.summary_stream.write(render_summary(result))


class JsonDocumentWriter:
    """`{"alerts": [...], "summary": {...}}`, written once the scan is done."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.alerts: list[Alert] = []

    def write(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def finish(self, result: ScanResult) -> None:
        document = {"alerts": self.alerts, "summary": result.as_dict()}
        self.stream.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        self.stream.flush()
