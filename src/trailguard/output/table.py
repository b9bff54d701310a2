"""The default output: one row per alert as it is found, then a summary."""

from __future__ import annotations

import shutil
from typing import TextIO

from trailguard.actor import actor_label
from trailguard.alerts import Alert
from trailguard.model import Severity
from trailguard.output.style import paint
from trailguard.resources import resource_label
from trailguard.scan import ScanResult

COLUMNS = (("SEVERITY", 8), ("TIME", 20), ("RULE", 44), ("ACTOR", 30), ("EVENT", 36))
"""RULE fits every shipped rule id (the longest is 44 characters)."""
MIN_RESOURCE_WIDTH = 24


def fit(text: str, width: int) -> str:
    """Pad or cut to `width`, marking a cut with an ellipsis."""
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def event_label(alert: Alert) -> str:
    service = str(alert.get("event_source") or "?").removesuffix(".amazonaws.com")
    label = f"{service}:{alert.get('event_name') or '?'}"
    return f"{label} ({alert['error_code']})" if alert.get("error_code") else label


class TableWriter:
    def __init__(self, stream: TextIO, colour: bool) -> None:
        self.stream = stream
        self.colour = colour
        fixed = sum(width + 2 for _, width in COLUMNS)
        terminal = shutil.get_terminal_size((fixed + 60, 24)).columns if stream.isatty() else 0
        self.resource_width = max(terminal - fixed, MIN_RESOURCE_WIDTH) if terminal else 0
        self.header_written = False

    def write(self, alert: Alert) -> None:
        if not self.header_written:
            self._row([name for name, _ in COLUMNS] + ["RESOURCE"], None)
            self.header_written = True
        severity = Severity.parse(alert["severity"])
        time = str(alert.get("event_time") or "-")
        cells = [severity.label, time, alert["rule_id"], actor_label(alert["actor"])]
        self._row([*cells, event_label(alert), resource_label(alert["resources"])], severity)

    def _row(self, cells: list[str], severity: Severity | None) -> None:
        parts = [fit(cell, width) for cell, (_, width) in zip(cells, COLUMNS, strict=False)]
        if severity is not None:
            parts[0] = paint(parts[0], severity, self.colour)
        resource = cells[-1]
        if self.resource_width and len(resource) > self.resource_width:
            resource = fit(resource, self.resource_width)
        self.stream.write("  ".join([*parts, resource]).rstrip() + "\n")

    def finish(self, result: ScanResult) -> None:
        if not self.header_written:
            self.stream.write("No alerts.\n")
        self.stream.write("\n" + render_summary(result, self.colour))


def render_summary(result: ScanResult, colour: bool = False) -> str:
    """Counts by severity and by rule, and what the input held: read, skipped, invalid."""
    tally = result.tally
    lines = ["Summary"]
    severities = "  ".join(
        paint(f"{s.label} {result.by_severity[s]}", s, colour and result.by_severity[s] > 0)
        for s in reversed(Severity)
    )
    shown = f"{result.shown} shown"
    if result.min_severity > Severity.INFO:
        shown += f" (at or above {result.min_severity.label})"
    lines.append(f"  findings   {result.findings} ({shown})")
    lines.append(f"  severity   {severities}")
    if result.by_rule:
        lines.append("  by rule")
        width = max(map(len, result.by_rule))
        for rule, count in sorted(result.by_rule.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"    {rule.ljust(width)}  {count}")
    suppressed = result.detection.get("suppressed", 0)
    if suppressed:
        lines.append(f"  suppressed {suppressed} by the allowlist")
        by_entry = result.detection.get("suppressed_by_entry")
        for entry, count in sorted(by_entry.items()) if isinstance(by_entry, dict) else ():
            lines.append(f"    {entry}  {count}")
    duplicates = result.detection.get("duplicates", 0)
    if duplicates:
        lines.append(f"  duplicate  {duplicates} (same rule, same event: reported once)")
    held = result.detection.get("below_threshold", 0)
    if held:
        lines.append(f"  held       {held} below their rule's threshold")
    dropped = result.detection.get("windows_dropped", 0)
    if dropped:
        lines.append(
            f"  dropped    {dropped} threshold windows (memory full: a flood of groups; "
            "bursts over them may be missed, use a sqlite state store)"
        )
    lines.append(
        f"  input      {tally.records} records read, {tally.skipped_total} skipped, "
        f"{tally.invalid_total} invalid"
    )
    for title, counter in (("skipped", tally.skipped), ("invalid", tally.invalid)):
        if counter:
            lines.append(f"  {title}")
            width = max(map(len, counter))
            for reason, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
                lines.append(f"    {reason.ljust(width)}  {count}")
    return "\n".join(lines) + "\n"
