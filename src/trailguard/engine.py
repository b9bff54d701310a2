"""The engine: records in, findings out, each rule pack isolated per record.

Sources, suppression and sinks sit on either side (docs/architecture.md); the engine only
asks every pack about every record and reports a record that breaks a pack.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from trailguard.model import Finding, Place, Record, SourcedRecord
from trailguard.rules.context import RecordContext
from trailguard.tally import InputTally


class RulePack(Protocol):
    """Anything that turns one record into zero or more findings."""

    @property
    def pack_id(self) -> str: ...

    def evaluate(self, record: Record, place: Place) -> list[Finding]: ...

    def evaluate_context(self, ctx: RecordContext, place: Place) -> list[Finding]:
        """`evaluate` for a record already wrapped: the engine wraps it once for all packs."""
        ...


class PackErrors(Exception):  # noqa: N818 - it carries results, not only an error
    """Some rules of a pack failed on a record; the rest still produced their findings."""

    def __init__(self, findings: list[Finding], failures: list[tuple[str, Exception]]) -> None:
        self.findings = findings
        self.failures = failures
        super().__init__(", ".join(rule_id for rule_id, _ in failures))


class Engine:
    def __init__(self, packs: Sequence[RulePack]) -> None:
        self.packs = tuple(packs)

    def evaluate(self, item: SourcedRecord, tally: InputTally) -> list[Finding]:
        """All findings for one record. A record that breaks a pack is reported, never fatal."""
        findings: list[Finding] = []
        ctx = RecordContext(item.record)
        for pack in self.packs:
            try:
                findings += pack.evaluate_context(ctx, item.place)
            except PackErrors as partial:  # some rules failed; keep what the others found
                findings += partial.findings
                for rule_id, exc in partial.failures:
                    tally.error(
                        item.place,
                        f"rule {rule_id!r} failed on this record",
                        f"{type(exc).__name__}: {exc}",
                    )
            except Exception as exc:  # one odd record must not stop the batch; it is counted
                tally.error(
                    item.place,
                    f"rule pack {pack.pack_id!r} failed on this record",
                    f"{type(exc).__name__}: {exc}",
                )
        return findings

    def run(self, items: Iterable[SourcedRecord], tally: InputTally) -> Iterator[Finding]:
        for item in items:
            yield from self.evaluate(item, tally)


def default_engine() -> Engine:
    """The engine with every shipped pack, as the default configuration enables them."""
    from trailguard.config import Config
    from trailguard.rules.packs import load_packs

    return Engine(load_packs(Config()).packs)
