"""`trailguard scan --jobs N`: worker processes give exactly the serial result, with progress.

Real processes throughout: the CLI in-process (workers forked or spawned from the test
runner) and as a subprocess (Ctrl-C, a worker killed). The input is a folder of gzipped
log files from the benchmark's workload generator plus the shared real data, bad inputs
included.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import json
import os
import re
import select
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import REPO, SHARED_DATA
from trailguard.cli import EXIT_ERRORS, main
from trailguard.model import Severity
from trailguard.parallel import (
    CHUNK,
    FileScanner,
    Screened,
    WorkerError,
    WorkerPool,
    WorkerSpec,
)
from trailguard.scan import input_units

JOBS = ("1", "2", "3")
ACCOUNT = "111122223333"


def _workload() -> ModuleType:
    """bench/workload.py, imported from the repository (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_workload", REPO / "bench" / "workload.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _root_login_failure(minute: int) -> dict[str, Any]:
    """A failed root console sign-in: threats.root_login_failures fires on the third in 15m."""
    return {
        "eventVersion": "1.05",
        "userIdentity": {
            "type": "Root",
            "principalId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:root",
            "accountId": ACCOUNT,
        },
        "eventTime": f"2026-11-02T09:{minute:02d}:00Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "Mozilla/5.0",
        "errorMessage": "Failed authentication",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Failure"},
        "eventID": f"root-login-failure-{minute}",
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": ACCOUNT,
    }


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Many gzipped log files; between them, one root sign-in failure per file (a burst
    spread over three files), a file that is not even gzip, and a large one."""
    root = tmp_path_factory.mktemp("archive")
    for index, (key, body) in enumerate(_workload().log_files(24, 120)):
        path = root / f"{index:02d}" / Path(key).name
        path.parent.mkdir()
        path.write_bytes(body)
        if index in (5, 11, 17):
            burst = {"Records": [_root_login_failure(index // 3)]}
            (path.parent / "burst.json.gz").write_bytes(gzip.compress(json.dumps(burst).encode()))
    (root / "07" / "broken.json.gz").write_bytes(b"\x1f\x8b\x08 not really gzip")
    for _, body in _workload().log_files(1, CHUNK + 1000, seed=7):
        (root / "12" / "large.json.gz").write_bytes(body)  # sent in several chunks
    return root


@pytest.fixture(scope="module")
def allowlist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An allowlist entry that suppresses the catalogue's findings for the workload's CI role."""
    path = tmp_path_factory.mktemp("config") / "trailguard.yaml"
    path.write_text(
        "allowlist:\n"
        "  - reason: CI deploys are expected\n"
        '    rules: ["catalog.*"]\n'
        f'    actor_arn: "arn:aws:iam::{ACCOUNT}:role/ci-deploy-*"\n'
    )
    return path


def scan(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    status = main(["scan", *args])
    captured = capsysbinary.readouterr()
    return status, captured.out, captured.err.decode()


def results_by_jobs(
    capsysbinary: pytest.CaptureFixture[bytes], *args: str
) -> dict[str, tuple[int, bytes, str]]:
    return {jobs: scan(capsysbinary, *args, "--jobs", jobs) for jobs in JOBS}


def assert_all_equal(results: dict[str, tuple[int, bytes, str]]) -> tuple[int, bytes, str]:
    serial = results["1"]
    for jobs, result in results.items():
        assert result[0] == serial[0], f"--jobs {jobs}: exit status"
        assert result[2] == serial[2], f"--jobs {jobs}: stderr (messages, summary)"
        assert result[1] == serial[1], f"--jobs {jobs}: stdout (alerts, in order)"
    return serial


def test_jsonl_alerts_and_summary_equal_the_serial_ones(capsysbinary, archive):
    status, out, err = assert_all_equal(
        results_by_jobs(capsysbinary, str(archive), str(SHARED_DATA), "--format", "jsonl", "-v")
    )
    alerts = [json.loads(line) for line in out.splitlines()]
    assert len(alerts) > 2000
    assert status == EXIT_ERRORS  # the shared data and the archive hold bad input
    assert "trailguard: skipped:" in err
    assert "duplicate" in err  # the shared data repeats events across envelopes


def test_json_document_equals_the_serial_one(capsysbinary, archive, allowlist):
    args = (str(SHARED_DATA), str(archive), "--format", "json", "--config", str(allowlist))
    _, out, _ = assert_all_equal(results_by_jobs(capsysbinary, *args))
    summary = json.loads(out)["summary"]
    assert summary["input"]["invalid"] > 0
    assert summary["below_threshold"] > 0


def test_allowlist_suppressions_from_every_worker_are_counted(capsysbinary, archive, allowlist):
    args = (str(archive), "--format", "json", "--config", str(allowlist))
    summaries = {
        jobs: json.loads(out)["summary"]
        for jobs, (_, out, _) in results_by_jobs(capsysbinary, *args).items()
    }
    suppressed = summaries["1"]["suppressed_by_entry"]
    assert list(suppressed) == ["allowlist[0] (CI deploys are expected)"]
    assert summaries["1"]["suppressed"] > 20  # spread over many files, so over the workers
    for summary in summaries.values():
        assert summary["suppressed"] == summaries["1"]["suppressed"]
        assert summary["suppressed_by_entry"] == suppressed


def test_a_threshold_burst_across_files_fires_once_as_in_serial(capsysbinary, archive):
    results = results_by_jobs(capsysbinary, str(archive), "--format", "jsonl")
    _, out, _ = assert_all_equal(results)
    bursts = [
        alert
        for alert in map(json.loads, out.splitlines())
        if alert["rule_id"] == "threats.root_login_failures"
    ]
    assert len(bursts) == 1  # the third failure, read from the third file, completes it
    assert bursts[0]["source"]["location"] == str(archive / "17" / "burst.json.gz")
    assert bursts[0]["context"]["threshold"]["count"] == 3


def test_min_severity_shows_the_same_alerts_and_counts_every_finding(capsysbinary, archive):
    args = (str(archive), "--format", "json", "--min-severity", "high", "--fail-on", "high")
    status, out, _ = assert_all_equal(results_by_jobs(capsysbinary, *args))
    document = json.loads(out)
    assert status == EXIT_ERRORS  # the broken file
    assert {a["severity"] for a in document["alerts"]} <= {"high", "critical"}
    assert document["summary"]["findings"] > len(document["alerts"]) > 0


def test_table_output_equals_the_serial_one(capsysbinary, archive):
    assert_all_equal(results_by_jobs(capsysbinary, str(archive), "--color", "never"))


def test_input_errors_name_file_and_position_in_input_order(capsysbinary, archive, tmp_path):
    missing = tmp_path / "missing"
    paths = (str(SHARED_DATA), str(missing), str(archive))
    status, _, err = assert_all_equal(results_by_jobs(capsysbinary, *paths, "--format", "jsonl"))
    assert status == EXIT_ERRORS
    errors = [line for line in err.splitlines() if line.startswith("trailguard: error: ")]
    order = [unit for unit in input_units(paths) if isinstance(unit, str)] + [str(missing)]
    positions = []
    for line in errors:
        where = line.removeprefix("trailguard: error: ")
        name = next(n for n in sorted(order, key=len, reverse=True) if where.startswith(n))
        positions.append(order.index(name) if name != str(missing) else None)
        assert where != name  # every error says what is wrong, after its place
    missing_at = positions.index(None)
    before, after = positions[:missing_at], positions[missing_at + 1 :]
    assert before == sorted(before)
    assert after == sorted(after)
    assert all(str(SHARED_DATA) in e for e in errors[:missing_at])
    assert f"{missing}: no such file or folder" in errors[missing_at]
    assert f"{archive / '07' / 'broken.json.gz'}: unreadable compressed data" in err
    assert re.search(r"\.json: awslogs\.data logEvents\[\d+\]: ", err)  # a position inside


def test_progress_goes_to_stderr_and_leaves_stdout_alone(capsysbinary, archive):
    files = sum(1 for unit in input_units([str(archive)]) if isinstance(unit, str))
    plain = scan(capsysbinary, str(archive), "--format", "jsonl", "--jobs", "2")
    shown = scan(capsysbinary, str(archive), "--format", "jsonl", "--jobs", "2", "--progress")
    serial = scan(capsysbinary, str(archive), "--format", "jsonl", "--jobs", "1", "--progress")
    assert shown[1] == plain[1] == serial[1]  # stdout: the same alerts, nothing else
    for _, _, err in (shown, serial):
        lines = [line for line in err.splitlines() if line.startswith("trailguard: scan: ")]
        assert lines[0].startswith(f"trailguard: scan: 0/{files} files, 0 records")
        assert re.fullmatch(
            rf"trailguard: scan: {files}/{files} files, [\d,]+ records \([\d,]+/s\), "
            r"[\d,]+ alerts, [\d.]+s",
            lines[-1],
        )
        assert "\r" not in err  # stderr is not a terminal: whole lines, no redrawing
        rest = [line for line in err.splitlines() if not line.startswith("trailguard: scan: ")]
        assert rest == plain[2].splitlines()  # messages and summary as without progress
    assert "trailguard: scan:" not in plain[2]  # not a terminal, not forced: no progress


def _on_a_terminal(tmp_path: Path, *args: str) -> tuple[bytes, str]:
    """stdout (a file) and what a terminal on stderr received, of a scan run to its end."""
    master, slave = os.openpty()
    out = tmp_path / "stdout"
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "trailguard", "scan", *args], stdout=stdout, stderr=slave
        )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not data:
                break
            seen += data
        process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        process.kill()
        os.close(master)
    return out.read_bytes(), seen.decode()


