"""Parallel `trailguard scan`: local files decoded and screened in worker processes.

Only the work that does not depend on order runs in workers: reading and decoding a file,
the rule packs, the stateless `Detector.screen`, and the alert of each finding without a
threshold. Everything that does (dedup, thresholds, the tally's messages, the output) stays
in the parent, which receives each file's events in file order whatever order the workers
finish in, so the result is the serial one.

Each worker is sent file names over its own pipe, two at a time so that it never waits
for the next, scans them in order and answers in chunks, so a large file streams to the
parent instead of being held whole. A worker that raises or dies is an error naming the
file; workers ignore Ctrl-C and the parent stops them.
"""

from __future__ import annotations

import contextlib
import gc
import io
import multiprocessing
import signal
import sys
import threading
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import TYPE_CHECKING, Literal, NamedTuple

import orjson

from trailguard.alerts import Alert, build_alert
from trailguard.model import Finding, Severity
from trailguard.pipeline import dedup_key
from trailguard.tally import InputTally, Problem

if TYPE_CHECKING:
    from multiprocessing.context import ForkContext, SpawnContext  # no ForkContext on Windows

    from trailguard.commands.setup import Setup
    from trailguard.pipeline import Detector

CHUNK = 2000
"""Events a worker sends at once: large enough to amortise the pipe, small enough to stream."""
AHEAD = 4
"""Files in flight per worker beyond the one the parent is writing: bounds what is buffered."""
QUEUED = 2
"""Files handed to a worker at once: it starts the next as soon as it sent the last chunk
of one, instead of idling until the parent has read that chunk and sent another name."""
TICK = 0.2
"""Seconds the parent waits for workers before it refreshes the progress line."""
StartMethod = Literal["fork", "spawn"]
STOP_GRACE = 5.0
"""Seconds idle workers get to exit on their own before they are terminated."""


class Screened(NamedTuple):
    """A finding without a threshold, screened and built into its alert by a worker.

    The parent needs only its alert id to admit it (dedup), its rule and severity for the
    summary, and the alert if it is to be shown (None below --min-severity).
    """

    key: str
    rule_id: str
    severity: Severity
    alert: Alert | bytes | None
    """bytes: a JSON line, newline included, for a writer of JSON lines (`encode_alerts`)."""


FileEvent = Problem | Screened | Finding
"""In input order: a skip or error for the tally, or a finding for `Detector.admit`
(threshold rules: the full finding, as admitting it needs the record)."""


class Chunk(NamedTuple):
    """Part of one file's events, with what was counted since the previous chunk."""

    records: int
    suppressed: Counter[str]
    events: list[FileEvent]
    last: bool


class _Failure(NamedTuple):
    summary: str
    detail: str


class WorkerError(Exception):
    """A worker failed or died on a file; `detail` holds the worker's traceback, if any."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What each worker builds its detector from: the same configuration and rules."""

    config_path: str | None
    rule_paths: tuple[str, ...]
    min_severity: Severity
    encode_alerts: bool = False
    """Send alerts as JSON: far cheaper for the parent to write than a dict to unpickle."""
    setup: Setup | None = None
    """The parent's loaded setup: inherited as is by forked workers, never pickled."""


# --- the worker side ---------------------------------------------------------------------


