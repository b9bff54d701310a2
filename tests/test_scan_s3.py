"""`trailguard scan s3://BUCKET/PREFIX`: a trail's log files read from S3 (moto's server) give
the same alerts as the same files scanned locally."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from cloudtrail_archive import (
    ARCHIVE,
    BUCKET,
    ODD_KEY,
    ORG,
    SINCE,
    SKIPPED_IN_RANGE,
    UNTIL,
    mirror,
    put_archive,
)
from conftest import boto3_client
from trailguard.cli import main
from trailguard.sources import Decoder
from trailguard.sources.files import read_local
from trailguard.sources.s3_listing import DayRange
from trailguard.tally import InputTally

RANGE = ("--since", SINCE, "--until", UNTIL)


@pytest.fixture
def archive(aws: str) -> None:
    put_archive(boto3_client("s3"))


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """Status, alerts (--format jsonl), stderr."""
    status = main(["scan", *args, "--format", "jsonl"])
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def scan_summary(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """The input counts of --format json's summary."""
    main(["scan", *args, "--format", "json"])
    counts: dict[str, Any] = json.loads(capsys.readouterr().out)["summary"]["input"]
    return counts


def without_location(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**a, "source": {**a["source"], "location": None}} for a in alerts]


def test_scan_s3_gives_the_alerts_of_the_local_copies(
    archive: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, from_s3, s3_err = scan(capsys, f"s3://{BUCKET}/", *RANGE)
    assert status == 0, s3_err
    local_status, local, local_err = scan(capsys, str(mirror(ARCHIVE, tmp_path)))
    assert local_status == 0, local_err
    assert len(from_s3) > 100
    # S3 lists in key order, the local walk in folder order: the same alerts either way.
    key = lambda a: a["alert_id"]  # noqa: E731
    assert sorted(without_location(from_s3), key=key) == sorted(without_location(local), key=key)
    locations = {a["source"]["location"] for a in from_s3}
    assert locations <= {f"s3://{BUCKET}/{k}" for k in ARCHIVE.keys}
    from_s3_counts = scan_summary(capsys, f"s3://{BUCKET}/", *RANGE)
    assert from_s3_counts["records"] == scan_summary(capsys, str(tmp_path))["records"]
    assert from_s3_counts["skipped_by_reason"] == SKIPPED_IN_RANGE
    assert from_s3_counts["invalid"] == 0


def test_positions_name_the_object_and_the_record(
    archive: None, capsys: pytest.CaptureFixture[str]
) -> None:
    tally = InputTally()
    url = f"s3://{BUCKET}/{ODD_KEY}"
    items = list(read_local([url], Decoder(tally)))
    assert [str(item.place) for item in items] == [
        f"{url}: Records[{i}]" for i in range(len(items))
    ]
    assert items
    body = gzip.decompress(ARCHIVE.in_range[ODD_KEY])
    assert [item.record for item in items] == json.loads(body)["Records"]
    assert tally.invalid_total == 0


def test_one_object_can_be_scanned_by_its_url(
    archive: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, from_s3, err = scan(capsys, f"s3://{BUCKET}/{ODD_KEY}")
    assert status == 0, err
    local = tmp_path / "odd.json.gz"
    local.write_bytes(ARCHIVE.in_range[ODD_KEY])
    assert without_location(from_s3) == without_location(scan(capsys, str(local))[1])
    assert from_s3


def test_skipped_keys_are_counted_and_shown_with_verbose(
    archive: None, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"s3://{BUCKET}/AWSLogs/111122223333/CloudTrail/us-east-1/2024/06/01/"
    status, _, err = scan(capsys, prefix, "-v", *RANGE)
    assert status == 0, err
    skipped = [line for line in err.splitlines() if line.startswith("trailguard: skipped:")]
    assert skipped == [
        f"trailguard: skipped: {prefix}{name}: not a CloudTrail log file (not .json.gz)"
        for name in ("manifest.json", "notes.txt")
    ]
    counts = scan_summary(capsys, prefix, *RANGE)
    assert counts["skipped_by_reason"] == {"not a CloudTrail log file (not .json.gz)": 2}


def test_without_a_range_every_log_file_under_the_prefix_is_read(archive: None) -> None:
    folder = f"AWSLogs/{ORG}/444455556666/CloudTrail/ap-southeast-2/"
    tally = InputTally()
    read = {item.place.location for item in read_local([f"s3://{BUCKET}/{folder}"], Decoder(tally))}
    every = [*ARCHIVE.in_range, *ARCHIVE.outside]
    assert read == {f"s3://{BUCKET}/{key}" for key in every if key.startswith(folder)}
    assert len(read) == 4  # three in the range, one after it


def test_the_range_applies_to_s3_paths(archive: None) -> None:
    tally = InputTally()
    days = DayRange.parse(UNTIL, UNTIL, until_today=False)
    path = f"s3://{BUCKET}/AWSLogs/"
    read = {item.place.location for item in read_local([path], Decoder(tally), days=days)}
    assert read == {f"s3://{BUCKET}/{key}" for key in ARCHIVE.keys if "/2024/06/01/" in key}


def test_since_and_until_need_an_s3_path(capsys: pytest.CaptureFixture[str]) -> None:
    status, alerts, err = scan(capsys, "examples/", "--since", SINCE)
    assert (status, alerts) == (2, [])
    assert err == (
        "trailguard: error: --since/--until apply to s3:// paths only; give one, or drop them\n"
    )


def test_a_bucket_that_does_not_exist_is_an_input_error_and_the_rest_is_scanned(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = mirror(ARCHIVE, tmp_path)
    status, alerts, err = scan(capsys, "s3://no-such-bucket/", str(local), *RANGE)
    assert status == 2
    assert alerts
    assert err.splitlines()[0] == (
        "trailguard: error: s3://no-such-bucket/: cannot list S3 objects: cannot list "
        "s3://no-such-bucket/AWSLogs/: bucket 'no-such-bucket' does not exist; check the s3:// "
        "URL (the trail's bucket: `aws cloudtrail describe-trails`)"
    )


def test_a_damaged_log_file_is_an_error_naming_its_url(
    archive: None, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/31/damaged.json.gz"
    boto3_client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"\x1f\x8b\x08\x00broken")
    status, _, err = scan(capsys, f"s3://{BUCKET}/AWSLogs/111122223333/CloudTrail/eu-west-1/")
    assert status == 2
    errors = [line for line in err.splitlines() if line.startswith("trailguard: error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"trailguard: error: s3://{BUCKET}/{key}")
