"""Terminal colour for severities, only when the output is a terminal that wants it."""

from __future__ import annotations

import os
from typing import TextIO

from trailguard.model import Severity

SEVERITY_STYLES = {
    Severity.CRITICAL: "1;97;41",
    Severity.HIGH: "1;31",
    Severity.MEDIUM: "33",
    Severity.LOW: "36",
    Severity.INFO: "2",
}


def wants_colour(stream: TextIO, choice: str) -> bool:
    """`always`/`never`, or `auto`: a terminal, and NO_COLOR unset (https://no-color.org)."""
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR")


def paint(text: str, severity: Severity, colour: bool) -> str:
    return f"\x1b[{SEVERITY_STYLES[severity]}m{text}\x1b[0m" if colour else text