class FileScanner:
    """One worker's detector, built once: a file in, its events out in chunks."""

    def __init__(self, spec: WorkerSpec) -> None:
        from trailguard.engine import Engine
        from trailguard.pipeline import Detector

        setup = spec.setup if spec.setup is not None else _load_quietly(spec)
        # The configured state store is the parent's: screening needs none.
        self.detector: Detector = Detector(Engine(setup.loaded.packs), setup.config)
        self.min_severity = spec.min_severity
        self.encode = spec.encode_alerts

    def chunks(self, name: str) -> Iterator[Chunk]:
        from trailguard.sources import Decoder, read_local

        detector = self.detector
        events: list[FileEvent] = []
        tally = InputTally(listener=events.append)
        counted = 0

        def chunk(last: bool) -> Chunk:
            nonlocal events, counted
            out = Chunk(tally.records - counted, detector.suppressed, events, last)
            counted = tally.records
            detector.suppressed = Counter()
            events = []
            tally.listener = events.append
            return out

        detector.suppressed = Counter()
        for finding in detector.engine.run(read_local([name], Decoder(tally)), tally):
            screened = detector.screen(finding)
            if screened is not None:
                events.append(self._event(screened))
            if len(events) >= CHUNK:
                yield chunk(last=False)
        yield chunk(last=True)

    def _event(self, finding: Finding) -> FileEvent:
        if finding.threshold is not None:
            return finding  # admitting it needs the record (its group, its time)
        key = dedup_key(finding)  # what Detector.admit_id takes
        alert: Alert | bytes | None = None
        if finding.severity >= self.min_severity:
            alert = build_alert(finding)
            if self.encode:
                with contextlib.suppress(TypeError):  # not JSON: the writer will say so
                    alert = orjson.dumps(alert, option=orjson.OPT_APPEND_NEWLINE)
        return Screened(key, finding.rule_id, finding.severity, alert)


def _load_quietly(spec: WorkerSpec) -> Setup:
    """The setup loaded again (spawned workers); its warnings were printed by the parent."""
    from trailguard.commands.setup import load_setup

    with contextlib.redirect_stderr(io.StringIO()):
        return load_setup(spec.config_path, list(spec.rule_paths))