def test_a_terminal_gets_one_line_redrawn_and_erased_before_other_output(archive, tmp_path):
    args = (str(archive), "--format", "jsonl", "--jobs", "2")
    out, terminal = _on_a_terminal(tmp_path, *args)
    quiet_out, quiet = _on_a_terminal(tmp_path, *args, "--no-progress")
    assert out == quiet_out  # stdout: the same alerts, nothing else
    assert "trailguard: scan:" not in quiet
    parts = terminal.split("\r\x1b[K")  # each redraw or erase starts with these
    lines = [part for part in parts if part.startswith("trailguard: scan: ")]
    assert lines[0].startswith("trailguard: scan: 0/")
    assert all("\n" not in line for line in lines)  # each is erased before anything else
    assert not parts[-1].startswith("trailguard: scan: ")  # and the last one at the end
    rest = "".join(part for part in parts if not part.startswith("trailguard: scan: "))
    assert rest == quiet  # errors and summary exactly as without the line
    assert "trailguard: error: " in rest


def test_jobs_must_be_one_or_more(capsysbinary, archive):
    with pytest.raises(SystemExit) as stopped:
        main(["scan", str(archive), "--jobs", "0"])
    assert stopped.value.code == EXIT_ERRORS
    assert "give a whole number, 1 or more" in capsysbinary.readouterr().err.decode()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_give_the_events_the_serial_path_gives(archive, method):
    folders = [str(archive / "05"), str(archive / "07")]
    files = [unit for unit in input_units(folders) if isinstance(unit, str)]
    spec = WorkerSpec(None, (), Severity.MEDIUM)
    pool_events: list[Any] = []
    with WorkerPool(2, spec, start_method=method) as pool:
        for chunk in pool.chunks(files, tick=lambda: None):
            pool_events.extend(chunk.events)
    alone: list[Any] = []
    scanner = FileScanner(spec)
    for name in files:
        for chunk in scanner.chunks(name):
            alone.extend(chunk.events)
    assert [_comparable(e) for e in pool_events] == [_comparable(e) for e in alone]
    assert any(isinstance(e, Screened) and e.alert is not None for e in alone)
    assert any(isinstance(e, Screened) and e.alert is None for e in alone)  # below medium


