"""The S3 reader: keys it reads and skips, objects from moto's server, and the streaming path.

Streaming must give exactly what the whole-document path gives (records, places, skips and
errors) for every log file, however the bytes arrive, and read a large file in bounded
memory; where it differs on purpose (a file damaged partway), the difference is asserted.
"""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import JSON_VALUES, SHARED_DATA, boto3_client, edge_case
from trailguard.model import Place, SourcedRecord
from trailguard.sources import Decoder
from trailguard.sources.s3_notifications import S3ObjectRef
from trailguard.sources.s3_objects import (
    NOT_A_LOG_FILE,
    S3ObjectError,
    S3ObjectReader,
    is_log_file_key,
    read_log_stream,
)
from trailguard.tally import InputTally, Problem

LOG_FILES = SHARED_DATA / "envelopes/s3/cloudtrail_log_files"
AWSDOCS = SHARED_DATA / "events/awsdocs_log_files"
ADMIN_USER = LOG_FILES / "stratus_aws.persistence.iam-create-admin-user.json.gz"
ADMIN_USER_IDS = [
    "083dc4ad-e264-46bc-a407-d0dd31b58bdc",
    "94faedcc-0fa4-46e6-9322-022e8e934f04",
    "3346344c-5a3e-429e-8405-420f98f75d6e",
]
INSIGHT = AWSDOCS / "cloudtrail-event-reference_block1_insight_event.json"
BUCKET = "org-trail-bucket"
ORG_KEY = (
    "AWSLogs/o-abc123defg/111122223333/CloudTrail/us-east-1/2024/07/31/"
    "111122223333_CloudTrail_us-east-1_20240731T1305Z_a+b c=d%.json.gz"
)
PLAIN_KEY = (
    "trail-prefix/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/07/31/"
    "111122223333_CloudTrail_eu-west-1_20240731T1310Z_x.json.gz"
)
DIGEST = "cloudtrail-log-file-validation-digest-file-structure_block2_digest.json"
OBJECT = Place("s3://b/AWSLogs/1/CloudTrail/r/k.json.gz", envelope="s3_object")


class Run:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.tally = InputTally(listener=self.problems.append)
        self.decoder = Decoder(self.tally)
        self.records: list[SourcedRecord] = []

    def outcome(self) -> tuple[list[SourcedRecord], list[Problem], dict[str, object]]:
        return self.records, self.problems, self.tally.as_dict()


def whole(data: bytes, place: Place = OBJECT) -> Run:
    run = Run()
    run.records = list(run.decoder.bytes(data, place))
    return run


def streamed(data: bytes, chunk_size: int = 1 << 18, place: Place = OBJECT) -> Run:
    run = Run()
    run.records = list(
        read_log_stream(io.BytesIO(data).read, place, run.decoder, chunk_size=chunk_size)
    )
    return run


def log_file(records: list[Any], **dump: Any) -> bytes:
    return json.dumps({"Records": records}, **dump).encode()


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "read"),
    [
        (ORG_KEY, True),
        (PLAIN_KEY, True),
        ("AWSLogs/111122223333/CloudTrail/us-east-1/2024/07/31/f.json.gz", True),
        ("AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/07/31/f.json.gz", True),
        ("AWSLogs/o-abc123defg/111122223333/CloudTrail-Insight/us-east-1/2024/f.json.gz", True),
        ("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/31/d.json.gz", False),
        ("AWSLogs/111122223333/Config/us-east-1/2024/07/31/ConfigHistory/c.json.gz", False),
        ("AWSLogs/111122223333/elasticloadbalancing/us-east-1/2024/07/31/l.log.gz", False),
        ("AWSLogs/111122223333/CloudTrailX/us-east-1/f.json.gz", False),
        ("CloudTrail", False),
        ("notes/CloudTrail.json.gz", False),
    ],
)
def test_log_file_keys_in_both_layouts_and_insight_files_are_read(key: str, read: bool) -> None:
    assert is_log_file_key(key) is read


# --- the reader against moto's server -------------------------------------------------------


