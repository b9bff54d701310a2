"""CloudWatch Logs subscription payloads: `{"awslogs": {"data": base64(gzip(json))}}`.

The decoded document holds `logEvents`; CloudTrail writes one record per message. This is
the seed's path and the hot one, so messages are decoded directly, without the classifier.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trailguard.model import Place, SourcedRecord
from trailguard.record import RecordDecodeError, as_record, decode_json
from trailguard.sources.records import describe_keys, is_cloudtrail_record

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder

NAME = "cloudwatch_logs"
NOT_A_RECORD = "log message is not a CloudTrail record"


def decode_base64(text: Any) -> bytes:
    """Strict base64, so that garbage is an error rather than a few stray bytes."""
    if not isinstance(text, str | bytes):
        raise ValueError(f"expected a base64 string, found {type(text).__name__}")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not valid base64: {exc}") from None


class _Payload:
    """The event a subscription delivers to Lambda, or the same saved to a file."""

    name = NAME

    def matches(self, obj: dict[str, Any]) -> bool:
        return "awslogs" in obj

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        awslogs = obj["awslogs"]
        data_place = place.child("awslogs.data", NAME)
        if not isinstance(awslogs, dict) or "data" not in awslogs:
            decoder.tally.error(data_place, "awslogs has no data", describe_keys(awslogs))
            return
        try:
            raw = decode_base64(awslogs["data"])
        except ValueError as exc:
            decoder.tally.error(data_place, "unreadable awslogs.data", str(exc))
            return
        yield from decoder.bytes(raw, data_place, strict=True, depth=depth)


class _Document:
    """The decoded subscription document: messageType, logGroup, logEvents."""

    name = NAME

    def matches(self, obj: dict[str, Any]) -> bool:
        return "messageType" in obj and "logEvents" in obj

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        tally = decoder.tally
        message_type = obj.get("messageType")
        if message_type == "CONTROL_MESSAGE":
            tally.skip(place, "CloudWatch Logs control message")
            return
        log_events = obj.get("logEvents")
        if message_type != "DATA_MESSAGE" or not isinstance(log_events, list):
            tally.error(
                place,
                "unknown CloudWatch Logs document",
                f"messageType {message_type!r}, logEvents {describe_keys(log_events)}",
            )
            return
        if not log_events:
            tally.skip(place, "CloudWatch Logs data message with no log events")
            return
        decode = decode_json
        location = place.location
        prefix = f"{place.position} " if place.position else ""

        def at(index: int) -> Place:  # place.child, without its cost per record
            return Place(location, f"{prefix}logEvents[{index}]", NAME)

        for index, log_event in enumerate(log_events):
            message = log_event.get("message") if isinstance(log_event, dict) else None
            if not isinstance(message, str):
                tally.error(
                    at(index),
                    "log event has no message",
                    describe_keys(log_event),
                )
                continue
            if not message.startswith("{"):
                tally.skip(at(index), NOT_A_RECORD, message[:80])
                continue
            try:
                record = decode(message)
            except RecordDecodeError as exc:
                tally.error(
                    at(index),
                    "log message is not valid JSON (truncated?)",
                    str(exc),
                )
                continue
            if is_cloudtrail_record(record):
                tally.records += 1
                yield SourcedRecord(as_record(record), at(index))
            else:
                tally.skip(at(index), NOT_A_RECORD, describe_keys(record))


Payload = _Payload()
Document = _Document()
