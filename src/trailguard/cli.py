"""The `trailguard` command.

Exit status (docs/cli.md): 0 clean; 1 a finding at or above `--fail-on`; 2 a usage error or
input that could not be read (input errors win: a scan with holes is not a clean result).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from trailguard import __version__
from trailguard.model import SEVERITY_LABELS, Severity
from trailguard.tally import InputTally, Problem

EXIT_CLEAN = 0
EXIT_ALERTS = 1
EXIT_ERRORS = 2


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailguard",
        description="Watch AWS CloudTrail and alert on infrastructure changes that matter.",
    )
    parser.add_argument("--version", action="version", version=f"trailguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    scan = commands.add_parser(
        "scan",
        help="scan CloudTrail files, folders or stdin",
        description=(
            "Scan CloudTrail data: log files (plain or gzipped), CloudWatch Logs subscription "
            "payloads, EventBridge events, SQS/SNS/Kinesis wrappers, JSON lines, arrays or "
            "single records. Formats are recognised from the content. Folders are read "
            "recursively; '-' reads stdin."
        ),
        epilog="Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or input errors.",
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    scan.add_argument(
        "--format",
        choices=("table", "jsonl", "json"),
        default="table",
        help="table (default), jsonl (one alert per line), or json (one document)",
    )
    scan.add_argument(
        "--min-severity",
        type=_severity,
        default=Severity.INFO,
        metavar="SEVERITY",
        help=f"show alerts at or above this severity ({', '.join(SEVERITY_LABELS)}; default info)",
    )
    scan.add_argument(
        "--fail-on",
        type=_severity,
        default=None,
        metavar="SEVERITY",
        help="exit 1 if any finding is at or above this severity (for CI pipelines)",
    )
    scan.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour severities: auto (a terminal, NO_COLOR unset), always or never",
    )
    scan.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also report each skipped input (control messages, digests, non-CloudTrail data)",
    )
    return parser


def run_scan(args: argparse.Namespace) -> int:
    from trailguard.engine import default_engine
    from trailguard.output.json_writers import JsonDocumentWriter, JsonLinesWriter
    from trailguard.output.style import wants_colour
    from trailguard.output.table import TableWriter
    from trailguard.scan import AlertWriter, scan_paths

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
    if args.paths.count("-") > 1:
        sys.stderr.write("trailguard: error: '-' (stdin) may be given once\n")
        return EXIT_ERRORS
    tally = InputTally(listener=report)
    result = scan_paths(args.paths, default_engine(), writer, tally, args.min_severity)
    if tally.invalid_total:
        sys.stderr.write(
            f"trailguard: {tally.invalid_total} input error(s); the rest was scanned "
            "(see the messages above)\n"
        )
        return EXIT_ERRORS
    if args.fail_on is not None and result.highest is not None and result.highest >= args.fail_on:
        return EXIT_ALERTS
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "scan":
            return run_scan(args)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CLEAN
    except KeyboardInterrupt:
        sys.stderr.write("trailguard: interrupted\n")
        return 130
    return EXIT_ERRORS
