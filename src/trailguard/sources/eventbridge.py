"""EventBridge events: CloudTrail's API calls and sign-ins arrive with the record in `detail`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trailguard.model import Place, SourcedRecord
from trailguard.record import as_record
from trailguard.sources import s3_notifications
from trailguard.sources.records import describe_keys, is_cloudtrail_record

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder

NAME = "eventbridge"
CLOUDTRAIL_DETAIL_TYPES = frozenset(
    {
        "AWS API Call via CloudTrail",
        "AWS Console Sign In via CloudTrail",
        "AWS Service Event via CloudTrail",
        "AWS Console Action via CloudTrail",
        "AWS Insight via CloudTrail",
    }
)
S3_OBJECT_CREATED = "Object Created"
SUPPORTED_S3_EVENT_VERSION = "1."


class _Event:
    name = NAME

    def matches(self, obj: dict[str, Any]) -> bool:
        return "detail-type" in obj and "detail" in obj

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        tally = decoder.tally
        detail_type = obj.get("detail-type")
        detail = obj.get("detail")
        detail_place = place.child("detail", NAME)
        if isinstance(detail_type, str) and detail_type in CLOUDTRAIL_DETAIL_TYPES:
            if isinstance(detail, dict) and is_cloudtrail_record(detail):
                tally.records += 1
                yield SourcedRecord(as_record(detail), detail_place)
            else:
                tally.error(detail_place, f"{detail_type} without a record", describe_keys(detail))
            return
        if detail_type == S3_OBJECT_CREATED and obj.get("source") == "aws.s3":
            version = detail.get("event-version") if isinstance(detail, dict) else None
            ref = s3_notifications.from_eventbridge_detail(detail)
            if version is not None and not str(version).startswith(SUPPORTED_S3_EVENT_VERSION):
                tally.error(detail_place, "unsupported S3 EventBridge event-version", str(version))
            elif ref is None:
                tally.error(detail_place, "Object Created without bucket and key")
            else:
                yield from decoder.s3_object(ref, detail_place)
            return
        tally.skip(place, "EventBridge event that is not from CloudTrail", str(detail_type))


Event = _Event()
