"""Property tests: whatever arrives, the decoder never raises and accounts for every input.

Inputs are arbitrary bytes, arbitrary JSON-like values, and real AWS envelopes from the
shared data, damaged at the byte level (also inside their base64 and gzip layers) or with
fields replaced by values of the wrong type.

Properties checked on every example:
- decoding never raises;
- the input is accounted for: records + skipped + invalid >= 1, and the tally's counts
  agree with what was yielded and with what the listener heard;
- every record yielded is a dict and a CloudTrail record;
- every problem has a non-empty reason, a text detail, and the input's location.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SHARED_DATA
from trailguard.model import Place, SourcedRecord
from trailguard.record import CloudTrailRecord
from trailguard.sources import Decoder
from trailguard.sources.records import is_cloudtrail_record
from trailguard.tally import InputTally, Problem

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LOCATION = "fuzz/input.json"

ENVELOPES = SHARED_DATA / "envelopes"
EVENTS = SHARED_DATA / "events"
ENVELOPE_FILES = sorted(
    p for p in ENVELOPES.rglob("*") if p.is_file() and "stratus_awslogs" not in p.parts
)
# a handful of the 35 Stratus payloads is enough variety, and keeps the suite fast
STRATUS_FILES = sorted((ENVELOPES / "cloudwatch_logs" / "stratus_awslogs").glob("*.json"))[::7]
EVENT_FILES = [
    *sorted((EVENTS / "awsdocs_log_files").glob("*.json")),
    EVENTS / "parser_edge_cases.jsonl",
    EVENTS / "awsdocs_userguide_events.jsonl",
]
REAL_FILES = ENVELOPE_FILES + STRATUS_FILES + EVENT_FILES
REAL_BYTES = [p.read_bytes() for p in REAL_FILES]
AWSLOGS_FILES = [p for p in REAL_FILES if p.suffix == ".json" and b'"awslogs"' in p.read_bytes()]


# --- the properties -----------------------------------------------------------------------


def check(run: Callable[[Decoder], Iterator[SourcedRecord]]) -> InputTally:
    problems: list[Problem] = []
    tally = InputTally(listener=problems.append)
    records = list(run(Decoder(tally)))

    assert tally.records + tally.skipped_total + tally.invalid_total >= 1
    assert len(records) == tally.records
    assert sum(p.kind == "skipped" for p in problems) == tally.skipped_total
    assert [p for p in problems if p.kind == "invalid"] == tally.errors
    assert len(tally.errors) == tally.invalid_total
    for sourced in records:
        assert isinstance(sourced.record, CloudTrailRecord)
        assert is_cloudtrail_record(sourced.record)
        assert sourced.place.location == LOCATION
    for problem in problems:
        assert isinstance(problem.reason, str)
        assert problem.reason.strip()
        assert isinstance(problem.detail, str)
        assert problem.place.location == LOCATION
        assert problem.message().startswith(LOCATION)
    return tally


def check_bytes(data: bytes) -> InputTally:
    return check(lambda decoder: decoder.bytes(data, Place(LOCATION)))


def check_document(document: Any) -> InputTally:
    return check(lambda decoder: decoder.document(document, Place(LOCATION)))


# --- building blocks --------------------------------------------------------------------


def dumps(value: Any) -> str:
    """JSON text as Python writes it: big integers and NaN included (NaN is not JSON)."""
    return json.dumps(value)


def b64_gzip(value: Any) -> str:
    return base64.b64encode(gzip.compress(dumps(value).encode())).decode()


A_RECORD = json.loads(
    gzip.decompress(
        (
            ENVELOPES
            / "s3/cloudtrail_log_files/stratus_aws.defense-evasion.cloudtrail-stop.json.gz"
        ).read_bytes()
    )
)["Records"][0]

KEYS = [
    "awslogs", "data", "messageType", "logEvents", "message", "Records", "eventSource",
    "EventSource", "body", "Sns", "Message", "Type", "kinesis", "s3", "bucket", "object",
    "key", "name", "size", "versionId", "version-id", "event-version", "eventName",
    "eventVersion", "eventType", "eventTime", "userIdentity", "detail-type", "detail",
    "source", "Events", "CloudTrailEvent", "digestStartTime", "logFiles", "digestS3Object",
    "Event",
]  # fmt: skip
STRINGS = [
    "DATA_MESSAGE", "CONTROL_MESSAGE", "aws:sqs", "aws:sns", "aws:s3", "aws:kinesis",
    "Notification", "s3:TestEvent", "ObjectCreated:Put", "ObjectRemoved:Delete",
    "AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail", "Object Created",
    "aws.s3", "iam.amazonaws.com", "AwsApiCall", "AwsCloudTrailInsight", "1.08", "2.0",
    "CloudTrail-Digest/x.json.gz", "my+file%3Da.json.gz", "H4sI", "", "{", "[", "{}",
    "not base64!", dumps(A_RECORD), dumps({"Records": [A_RECORD]}), b64_gzip(A_RECORD),
    b64_gzip({"messageType": "DATA_MESSAGE", "logEvents": [{"message": dumps(A_RECORD)}]}),
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(STRINGS)
)
keys = st.sampled_from(KEYS) | st.text(max_size=8)


def envelopes_of(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Containers, and the AWS wrappers around any value, so that nesting is explored."""
    return (
        st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=5)
        | children.map(lambda c: {"awslogs": {"data": b64_gzip(c)}})
        | children.map(lambda c: {"Records": [{"eventSource": "aws:sqs", "body": dumps(c)}]})
        | children.map(
            lambda c: {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": dumps(c)}}]}
        )
        | children.map(lambda c: {"Records": [{"kinesis": {"data": b64_gzip(c)}}]})
        | children.map(lambda c: {"Type": "Notification", "Message": dumps(c)})
        | children.map(lambda c: {"detail-type": "AWS API Call via CloudTrail", "detail": c})
        | children.map(lambda c: {"detail-type": "Object Created", "source": "aws.s3", "detail": c})
        | children.map(lambda c: {"Events": [{"CloudTrailEvent": dumps(c)}]})
        | st.lists(children, max_size=4).map(
            lambda cs: {
                "messageType": "DATA_MESSAGE",
                "logEvents": [{"message": c if isinstance(c, str) else dumps(c)} for c in cs],
            }
        )
        | st.dictionaries(keys, children, max_size=4).map(lambda d: A_RECORD | d)
    )


