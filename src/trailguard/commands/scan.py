"""`trailguard scan`: alerts for local CloudTrail data, or a trail's log files in S3."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trailguard.commands.setup import load_setup
from trailguard.delivery import DeliveryError
from trailguard.tally import InputTally, Problem

if TYPE_CHECKING:
    from trailguard.sources.s3_listing import DayRange

EXIT_CLEAN = 0
EXIT_ALERTS = 1
EXIT_ERRORS = 2


def add_delivery_option(scanner: Any) -> None:
    scanner.add_argument(
        "--deliver",
        action="store_true",
        help="also deliver the alerts shown to the sinks of --config (Slack, SNS, ...)",
    )


def add_s3_options(scanner: Any) -> None:
    """--since/--until: the days of an `s3://` path to read (its key layout holds the day)."""
    scanner.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        help="for s3:// paths: read log files from this day on (UTC, inclusive)",
    )
    scanner.add_argument(
        "--until",
        metavar="YYYY-MM-DD",
        help="for s3:// paths: read log files up to this day (UTC, inclusive)",
    )


def s3_days(args: argparse.Namespace) -> DayRange | None:
    """The days --since/--until select for `s3://` paths; ValueError for a bad range."""
    from trailguard.sources.files import S3_SCHEME
    from trailguard.sources.s3_listing import DayRange

    ranged = args.since is not None or args.until is not None
    if ranged and not any(path.startswith(S3_SCHEME) for path in args.paths):
        raise ValueError("--since/--until apply to s3:// paths only; give one, or drop them")
    return DayRange.parse(args.since, args.until, until_today=False) if ranged else None


def run(args: argparse.Namespace) -> int:
    from trailguard.output.json_writers import JsonDocumentWriter, JsonLinesWriter
    from trailguard.output.style import wants_colour
    from trailguard.output.table import TableWriter
    from trailguard.scan import AlertWriter, scan_paths

    if args.paths.count("-") > 1:
        sys.stderr.write("trailguard: error: '-' (stdin) may be given once\n")
        return EXIT_ERRORS
    try:
        days = s3_days(args)
    except ValueError as exc:
        sys.stderr.write(f"trailguard: error: {exc}\n")
        return EXIT_ERRORS
    setup = load_setup(args.config, args.rules)
    if args.deliver and not setup.config.sinks:
        sys.stderr.write(
            "trailguard: error: --deliver needs sinks: name them under `sinks:` in the file "
            "given with --config (docs/configuration.md)\n"
        )
        return EXIT_ERRORS
    detector = setup.detector()

    def report(problem: Problem) -> None:
        if problem.kind == "invalid":
            sys.stderr.write(f"trailguard: error: {problem.message()}\n")
        elif args.verbose:
            sys.stderr.write(f"trailguard: skipped: {problem.message()}\n")

    writer: AlertWriter
    if args.format == "jsonl":
        writer = JsonLinesWriter(sys.stdout.buffer, sys.stderr)
    elif args.format == "json":
        writer = JsonDocumentWriter(sys.stdout.buffer)
    else:
        writer = TableWriter(sys.stdout, wants_colour(sys.stdout, args.color))
    delivering = None
    if args.deliver:
        from trailguard.delivery import RetryPolicy
        from trailguard.output.delivering import DeliveringWriter
        from trailguard.sinks.registry import build_sinks

        writer = delivering = DeliveringWriter(
            writer, build_sinks(setup.config.sinks), RetryPolicy()
        )
    tally = InputTally(listener=report)
    try:
        result = scan_paths(args.paths, detector, writer, tally, args.min_severity, days)
    except DeliveryError as exc:
        sys.stderr.write(f"trailguard: error: {exc}; nothing was remembered, run again\n")
        return EXIT_ERRORS
    if delivering is not None:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(delivering.delivered.items()))
        sys.stderr.write(f"trailguard: delivered: {counts or 'nothing'}\n")
    if tally.invalid_total:
        sys.stderr.write(
            f"trailguard: {tally.invalid_total} input error(s); the rest was scanned "
            "(see the messages above)\n"
        )
        return EXIT_ERRORS
    if args.fail_on is not None and result.highest is not None and result.highest >= args.fail_on:
        return EXIT_ALERTS
    return EXIT_CLEAN
