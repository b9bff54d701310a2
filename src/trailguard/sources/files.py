"""Input for the CLI: files, folders (recursively, in a stable order), stdin, and the
CloudTrail log files under an `s3://BUCKET/PREFIX` (listed in key order, read one by one)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trailguard.model import Place, SourcedRecord
from trailguard.sources.cloudtrail_files import is_digest_location
from trailguard.sources.decoder import Decoder

if TYPE_CHECKING:
    from trailguard.sources.s3_listing import DayRange

STDIN = "-"
S3_SCHEME = "s3://"


def expand_paths(paths: Iterable[str], decoder: Decoder) -> Iterator[str]:
    """Each file under the given paths, sorted; a missing path is an input error."""
    for given in paths:
        if given == STDIN or given.startswith(S3_SCHEME):
            yield given
            continue
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield os.path.join(root, name)
        elif path.exists():
            yield given
        else:
            decoder.tally.error(Place(given), "no such file or folder")


def read_local(
    paths: Iterable[str],
    decoder: Decoder,
    s3: Any | None = None,
    days: DayRange | None = None,
) -> Iterator[SourcedRecord]:
    """Decode every file under `paths` ("-" is stdin, `s3://` a trail's log files, within
    `days` if given), reporting what cannot be read."""
    for name in expand_paths(paths, decoder):
        if name == STDIN:
            yield from decoder.bytes(sys.stdin.buffer.read(), Place("<stdin>"))
            continue
        if name.startswith(S3_SCHEME):
            yield from read_s3(name, decoder, s3, days)
            continue
        yield from read_file(name, decoder)


def read_file(name: str, decoder: Decoder) -> Iterator[SourcedRecord]:
    """A local file, read as S3 objects are: a CloudTrail log file streams record by record
    (fast, and in bounded memory however large); anything else is decoded whole."""
    from trailguard.sources.s3_objects import read_log_stream

    place = Place(name)
    if is_digest_location(name):
        decoder.tally.skip(place, "CloudTrail digest file")
        return
    try:
        with open(name, "rb") as stream:
            yield from read_log_stream(stream.read, place, decoder)
    except OSError as exc:
        decoder.tally.error(place, "cannot read file", exc.strerror or str(exc))


def read_s3(
    url: str, decoder: Decoder, s3: Any | None = None, days: DayRange | None = None
) -> Iterator[SourcedRecord]:
    """The CloudTrail log files under `url` (within `days`, else all), each decoded by the
    S3 object reader; listing and reading errors are input errors naming the URL."""
    from trailguard.sources.s3_listing import CloudTrailListing, DayRange, ListingError, S3Location
    from trailguard.sources.s3_notifications import S3ObjectRef
    from trailguard.sources.s3_objects import S3ObjectError, S3ObjectReader

    try:
        location = S3Location.parse(url)
    except ValueError as exc:
        decoder.tally.error(Place(url), "not an S3 URL", str(exc))
        return
    days = days or DayRange()

    def skipped(key_url: str, reason: str) -> None:
        decoder.tally.skip(Place(key_url), reason)

    reader = S3ObjectReader(s3)
    listing = CloudTrailListing(location, days, s3=s3, on_skip=skipped)
    try:
        for listed in listing:
            ref = S3ObjectRef(location.bucket, listed.key, listed.size)
            try:
                yield from reader(ref, Place(ref.url, envelope="s3_object"), decoder)
            except S3ObjectError as exc:
                decoder.tally.error(Place(ref.url), "cannot read S3 object", str(exc))
    except ListingError as exc:
        decoder.tally.error(Place(url), "cannot list S3 objects", str(exc))
