"""`trailguard scan`: alerts for local CloudTrail data."""

from __future__ import annotations

import argparse
import sys

from trailguard.commands.setup import load_setup
from trailguard.tally import InputTally, Problem

EXIT_CLEAN = 0
EXIT_ALERTS = 1
EXIT_ERRORS = 2


def run(args: argparse.Namespace) -> int:
    from trailguard.output.json_writers import JsonDocumentWriter, JsonLinesWriter
    from trailguard.output.style import wants_colour
    from trailguard.output.table import TableWriter
    from trailguard.scan import AlertWriter, scan_paths

    if args.paths.count("-") > 1:
        sys.stderr.write("trailguard: error: '-' (stdin) may be given once\n")
        return EXIT_ERRORS
    detector = load_setup(args.config, args.rules).detector()

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
    tally = InputTally(listener=report)
    result = scan_paths(args.paths, detector, writer, tally, args.min_severity)
    if tally.invalid_total:
        sys.stderr.write(
            f"trailguard: {tally.invalid_total} input error(s); the rest was scanned "
            "(see the messages above)\n"
        )
        return EXIT_ERRORS
    if args.fail_on is not None and result.highest is not None and result.highest >= args.fail_on:
        return EXIT_ALERTS
    return EXIT_CLEAN
