"""CloudTrail's own file shapes besides log files: digests, and `lookup-events` output."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from trailguard.model import Place, SourcedRecord
from trailguard.record import as_record
from trailguard.sources.records import describe_keys, is_cloudtrail_record

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder

DIGEST_FOLDER = "CloudTrail-Digest/"


def is_digest_location(location: str) -> bool:
    """Digest files live under `CloudTrail-Digest/` in the trail's bucket."""
    return DIGEST_FOLDER in location


class _Digest:
    """Log-file integrity digests: hashes of log files, no events."""

    name = "cloudtrail_digest"

    def matches(self, obj: dict[str, Any]) -> bool:
        return "digestStartTime" in obj and ("logFiles" in obj or "digestS3Object" in obj)

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        decoder.tally.skip(place, "CloudTrail digest file")
        return iter(())


class _LookupEvents:
    """`aws cloudtrail lookup-events` output: each event's record is a JSON string."""

    name = "lookup_events"

    def matches(self, obj: dict[str, Any]) -> bool:
        events = obj.get("Events")
        return isinstance(events, list) and all(
            isinstance(e, dict) and "CloudTrailEvent" in e for e in events
        )

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]:
        tally = decoder.tally
        if not obj["Events"]:
            tally.skip(place, "lookup-events output with no events")
            return
        for index, event in enumerate(obj["Events"]):
            event_place = place.child(f"Events[{index}].CloudTrailEvent", self.name)
            text = event["CloudTrailEvent"]
            try:
                record = orjson.loads(text) if isinstance(text, str) else text
            except orjson.JSONDecodeError as exc:
                tally.error(event_place, "CloudTrailEvent is not valid JSON", str(exc))
                continue
            if is_cloudtrail_record(record):
                tally.records += 1
                yield SourcedRecord(as_record(record), event_place)
            else:
                tally.error(event_place, "CloudTrailEvent is not a record", describe_keys(record))


Digest = _Digest()
LookupEvents = _LookupEvents()