def _worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """A worker's life: build the scanner, then scan what the parent sends until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    scanner: FileScanner | None = None
    failure: _Failure | None = None
    try:
        scanner = FileScanner(spec)
    except Exception as exc:
        failure = _Failure(f"cannot load the rules: {type(exc).__name__}: {exc}", _trace())
    gc.freeze()  # the rules live as long as the process: keep them out of collections
    while True:
        try:
            task: tuple[int, str] | None = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if task is None:
            return
        index, name = task
        try:
            if scanner is None:
                assert failure is not None
                conn.send((index, failure))
                continue
            for part in scanner.chunks(name):
                conn.send((index, part))
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:
            conn.send((index, _Failure(f"{type(exc).__name__}: {exc}", _trace())))


def _trace() -> str:
    return traceback.format_exc()


# --- the parent side ---------------------------------------------------------------------


def default_start_method() -> StartMethod:
    """fork where it is safe (cheap, workers inherit the loaded rules), else spawn.

    Forking a process that runs other threads can copy a lock held by one of them, so a
    parent with threads (an embedding program, a test runner) spawns fresh interpreters.
    """
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection
    tasks: deque[tuple[int, str]] = field(default_factory=deque)
    """The files sent to it, in order: it scans the first now."""


class WorkerPool:
    """`jobs` worker processes scanning files; `chunks` yields their events in file order.

    Use it as a context manager: leaving it normally lets workers exit, leaving it by an
    exception (an error, Ctrl-C, a closed stdout) terminates them at once.
    """

    def __init__(
        self, jobs: int, spec: WorkerSpec, start_method: StartMethod | None = None
    ) -> None:
        context: SpawnContext | ForkContext
        if (start_method or default_start_method()) == "fork":
            context = multiprocessing.get_context("fork")
        else:
            context = multiprocessing.get_context("spawn")
            spec = replace(spec, setup=None)  # loaded again from the paths in each worker
        for stream in (sys.stdout, sys.stderr):  # a forked child must not write them again
            stream.flush()
        self.workers: list[_Worker] = []
        try:
            for number in range(jobs):
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=_worker_main,
                    args=(theirs, spec),
                    name=f"trailguard-scan-{number + 1}",
                    daemon=True,
                )
                process.start()
                theirs.close()
                self.workers.append(_Worker(process, ours))
        except BaseException:
            self.terminate()
            raise

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.terminate()

    def chunks(self, names: Sequence[str], tick: Callable[[], None]) -> Iterator[Chunk]:
        """Every chunk of every file, file after file; `tick` is called while waiting."""
        buffered: dict[int, list[Chunk]] = {}
        failed: dict[int, WorkerError] = {}
        head = 0  # the file whose events go out now
        assigned = 0
        while head < len(names):
            limit = min(len(names), head + AHEAD * len(self.workers))
            for worker in list(self.workers):
                while len(worker.tasks) < QUEUED and assigned < limit:
                    sent = self._assign(worker, assigned, names[assigned], failed)
                    assigned += 1
                    if not sent:
                        break
            waiting = buffered.get(head)
            if waiting:
                while waiting:
                    part = waiting.pop(0)
                    yield part
                    if part.last:
                        del buffered[head]
                        head += 1
                        break
                continue
            if head in failed:
                raise failed.pop(head)
            busy = [w for w in self.workers if w.tasks]
            if not busy:
                raise WorkerError(
                    f"no worker process is left to scan {names[head]}; run again with --jobs 1"
                )
            self._receive(busy, buffered, failed, tick)

    def _assign(
        self, worker: _Worker, index: int, name: str, failed: dict[int, WorkerError]
    ) -> bool:
        """Send `name` to `worker`; False if it has died (the file is then failed)."""
        try:
            worker.conn.send((index, name))
        except OSError:  # it died while idle
            failed[index] = self._died(worker, f"before it could scan {name}")
            return False
        worker.tasks.append((index, name))
        return True

    def _receive(
        self,
        busy: list[_Worker],
        buffered: dict[int, list[Chunk]],
        failed: dict[int, WorkerError],
        tick: Callable[[], None],
    ) -> None:
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], TICK)
        if not ready:
            tick()
            return
        for worker in busy:
            index, name = worker.tasks[0]
            if worker.conn in ready or worker.conn.poll():
                try:
                    got, message = worker.conn.recv()
                except (EOFError, OSError):
                    self._lost(worker, failed)
                    continue
                assert got == index, (got, index)  # a worker answers for its files in order
                if isinstance(message, _Failure):
                    failed[index] = WorkerError(
                        f"scanning {name} failed in a worker process: {message.summary}; "
                        "run again with --jobs 1 to see where (and please report it)",
                        message.detail,
                    )
                    worker.tasks.popleft()
                    continue
                buffered.setdefault(index, []).append(message)
                if message.last:
                    worker.tasks.popleft()
            elif worker.process.sentinel in ready:
                self._lost(worker, failed)

    def _lost(self, worker: _Worker, failed: dict[int, WorkerError]) -> None:
        """A worker died: the file it was scanning fails, and so do those queued after it."""
        (index, name), *queued = worker.tasks
        failed[index] = self._died(worker, f"while scanning {name}")
        for later, other in queued:
            failed[later] = WorkerError(
                f"{other} was not scanned: the worker process it was queued for stopped "
                f"while scanning {name}; run again with fewer --jobs, or --jobs 1"
            )

    def _died(self, worker: _Worker, when: str) -> WorkerError:
        """Drop a dead worker; the error names the file it was reading (`when`)."""
        worker.process.join(timeout=STOP_GRACE)
        code = worker.process.exitcode
        worker.conn.close()
        self.workers.remove(worker)
        if code is None:
            how = "stopped"
        elif code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"stopped with status {code}"
        return WorkerError(
            f"a worker process {how} {when} (out of memory?); "
            "run again with fewer --jobs, or --jobs 1"
        )

    def close(self) -> None:
        """Let idle workers exit; terminate any that do not."""
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self.workers:
            worker.process.join(timeout=STOP_GRACE)
        self.terminate()

    def terminate(self) -> None:
        """Stop every worker now (an error, Ctrl-C): their work is not wanted any more."""
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in self.workers:
            worker.process.join(timeout=STOP_GRACE)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.workers.clear()
