"""The lazy record answers exactly as the fully decoded JSON would, on every real record."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import JSON_VALUES, SHARED_DATA
from trailguard.model import Place
from trailguard.record import (
    FIELD_NAMES,
    CloudTrailRecord,
    RecordDecodeError,
    as_record,
    decode_json,
    decode_json_array,
    plain,
)
from trailguard.rules.packs import load_shipped_rules
from trailguard.rules.ruleset import RuleSet


def real_records() -> list[dict[str, Any]]:
    found = []
    for path in sorted((SHARED_DATA / "events").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            entry = orjson.loads(line)
            record = entry.get("event")
            if isinstance(record, dict):
                found.append(record.get("detail", record))
    return [r for r in found if isinstance(r, dict)]


REAL = real_records()


def test_every_real_record_fits_the_lazy_struct() -> None:
    """The struct names every top-level field the real records use (else: slow path)."""
    assert len(REAL) > 300
    assert all(isinstance(decode_json(orjson.dumps(r)), CloudTrailRecord) for r in REAL)


@pytest.mark.parametrize("index", range(0, len(REAL), 7))
def test_every_field_reads_as_the_fully_decoded_json(index: int) -> None:
    original = REAL[index]
    record = as_record(decode_json(orjson.dumps(original)))
    assert dict(record.items()) == original
    assert sorted(record) == sorted(original)
    assert len(record) == len(original)
    for key, value in original.items():
        assert key in record
        assert record.get(key) == value
        assert record[key] == value
    assert "notAField" not in record
    assert record.get("notAField", "default") == "default"
    with pytest.raises(KeyError):
        record["notAField"]
    assert plain(record) == original
    assert record == original


def test_a_nested_object_is_decoded_once_and_kept() -> None:
    record = decode_json(orjson.dumps(REAL[0]))
    assert isinstance(record, CloudTrailRecord)
    first = record.get("userIdentity")
    assert isinstance(first, dict)
    assert record.get("userIdentity") is first


def test_unknown_fields_are_kept_by_decoding_the_whole_object() -> None:
    value = decode_json(b'{"eventName": "X", "futureField": {"a": [1, 2]}}')
    assert value == {"eventName": "X", "futureField": {"a": [1, 2]}}
    assert as_record(value).get("futureField") == {"a": [1, 2]}


def test_struct_method_names_are_not_fields() -> None:
    record = decode_json(b'{"eventName": "X"}')
    assert isinstance(record, CloudTrailRecord)
    for name in ("__class__", "__struct_fields__", "get", "_fields"):
        assert name not in record
        assert record.get(name) is None
    assert 3 not in record
    assert "eventName" in FIELD_NAMES


@pytest.mark.parametrize(
    ("text", "expected"),
    [(b"[1, 2]", [1, 2]), (b'"text"', "text"), (b"null", None), (b"12", 12)],
)
def test_values_that_are_not_objects_come_back_as_they_are(text: bytes, expected: Any) -> None:
    assert decode_json(text) == expected


@pytest.mark.parametrize("text", [b'{"eventID": tru}', b'{"eventName": "abc', b"", b"{,}"])
def test_invalid_json_is_a_record_decode_error(text: bytes) -> None:
    with pytest.raises(RecordDecodeError):
        decode_json(text)


def test_a_record_is_read_only_and_pickles_as_its_content() -> None:
    record = decode_json(orjson.dumps(REAL[1]))
    assert isinstance(record, Mapping)
    with pytest.raises(TypeError):
        record["eventName"] = "x"  # type: ignore[index]
    again = pickle.loads(pickle.dumps(record))
    assert isinstance(again, CloudTrailRecord)
    assert again == REAL[1]


@given(st.dictionaries(st.sampled_from([*sorted(FIELD_NAMES), "other"]), JSON_VALUES))
def test_any_values_in_any_fields_read_back_unchanged(fields: dict[str, Any]) -> None:
    try:
        text = orjson.dumps(fields)
    except TypeError:  # integers orjson cannot write
        return
    record = as_record(decode_json(text))
    assert plain(record) == fields
    for key in FIELD_NAMES:
        assert record.get(key, "absent") == fields.get(key, "absent")


def test_a_rule_is_not_fooled_by_escapes_in_the_raw_json() -> None:
    """Rules may rule a record out by its raw text; an escaped value must still match."""
    root_rules = [r for r in load_shipped_rules("cis") if r.rule_id.endswith("01_root_usage")]
    assert root_rules
    rules = RuleSet("cis", root_rules)
    base = (
        b'{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"CreateUser",'
        b'"eventTime":"2026-11-02T08:00:00Z","eventType":"AwsApiCall","eventID":"e-1",'
        b'"userIdentity":{"type":"TYPE","arn":"arn:aws:iam::111122223333:root"}}'
    )
    for spelled, fires in [
        (b"Root", True),
        (b"\\u0052oot", True),
        (b"Ro\\u006ft", True),
        (b"AssumedRole", False),
        (b"root", False),
    ]:
        record = decode_json(base.replace(b"TYPE", spelled))
        assert isinstance(record, CloudTrailRecord)
        found = rules.evaluate(record, Place("test"))
        assert bool(found) is fires, spelled


@pytest.mark.parametrize(
    "text",
    [
        b'{"eventName": "x", "userIdentity": {"type": "\xff"}}',  # nested: decoded later
        b'{"eventName": "\xc3"}',
        b'{"eventName": "x", "futureField": "\xff"}',
    ],
)
def test_text_that_is_not_utf8_is_an_error_when_read_not_when_used(text: bytes) -> None:
    with pytest.raises(RecordDecodeError, match="not UTF-8"):
        decode_json(text)
    with pytest.raises(RecordDecodeError, match="not UTF-8"):
        decode_json_array(b"[" + text + b"]")
