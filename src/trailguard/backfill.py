"""Backfill: the CloudTrail log files of an S3 archive, sent to the function's SQS queue.

One message per log file, shaped like the S3 event notification S3 itself would have sent,
so the function reads it on the path it already has (SQS -> S3 notification -> object) and
AWS spreads the archive over as many function instances as the queue's trigger allows.
Batches of ten go out on a few threads; a checkpoint records the last key of the contiguous
run of batches SQS accepted, written atomically after each batch, so a rerun resumes there.
Re-sent objects are harmless (the function drops duplicate alerts); resuming saves the cost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import quote_plus

import orjson

from trailguard import aws
from trailguard.delivery import RetryPolicy
from trailguard.sources.s3_listing import (
    CloudTrailListing,
    DayRange,
    ListedObject,
    ListingError,
    S3Location,
)

ATTRIBUTE = "trailguard-backfill"
"""Message attribute naming the backfill a message came from (location and day range)."""
BATCH = 10
"""SendMessageBatch's limit."""
CHECKPOINT_VERSION = 1
MAX_SENDERS = 32

_QUEUE_URL = re.compile(r"https?://([^/\s]+)/(\d{12})/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?\Z")
_QUEUE_HOST = re.compile(r"(?:sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|([a-z0-9-]+)\.queue\.)")
_QUEUE_ARN = re.compile(r"arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):(.+)\Z")


class BackfillError(Exception):
    """A backfill that stopped; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Queue:
    """The function's SQS queue, from its URL."""

    url: str
    account: str
    name: str
    region: str | None

    @classmethod
    def parse(cls, text: str) -> Queue:
        text = text.strip()
        arn = _QUEUE_ARN.match(text)
        if arn:
            region, account, name = arn.groups()
            raise ValueError(
                f"--queue takes the queue URL, not its ARN: "
                f"https://sqs.{region}.amazonaws.com/{account}/{name}"
            )
        match = _QUEUE_URL.match(text)
        if match is None:
            hint = (
                f"`aws sqs get-queue-url --queue-name {text}` prints it"
                if "/" not in text
                else "it looks like https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"
            )
            raise ValueError(f"--queue {text!r} is not an SQS queue URL; {hint}")
        host, account, name = match.groups()
        found = _QUEUE_HOST.match(host)
        region = (found.group(1) or found.group(2)) if found else None
        return cls(text.rstrip("/"), account, name, region)

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    def __str__(self) -> str:
        return self.url

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{self.region or 'REGION'}:{self.account}:{self.name}"


