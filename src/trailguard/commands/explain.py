"""`trailguard explain FILE`: for each record, which rules matched, which did not, and why."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator

from trailguard.actor import actor_label, resolve_actor
from trailguard.commands.setup import Setup, load_setup
from trailguard.model import Finding, SourcedRecord
from trailguard.rules.context import RecordContext
from trailguard.rules.ruleset import RuleSet, finding_for
from trailguard.sources import Decoder, read_local
from trailguard.tally import InputTally, Problem

EXIT_OK = 0
EXIT_ERRORS = 2


def _matched(finding: Finding, ctx: RecordContext, setup: Setup, today: dt.date) -> str:
    """The ✓ line, as the detector would report the finding: with the configuration's
    severity override, and the allowlist entry that would suppress it."""
    override = setup.config.overrides.get(finding.rule_id)
    severity = override.severity if override and override.severity else finding.severity
    entry = setup.config.allowlist.match(finding, ctx, today)
    note = f" — suppressed by {entry.label} ({entry.reason})" if entry else ""
    if finding.threshold:
        t = finding.threshold
        note += f" — counts toward a threshold of {t.count} in {t.window_seconds}s"
    return f"  ✓ {finding.rule_id} [{severity.label}] {finding.title}{note}"


def explain_record(item: SourcedRecord, setup: Setup, only: str | None) -> Iterator[str]:
    record = item.record
    ctx = RecordContext(record)
    actor = actor_label(resolve_actor(record.get("userIdentity")))
    yield f"{item.place}: {record.get('eventSource')} {record.get('eventName')} by {actor}"
    today = dt.datetime.now(dt.UTC).date()
    applicable = 0
    for pack in setup.loaded.packs:
        if not isinstance(pack, RuleSet):
            if only is None or only.startswith("catalog."):
                for finding in pack.evaluate(record, item.place):
                    override = setup.config.overrides.get(finding.rule_id)
                    if only not in (None, finding.rule_id) or (
                        override and override.enabled is False
                    ):
                        continue
                    yield _matched(finding, ctx, setup, today)
            continue
        rules = pack.rules if only else pack.indexed(ctx)  # also those the outcome rules out
        for rule in rules:
            if only and rule.rule_id != only:
                continue
            applicable += 1
            try:
                explanation = rule.explain(ctx)
            except Exception as exc:  # as in scan: one rule failing does not stop the rest
                yield f"  ! {rule.rule_id}: failed on this record: {type(exc).__name__}: {exc}"
                continue
            if explanation.held:
                yield _matched(finding_for(rule, ctx, item.place), ctx, setup, today)
            else:
                yield f"  ✗ {rule.rule_id}: did not match"
            yield from ("      " + line for line in explanation.lines()[1:])
    if only is None:
        total = sum(len(p.rules) for p in setup.loaded.packs if isinstance(p, RuleSet))
        yield f"  ({total - applicable} other rules do not apply to this event source and name)"


def run(args: argparse.Namespace) -> int:
    setup = load_setup(args.config, args.rules)
    if args.rule and args.rule not in setup.loaded.known_ids():
        sys.stderr.write(f"trailguard: error: no rule {args.rule!r}; see `trailguard rules list`\n")
        return EXIT_ERRORS
    if args.rule:
        rule = setup.loaded.rules.get(args.rule)
        override = setup.config.overrides.get(args.rule)
        if (rule is not None and not rule.enabled) or (override and override.enabled is False):
            sys.stderr.write(
                f"trailguard: warning: {args.rule} is disabled (by its file or the "
                "configuration): it matches nothing, so nothing is explained\n"
            )

    def report(problem: Problem) -> None:
        if problem.kind == "invalid":
            sys.stderr.write(f"trailguard: error: {problem.message()}\n")

    tally = InputTally(listener=report)
    for item in read_local(args.paths, Decoder(tally)):
        for line in explain_record(item, setup, args.rule):
            sys.stdout.write(line + "\n")
        sys.stdout.write("\n")
    sys.stdout.write(
        f"{tally.records} records explained, {tally.skipped_total} skipped, "
        f"{tally.invalid_total} invalid\n"
    )
    return EXIT_ERRORS if tally.invalid_total else EXIT_OK
