"""A CloudTrail record, decoded only as far as it is read.

The hot path reads a few top-level fields of every record (eventSource, eventName,
errorCode) and the nested objects (userIdentity, requestParameters, responseElements...)
of only the records a rule or an alert looks at. So a record read from JSON is decoded into
a struct of its top-level fields, with each nested object kept as raw JSON until it is first
read, and never decoded if nothing reads it (`docs/performance.md` measures the decoding
against orjson's). Records with fields this
struct does not know, and records built from already-parsed JSON, are kept as a dict. Either
way a record is a read-only Mapping, and `get` answers the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from operator import attrgetter
from typing import Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

_MISSING: Any = object()


class _Fields(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """CloudTrail's documented top-level fields; nested objects stay raw until read."""

    eventVersion: Any = UNSET  # noqa: N815 - CloudTrail's own field names
    eventTime: Any = UNSET  # noqa: N815
    eventSource: Any = UNSET  # noqa: N815
    eventName: Any = UNSET  # noqa: N815
    awsRegion: Any = UNSET  # noqa: N815
    sourceIPAddress: Any = UNSET  # noqa: N815
    userAgent: Any = UNSET  # noqa: N815
    errorCode: Any = UNSET  # noqa: N815
    errorMessage: Any = UNSET  # noqa: N815
    requestID: Any = UNSET  # noqa: N815
    eventID: Any = UNSET  # noqa: N815
    readOnly: Any = UNSET  # noqa: N815
    eventType: Any = UNSET  # noqa: N815
    apiVersion: Any = UNSET  # noqa: N815
    managementEvent: Any = UNSET  # noqa: N815
    recipientAccountId: Any = UNSET  # noqa: N815
    sharedEventID: Any = UNSET  # noqa: N815
    vpcEndpointId: Any = UNSET  # noqa: N815
    vpcEndpointAccountId: Any = UNSET  # noqa: N815
    eventCategory: Any = UNSET  # noqa: N815
    sessionCredentialFromConsole: Any = UNSET  # noqa: N815
    insightType: Any = UNSET  # noqa: N815
    userIdentity: Raw | UnsetType = UNSET  # noqa: N815
    requestParameters: Raw | UnsetType = UNSET  # noqa: N815
    responseElements: Raw | UnsetType = UNSET  # noqa: N815
    additionalEventData: Raw | UnsetType = UNSET  # noqa: N815
    resources: Raw | UnsetType = UNSET
    serviceEventDetails: Raw | UnsetType = UNSET  # noqa: N815
    tlsDetails: Raw | UnsetType = UNSET  # noqa: N815
    insightDetails: Raw | UnsetType = UNSET  # noqa: N815
    edgeDeviceDetails: Raw | UnsetType = UNSET  # noqa: N815
    addendum: Raw | UnsetType = UNSET


FIELD_NAMES: frozenset[str] = frozenset(_Fields.__struct_fields__)
_GETTERS: dict[tuple[str, ...], tuple[Any, bool]] = {}


def _getter(names: tuple[str, ...]) -> tuple[Any, bool]:
    """An attrgetter for `names`, and whether any of them is a nested (raw) field."""
    getter = _GETTERS.get(names)
    if getter is None:
        if not FIELD_NAMES.issuperset(names):
            raise ValueError(f"not CloudTrail fields: {sorted(set(names) - FIELD_NAMES)}")
        nested = any(_Fields.__annotations__[name] != "Any" for name in names)
        getter = _GETTERS[names] = (attrgetter(*names), nested)
    return getter


_decode_fields = msgspec.json.Decoder(_Fields).decode
_decode_any = msgspec.json.decode


class RecordDecodeError(ValueError):
    """The bytes are not valid JSON; the message says where (byte offset)."""


