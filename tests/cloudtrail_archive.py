"""A CloudTrail archive in a (moto) S3 bucket, laid out as CloudTrail writes it.

Real gzipped log files from the shared data under several days, accounts and regions, in
the organization and the plain layouts, with digests, Insights, other services' logs and
junk around them. The backfill and `scan s3://` tests list it.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import SHARED_DATA

BUCKET = "trail-archive"
ACCOUNT = "111122223333"
ORG = "o-abc123def4"
MEMBER = "444455556666"
SINCE = "2024-05-31"
UNTIL = "2024-06-01"

LOG_FILES = SHARED_DATA / "envelopes/s3/cloudtrail_log_files"
STRATUS = sorted(LOG_FILES.glob("stratus_*.json.gz"))
INSIGHT = (
    SHARED_DATA / "events/awsdocs_log_files/cloudtrail-event-reference_block1_insight_event.json"
)


def log_key(
    root: str,
    account: str,
    region: str,
    day: str,
    unique: str,
    *,
    folder: str = "CloudTrail",
    stamp: str = "1205",
) -> str:
    year, month, dd = day.split("-")
    name = f"{account}_{folder}_{region}_{year}{month}{dd}T{stamp}Z_{unique}.json.gz"
    return f"{root}/{account}/{folder}/{region}/{year}/{month}/{dd}/{name}"


PLAIN = "AWSLogs"
IN_ORG = f"AWSLogs/{ORG}"


def _in_range_places() -> list[tuple[str, str, str, str]]:
    """(root, account, region, day) for each log file inside SINCE..UNTIL."""
    return (
        [(PLAIN, ACCOUNT, "us-east-1", SINCE)] * 5
        + [(PLAIN, ACCOUNT, "us-east-1", UNTIL)] * 4
        + [(PLAIN, ACCOUNT, "eu-west-1", SINCE)] * 3
        + [(IN_ORG, MEMBER, "us-east-1", UNTIL)] * 4
        + [(IN_ORG, MEMBER, "ap-southeast-2", SINCE)] * 3
    )


ODD_KEY = log_key(PLAIN, ACCOUNT, "us-east-1", UNTIL, "odd+name=1 2")
"""A log file whose key S3 must URL-encode in a notification (+, =, space)."""
INSIGHT_KEY = log_key(IN_ORG, MEMBER, "us-east-1", UNTIL, "insight", folder="CloudTrail-Insight")


@dataclass(frozen=True)
class Archive:
    in_range: dict[str, bytes]
    """Key -> content of every log file inside SINCE..UNTIL (what a backfill sends)."""
    outside: dict[str, bytes]
    """Log files outside the range, digests, other services' logs and junk."""

    @property
    def keys(self) -> list[str]:
        return sorted(self.in_range)


def build_archive() -> Archive:
    in_range: dict[str, bytes] = {}
    files = iter(STRATUS)
    for number, (root, account, region, day) in enumerate(_in_range_places()):
        key = log_key(root, account, region, day, f"u{number:02d}", stamp=f"{number:02d}05")
        in_range[key] = next(files).read_bytes()
    in_range[ODD_KEY] = next(files).read_bytes()
    in_range[INSIGHT_KEY] = gzip.compress(b'{"Records": [' + INSIGHT.read_bytes() + b"]}")
    any_log = STRATUS[0].read_bytes()
    outside = {
        log_key(PLAIN, ACCOUNT, "us-east-1", "2024-05-30", "before"): any_log,
        log_key(PLAIN, ACCOUNT, "us-east-1", "2024-06-02", "after"): any_log,
        log_key(PLAIN, ACCOUNT, "us-east-1", "2023-06-01", "last-year"): any_log,
        log_key(IN_ORG, MEMBER, "ap-southeast-2", "2024-06-10", "later"): any_log,
        f"{PLAIN}/{ACCOUNT}/CloudTrail/us-east-1/2024/06/01/notes.txt": b"not a log file",
        f"{PLAIN}/{ACCOUNT}/CloudTrail/us-east-1/2024/06/01/manifest.json": b"{}",
        f"{PLAIN}/{ACCOUNT}/CloudTrail-Digest/us-east-1/2024/06/01/"
        f"{ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20240601T010000Z.json.gz": (
            gzip.compress(b'{"digestStartTime": "2024-06-01T00:00:00Z", "logFiles": []}')
        ),
        f"{PLAIN}/{ACCOUNT}/elasticloadbalancing/us-east-1/2024/06/01/lb.log.gz": any_log,
        f"{PLAIN}/not-an-account/CloudTrail/us-east-1/2024/06/01/x.json.gz": any_log,
        "exports/2024-06-01.json.gz": any_log,
    }
    return Archive(in_range, outside)


ARCHIVE = build_archive()

SKIPPED_IN_RANGE = {
    "not a CloudTrail log file (not .json.gz)": 2,
    "not an account or organization folder of CloudTrail": 1,
}
"""What listing SINCE..UNTIL from the bucket root skips, by reason."""


def put_archive(s3: Any, archive: Archive = ARCHIVE) -> None:
    s3.create_bucket(Bucket=BUCKET)
    for key, body in {**archive.in_range, **archive.outside}.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def mirror(archive: Archive, folder: Path) -> Path:
    """The in-range log files as local copies, at the same relative paths."""
    for key, body in archive.in_range.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return folder