json_values = st.recursive(scalars | st.just(A_RECORD), envelopes_of, max_leaves=25)


# --- arbitrary input --------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    check_bytes(data)


PREFIXES = [b"", b"\x1f\x8b", b"\x1f\x8b\x08\x00", b"\x78\x9c", b"\x78\xda", b"\xef\xbb\xbf"]
PREFIXES += [b"{", b"[", b'{"Records": [', b'{"awslogs": {"data": "', b"\n"]


@FUZZ
@given(st.sampled_from(PREFIXES), st.binary(max_size=1024))
def test_bytes_that_start_like_something(prefix: bytes, rest: bytes) -> None:
    check_bytes(prefix + rest)


@FUZZ
@given(st.text(max_size=400), st.sampled_from([gzip.compress, zlib.compress, bytes]))
def test_compressed_text(text: str, pack: Callable[[bytes], bytes]) -> None:
    check_bytes(pack(text.encode("utf-8")))


@FUZZ
@given(json_values)
def test_arbitrary_json_values_as_documents(value: Any) -> None:
    check_document(value)


@FUZZ
@given(
    st.lists(json_values, min_size=1, max_size=4),
    st.sampled_from(["lines", "array", "gzip-lines"]),
)
def test_arbitrary_json_values_as_bytes(values: list[Any], layout: str) -> None:
    if layout == "array":
        data = dumps(values).encode()
    else:
        data = "\n".join(dumps(v) for v in values).encode()
        if layout == "gzip-lines":
            data = gzip.compress(data)
    check_bytes(data)


def test_the_record_used_for_building_is_a_record() -> None:
    assert is_cloudtrail_record(A_RECORD)
    assert check_document(A_RECORD).records == 1
    assert check_document({"awslogs": {"data": b64_gzip(A_RECORD)}}).records == 1


# --- real envelopes, damaged ------------------------------------------------------------


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few bytes flipped, inserted or deleted, or cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, len(out)))
        if operation == "flip" and at < len(out):
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif operation == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del out[at : at + draw(st.integers(1, 32))]
        elif operation == "truncate":
            del out[at:]
    return bytes(out)


def test_real_files_satisfy_the_properties() -> None:
    assert len(REAL_FILES) > 100
    assert len(AWSLOGS_FILES) >= 10
    for path, data in zip(REAL_FILES, REAL_BYTES, strict=True):
        tally = check(lambda decoder, d=data, p=path: decoder.bytes(d, Place(LOCATION)))
        assert tally.records + tally.skipped_total + tally.invalid_total >= 1, path


@FUZZ
@given(st.sampled_from(REAL_BYTES).flatmap(damaged))
def test_damaged_real_files(data: bytes) -> None:
    check_bytes(data)


