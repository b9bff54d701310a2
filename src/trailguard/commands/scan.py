"""`trailguard scan`: alerts for local CloudTrail data, or a trail's log files in S3."""

from __future__ import annotations

import argparse
import os
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


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as in a container), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # no sched_getaffinity (macOS, Windows)
        return os.cpu_count() or 1


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number, 1 or more")
    return jobs


def add_parallel_options(scanner: Any) -> None:
    """--jobs and --progress: how many processes read local files, and what they show."""
    cpus = available_cpus()
    scanner.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=cpus,
        metavar="N",
        help=(
            f"worker processes reading local files (default: the {cpus} CPUs this process may "
            "use); stdin and s3:// paths are read by the main process; the alerts, their "
            "order and the summary are the same for any N, and --jobs 1 uses no workers"
        ),
    )
    scanner.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "a progress line on stderr (files, records, records/s, alerts, elapsed); by "
            "default shown only when stderr is a terminal"
        ),
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
    from trailguard.output.progress import NoProgress, Progress, ProgressLine
    from trailguard.output.style import wants_colour
    from trailguard.output.table import TableWriter
    from trailguard.parallel import WorkerError, WorkerSpec
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
    progress: Progress = NoProgress()
    terminal = sys.stderr.isatty()
    if args.progress or (args.progress is None and terminal):
        shares = terminal and sys.stdout.isatty()
        progress = ProgressLine(sys.stderr, terminal=terminal, shares_output=shares)

    def report(problem: Problem) -> None:
        progress.clear()
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
    workers = WorkerSpec(args.config, tuple(args.rules or ()), args.min_severity, setup=setup)
    try:
        result = scan_paths(
            args.paths,
            detector,
            writer,
            tally,
            args.min_severity,
            days,
            jobs=args.jobs,
            workers=workers,
            progress=progress,
        )
    except DeliveryError as exc:
        progress.clear()
        sys.stderr.write(f"trailguard: error: {exc}; nothing was remembered, run again\n")
        return EXIT_ERRORS
    except WorkerError as exc:
        progress.clear()
        if args.verbose and exc.detail:
            sys.stderr.write(exc.detail)
        sys.stderr.write(f"trailguard: error: {exc}\n")
        return EXIT_ERRORS
    except BaseException:
        progress.clear()  # Ctrl-C, a closed stdout: leave the terminal on a clean line
        raise
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
