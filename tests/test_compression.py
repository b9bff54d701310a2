"""gzip and zlib are recognised by their magic bytes and undone; anything else passes as is."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path

import pytest

from conftest import SHARED_DATA
from trailguard.model import Place
from trailguard.sources import Decoder, compression
from trailguard.sources.compression import CompressionError, compression_of, decompress
from trailguard.tally import InputTally

LOG_FILES = SHARED_DATA / "envelopes" / "s3" / "cloudtrail_log_files"
REAL_LOG_FILE = LOG_FILES / "stratus_aws.persistence.iam-create-admin-user.json.gz"
ZLIB_PAYLOAD = (
    SHARED_DATA
    / "envelopes"
    / "cloudwatch_logs"
    / "powertools_cloudWatchLogEventWithPolicyLevel_zlib.json"
)
RECORDS = b'{"Records": [{"eventVersion": "1.08", "eventSource": "iam.amazonaws.com"}]}'


def awslogs_data(path: Path) -> bytes:
    return base64.b64decode(json.loads(path.read_text())["awslogs"]["data"])


# --- what is compressed is inflated -------------------------------------------------------


def test_gzip_is_inflated() -> None:
    assert compression_of(gzip.compress(RECORDS)) == "gzip"
    assert decompress(gzip.compress(RECORDS)) == RECORDS


def test_real_cloudtrail_log_file_is_gzip() -> None:
    data = REAL_LOG_FILE.read_bytes()
    assert compression_of(data) == "gzip"
    inflated = decompress(data)
    assert inflated == gzip.decompress(data)
    assert len(json.loads(inflated)["Records"]) == 3


def test_multi_member_gzip_reads_every_member() -> None:
    first, second, third = b'{"Records": [', b'{"eventVersion": "1.08"}', b"]}"
    data = gzip.compress(first) + gzip.compress(second) + gzip.compress(third)
    assert decompress(data) == first + second + third


def test_gzip_followed_by_zero_padding_ignores_the_padding() -> None:
    assert decompress(gzip.compress(RECORDS) + b"\x00" * 16) == RECORDS


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_zlib_is_inflated_at_every_level(level: int) -> None:
    data = zlib.compress(RECORDS, level)
    assert compression_of(data) == "zlib"
    assert decompress(data) == RECORDS


@pytest.mark.parametrize("wbits", [9, 10, 12, 15])
def test_zlib_with_a_small_window_is_inflated(wbits: int) -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    data = packer.compress(RECORDS) + packer.flush()
    assert compression_of(data) == "zlib"
    assert decompress(data) == RECORDS


def test_real_cloudwatch_logs_zlib_payload_is_recognised() -> None:
    data = awslogs_data(ZLIB_PAYLOAD)
    assert data[:2] == b"\x78\xda"
    assert compression_of(data) == "zlib"
    document = json.loads(decompress(data))
    assert document["messageType"] == "DATA_MESSAGE"
    assert len(document["logEvents"]) == 2


# --- plain data passes unchanged ----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"\x1f",
        RECORDS,
        b'[{"eventVersion": "1.08"}]',
        b"\xef\xbb\xbf{}",
        b"  \n\t{}",
        b"Apache License\n Version 2.0",
        b"x = 1\n",  # 'x ' looks like a zlib header but asks for a preset dictionary
        b"80 bytes of text",
    ],
    ids=repr,
)
def test_plain_data_passes_unchanged(data: bytes) -> None:
    assert compression_of(data) is None
    assert decompress(data) is data


def test_real_plain_json_files_pass_unchanged() -> None:
    for path in sorted((SHARED_DATA / "envelopes" / "eventbridge").glob("*.json")):
        data = path.read_bytes()
        assert decompress(data) is data, path


# --- bad compressed data is a CompressionError that says what is wrong --------------------


def test_truncated_gzip_says_truncated() -> None:
    data = REAL_LOG_FILE.read_bytes()
    with pytest.raises(CompressionError, match=r"^gzip data is truncated"):
        decompress(data[: len(data) // 2])


def test_gzip_missing_its_trailer_says_truncated() -> None:
    with pytest.raises(CompressionError, match="truncated"):
        decompress(gzip.compress(RECORDS)[:-4])


def test_gzip_magic_alone_says_truncated() -> None:
    with pytest.raises(CompressionError, match="gzip data is truncated"):
        decompress(b"\x1f\x8b")


def test_truncated_zlib_says_truncated() -> None:
    with pytest.raises(CompressionError, match=r"^zlib data is truncated"):
        decompress(zlib.compress(RECORDS)[:-2])


def test_truncated_second_gzip_member_says_truncated() -> None:
    data = gzip.compress(RECORDS) + gzip.compress(RECORDS)[:12]
    with pytest.raises(CompressionError, match="gzip data is truncated"):
        decompress(data)


def test_gzip_magic_followed_by_garbage_is_corrupt() -> None:
    unknown_method = (
        r"^corrupt gzip data: .*(unknown compression method|unsupported compress method)"
    )
    with pytest.raises(CompressionError, match=unknown_method):
        decompress(b"\x1f\x8bthis is not gzip at all")


def test_corrupt_gzip_body_is_corrupt() -> None:
    data = bytearray(gzip.compress(RECORDS * 20))
    data[10:20] = b"\xff" * 10  # the deflate stream right after the header
    with pytest.raises(CompressionError, match=r"^corrupt gzip data"):
        decompress(bytes(data))


def test_gzip_with_a_wrong_checksum_is_corrupt() -> None:
    data = bytearray(gzip.compress(RECORDS))
    data[-8] ^= 0xFF  # CRC32 in the trailer
    with pytest.raises(
        CompressionError, match=r"(?i)^corrupt gzip data: .*incorrect (data check|checksum)"
    ):
        decompress(bytes(data))


def test_corrupt_zlib_is_corrupt() -> None:
    with pytest.raises(CompressionError, match=r"^corrupt zlib data"):
        decompress(b"\x78\x9c" + b"\xff" * 30)


def test_compression_error_is_a_value_error() -> None:
    assert issubclass(CompressionError, ValueError)


# --- the guard against decompression bombs ------------------------------------------------


def test_expansion_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "MAX_EXPANSION", 1000)
    with pytest.raises(CompressionError, match="gzip data expands past 1000 bytes"):
        decompress(gzip.compress(b"0" * 100_000))
    with pytest.raises(CompressionError, match="zlib data expands past 1000 bytes"):
        decompress(zlib.compress(b"0" * 100_000))


def test_expansion_exactly_to_the_limit_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "MAX_EXPANSION", 1000)
    assert decompress(gzip.compress(b"0" * 1000)) == b"0" * 1000


def test_limit_holds_across_gzip_members(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "MAX_EXPANSION", 1000)
    with pytest.raises(CompressionError, match="expands past 1000 bytes"):
        decompress(gzip.compress(b"a" * 600) + gzip.compress(b"b" * 100_000))


def test_limit_holds_after_a_member_that_fills_it_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A first member of exactly the limit once left a limit of 0 for the next one, and
    # zlib reads max_length 0 as "no limit".
    monkeypatch.setattr(compression, "MAX_EXPANSION", 1000)
    with pytest.raises(CompressionError, match="expands past 1000 bytes"):
        decompress(gzip.compress(b"a" * 1000) + gzip.compress(b"b" * 100_000))


# --- through the decoder: detected from content, errors counted with their place ----------


def decode(data: bytes, location: str) -> tuple[int, InputTally]:
    tally = InputTally()
    records = list(Decoder(tally).bytes(data, Place(location)))
    return len(records), tally


def test_decoder_reads_gzip_whatever_the_file_is_called() -> None:
    count, tally = decode(REAL_LOG_FILE.read_bytes(), "renamed.json")
    assert (count, tally.records, tally.skipped_total, tally.invalid_total) == (3, 3, 0, 0)


def test_decoder_reads_zlib_json() -> None:
    record = {"eventVersion": "1.08", "eventSource": "iam.amazonaws.com", "eventName": "X"}
    count, tally = decode(zlib.compress(json.dumps([record, record]).encode()), "a.txt")
    assert (count, tally.invalid_total) == (2, 0)


def test_decoder_reports_truncated_gzip_as_an_error_at_the_file() -> None:
    data = REAL_LOG_FILE.read_bytes()
    count, tally = decode(data[:-100], "trail/file.json.gz")
    assert count == 0
    assert tally.invalid == {"unreadable compressed data": 1}
    [problem] = tally.errors
    assert problem.place == Place("trail/file.json.gz")
    assert problem.detail == "gzip data is truncated (no end of stream)"


def test_decoder_reads_plain_text_that_resembles_zlib_as_not_json() -> None:
    count, tally = decode(b"x = 1\n", "notes.txt")
    assert count == 0
    assert tally.invalid_total == 0
    assert tally.skipped == {"not JSON (not CloudTrail data)": 1}
