"""`{"Records": [...]}`: CloudTrail log files and the AWS messages that wrap notifications.

The same top-level shape carries CloudTrail records (a log file), SQS messages, SNS
deliveries, Kinesis records and S3 notifications; each element is decoded by its own kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trailguard.model import Place, SourcedRecord
from trailguard.record import CloudTrailRecord, as_record
from trailguard.sources import s3_notifications
from trailguard.sources.cloudwatch_logs import decode_base64
from trailguard.sources.records import describe_keys, is_cloudtrail_record

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder


def _text_bytes(value: Any) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else None


def sqs_message(
    element: dict[str, Any], index: int, place: Place, decoder: Decoder, depth: int
) -> Iterator[SourcedRecord]:
    """An SQS message's body, decoded again: JSON was promised, so anything else is an error.

    The Lambda handler calls it once per message, to report each message's failure on its own.
    """
    body = _text_bytes(element.get("body"))
    body_place = place.child(f"Records[{index}].body", "sqs")
    if body is None:
        decoder.tally.error(body_place, "SQS message has no text body")
        return iter(())
    return decoder.bytes(body, body_place, strict=True, depth=depth)


def records_element(
    element: Any, index: int, place: Place, decoder: Decoder, depth: int
) -> Iterator[SourcedRecord]:
    """One element of a `Records` array, decoded by its own kind.

    Shared by the whole-document path and the S3 reader, which streams a log file's
    elements one by one, so both give the same records, places, skips and errors.
    """
    tally = decoder.tally
    step = f"Records[{index}]"
    if is_cloudtrail_record(element):
        tally.records += 1
        yield SourcedRecord(as_record(element), place.child(step, "cloudtrail_log_file"))
        return
    if isinstance(element, CloudTrailRecord):  # CloudTrail's fields, yet not a record
        element = element.as_dict()
    if not isinstance(element, dict):
        tally.skip(place.child(step), "not a CloudTrail record", describe_keys(element))
    elif element.get("eventSource") == "aws:sqs":
        yield from sqs_message(element, index, place, decoder, depth)
    elif element.get("EventSource") == "aws:sns":
        sns = element.get("Sns")
        message = _text_bytes(sns.get("Message") if isinstance(sns, dict) else None)
        message_place = place.child(f"{step}.Sns.Message", "sns")
        if message is None:
            tally.error(message_place, "SNS record has no text message")
        else:
            yield from decoder.bytes(message, message_place, strict=True, depth=depth)
    elif isinstance(element.get("kinesis"), dict):
        data_place = place.child(f"{step}.kinesis.data", "kinesis")
        try:
            data = decode_base64(element["kinesis"].get("data"))
        except ValueError as exc:
            tally.error(data_place, "unreadable Kinesis data", str(exc))
            return
        yield from decoder.bytes(data, data_place, strict=True, depth=depth)
    elif element.get("eventSource") == "aws:s3":
        yield from s3_notifications.decode_notification_record(
            element, place.child(step, s3_notifications.NAME), decoder
        )
    else:
        tally.skip(place.child(step), "not a CloudTrail record", describe_keys(element))


class _RecordsContainer:
    name = "records"

    def matches(self, obj: dict[str, Any]) -> bool:
        return isinstance(obj.get("Records"), list)

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        if not obj["Records"]:
            decoder.tally.skip(place, "empty Records list")
            return
        for index, element in enumerate(obj["Records"]):
            yield from records_element(element, index, place, decoder, depth)


class _SnsNotification:
    """An SNS notification as SQS receives it (raw delivery off): the payload is `Message`."""

    name = "sns"

    def matches(self, obj: dict[str, Any]) -> bool:
        return obj.get("Type") == "Notification" and "Message" in obj

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        message = _text_bytes(obj.get("Message"))
        message_place = place.child("Message", self.name)
        if message is None:
            decoder.tally.error(message_place, "SNS notification has no text message")
            return iter(())
        return decoder.bytes(message, message_place, strict=True, depth=depth)


RecordsContainer = _RecordsContainer()
SnsNotification = _SnsNotification()
