"""`trailguard scan`: local input through the engine, with counts for the summary.

Input is read file by file, in the order given (folders expanded, sorted). With more than
one job, local files are decoded and screened in worker processes (`parallel.py`) and their
events admitted here in file order, so any number of jobs gives the serial result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from trailguard.alerts import Alert, build_alert
from trailguard.model import Finding, Severity
from trailguard.output.progress import NoProgress, Progress
from trailguard.pipeline import Detector
from trailguard.sources import Decoder, read_local
from trailguard.sources.files import S3_SCHEME, STDIN, expand_paths
from trailguard.tally import InputTally, Problem

if TYPE_CHECKING:
    from trailguard.parallel import Chunk, WorkerSpec
    from trailguard.sources.s3_listing import DayRange

FINDINGS_PER_TICK = 1024
"""In the serial path, the progress line is offered an update this often within a file."""


class AlertWriter(Protocol):
    """Where the CLI puts alerts as they are found (a table, JSON lines, one JSON document)."""

    def write(self, alert: Alert) -> None: ...

    def finish(self, result: ScanResult) -> None: ...


@runtime_checkable
class JsonAlertWriter(Protocol):
    """A writer that takes alerts already encoded as JSON (parallel workers encode them)."""

    def write_json(self, line: bytes) -> None: ...


@dataclass(slots=True)
class ScanResult:
    """What a scan found and read; drives the summary and the exit status."""

    tally: InputTally
    min_severity: Severity
    shown: int = 0
    by_severity: Counter[Severity] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    highest: Severity | None = None
    detection: dict[str, object] = field(default_factory=dict)
    """Suppressed by allowlists and held below thresholds (Detector.stats)."""

    @property
    def findings(self) -> int:
        return sum(self.by_severity.values())

    @property
    def records(self) -> int:
        return self.tally.records

    def count(self, rule_id: str, severity: Severity) -> bool:
        """Count an alert; True if it is at or above --min-severity, to be shown."""
        self.by_severity[severity] += 1
        self.by_rule[rule_id] += 1
        if self.highest is None or severity > self.highest:
            self.highest = severity
        if severity >= self.min_severity:
            self.shown += 1
            return True
        return False

    def as_dict(self) -> dict[str, object]:
        return {
            "findings": self.findings,
            "alerts_shown": self.shown,
            "min_severity": self.min_severity.label,
            "by_severity": {s.label: self.by_severity[s] for s in reversed(Severity)},
            "by_rule": dict(sorted(self.by_rule.items())),
            **self.detection,
            "input": self.tally.as_dict(),
        }


def input_units(paths: Iterable[str]) -> list[str | Problem]:
    """Every file to read, in order, with a missing path as a Problem at its place."""
    units: list[str | Problem] = []
    capture = InputTally(listener=units.append)
    units.extend(expand_paths(paths, Decoder(capture)))  # errors land in order, as they occur
    return units


def is_local(name: str) -> bool:
    """A local file (workers may read it), not stdin or an S3 prefix (read here, in order)."""
    return name != STDIN and not name.startswith(S3_SCHEME)


def replay(problem: Problem, tally: InputTally) -> None:
    """A problem found elsewhere (a worker, path expansion), counted and reported here."""
    if problem.kind == "invalid":
        tally.error(problem.place, problem.reason, problem.detail)
    else:
        tally.skip(problem.place, problem.reason, problem.detail)


@dataclass(slots=True)
class _Scan:
    """One run: the parent's detector, result, writer and progress line."""

    detector: Detector
    writer: AlertWriter
    result: ScanResult
    progress: Progress
    days: DayRange | None
    files_done: int = 0
    write_json: Callable[[bytes], None] | None = None
    """The writer's `write_json`, if it has one: workers then send alerts encoded."""

    def __post_init__(self) -> None:
        if isinstance(self.writer, JsonAlertWriter):
            self.write_json = self.writer.write_json

    @property
    def tally(self) -> InputTally:
        return self.result.tally

    def show(self, alert: Alert | bytes) -> None:
        self.progress.before_output()
        if isinstance(alert, bytes):
            assert self.write_json is not None  # workers encode only for such a writer
            self.write_json(alert)
        else:
            self.writer.write(alert)

    def admitted(self, finding: Finding) -> None:
        if self.result.count(finding.rule_id, finding.severity):
            self.show(build_alert(finding))

    def read_here(self, name: str) -> None:
        """One file, stdin or S3 prefix read and evaluated in this process."""
        items = read_local([name], Decoder(self.tally), days=self.days)
        for number, finding in enumerate(self.detector.run(items, self.tally), 1):
            self.admitted(finding)
            if number % FINDINGS_PER_TICK == 0:
                self.progress.update(self.files_done)
        self.file_done()

    def merge(self, chunk: Chunk) -> None:
        """A worker's chunk, in input order: problems counted, findings admitted and shown."""
        from trailguard.parallel import Screened

        self.tally.records += chunk.records
        self.detector.suppressed.update(chunk.suppressed)
        admit_id, count, show = self.detector.admit_id, self.result.count, self.show
        for event in chunk.events:
            if isinstance(event, Screened):  # nearly every event
                if admit_id(event.key) and count(event.rule_id, event.severity):
                    assert event.alert is not None  # built for every severity shown
                    show(event.alert)
            elif isinstance(event, Problem):
                replay(event, self.tally)
            else:
                admitted = self.detector.admit(event)
                if admitted is not None:
                    self.admitted(admitted)
        if chunk.last:
            self.file_done()
        else:
            self.progress.update(self.files_done)

    def file_done(self) -> None:
        self.files_done += 1
        self.progress.update(self.files_done)


