"""The `file` sink: alerts appended as JSON lines to a local file (the CLI, tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from trailguard.alerts import Alert
from trailguard.delivery import SinkError
from trailguard.sinks.spec import SinkSpec

if TYPE_CHECKING:
    from trailguard.sinks.registry import SinkContext

OPTIONS = ("path",)


def validate(spec: SinkSpec) -> None:
    spec.option("path")


def build(spec: SinkSpec, context: SinkContext) -> FileSink:
    return FileSink(spec.name, Path(spec.option("path")))


class FileSink:
    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def send(self, alerts: Sequence[Alert]) -> None:
        try:
            with self.path.open("ab") as out:
                line = orjson.OPT_APPEND_NEWLINE
                out.write(b"".join([orjson.dumps(alert, option=line) for alert in alerts]))
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc}", alerts, transient=False) from None
