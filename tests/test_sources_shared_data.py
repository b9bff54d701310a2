"""Every file of the shared AWS data decodes without raising, and accounts for itself.

Expectations are worked out from the files with the standard library (gzip, base64, json),
not from the decoder, so that the two are checked against each other.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED_DATA
from trailguard.model import Place, SourcedRecord
from trailguard.record import CloudTrailRecord
from trailguard.sources import Decoder, read_local
from trailguard.sources.records import is_cloudtrail_record
from trailguard.tally import InputTally, Problem

ENVELOPES = SHARED_DATA / "envelopes"
EVENTS = SHARED_DATA / "events"
DATA_FILES = sorted(p for folder in (ENVELOPES, EVENTS) for p in folder.rglob("*") if p.is_file())
LOG_FILES = sorted((ENVELOPES / "s3" / "cloudtrail_log_files").glob("*.json.gz"))
AWSDOCS_LOG_FILES = sorted((EVENTS / "awsdocs_log_files").glob("*_records.json"))
STRATUS_PAYLOADS = sorted((ENVELOPES / "cloudwatch_logs" / "stratus_awslogs").glob("*.json"))
CATALOGUES = sorted(EVENTS.glob("*.jsonl"))
EVENTBRIDGE = sorted((ENVELOPES / "eventbridge").glob("*.json"))
TEXT_FILES = sorted(
    [
        SHARED_DATA / "README.md",
        SHARED_DATA / "PROVENANCE.md",
        *(SHARED_DATA / "licenses").glob("*.txt"),
    ]
)
CLOUDTRAIL_DETAIL_TYPES = {"AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"}


def rel(path: Path) -> str:
    return str(path.relative_to(SHARED_DATA))


class Run:
    """One decode: the records, the tally, and every problem the tally heard about."""

    def __init__(self, data: bytes, location: str) -> None:
        self.problems: list[Problem] = []
        self.tally = InputTally(listener=self.problems.append)
        self.records: list[SourcedRecord] = list(Decoder(self.tally).bytes(data, Place(location)))

    @property
    def skips(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "skipped"]

    @property
    def accounted(self) -> int:
        return self.tally.records + self.tally.skipped_total + self.tally.invalid_total


def run_file(path: Path) -> Run:
    return Run(path.read_bytes(), str(path))


def inflate(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:1] == b"\x78":
        return zlib.decompress(data)
    return data


def awslogs_document(path: Path) -> Any:
    payload = json.loads(path.read_text())
    return json.loads(inflate(base64.b64decode(payload["awslogs"]["data"])))


# --- every file ---------------------------------------------------------------------------


def test_the_shared_data_is_all_here() -> None:
    assert len(DATA_FILES) == 171
    assert len(LOG_FILES) == 44
    assert len(STRATUS_PAYLOADS) == 35
    assert len(CATALOGUES) == 5
    assert len(EVENTBRIDGE) == 39
    assert len(TEXT_FILES) == 10


@pytest.mark.parametrize("path", DATA_FILES, ids=rel)
def test_every_file_decodes_and_accounts_for_itself(path: Path) -> None:
    run = run_file(path)
    tally = run.tally
    assert run.accounted >= 1
    assert len(run.records) == tally.records
    assert sum(p.kind == "skipped" for p in run.problems) == tally.skipped_total
    assert sum(p.kind == "invalid" for p in run.problems) == tally.invalid_total
    assert tally.errors == [p for p in run.problems if p.kind == "invalid"]
    for problem in run.problems:
        assert problem.place.location == str(path)
        assert problem.reason.strip()
        assert isinstance(problem.detail, str)
        assert str(path) in problem.message()
    for sourced in run.records:
        assert isinstance(sourced.record, CloudTrailRecord)
        assert is_cloudtrail_record(sourced.record)
        assert sourced.place.location == str(path)


@pytest.mark.parametrize("path", DATA_FILES, ids=rel)
def test_errors_name_a_position_inside_the_file(path: Path) -> None:
    for problem in run_file(path).tally.errors:
        assert problem.place.position, problem.message()


def test_records_inside_envelopes_name_their_position() -> None:
    """Only a file that is itself one bare record has no position inside it."""
    for path in DATA_FILES:
        for sourced in run_file(path).records:
            if not sourced.place.position:
                assert is_cloudtrail_record(json.loads(inflate(path.read_bytes()))), path


# --- categories, checked against the standard library's reading of the files ---------------


@pytest.mark.parametrize("path", LOG_FILES, ids=rel)
def test_gzipped_cloudtrail_log_files(path: Path) -> None:
    expected = json.loads(gzip.decompress(path.read_bytes()))["Records"]
    run = run_file(path)
    assert [r.record for r in run.records] == expected
    assert [r.place.position for r in run.records] == [
        f"Records[{i}]" for i in range(len(expected))
    ]
    assert {r.place.envelope for r in run.records} == {"cloudtrail_log_file"}
    assert run.problems == []


@pytest.mark.parametrize("path", AWSDOCS_LOG_FILES, ids=rel)
def test_plain_cloudtrail_log_files(path: Path) -> None:
    expected = json.loads(path.read_text())["Records"]
    run = run_file(path)
    assert [r.record for r in run.records] == expected
    assert [r.place.position for r in run.records] == [
        f"Records[{i}]" for i in range(len(expected))
    ]
    assert run.problems == []


@pytest.mark.parametrize("path", STRATUS_PAYLOADS, ids=rel)
def test_stratus_cloudwatch_logs_payloads(path: Path) -> None:
    document = awslogs_document(path)
    assert document["messageType"] == "DATA_MESSAGE"
    messages = [json.loads(e["message"]) for e in document["logEvents"]]
    run = run_file(path)
    assert [r.record for r in run.records] == messages
    assert [r.place.position for r in run.records] == [
        f"awslogs.data logEvents[{i}]" for i in range(len(messages))
    ]
    assert {r.place.envelope for r in run.records} == {"cloudwatch_logs"}
    assert run.problems == []


@pytest.mark.parametrize("path", CATALOGUES, ids=rel)
def test_event_catalogues_are_counted_as_not_cloudtrail(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    run = run_file(path)
    assert run.records == []
    assert run.tally.invalid_total == 0
    assert run.tally.skipped == {"not CloudTrail data": len(lines)}
    assert [p.place.position for p in run.skips] == [f"line {i}" for i in range(1, len(lines) + 1)]
    assert {p.place.envelope for p in run.skips} == {"json_lines"}
    assert all(p.detail.startswith("object with keys ") for p in run.skips)


def test_catalogue_line_counts() -> None:
    counts = {rel(p): len(p.read_text().splitlines()) for p in CATALOGUES}
    assert counts == {
        "events/awsdocs_userguide_events.jsonl": 23,
        "events/fixtures_misc.jsonl": 28,
        "events/parser_edge_cases.jsonl": 14,
        "events/stratus_detonations.jsonl": 310,
        "events/stratus_techniques_index.jsonl": 45,
    }


@pytest.mark.parametrize("path", EVENTBRIDGE, ids=rel)
def test_eventbridge_folder(path: Path) -> None:
    """CloudTrail detail-types give their `detail`; bare records pass; the rest is skipped."""
    event = json.loads(path.read_text())
    run = run_file(path)
    if event.get("detail-type") in CLOUDTRAIL_DETAIL_TYPES:
        assert [r.record for r in run.records] == [event["detail"]]
        assert run.records[0].place == Place(str(path), "detail", "eventbridge")
        assert run.problems == []
    elif "detail-type" in event:
        assert run.records == []
        assert run.tally.skipped == {"EventBridge event that is not from CloudTrail": 1}
        assert run.skips[0].detail == event["detail-type"]
    elif is_cloudtrail_record(event):
        assert [r.record for r in run.records] == [event]
        assert run.records[0].place == Place(str(path))
    else:
        assert run.records == []
        assert run.tally.skipped == {"not CloudTrail data": 1}
        assert run.tally.invalid_total == 0


def test_eventbridge_folder_summary() -> None:
    kinds = Counter()
    for path in EVENTBRIDGE:
        run = run_file(path)
        kinds.update(run.tally.skipped)
        kinds["records"] += run.tally.records
        kinds["invalid"] += run.tally.invalid_total
    assert kinds == {
        "records": 25,
        "EventBridge event that is not from CloudTrail": 12,
        "not CloudTrail data": 2,  # the two AWS Config rule events
        "invalid": 0,
    }


@pytest.mark.parametrize("path", TEXT_FILES, ids=rel)
def test_text_files_are_skipped_as_not_json(path: Path) -> None:
    run = run_file(path)
    assert run.records == []
    assert run.tally.errors == []
    assert run.tally.skipped == {"not JSON (not CloudTrail data)": 1}
    assert run.skips[0].place == Place(str(path))
    assert run.skips[0].detail.startswith("starts with ")


# --- the whole folder at once ----------------------------------------------------------


def test_read_local_over_the_whole_folder_matches_the_per_file_sum() -> None:
    problems: list[Problem] = []
    tally = InputTally(listener=problems.append)
    records = list(read_local([str(SHARED_DATA)], Decoder(tally)))

    per_file = InputTally()
    expected_records: list[SourcedRecord] = []
    files = sorted(p for p in SHARED_DATA.rglob("*") if p.is_file())
    for path in files:
        expected_records.extend(Decoder(per_file).bytes(path.read_bytes(), Place(str(path))))

    assert tally.records == per_file.records == len(records) == 670
    assert tally.skipped == per_file.skipped
    assert tally.invalid == per_file.invalid
    assert tally.as_dict() == per_file.as_dict()
    assert Counter(r.place.location for r in records) == Counter(
        r.place.location for r in expected_records
    )
    assert {p.place.location for p in problems} | {r.place.location for r in records} == {
        str(p) for p in files
    }
    assert tally.as_dict() == {
        "records": 670,
        "skipped": 483,
        "invalid": 16,
        "skipped_by_reason": {
            "CloudTrail digest file": 2,
            "CloudWatch Logs control message": 1,
            "EventBridge event that is not from CloudTrail": 15,
            "S3 notification (names an object; not read here)": 17,
            "S3 notification that is not ObjectCreated": 1,
            "S3 test event": 2,
            "log message is not a CloudTrail record": 12,
            "not CloudTrail data": 423,
            "not JSON (not CloudTrail data)": 10,
        },
        "invalid_by_reason": {
            "log message is not valid JSON (truncated?)": 12,
            "not JSON": 3,
            "unsupported S3 EventBridge event-version": 1,
        },
    }


def test_read_local_counts_readme_and_licenses_as_skips_not_errors() -> None:
    problems: list[Problem] = []
    tally = InputTally(listener=problems.append)
    list(read_local([str(SHARED_DATA)], Decoder(tally)))
    by_location = {p.place.location: p for p in problems}
    for path in TEXT_FILES:
        problem = by_location[str(path)]
        assert problem.kind == "skipped"
        assert problem.reason == "not JSON (not CloudTrail data)"
    error_locations = {p.place.location for p in tally.errors}
    assert not error_locations & {str(p) for p in TEXT_FILES}


def test_read_local_reports_which_files_hold_errors() -> None:
    tally = InputTally()
    list(read_local([str(SHARED_DATA)], Decoder(tally)))
    errors = Counter(rel(Path(p.place.location)) for p in tally.errors)
    assert errors == {
        "envelopes/cloudwatch_logs/awsdocs_subscription_decoded_example1.json": 3,
        "envelopes/cloudwatch_logs/awsdocs_subscription_decoded_example2.json": 3,
        "envelopes/cloudwatch_logs/awsdocs_truncated_messages_example1.json": 3,
        "envelopes/cloudwatch_logs/awsdocs_truncated_messages_example2.json": 3,
        "envelopes/sqs_sns/eventbridge-object-created-unsupported-version.json": 1,
        "envelopes/sqs_sns/sns-event.json": 1,
        "envelopes/sqs_sns/sqs-batch-partial-garbage.json": 1,
        "envelopes/sqs_sns/sqs-event.json": 1,
    }


def test_read_local_missing_path_is_an_error_and_the_rest_is_read() -> None:
    tally = InputTally()
    path = LOG_FILES[0]
    records = list(read_local(["/no/such/folder", str(path)], Decoder(tally)))
    assert len(records) == len(json.loads(gzip.decompress(path.read_bytes()))["Records"])
    assert [(p.place.location, p.reason) for p in tally.errors] == [
        ("/no/such/folder", "no such file or folder")
    ]