def test_a_large_file_streams_to_the_parent_in_chunks(archive):
    scanner = FileScanner(WorkerSpec(None, (), Severity.INFO))
    chunks = list(scanner.chunks(str(archive / "12" / "large.json.gz")))
    assert len(chunks) > 1
    assert [chunk.last for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
    assert sum(chunk.records for chunk in chunks) == CHUNK + 1000


def _comparable(event: Any) -> Any:
    if isinstance(event, Screened):
        return tuple(event)
    if hasattr(event, "message"):
        return event.message()
    return (event.rule_id, event.record.get("eventID"))


def test_a_worker_that_cannot_load_the_rules_is_an_error_naming_the_file(tmp_path):
    spec = WorkerSpec(str(tmp_path / "gone.yaml"), (), Severity.INFO)
    with (
        pytest.raises(WorkerError, match=r"scanning a\.json failed in a worker process: "),
        WorkerPool(1, spec, start_method="spawn") as pool,
    ):
        list(pool.chunks(["a.json"], tick=lambda: None))


# --- as a command: Ctrl-C and a worker that dies ------------------------------------------


@pytest.fixture
def blocked_archive(tmp_path: Path) -> Path:
    """Two log files, then a FIFO nobody writes (reading it blocks for ever), then another."""
    folder = tmp_path / "logs"
    folder.mkdir()
    for name, (_, body) in zip(("a", "b", "d"), _workload().log_files(3, 50), strict=True):
        (folder / f"{name}.json.gz").write_bytes(body)
    os.mkfifo(folder / "c-fifo")
    return folder


@contextlib.contextmanager
def _started(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """The CLI in its own process group, as a terminal's foreground job; whatever the test
    finds, nothing of it (workers blocked on a FIFO) outlives the test."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trailguard", "scan", *args, "--format", "jsonl", "--progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def _wait_for(process: subprocess.Popen[bytes], pattern: str) -> str:
    """Read stderr until a line matches; fail (not hang) if it never comes."""
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=1):
                data = os.read(process.stderr.fileno(), 65536)
                if not data:
                    break
                seen += data
                if re.search(pattern, seen.decode()):
                    return seen.decode()
    raise AssertionError(f"no {pattern!r} on stderr; got {seen.decode()!r}")


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def _nobody_reads(fifo: Path) -> bool:
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError as exc:
        return exc.errno == 6  # ENXIO: no reader has it open
    return False


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_the_scan_and_its_workers(blocked_archive, jobs):
    with _started(str(blocked_archive), "--jobs", jobs) as process:
        _wait_for(process, r"trailguard: scan: 0/4 files")
        if jobs == "2":
            _wait_for(process, r"trailguard: scan: 2/4 files")  # the parent waits for the FIFO
        else:
            time.sleep(0.5)  # to reach the FIFO; any earlier, Ctrl-C must stop it all the same
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C: to the parent and its workers
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert b"trailguard: interrupted" in err
        assert b"Traceback" not in err
        assert _nobody_reads(blocked_archive / "c-fifo")  # no worker left blocked on it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds workers through /proc")
def test_a_worker_killed_midway_is_an_error_naming_its_file(blocked_archive):
    with _started(str(blocked_archive), "--jobs", "2") as process:
        _wait_for(process, r"trailguard: scan: 2/4 files")  # a and b done, the FIFO is next
        workers = _children(process.pid)
        assert len(workers) == 2
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_ERRORS, err
    fifo = blocked_archive / "c-fifo"
    assert f"trailguard: error: a worker process was killed by signal 9 while scanning {fifo}" in (
        err.decode()
    )
