"""`trailguard backfill s3://BUCKET/PREFIX`: an archive's log files sent to the function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_DONE = 0
EXIT_ERRORS = 2


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "backfill",
        help="send the CloudTrail log files of an S3 archive to the function's SQS queue",
        description=(
            "List the CloudTrail log files under s3://BUCKET/PREFIX for a range of days (UTC, "
            "inclusive) and send one S3 event notification per file to the SQS queue that "
            "triggers the trailguard function, so AWS runs the archive through the rules on "
            "as many function instances as needed. Resumable: a checkpoint file records the "
            "last key sent, and a rerun of the same command continues after it."
        ),
        epilog=(
            "Exit status: 0 done (or nothing left to send), 2 usage or AWS errors (the "
            "checkpoint keeps what was sent: rerun to resume), 130 interrupted. "
            "Details: docs/backfill.md."
        ),
    )
    parser.add_argument("url", metavar="s3://BUCKET/PREFIX", help="the trail's bucket and prefix")
    parser.add_argument(
        "--since", required=True, metavar="YYYY-MM-DD", help="first day to send (UTC, inclusive)"
    )
    parser.add_argument(
        "--until", metavar="YYYY-MM-DD", help="last day to send (UTC, inclusive; default today)"
    )
    parser.add_argument(
        "--queue",
        metavar="URL",
        help="URL of the SQS queue that triggers the function (not needed with --dry-run)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="checkpoint file (default: .trailguard-backfill-<hash>.json in the current folder, "
        "one per bucket, prefix and range)",
    )
    parser.add_argument(
        "--restart", action="store_true", help="ignore the checkpoint and send everything again"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list and count the log files; send nothing"
    )
    parser.add_argument(
        "--senders",
        type=int,
        default=4,
        metavar="N",
        help="batches of ten sent at once (1-32, default 4)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="progress lines on stderr even when it is not a terminal (a terminal always has)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="report each key skipped (not a log file)"
    )
    parser.set_defaults(handler=run)


def _error(message: str) -> int:
    sys.stderr.write(f"trailguard: error: {message}\n")
    return EXIT_ERRORS


def _where(sent_now: int, sent_in_all: int, checkpoint: Path) -> str:
    """Where a stopped backfill is, and how to go on."""
    if not sent_in_all:
        return "nothing was sent; fix the problem above and run the command again"
    return (
        f"{sent_now:,} log files sent in this run, {sent_in_all:,} in all; the checkpoint "
        f"{checkpoint} keeps the place: run the same command again to resume"
    )


def run(args: argparse.Namespace) -> int:
    from trailguard.backfill import (
        Backfill,
        BackfillError,
        BackfillPlan,
        Queue,
        StderrProgress,
        default_checkpoint,
        size_text,
    )
    from trailguard.sources.s3_listing import DayRange, S3Location

    try:
        location = S3Location.parse(args.url)
        days = DayRange.parse(args.since, args.until, until_today=True)
        queue = Queue.parse(args.queue) if args.queue else None
    except ValueError as exc:
        return _error(str(exc))
    if queue is None and not args.dry_run:
        return _error("--queue URL is required (the SQS queue that triggers the function)")
    if not 1 <= args.senders <= 32:
        return _error(f"--senders {args.senders}: give 1 to 32")
    checkpoint = Path(args.checkpoint) if args.checkpoint else default_checkpoint(location, days)
    plan = BackfillPlan(location, days, queue, checkpoint, args.restart, args.dry_run)

    def report_skip(url: str, reason: str) -> None:
        if args.verbose:
            sys.stderr.write(f"trailguard: skipped: {url}: {reason}\n")

    progress = StderrProgress(sys.stderr, enabled=args.progress or sys.stderr.isatty())
    try:
        backfill = Backfill(plan, progress=progress, senders=args.senders, on_skip=report_skip)
    except BackfillError as exc:
        return _error(str(exc))
    stats = backfill.stats
    point = backfill.checkpoint
    out = sys.stderr
    if stats.already_complete:
        out.write(
            f"trailguard: backfill {plan.label} is already complete ({point.sent:,} log files "
            f"sent; checkpoint {checkpoint}); pass --restart to send it again\n"
        )
        return EXIT_DONE
    if point.last_key:
        out.write(
            f"trailguard: resuming after s3://{location.bucket}/{point.last_key} "
            f"({point.sent:,} log files sent before; --restart starts over)\n"
        )
    try:
        backfill.run()
    except BackfillError as exc:
        _error(str(exc))
        if not args.dry_run:
            out.write(f"trailguard: {_where(stats.sent, point.sent, checkpoint)}\n")
        return EXIT_ERRORS
    except KeyboardInterrupt:
        if not args.dry_run:
            out.write(f"trailguard: {_where(stats.sent, point.sent, checkpoint)}\n")
        raise
    skipped = ", ".join(f"{reason}: {n:,}" for reason, n in sorted(stats.skipped.items()))
    if args.dry_run:
        done = f"would send {stats.listed:,} log files ({size_text(stats.listed_bytes)})"
    else:
        done = f"sent {stats.sent:,} log files ({size_text(stats.sent_bytes)}) to {plan.queue}"
    before = f" after {stats.sent_before:,} sent before" if stats.sent_before else ""
    if args.dry_run:
        ending = "dry run, nothing sent"
    elif stats.listed or stats.sent_before:
        ending = f"checkpoint {checkpoint}"
    else:
        ending = "no log files in the range, no checkpoint written"
    out.write(
        f"trailguard: backfill {plan.label}: {done}{before}, from {stats.folders:,} folder(s)"
        + (f"; skipped {skipped}" if skipped else "")
        + f"; {ending}\n"
    )
    if stats.folders == 0:
        out.write(
            f"trailguard: warning: no CloudTrail region folders under {location.url}; check "
            "the bucket and prefix (CloudTrail writes [PREFIX/]AWSLogs/ACCOUNT/CloudTrail/...)\n"
        )
    return EXIT_DONE