@pytest.fixture
def bucket(aws: str) -> Any:
    s3 = boto3_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def read(ref: S3ObjectRef, reader: S3ObjectReader | None = None) -> Run:
    run = Run()
    notification = Place("s3", "Records[0]", "s3_notification")
    run.records = list((reader or S3ObjectReader())(ref, notification, run.decoder))
    return run


@pytest.mark.parametrize("key", [ORG_KEY, PLAIN_KEY], ids=["organization", "plain"])
def test_an_object_gives_the_records_of_the_file_with_the_object_as_their_place(
    bucket: Any, key: str
) -> None:
    bucket.put_object(Bucket=BUCKET, Key=key, Body=ADMIN_USER.read_bytes())
    run = read(S3ObjectRef(BUCKET, key))
    url = f"s3://{BUCKET}/{key}"
    assert [r.record["eventID"] for r in run.records] == ADMIN_USER_IDS
    assert [r.place for r in run.records] == [
        Place(url, f"Records[{i}]", "cloudtrail_log_file") for i in range(3)
    ]
    assert (run.problems, run.tally.records) == ([], 3)
    local = whole(ADMIN_USER.read_bytes(), Place(url, envelope="s3_object"))
    assert run.records == local.records


def test_an_insight_file_is_read(bucket: Any) -> None:
    key = "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/07/31/i.json.gz"
    bucket.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(INSIGHT.read_bytes()))
    run = read(S3ObjectRef(BUCKET, key))
    assert [r.record["eventType"] for r in run.records] == ["AwsCloudTrailInsight"]
    assert run.problems == []


def test_the_named_version_is_read(bucket: Any) -> None:
    bucket.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = bucket.put_object(Bucket=BUCKET, Key=PLAIN_KEY, Body=ADMIN_USER.read_bytes())
    bucket.put_object(Bucket=BUCKET, Key=PLAIN_KEY, Body=log_file([]))
    assert read(S3ObjectRef(BUCKET, PLAIN_KEY)).tally.skipped == {"empty Records list": 1}
    older = read(S3ObjectRef(BUCKET, PLAIN_KEY, version_id=first["VersionId"]))
    assert [r.record["eventID"] for r in older.records] == ADMIN_USER_IDS


@pytest.mark.parametrize(
    "key",
    [
        "AWSLogs/111122223333/Config/us-east-1/2024/07/31/ConfigHistory/c.json.gz",
        "uploads/report.json.gz",
    ],
)
def test_other_keys_are_skipped_without_a_get_object(bucket: Any, key: str) -> None:
    """The keys do not exist: a GetObject would fail, so a skip proves none was made."""
    run = read(S3ObjectRef(BUCKET, key))
    assert run.records == []
    assert [(p.kind, p.place.position, p.reason, p.detail) for p in run.problems] == [
        (
            "skipped",
            "Records[0]",
            NOT_A_LOG_FILE,
            f"s3://{BUCKET}/{key}: only keys in a CloudTrail/ or CloudTrail-Insight/ folder "
            "are read",
        )
    ]


def test_a_missing_object_raises_naming_it_and_what_to_check(bucket: Any) -> None:
    with pytest.raises(S3ObjectError) as caught:
        read(S3ObjectRef(BUCKET, PLAIN_KEY))
    message = str(caught.value)
    assert message.startswith(f"cannot read s3://{BUCKET}/{PLAIN_KEY}: NoSuchKey: ")
    assert message.endswith(
        "check that it exists and that the function's role may s3:GetObject it "
        "(and kms:Decrypt its key)"
    )


def test_a_missing_bucket_raises(aws: str) -> None:
    with pytest.raises(S3ObjectError, match=r"cannot read s3://nope/.*NoSuchBucket"):
        read(S3ObjectRef("nope", PLAIN_KEY))