def notification(bucket: str, obj: ListedObject) -> str:
    """The S3 event notification S3 sends for a new object; the key URL-encoded as S3 does."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": bucket},
            "object": {"key": quote_plus(obj.key, safe="/"), "size": obj.size},
        },
    }
    return orjson.dumps({"Records": [record]}).decode()


# --- the checkpoint -------------------------------------------------------------------


@dataclass(slots=True)
class Checkpoint:
    """Where a backfill got to: the last key of the batches SQS accepted, in listing order."""

    bucket: str
    prefix: str
    since: str
    until: str
    queue_url: str = ""
    last_key: str | None = None
    last_day: str = ""
    sent: int = 0
    sent_bytes: int = 0
    complete: bool = False
    updated: str = ""

    @classmethod
    def new(cls, location: S3Location, days: DayRange, queue_url: str) -> Checkpoint:
        return cls(location.bucket, location.prefix, str(days.since), str(days.until), queue_url)

    def same_backfill(self, other: Checkpoint) -> bool:
        fields = ("bucket", "prefix", "since", "until")
        return all(getattr(self, name) == getattr(other, name) for name in fields)

    @property
    def describes(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} {self.since}..{self.until}"

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError) as exc:
            raise BackfillError(
                f"cannot read the checkpoint {path}: {exc}; fix or delete it, or pass --restart"
            ) from None
        if not isinstance(data, dict) or data.get("version") != CHECKPOINT_VERSION:
            raise BackfillError(
                f"{path} is not a trailguard backfill checkpoint (version {CHECKPOINT_VERSION}); "
                "delete it or pass --restart"
            )
        data.pop("version")
        try:
            return cls(**data)
        except TypeError as exc:
            raise BackfillError(f"checkpoint {path} is damaged ({exc}); pass --restart") from None

    def save(self, path: Path) -> None:
        """Atomically: a reader (or a crash) sees the old file or the new one, never half."""
        self.updated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        data = orjson.dumps(
            {"version": CHECKPOINT_VERSION, **asdict(self)}, option=orjson.OPT_INDENT_2
        )
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            partial.write_bytes(data + b"\n")
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise BackfillError(
                f"cannot write the checkpoint {path}: {exc.strerror or exc}; "
                "choose a writable place with --checkpoint"
            ) from None


def default_checkpoint(location: S3Location, days: DayRange, folder: Path | None = None) -> Path:
    """`.trailguard-backfill-<hash>.json` in the current folder, one per bucket/prefix/range."""
    identity = f"{location.bucket}\n{location.prefix}\n{days.since}\n{days.until}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return (folder or Path.cwd()) / f".trailguard-backfill-{digest}.json"


# --- sending --------------------------------------------------------------------------


class SendError(BackfillError):
    """SQS did not take a batch after its retries."""


class BatchSender:
    """SendMessageBatch with retries: whole calls that may pass later, and failed entries."""

    def __init__(
        self, queue: Queue, label: str, *, sqs: Any | None = None, policy: RetryPolicy
    ) -> None:
        self.queue = queue
        self.label = label
        self.policy = policy
        self._sqs = sqs

    def entries(self, bucket: str, batch: Sequence[ListedObject]) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        for index, obj in enumerate(batch):
            entry: dict[str, Any] = {
                "Id": str(index),
                "MessageBody": notification(bucket, obj),
                "MessageAttributes": {ATTRIBUTE: {"DataType": "String", "StringValue": self.label}},
            }
            if self.queue.fifo:
                folder = obj.key.rpartition("/")[0]
                entry["MessageGroupId"] = (
                    folder if len(folder) <= 128 else hashlib.sha256(folder.encode()).hexdigest()
                )
                entry["MessageDeduplicationId"] = hashlib.sha256(
                    f"{bucket}/{obj.key}".encode()
                ).hexdigest()
            entries[entry["Id"]] = entry
        return entries

    def send(self, bucket: str, batch: Sequence[ListedObject]) -> None:
        """Send the batch or raise SendError; entries SQS refused are retried on their own."""
        client = aws.client("sqs", self._sqs, self.queue.region)
        pending = self.entries(bucket, batch)
        problem = ""
        for attempt in range(self.policy.attempts):
            if attempt:
                self.policy.sleep(self.policy.delay(attempt - 1, None))
            try:
                response = client.send_message_batch(
                    QueueUrl=self.queue.url, Entries=list(pending.values())
                )
            except Exception as exc:
                problem = self.explain(exc)
                if isinstance(exc, aws.AwsUnavailableError) or not aws.is_transient(exc):
                    raise SendError(problem) from None
                continue
            failed = response.get("Failed") or []
            refused = [f for f in failed if f.get("SenderFault")]
            if refused:
                first = refused[0]
                raise SendError(
                    f"SQS refused {len(refused)} message(s) for {self.queue.url}: "
                    f"{first.get('Code')}: {first.get('Message')}"
                )
            pending = {f["Id"]: pending[f["Id"]] for f in failed if f.get("Id") in pending}
            if not pending:
                return
            problem = "; ".join(sorted({f"{f.get('Code')}: {f.get('Message')}" for f in failed}))
        keys = ", ".join(batch[int(i)].key for i in list(pending)[:3])
        raise SendError(
            f"{len(pending)} message(s) not accepted by {self.queue.url} after "
            f"{self.policy.attempts} attempts ({keys}): {problem}"
        )

    def explain(self, exc: Exception) -> str:
        """A send failure as what to do next."""
        if isinstance(exc, aws.AwsUnavailableError):
            return str(exc)
        name = type(exc).__name__
        if name in {"NoCredentialsError", "PartialCredentialsError"}:
            return "cannot send to SQS: no AWS credentials found; configure them (aws configure)"
        response = getattr(exc, "response", None)
        error = response.get("Error", {}) if isinstance(response, dict) else {}
        code = str(error.get("Code", name))
        detail = str(error.get("Message") or exc)
        url = self.queue.url
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            return (
                f"queue {url} does not exist (or is in another account or region); check "
                "--queue: `aws sqs get-queue-url --queue-name NAME` prints the URL"
            )
        if code.startswith("KMS"):
            return (
                f"cannot send to {url}: {code}: {detail}; the queue is encrypted with a KMS key: "
                "the caller needs kms:GenerateDataKey and kms:Decrypt on it"
            )
        if code in {"AccessDenied", "AccessDeniedException"}:
            return (
                f"cannot send to {url}: access denied; the caller needs sqs:SendMessage on "
                f"{self.queue.arn} (and the queue policy must allow it)"
            )
        if code in {"InvalidAddress", "InvalidSecurity"}:
            return (
                f"cannot send to {url}: {code}: {detail}; check --queue "
                "(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"
            )
        if aws.is_transient(exc):
            return f"cannot send to {url}: {code}: {detail} (SQS busy or unreachable)"
        return f"cannot send to {url}: {code}: {detail}"


# --- progress -------------------------------------------------------------------------


@dataclass(slots=True)
class BackfillStats:
    """What a backfill has listed and sent so far; progress lines and the summary read it."""

    listed: int = 0
    listed_bytes: int = 0
    sent: int = 0
    sent_bytes: int = 0
    sent_before: int = 0
    """Objects sent by earlier runs of this backfill (from the checkpoint)."""
    skipped: Counter[str] = field(default_factory=Counter)
    day: str = ""
    folder: str = ""
    folder_number: int = 0
    folders: int = 0
    started: float = field(default_factory=time.monotonic)
    already_complete: bool = False


class ProgressReport(Protocol):
    def update(self, stats: BackfillStats) -> None: ...

    def done(self, stats: BackfillStats) -> None: ...


def size_text(count: float) -> str:
    """Bytes for people: 512 B, 62.3 KiB, 1.2 GiB."""
    if count < 1024:
        return f"{count:.0f} B"
    units = ("KiB", "MiB", "GiB", "TiB")
    step = 0
    count /= 1024
    while count >= 1024 and step < len(units) - 1:
        count /= 1024
        step += 1
    return f"{count:.1f} {units[step]}"


class StderrProgress:
    """A progress line at most every `interval` seconds; rewritten in place on a terminal."""

    def __init__(
        self,
        stream: TextIO = sys.stderr,
        *,
        enabled: bool,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.interval = interval
        self.clock = clock
        self.terminal = stream.isatty()
        self._last = clock()
        self._shown = False

    def update(self, stats: BackfillStats) -> None:
        now = self.clock()
        if not self.enabled or now - self._last < self.interval:
            return
        self._last = now
        line = progress_line(stats)
        if self.terminal:
            self.stream.write(f"\r\x1b[K{line}")
        else:
            self.stream.write(f"{line}\n")
        self.stream.flush()
        self._shown = True

    def done(self, stats: BackfillStats) -> None:
        if self._shown and self.terminal:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def progress_line(stats: BackfillStats) -> str:
    elapsed = max(time.monotonic() - stats.started, 1e-9)
    return (
        f"trailguard: backfill: {stats.listed:,} listed ({size_text(stats.listed_bytes)}), "
        f"{stats.sent:,} sent ({size_text(stats.sent_bytes)}), {stats.sent / elapsed:,.0f}/s; "
        f"day {stats.day or '-'}; folder {stats.folder_number}/{stats.folders} {stats.folder}"
    )


# --- the run --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    """What to send where: the command line's choices (`queue` may be None for a dry run)."""

    location: S3Location
    days: DayRange
    queue: Queue | None
    checkpoint: Path
    restart: bool = False
    dry_run: bool = False

    @property
    def label(self) -> str:
        return f"{self.location.url} {self.days}"


