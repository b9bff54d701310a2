"""Reading CloudTrail log files from S3: the reader that S3 notifications and backfills use.

Plugged into `Decoder.read_s3_object`. Keys that are not CloudTrail log files (digests,
other prefixes) are skipped by key; the object is decoded from its content like any file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trailguard import aws
from trailguard.model import Place, SourcedRecord
from trailguard.sources.s3_notifications import S3ObjectRef

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder


class S3ObjectError(RuntimeError):
    """An object that could not be fetched; raised so the trigger's retry keeps it."""


class S3ObjectReader:
    """Fetches and decodes the objects S3 notifications name, with an injected client."""

    def __init__(self, s3: Any | None = None) -> None:
        self._s3 = s3

    def __call__(self, ref: S3ObjectRef, place: Place, decoder: Decoder) -> Iterator[SourcedRecord]:
        client = aws.client("s3", self._s3)
        try:
            kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
            if ref.version_id:
                kwargs["VersionId"] = ref.version_id
            body = client.get_object(**kwargs)["Body"].read()
        except Exception as exc:
            raise S3ObjectError(
                f"cannot read {ref.url}: {type(exc).__name__}: {exc}; check that it exists and "
                "that the function's role may s3:GetObject it (and kms:Decrypt its key)"
            ) from None
        yield from decoder.bytes(body, Place(ref.url, envelope="s3_object"))