@FUZZ
@given(st.sampled_from(REAL_BYTES).flatmap(damaged))
def test_damaged_real_files_gzipped(data: bytes) -> None:
    check_bytes(gzip.compress(data))


def awslogs_string(path: Path) -> str:
    data: str = json.loads(path.read_bytes())["awslogs"]["data"]
    return data


BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


@st.composite
def damaged_base64(draw: st.DrawFn, text: str) -> str:
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(chars)))
        operation = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        char = draw(st.sampled_from(BASE64_CHARS) | st.characters())
        if operation == "replace" and at < len(chars):
            chars[at] = char
        elif operation == "insert":
            chars.insert(at, char)
        elif operation == "delete":
            del chars[at : at + draw(st.integers(1, 8))]
        elif operation == "truncate":
            del chars[at:]
    return "".join(chars)


@FUZZ
@given(st.sampled_from(AWSLOGS_FILES).flatmap(lambda p: damaged_base64(awslogs_string(p))))
def test_damaged_awslogs_base64(data: str) -> None:
    check_document({"awslogs": {"data": data}})
    check_bytes(json.dumps({"awslogs": {"data": data}}).encode())


def awslogs_compressed(path: Path) -> bytes:
    return base64.b64decode(awslogs_string(path))


@FUZZ
@given(st.sampled_from(AWSLOGS_FILES).flatmap(lambda p: damaged(awslogs_compressed(p))))
def test_damaged_gzip_inside_awslogs(compressed: bytes) -> None:
    check_document({"awslogs": {"data": base64.b64encode(compressed).decode()}})


@FUZZ
@given(
    st.sampled_from(AWSLOGS_FILES).flatmap(
        lambda p: damaged(zlib.decompress(awslogs_compressed(p), 47))  # gzip or zlib
    )
)
def test_damaged_json_inside_awslogs(inner: bytes) -> None:
    check_document({"awslogs": {"data": base64.b64encode(gzip.compress(inner)).decode()}})


# --- real envelopes with fields of the wrong type ----------------------------------------

GZIP_JSON = "__base64_gzip_json__"
JSON_TEXT = "__json_text__"
TEXT_FIELDS = {"body", "Message", "message", "CloudTrailEvent"}


def _inflate_base64(text: str) -> Any:
    raw = binascii.a2b_base64(text, strict_mode=True)
    return json.loads(zlib.decompress(raw, 47))