def scan_paths(
    paths: Iterable[str],
    detector: Detector,
    writer: AlertWriter,
    tally: InputTally,
    min_severity: Severity = Severity.INFO,
    days: DayRange | None = None,
    *,
    jobs: int = 1,
    workers: WorkerSpec | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Decode every path, evaluate every record, hand alerts at or above the floor to `writer`.

    With `jobs` > 1 and `workers` (the same configuration and rules as `detector`), local
    files are read by that many worker processes; stdin and `s3://` paths are read here.
    """
    result = ScanResult(tally, min_severity)
    scan = _Scan(detector, writer, result, progress or NoProgress(), days)
    units = input_units(paths)
    names = [unit for unit in units if isinstance(unit, str)]
    local = [name for name in names if is_local(name)]
    jobs = min(jobs, len(local))
    scan.progress.start(len(names), result)
    if jobs > 1 and workers is not None:
        encode = scan.write_json is not None
        spec = replace(workers, min_severity=min_severity, encode_alerts=encode)
        _scan_parallel(scan, units, local, jobs, spec)
    else:
        for unit in units:
            if isinstance(unit, Problem):
                replay(unit, tally)
            else:
                scan.read_here(unit)
    result.detection = detector.stats()
    scan.progress.finish()
    writer.finish(result)
    detector.commit()  # reported: with a persistent store, the next run drops them
    return result


def _scan_parallel(
    scan: _Scan, units: list[str | Problem], local: list[str], jobs: int, spec: WorkerSpec
) -> None:
    from trailguard.parallel import WorkerPool

    def tick() -> None:
        scan.progress.update(scan.files_done)

    with WorkerPool(jobs, spec) as pool:
        chunks = pool.chunks(local, tick)
        for unit in units:
            if isinstance(unit, Problem):
                replay(unit, scan.tally)
            elif is_local(unit):
                for chunk in _one_file(chunks):
                    scan.merge(chunk)
            else:
                scan.read_here(unit)


def _one_file(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """The chunks of the next file, up to its last."""
    for chunk in chunks:
        yield chunk
        if chunk.last:
            return
