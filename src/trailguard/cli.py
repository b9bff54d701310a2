"""The `trailguard` command: argument parsing and dispatch to `trailguard.commands`.

Exit status (docs/cli.md): 0 clean; 1 a finding at or above `--fail-on` (or a failing rule
test); 2 a usage error, bad configuration or rules, or input that could not be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from trailguard import __version__
from trailguard.model import SEVERITY_LABELS, Severity

EXIT_CLEAN = 0
EXIT_ALERTS = 1
EXIT_ERRORS = 2


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    from trailguard.commands import backfill, explain, rules, scan

    parser = argparse.ArgumentParser(
        prog="trailguard",
        description="Watch AWS CloudTrail and alert on infrastructure changes that matter.",
    )
    parser.add_argument("--version", action="version", version=f"trailguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    scanner = commands.add_parser(
        "scan",
        help="scan CloudTrail files, folders or stdin",
        description=(
            "Scan CloudTrail data: log files (plain or gzipped), CloudWatch Logs subscription "
            "payloads, EventBridge events, SQS/SNS/Kinesis wrappers, JSON lines, arrays or "
            "single records. Formats are recognised from the content. Folders are read "
            "recursively; '-' reads stdin; s3://BUCKET/PREFIX reads a trail's log files."
        ),
        epilog="Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or input errors.",
    )
    scanner.add_argument(
        "paths", nargs="+", metavar="PATH", help="file, folder, s3://BUCKET/PREFIX, or - for stdin"
    )
    scanner.add_argument(
        "--format",
        choices=("table", "jsonl", "json"),
        default="table",
        help="table (default), jsonl (one alert per line), or json (one document)",
    )
    scanner.add_argument(
        "--min-severity",
        type=_severity,
        default=Severity.INFO,
        metavar="SEVERITY",
        help=f"show alerts at or above this severity ({', '.join(SEVERITY_LABELS)}; default info)",
    )
    scanner.add_argument(
        "--fail-on",
        type=_severity,
        default=None,
        metavar="SEVERITY",
        help="exit 1 if any finding is at or above this severity (for CI pipelines)",
    )
    scanner.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour severities: auto (a terminal, NO_COLOR unset), always or never",
    )
    scanner.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also report each skipped input (control messages, digests, non-CloudTrail data)",
    )
    scan.add_parallel_options(scanner)
    scan.add_s3_options(scanner)
    scan.add_delivery_option(scanner)
    rules.add_common(scanner)
    scanner.set_defaults(handler=scan.run)

    rules.add_parser(commands)

    explainer = commands.add_parser(
        "explain",
        help="show, per record, which rules matched, which did not, and why",
    )
    explainer.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    explainer.add_argument("--rule", metavar="ID", help="explain this one rule for every record")
    rules.add_common(explainer)
    explainer.set_defaults(handler=explain.run)

    backfill.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from trailguard.commands.setup import SetupError
    from trailguard.state import StateError

    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
        return status
    except (SetupError, StateError) as exc:
        sys.stderr.write(f"trailguard: error: {exc}\n")
        return EXIT_ERRORS
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CLEAN
    except KeyboardInterrupt:
        sys.stderr.write("trailguard: interrupted\n")
        return 130
