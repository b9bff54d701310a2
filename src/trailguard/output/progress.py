"""`trailguard scan` progress: one line on stderr, rewritten in place on a terminal.

A long scan of a log archive should say how far it is and how fast it goes; piped output
and CI logs should stay clean, so the line shows only on a terminal unless forced.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Protocol, TextIO

TERMINAL_INTERVAL = 0.2
"""Seconds between redraws on a terminal: live, without costing the scan anything."""
LOG_INTERVAL = 1.0
"""Seconds between lines when forced onto a stream that is not a terminal (a log file)."""
DEFAULT_WIDTH = 80
"""Columns assumed when a terminal does not say."""


class Counts(Protocol):
    """What the line reports, read when it is drawn (the scan's result)."""

    @property
    def records(self) -> int: ...

    @property
    def findings(self) -> int:
        """Findings that became alerts (shown or not)."""
        ...


class Progress(Protocol):
    """What a scan calls; `NoProgress` when progress is off."""

    def start(self, files: int, counts: Counts) -> None: ...

    def update(self, files_done: int) -> None: ...

    def before_output(self) -> None: ...

    def clear(self) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, files: int, counts: Counts) -> None:
        return None

    def update(self, files_done: int) -> None:
        return None

    def before_output(self) -> None:
        return None

    def clear(self) -> None:
        return None

    def finish(self) -> None:
        return None


class ProgressLine:
    """Files done/total, records read, records/s, alerts, elapsed: at most every interval.

    On a terminal the line is redrawn in place and erased (`clear`) before anything else is
    written to the same terminal; elsewhere (`--progress` into a file) each update is a line
    of its own, and the last one is written at the end.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool,
        shares_output: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.terminal = terminal
        self.shares_output = shares_output
        """Alerts go to the same terminal: erase the line before each is written."""
        self.clock = clock
        self.interval = TERMINAL_INTERVAL if terminal else LOG_INTERVAL
        self.files = 0
        self.files_done = 0
        self.counts: Counts | None = None
        self.started = clock()
        self._last = float("-inf")
        self._drawn = False

    def start(self, files: int, counts: Counts) -> None:
        self.files = files
        self.counts = counts
        self.started = self.clock()
        self._draw(self.started)

    def update(self, files_done: int) -> None:
        self.files_done = files_done
        now = self.clock()
        if now - self._last >= self.interval:
            self._draw(now)

    def before_output(self) -> None:
        if self.shares_output:
            self.clear()

    def clear(self) -> None:
        """Erase the line on a terminal, so a message or an alert starts on a clean line."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False

    def finish(self) -> None:
        if self.terminal:
            self.clear()
        else:
            self._draw(self.clock())
        self.stream.flush()

    def line(self, now: float) -> str:
        records = self.counts.records if self.counts is not None else 0
        alerts = self.counts.findings if self.counts is not None else 0
        elapsed = now - self.started
        rate = records / elapsed if elapsed > 0 else 0.0
        return (
            f"trailguard: scan: {self.files_done:,}/{self.files:,} files, {records:,} records "
            f"({rate:,.0f}/s), {alerts:,} alerts, {duration(elapsed)}"
        )

    def _draw(self, now: float) -> None:
        self._last = now
        if self.terminal:
            # Cut to the terminal's width: a wrapped line could not be redrawn in place.
            self.stream.write(f"\r\x1b[K{self.line(now)[: self._width() - 1]}")
            self._drawn = True
        else:
            self.stream.write(f"{self.line(now)}\n")
        self.stream.flush()

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or DEFAULT_WIDTH
        except (AttributeError, ValueError, OSError):  # not a real terminal after all
            return DEFAULT_WIDTH


def duration(seconds: float) -> str:
    """Elapsed time for people: 4.2s, 3m07s, 1h02m."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
