"""S3 event notifications: they name objects (CloudTrail log files), they hold no records.

Where AWS is reachable the decoder follows them to the object; elsewhere they are counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from trailguard.model import Place, SourcedRecord
from trailguard.sources.records import describe_keys

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder

NAME = "s3_notification"


@dataclass(frozen=True, slots=True)
class S3ObjectRef:
    """An object an S3 notification names, with the key already URL-decoded."""

    bucket: str
    key: str
    size: int | None = None
    version_id: str | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: notifications are not trusted."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def from_notification_record(record: dict[str, Any]) -> S3ObjectRef | None:
    """An `s3:ObjectCreated:*` notification record; keys there are URL-encoded (+ is space)."""
    s3 = record.get("s3")
    if not isinstance(s3, dict):
        return None
    bucket = _object(s3.get("bucket")).get("name")
    obj = _object(s3.get("object"))
    key = obj.get("key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        return None
    size = obj.get("size")
    return S3ObjectRef(
        bucket,
        unquote_plus(key),
        size if isinstance(size, int) else None,
        _text(obj.get("versionId")),
    )


def from_eventbridge_detail(detail: Any) -> S3ObjectRef | None:
    """An EventBridge "Object Created" detail; keys there are not URL-encoded."""
    if not isinstance(detail, dict):
        return None
    bucket = _object(detail.get("bucket")).get("name")
    obj = _object(detail.get("object"))
    key = obj.get("key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        return None
    size = obj.get("size")
    return S3ObjectRef(
        bucket, key, size if isinstance(size, int) else None, _text(obj.get("version-id"))
    )


def decode_notification_record(
    record: dict[str, Any], place: Place, decoder: Decoder
) -> Iterator[SourcedRecord]:
    event_name = str(record.get("eventName", ""))
    if not event_name.startswith("ObjectCreated"):
        decoder.tally.skip(place, "S3 notification that is not ObjectCreated", event_name)
        return
    ref = from_notification_record(record)
    if ref is None:
        decoder.tally.error(place, "S3 notification without bucket and key", describe_keys(record))
        return
    yield from decoder.s3_object(ref, place)


class _TestEvent:
    """`s3:TestEvent`, sent once when a notification is configured."""

    name = NAME

    def matches(self, obj: dict[str, Any]) -> bool:
        return obj.get("Event") == "s3:TestEvent"

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        decoder.tally.skip(place, "S3 test event")
        return iter(())


TestEvent = _TestEvent()