class _NoProgress:
    def update(self, stats: BackfillStats) -> None:
        return None

    def done(self, stats: BackfillStats) -> None:
        return None


@dataclass(slots=True)
class _InFlight:
    future: Future[None]
    batch: list[ListedObject]


class Backfill:
    """Lists a plan's log files and sends them, `senders` batches at a time, resumably."""

    def __init__(
        self,
        plan: BackfillPlan,
        *,
        s3: Any | None = None,
        sqs: Any | None = None,
        policy: RetryPolicy | None = None,
        progress: ProgressReport | None = None,
        senders: int = 4,
        window: int | None = None,
        on_skip: Callable[[str, str], None] | None = None,
    ) -> None:
        if not plan.dry_run and plan.queue is None:
            raise ValueError("a backfill that sends needs a queue")
        self.plan = plan
        self.stats = BackfillStats()
        self.progress = progress or _NoProgress()
        self.senders = max(1, min(senders, MAX_SENDERS))
        self.window = max(1, window or 2 * self.senders)
        """Batches in flight at most: listing waits for the oldest beyond this."""
        self._s3 = s3
        self._on_skip = on_skip
        self._sender = (
            BatchSender(plan.queue, plan.label, sqs=sqs, policy=policy or RetryPolicy())
            if plan.queue is not None and not plan.dry_run
            else None
        )
        self.checkpoint = self._start()

    def _start(self) -> Checkpoint:
        plan = self.plan
        fresh = Checkpoint.new(plan.location, plan.days, plan.queue.url if plan.queue else "")
        if plan.restart:
            return fresh
        found = Checkpoint.load(plan.checkpoint)
        if found is None:
            return fresh
        if not found.same_backfill(fresh):
            raise BackfillError(
                f"the checkpoint {plan.checkpoint} is for another backfill ({found.describes}); "
                "give this one its own --checkpoint, or pass --restart to overwrite it"
            )
        self.stats.sent_before = found.sent
        self.stats.already_complete = found.complete
        return found

    def run(self) -> BackfillStats:
        """List and send; raises BackfillError (checkpoint saved) if it cannot go on."""
        stats = self.stats
        if stats.already_complete:
            return stats
        listing = CloudTrailListing(
            self.plan.location,
            self.plan.days,
            s3=self._s3,
            start_after=self.checkpoint.last_key,
            on_skip=self._skipped,
        )
        try:
            if self._sender is None:
                self._count(listing)
            else:
                self._send(listing, self._sender)
        except ListingError as exc:
            raise BackfillError(str(exc)) from None
        finally:
            self.progress.done(stats)
        if self._sender is not None and (stats.listed or self.checkpoint.sent):
            self.checkpoint.complete = True  # (nothing found: no checkpoint, a rerun lists again)
            self.checkpoint.save(self.plan.checkpoint)
        return stats

    def _skipped(self, url: str, reason: str) -> None:
        self.stats.skipped[reason] += 1
        if self._on_skip is not None:
            self._on_skip(url, reason)

    def _listed(self, listing: CloudTrailListing, obj: ListedObject) -> None:
        stats = self.stats
        stats.listed += 1
        stats.listed_bytes += obj.size
        stats.day = obj.day
        stats.folders = len(listing.folders)
        if listing.folder != stats.folder:
            stats.folder = listing.folder
            stats.folder_number = listing.folders.index(listing.folder) + 1

    def _count(self, listing: CloudTrailListing) -> None:
        for obj in listing:
            self._listed(listing, obj)
            self.progress.update(self.stats)
        self.stats.folders = len(listing.folders)

    def _send(self, listing: CloudTrailListing, sender: BatchSender) -> None:
        inflight: deque[_InFlight] = deque()
        bucket = self.plan.location.bucket
        with ThreadPoolExecutor(self.senders, thread_name_prefix="trailguard-send") as pool:
            try:
                batch: list[ListedObject] = []
                for obj in listing:
                    self._listed(listing, obj)
                    batch.append(obj)
                    if len(batch) == BATCH:
                        inflight.append(_InFlight(pool.submit(sender.send, bucket, batch), batch))
                        batch = []
                        self._settle(inflight, keep=self.window - 1)
                    self.progress.update(self.stats)
                if batch:
                    inflight.append(_InFlight(pool.submit(sender.send, bucket, batch), batch))
                self.stats.folders = len(listing.folders)
                self._settle(inflight, keep=0)
            except BaseException:
                # Stopping (an error, Ctrl-C): let running batches finish, keep what SQS took.
                for item in inflight:
                    item.future.cancel()
                wait([item.future for item in inflight])
                self._advance_done(inflight)
                raise

    def _settle(self, inflight: deque[_InFlight], keep: int) -> None:
        """Wait for the oldest batches until at most `keep` are in flight; checkpoint each."""
        while len(inflight) > keep or (inflight and inflight[0].future.done()):
            item = inflight[0]
            item.future.result()  # raises SendError: the checkpoint stays before this batch
            inflight.popleft()
            self._record(item.batch)

    def _advance_done(self, inflight: deque[_InFlight]) -> None:
        while inflight:
            future = inflight[0].future
            if future.cancelled() or future.exception() is not None:
                return
            self._record(inflight.popleft().batch)

    def _record(self, batch: list[ListedObject]) -> None:
        size = sum(obj.size for obj in batch)
        self.stats.sent += len(batch)
        self.stats.sent_bytes += size
        checkpoint = self.checkpoint
        checkpoint.last_key = batch[-1].key
        checkpoint.last_day = batch[-1].day
        checkpoint.sent += len(batch)
        checkpoint.sent_bytes += size
        checkpoint.save(self.plan.checkpoint)
        self.progress.update(self.stats)