class _BrokenBody:
    """A body whose connection drops after ten reads, as a reset would."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads = 0
        self.closed = False

    def read(self, size: int) -> bytes:
        self.reads += 1
        if self.reads > 10:
            raise ConnectionResetError("connection reset by peer")
        start = (self.reads - 1) * size
        return self.data[start : start + size]

    def close(self) -> None:
        self.closed = True


class _OneObject:
    """An S3 client serving one body: only to break the stream partway, which moto cannot."""

    def __init__(self, body: _BrokenBody) -> None:
        self.body = body

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        return {"Body": self.body}


def test_a_connection_lost_partway_raises_after_the_records_already_read() -> None:
    body = _BrokenBody(log_file([edge_case_record(i) for i in range(40)]))
    run = Run()
    got: list[SourcedRecord] = []
    reader = S3ObjectReader(_OneObject(body), chunk_size=1024)
    records = reader(S3ObjectRef("b", PLAIN_KEY), OBJECT, run.decoder)
    with pytest.raises(S3ObjectError, match="ConnectionResetError: connection reset by peer"):
        got.extend(records)
    assert 0 < len(got) < 40
    assert [r.record["eventID"] for r in got] == [f"e-{i}" for i in range(len(got))]
    assert body.closed


# --- streaming: the same as the whole-document path -----------------------------------------


def edge_case_record(index: int) -> dict[str, Any]:
    record = dict(edge_case("escapes-and-unicode") if index % 2 else ADMIN_RECORDS[index % 3])
    record["eventID"] = f"e-{index}"
    return record


ADMIN_RECORDS = orjson.loads(gzip.decompress(ADMIN_USER.read_bytes()))["Records"]
SHARED_FILES = sorted(LOG_FILES.glob("*.json.gz")) + sorted(AWSDOCS.glob("*.json"))


@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_every_shared_log_file_streams_to_what_the_whole_file_gives(path: Path) -> None:
    data = path.read_bytes()
    expected = whole(data).outcome()
    assert expected[0] or expected[1], "each file gives records or a counted skip"
    for chunk_size in (1, 2, 5, 64, 1 << 18):
        assert streamed(data, chunk_size).outcome() == expected, chunk_size


TRICKY = [
    {**ADMIN_RECORDS[0], "eventID": "quotes", "requestParameters": {"p": 'a "}]{[" b\\'}},
    {**ADMIN_RECORDS[1], "eventID": "unicode", "userAgent": "é ü 漢字 \U0001f600 \u2028"},
    {**ADMIN_RECORDS[2], "eventID": "nested", "resources": [[{"a": [{}]}], [], {"b": {"c": []}}]},
    {**ADMIN_RECORDS[0], "eventID": "escapes", "errorMessage": '\\\\"\\n\t/\\u0000'},
    {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete"},
    "a string element",
    17,
    None,
    [1, 2],
    {"not": "a record"},
]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(log_file(TRICKY), id="compact"),
        pytest.param(log_file(TRICKY, indent=2), id="indented"),
        pytest.param(gzip.compress(log_file(TRICKY, indent="\t")), id="gzip"),
        pytest.param(zlib.compress(log_file(TRICKY)), id="zlib"),
        pytest.param(b"\xef\xbb\xbf \n" + log_file(TRICKY) + b"\n\n", id="bom-and-space"),
        pytest.param(gzip.compress(log_file(TRICKY[:3])) + gzip.compress(b""), id="gzip-members"),
        pytest.param(gzip.compress(log_file(TRICKY)) + b"\0\0\0\0", id="gzip-padding"),
        pytest.param(b'{"Records": []}', id="empty"),
        pytest.param(b'{ "Records" : [ ] }', id="empty-spaced"),
        pytest.param(b'{"Records": [true, false, null, 1.5e3, -0, "x"]}', id="scalars"),
        pytest.param(json.dumps(TRICKY[0]).encode(), id="a-bare-record"),
        pytest.param(b"\n".join(json.dumps(r).encode() for r in TRICKY[:3]), id="json-lines"),
        pytest.param(b'{"Events": []}', id="another-document"),
        pytest.param((AWSDOCS / DIGEST).read_bytes(), id="digest-content"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"", id="empty-input"),
        pytest.param(b"\x1f\x8b\x08garbage", id="corrupt-gzip-header"),
        pytest.param(gzip.compress(b"not json"), id="gzip-of-text"),
        pytest.param(gzip.compress(gzip.compress(log_file(TRICKY))), id="double-gzip"),
    ],
)
def test_streaming_matches_the_whole_file_path(data: bytes) -> None:
    expected = whole(data).outcome()
    for chunk_size in (1, 3, 16, 1 << 18):
        assert streamed(data, chunk_size).outcome() == expected, chunk_size


@given(
    st.lists(JSON_VALUES | st.sampled_from(TRICKY), max_size=8),
    st.integers(min_value=1, max_value=64),
    st.booleans(),
)
def test_any_records_array_streams_to_what_the_whole_file_gives(
    elements: list[Any], chunk_size: int, indent: bool
) -> None:
    data = log_file(elements, indent=1 if indent else None, ensure_ascii=False)
    assert streamed(data, chunk_size).outcome() == whole(data).outcome()


# --- streaming: damage ----------------------------------------------------------------------


def problems(run: Run) -> list[tuple[str, str, str, str]]:
    return [(p.kind, p.place.position, p.reason, p.detail) for p in run.problems]


def test_a_truncated_gzip_gives_the_records_before_the_damage_then_an_error() -> None:
    records = [edge_case_record(i) for i in range(200)]
    data = gzip.compress(log_file(records))
    cut = data[: len(data) // 2]
    assert problems(whole(cut)) == [
        ("invalid", "", "unreadable compressed data", "gzip data is truncated (no end of stream)")
    ]
    run = streamed(cut, 1024)
    ids = [r.record["eventID"] for r in run.records]
    assert 10 < len(ids) < 200
    assert ids == [f"e-{i}" for i in range(len(ids))]
    assert problems(run) == [
        ("invalid", "", "unreadable compressed data", "gzip data is truncated (no end of stream)")
    ]


def test_a_log_file_cut_inside_the_array_is_an_error_after_its_records() -> None:
    text = log_file([edge_case_record(i) for i in range(3)])
    run = streamed(text[:-30])
    assert [r.record["eventID"] for r in run.records] == ["e-0", "e-1"]
    assert problems(run) == [
        (
            "invalid",
            "",
            "invalid JSON",
            "the input ends inside the Records array (truncated?) after 2 element(s)",
        )
    ]


def test_an_invalid_element_is_an_error_at_its_position_and_the_rest_go_on() -> None:
    good = [json.dumps(edge_case_record(i)) for i in range(3)]
    text = f'{{"Records": [{good[0]}, {{"eventID": tru}}, {good[1]},\n{good[2]}]}}'.encode()
    run = streamed(text, 7)
    assert [(r.record["eventID"], r.place.position) for r in run.records] == [
        ("e-0", "Records[0]"),
        ("e-1", "Records[2]"),
        ("e-2", "Records[3]"),
    ]
    [(kind, position, reason, detail)] = problems(run)
    assert (kind, position, reason) == ("invalid", "Records[1]", "invalid JSON")
    assert detail.startswith("JSON is malformed")


@pytest.mark.parametrize(
    ("tail", "detail"),
    [
        (b', "more": 1}', "expected } after the Records array (a log file has no other keys)"),
        (b"} {}", "unexpected b'{' after the log file's closing brace"),
        (b"", "the input ends before the closing } (truncated?)"),
    ],
)
def test_anything_after_the_array_but_the_closing_brace_is_an_error(
    tail: bytes, detail: str
) -> None:
    data = log_file([edge_case_record(0)])[:-1] + tail
    run = streamed(data, 4)
    assert [r.record["eventID"] for r in run.records] == ["e-0"]
    [(kind, position, reason, got)] = problems(run)
    assert (kind, position, reason) == ("invalid", "", "invalid JSON")
    assert got.startswith(detail)


def test_elements_not_separated_by_commas_are_an_error() -> None:
    data = b'{"Records": [{"a": 1} {"b": 2}]}'
    run = streamed(data)
    assert problems(run) == [
        ("skipped", "Records[0]", "not a CloudTrail record", "object with keys a"),
        ("invalid", "", "invalid JSON", "expected , or ] after Records[0] (byte 22)"),
    ]


# --- streaming: memory ----------------------------------------------------------------------

BIG = 40_000_000
"""Inflated bytes of the generated log file: tens of MB, far above the memory allowed."""
MEMORY_LIMIT = 6_000_000


def big_log_file(size: int) -> tuple[bytes, int]:
    """A gzipped log file of about `size` inflated bytes, written as a stream; its count."""
    out = io.BytesIO()
    count = written = 0
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as gz:
        gz.write(b'{"Records":[')
        while written < size:
            record = {**ADMIN_RECORDS[count % 3], "eventID": f"big-{count}"}
            text = (b"," if count else b"") + orjson.dumps(record)
            gz.write(text)
            written += len(text)
            count += 1
        gz.write(b"]}")
    return out.getvalue(), count


def test_a_large_object_is_read_from_s3_in_bounded_memory(bucket: Any) -> None:
    data, count = big_log_file(BIG)
    bucket.put_object(Bucket=BUCKET, Key=PLAIN_KEY, Body=data)
    reader = S3ObjectReader(boto3_client("s3"))
    run = Run()
    seen = 0
    first = last = None
    tracemalloc.start()
    try:
        for item in reader(S3ObjectRef(BUCKET, PLAIN_KEY), OBJECT, run.decoder):
            first = first or item
            last = item
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count == run.tally.records
    assert (first.record["eventID"], last.record["eventID"]) == ("big-0", f"big-{count - 1}")
    assert last.place.position == f"Records[{count - 1}]"
    assert run.problems == []
    assert peak < MEMORY_LIMIT, f"peak {peak} bytes for {BIG} bytes inflated"


def test_a_generated_file_streams_to_the_same_records_as_the_whole_file() -> None:
    data, count = big_log_file(3_000_000)
    expected = whole(data).outcome()
    assert len(expected[0]) == count
    assert streamed(data, 4096).outcome() == expected


TRICKY_TEXT = st.sampled_from(['},{"eventVersion":"1"}', "}]", "},{", '\\"},{', "{[", "plain"])


@st.composite
def tricky_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records whose strings and nested objects hold the `},{` that batches split at."""
    records = []
    for index in range(draw(st.integers(1, 30))):
        record = dict(ADMIN_RECORDS[index % 3])
        record["eventID"] = f"t-{index}"
        record["userAgent"] = draw(TRICKY_TEXT)
        items = [{"value": draw(TRICKY_TEXT)} for _ in range(draw(st.integers(0, 3)))]
        record["requestParameters"] = {"items": items, "nested": [{"a": {}}, {"b": []}]}
        records.append(record)
    return records


