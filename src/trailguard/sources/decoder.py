"""The content classifier: bytes or parsed JSON in, CloudTrail records out.

Each envelope module says whether a JSON object is its kind (`matches`) and unwraps it
(`decode`); wrappers that carry other envelopes (SQS bodies, SNS messages, Kinesis data,
CloudWatch Logs payloads) hand their content back here, so any nesting AWS produces works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from trailguard.model import Place, SourcedRecord
from trailguard.record import as_record
from trailguard.sources import (
    cloudtrail_files,
    cloudwatch_logs,
    eventbridge,
    messaging,
    s3_notifications,
)
from trailguard.sources.compression import CompressionError, decompress
from trailguard.sources.records import describe_keys, is_cloudtrail_record
from trailguard.sources.s3_notifications import S3ObjectRef
from trailguard.sources.text import parse_documents
from trailguard.tally import InputTally

MAX_NESTING = 8

ObjectReader = Callable[[S3ObjectRef, Place, "Decoder"], Iterator[SourcedRecord]]
"""Reads the CloudTrail log file an S3 notification names (plugged in where AWS is reachable)."""


@dataclass(slots=True)
class Decoder:
    """Decodes any supported input, reporting every skip and error to `tally`."""

    tally: InputTally
    read_s3_object: ObjectReader | None = None

    def bytes(
        self, data: bytes, place: Place, *, strict: bool = False, depth: int = 0
    ) -> Iterator[SourcedRecord]:
        """Decode raw input: maybe compressed, then JSON, JSON lines or an array."""
        if cloudtrail_files.is_digest_location(place.location):
            self.tally.skip(place, "CloudTrail digest file")
            return
        try:
            data = decompress(data)
        except CompressionError as exc:
            self.tally.error(place, "unreadable compressed data", str(exc))
            return
        for document, doc_place in parse_documents(data, place, self.tally, strict=strict):
            yield from self.document(document, doc_place, depth=depth)

    def document(self, document: Any, place: Place, *, depth: int = 0) -> Iterator[SourcedRecord]:
        """Decode one parsed JSON value: an envelope, a bare record, or an array of them."""
        if depth > MAX_NESTING:
            self.tally.error(place, f"envelopes nested more than {MAX_NESTING} deep")
            return
        if isinstance(document, list):
            if not document:
                self.tally.skip(place, "empty array")
            for index, item in enumerate(document):
                yield from self.document(item, place.child(f"[{index}]"), depth=depth + 1)
            return
        if not isinstance(document, dict):
            self.tally.skip(place, "not CloudTrail data", describe_keys(document))
            return
        if is_cloudtrail_record(document):
            self.tally.records += 1
            yield SourcedRecord(as_record(document), place)
            return
        for envelope in _ENVELOPES:
            if envelope.matches(document):
                yield from envelope.decode(document, place, self, depth + 1)
                return
        self.tally.skip(place, "not CloudTrail data", describe_keys(document))

    def s3_object(self, ref: S3ObjectRef, place: Place) -> Iterator[SourcedRecord]:
        """Follow an S3 notification to its object, when a reader is plugged in."""
        if cloudtrail_files.is_digest_location(ref.key):
            self.tally.skip(place, "CloudTrail digest file", ref.url)
            return
        if self.read_s3_object is None:
            self.tally.skip(
                place,
                "S3 notification (names an object; not read here)",
                f"{ref.url}: run `trailguard scan {ref.url}` to read it",
            )
            return
        yield from self.read_s3_object(ref, place, self)


_ENVELOPES = (
    cloudwatch_logs.Payload,
    cloudwatch_logs.Document,
    cloudtrail_files.Digest,
    messaging.RecordsContainer,
    eventbridge.Event,
    cloudtrail_files.LookupEvents,
    messaging.SnsNotification,
    s3_notifications.TestEvent,
)