class CloudTrailRecord(Mapping[str, Any]):
    """A read-only record; nested objects are decoded on first read and then kept."""

    __slots__ = ("_data", "_decoded", "_fields", "_texts")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data: Mapping[str, Any] | None = data
        self._fields: _Fields | None = None
        self._decoded: dict[str, Any] | None = None
        self._texts: dict[str, bytes | None] | None = None

    @classmethod
    def _lazy(cls, fields: _Fields) -> CloudTrailRecord:
        record = cls.__new__(cls)
        record._data = None
        record._fields = fields
        record._decoded = None
        record._texts = None
        return record

    def get(self, key: str, default: Any = None) -> Any:
        fields = self._fields
        if fields is None:
            assert self._data is not None
            return self._data.get(key, default)
        if key not in FIELD_NAMES:
            return default
        value = getattr(fields, key)
        if value is UNSET:
            return default
        if value.__class__ is Raw:
            return self._nested(key, value)
        return value

    def _nested(self, key: str, raw: Raw) -> Any:
        """A nested object, decoded on first read; the raw JSON stays for `raw_json`."""
        decoded = self._decoded
        if decoded is None:
            decoded = self._decoded = {}
        elif key in decoded:
            return decoded[key]
        value = decoded[key] = _decode_any(raw)
        return value

    def raw_json(self, key: str) -> bytes | None:
        """A nested object's JSON text as read, if this record kept it: a cache key, and
        text that a rule can rule itself out on without decoding it."""
        fields = self._fields
        if fields is None or key not in FIELD_NAMES:
            return None
        texts = self._texts
        if texts is None:
            texts = self._texts = {}
        elif key in texts:
            return texts[key]
        value = getattr(fields, key)
        text = texts[key] = bytes(value) if value.__class__ is Raw else None
        return text

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        fields = self._fields
        if fields is None:
            assert self._data is not None
            return key in self._data
        return isinstance(key, str) and key in FIELD_NAMES and getattr(fields, key) is not UNSET

    def __iter__(self) -> Iterator[str]:
        fields = self._fields
        if fields is None:
            assert self._data is not None
            return iter(self._data)
        return (name for name in _Fields.__struct_fields__ if getattr(fields, name) is not UNSET)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def as_dict(self) -> dict[str, Any]:
        """Every field decoded, as a plain dict (for JSON output)."""
        return {key: self.get(key) for key in self}

    def __reduce__(self) -> tuple[Any, ...]:
        return (CloudTrailRecord, (self.as_dict(),))

    def __repr__(self) -> str:
        return f"CloudTrailRecord({self.as_dict()!r})"


def decode_json(data: bytes | str) -> Any:
    """Decode one JSON value: an object of CloudTrail's fields becomes a lazy
    CloudTrailRecord; any other value (an object with other fields too) is decoded whole.

    Raises RecordDecodeError for invalid JSON.
    """
    if isinstance(data, bytes):
        _check_utf8(data)
    return _decoded(data, _lazy_record, _decode_any)


def _check_utf8(data: bytes) -> None:
    """Nested objects are decoded only when read, so their text is checked now: a record
    that cannot be decoded is an input error here, never a failure at alert time."""
    try:
        str(data, "utf-8")
    except UnicodeDecodeError as exc:
        raise RecordDecodeError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def _lazy_record(data: bytes | str) -> CloudTrailRecord:
    return CloudTrailRecord._lazy(_decode_fields(data))


def _decoded(data: Any, lazily: Callable[[Any], Any], wholly: Callable[[Any], Any]) -> Any:
    """`lazily(data)`, or `wholly(data)` when the data holds more than CloudTrail's fields
    (or is not an object); invalid JSON is a RecordDecodeError either way."""
    try:
        try:
            return lazily(data)
        except msgspec.ValidationError:
            return wholly(data)
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise RecordDecodeError(str(exc)) from None


def as_record(value: Mapping[str, Any]) -> CloudTrailRecord:
    """The record type every source yields, whatever parsed it."""
    return value if isinstance(value, CloudTrailRecord) else CloudTrailRecord(value)


_decode_field_list = msgspec.json.Decoder(list[_Fields]).decode
_decode_raw_list = msgspec.json.Decoder(list[Raw]).decode


def decode_json_array(data: bytes) -> list[Any]:
    """Decode a JSON array as `decode_json` decodes each element, in one pass when every
    element is an object of CloudTrail's fields (a log file's records).

    Raises RecordDecodeError for invalid JSON.
    """
    _check_utf8(data)
    return _decoded(data, _lazy_records, _each_decoded)  # type: ignore[no-any-return]


def _lazy_records(data: bytes) -> list[CloudTrailRecord]:
    return [CloudTrailRecord._lazy(fields) for fields in _decode_field_list(data)]


def _each_decoded(data: bytes) -> list[Any]:
    return [decode_json(element) for element in _decode_raw_list(data)]


def plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as a plain dict, for JSON encoders that take only dicts."""
    if isinstance(record, CloudTrailRecord):
        return record.as_dict()
    return dict(record)


def peek(record: Mapping[str, Any], names: tuple[str, ...]) -> tuple[Any, ...]:
    """Several top-level scalar fields at once, the cheapest way, for readers that keep only
    strings, booleans or truthiness: a missing field may come back as `msgspec.UNSET`, which
    is falsy and neither a string nor a boolean."""
    if record.__class__ is CloudTrailRecord:
        fields = record._fields
        if fields is not None:
            getter, nested = _getter(names)
            if not nested:
                found = getter(fields)
                return (found,) if len(names) == 1 else found
    get = record.get
    return tuple(get(name) for name in names)