@given(tricky_records(), st.integers(16, 4096), st.booleans())
def test_batches_split_only_between_records(records: list[Any], chunk: int, pretty: bool) -> None:
    """However the text falls into chunks, streaming finds exactly the whole file's records."""
    separators = (", ", ": ") if pretty else (",", ":")
    data = json.dumps({"Records": records}, separators=separators).encode()
    expected = whole(data).outcome()
    assert len(expected[0]) == len(records)
    assert streamed(data, chunk).outcome() == expected
    assert streamed(gzip.compress(data), chunk).outcome() == expected


def test_a_record_that_is_not_utf8_is_an_error_at_its_position_and_the_rest_go_on() -> None:
    good = [json.dumps(edge_case_record(i)).encode() for i in range(40)]
    bad = good[20].replace(b'"userIdentity": {', b'"userIdentity": {"x": "\xff", ')
    assert bad != good[20]  # the bad byte sits in a nested object, decoded only when read
    text = b'{"Records":[' + b",".join([*good[:20], bad, *good[21:]]) + b"]}"
    for run in (streamed(text, 512), streamed(gzip.compress(text))):
        assert len(run.records) == 39
        [(kind, position, reason, detail)] = problems(run)
        assert (kind, position, reason) == ("invalid", "Records[20]", "invalid JSON")
        assert "not UTF-8" in detail