def expand(value: Any) -> Any:
    """Open the layers AWS packs as text (base64 gzip, JSON in strings) into plain values."""
    if isinstance(value, list):
        return [expand(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        out[key] = expand(item)
        if not isinstance(item, str):
            continue
        try:
            if key == "data":
                out[key] = {GZIP_JSON: expand(_inflate_base64(item))}
            elif key in TEXT_FIELDS and item.lstrip()[:1] in ("{", "["):
                out[key] = {JSON_TEXT: expand(json.loads(item))}
        except (ValueError, zlib.error):
            pass
    return out


def collapse(value: Any) -> Any:
    """Pack the layers `expand` opened, whatever has been done to them meanwhile."""
    if isinstance(value, list):
        return [collapse(v) for v in value]
    if not isinstance(value, dict):
        return value
    if list(value) == [GZIP_JSON]:
        return b64_gzip(collapse(value[GZIP_JSON]))
    if list(value) == [JSON_TEXT]:
        return dumps(collapse(value[JSON_TEXT]))
    return {key: collapse(item) for key, item in value.items()}


JsonPath = tuple[str | int, ...]


def paths(value: Any, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Every place in `value` a field or element can be replaced (the wrapper markers too)."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*prefix, key)
        yield from paths(item, (*prefix, key))


DELETE = object()


def replaced(value: Any, path: JsonPath, new: Any) -> Any:
    """A copy of `value` with the item at `path` replaced by `new`, or removed (DELETE)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if rest or new is not DELETE:
            copy[head] = replaced(value[head], rest, new)
        else:
            del copy[head]
        return copy
    copy_list = list(value)
    assert isinstance(head, int)
    if rest or new is not DELETE:
        copy_list[head] = replaced(value[head], rest, new)
    else:
        del copy_list[head]
    return copy_list


def load_document(data: bytes) -> Any:
    text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return json.loads(text)


JSON_FILES = [p for p in REAL_FILES if p.suffix in (".json", ".gz")]
EXPANDED = [expand(load_document(p.read_bytes())) for p in JSON_FILES]
PATHS = [list(paths(document)) for document in EXPANDED]
NAMED = {
    "awslogs", "data", "logEvents", "message", "messageType", "Records", "body", "Sns",
    "Message", "kinesis", "s3", "bucket", "object", "key", "detail", "detail-type",
    "source", "Events", "CloudTrailEvent", "eventSource", "EventSource", "eventName",
    "eventVersion", "eventType", "userIdentity", "Type", "event-version", GZIP_JSON, JSON_TEXT,
}  # fmt: skip
NAMED_PATHS = [
    [p for p in document_paths if p[-1] in NAMED or isinstance(p[-1], int)]
    for document_paths in PATHS
]

wrong_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["", "{", "[]", "{}", "H4sI", "aws:s3", "ObjectCreated:Put"])
    | st.lists(st.integers() | st.text(max_size=3), max_size=3)
    | st.dictionaries(
        st.sampled_from(sorted(NAMED)) | st.text(max_size=4), st.integers(), max_size=3
    )
    | st.just(DELETE)
)


@st.composite
def rewritten(draw: st.DrawFn, choose_from: list[list[JsonPath]]) -> Any:
    index = draw(st.integers(0, len(EXPANDED) - 1))
    document = EXPANDED[index]
    for _ in range(draw(st.integers(1, 3))):
        candidates = [p for p in choose_from[index] if _exists(document, p)]
        if not candidates:
            break
        document = replaced(document, draw(st.sampled_from(candidates)), draw(wrong_values))
    return collapse(document)


def _exists(value: Any, path: JsonPath) -> bool:
    for step in path:
        in_dict = isinstance(value, dict) and step in value
        in_list = isinstance(value, list) and isinstance(step, int) and step < len(value)
        if not (in_dict or in_list):
            return False
        value = value[step]
    return True


def test_expand_and_collapse_are_faithful() -> None:
    assert len(JSON_FILES) > 100
    for path, document in zip(JSON_FILES, EXPANDED, strict=True):
        original = check_bytes(path.read_bytes())
        rebuilt = check_document(collapse(document))
        assert (rebuilt.records, rebuilt.skipped, rebuilt.invalid) == (
            original.records,
            original.skipped,
            original.invalid,
        ), path


def test_expand_opens_the_layers() -> None:
    index = JSON_FILES.index(ENVELOPES / "sqs_sns" / "sqs_sns_s3.json")
    assert (
        "Records",
        0,
        "body",
        JSON_TEXT,
        "Message",
        JSON_TEXT,
        "Records",
        0,
        "s3",
        "object",
        "key",
    ) in PATHS[index]
    stratus = JSON_FILES.index(STRATUS_FILES[0])
    assert ("awslogs", "data", GZIP_JSON, "logEvents", 0, "message", JSON_TEXT) in PATHS[stratus]


@FUZZ
@given(rewritten(PATHS))
def test_real_documents_with_any_field_replaced(document: Any) -> None:
    check_document(document)


@FUZZ
@given(rewritten(NAMED_PATHS))
def test_real_documents_with_envelope_fields_replaced(document: Any) -> None:
    check_document(document)
    check_bytes(dumps(document).encode())


@FUZZ
@given(
    st.sampled_from(sorted(NAMED)),
    wrong_values.filter(lambda v: v is not DELETE),
    st.integers(0, len(EXPANDED) - 1),
)
def test_every_occurrence_of_a_field_replaced(name: str, new: Any, index: int) -> None:
    """E.g. every `logEvents` a string, every `detail` a list, every `message` a number."""

    def replace_all(value: Any) -> Any:
        if isinstance(value, list):
            return [replace_all(v) for v in value]
        if isinstance(value, dict):
            return {k: new if k == name else replace_all(v) for k, v in value.items()}
        return value

    check_document(collapse(replace_all(EXPANDED[index])))


@FUZZ
@given(
    st.integers(0, len(EXPANDED) - 1), st.integers() | st.floats() | st.none() | st.text(max_size=5)
)
def test_record_lists_of_scalars(index: int, scalar: Any) -> None:
    """`Records`, `logEvents` and `Events` elements replaced by numbers and other scalars."""

    def scalars_in_lists(value: Any) -> Any:
        if isinstance(value, list):
            return [scalars_in_lists(v) for v in value]
        if isinstance(value, dict):
            return {
                k: [scalar for _ in v]
                if k in ("Records", "logEvents", "Events") and isinstance(v, list)
                else scalars_in_lists(v)
                for k, v in value.items()
            }
        return value

    tally = check_document(collapse(scalars_in_lists(EXPANDED[index])))
    # only a bare record or an EventBridge `detail` can still be one
    assert tally.records <= 1
