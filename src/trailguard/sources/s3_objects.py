"""Reading CloudTrail log files from S3: the reader that S3 notifications and backfills use.

Plugged into `Decoder.read_s3_object`. Keys that are not CloudTrail log files (digests,
other prefixes) are skipped by key, without a GetObject. An object is read as a stream: the
gzip is inflated chunk by chunk and the `{"Records": [...]}` document is split into its
records one at a time, so a large log file never sits in memory whole. Anything that does
not start like a log file takes the decoder's whole-document path instead, which decides by
content like any file.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from trailguard import aws
from trailguard.model import Place, SourcedRecord
from trailguard.record import RecordDecodeError, decode_json, decode_json_array
from trailguard.sources import messaging
from trailguard.sources.compression import (
    GZIP_MAGIC,
    INFLATE_ERRORS,
    MAX_EXPANSION,
    CompressionError,
    compression_of,
    inflate,
)
from trailguard.sources.s3_notifications import S3ObjectRef

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder

Read = Callable[[int], bytes]
"""`read(n)`: up to n more bytes, b"" at the end (a file's, or an S3 body's, `read`)."""

CHUNK = 1 << 18
"""Bytes asked of S3 per read, and the most inflated at a time: memory is a few of these."""
MAX_RECORD = 64 << 20
"""One element of `Records` larger than this is refused (CloudTrail's are kilobytes)."""
HEAD = 4096
"""Inflated bytes looked at to decide between streaming and the whole-document path."""

LOG_FOLDERS = frozenset({"CloudTrail", "CloudTrail-Insight"})
"""The key folders CloudTrail writes log files to (`CloudTrail-Digest` holds digests)."""
NOT_A_LOG_FILE = "not a CloudTrail log file (by its key)"


def is_log_file_key(key: str) -> bool:
    """A key in a CloudTrail/ or CloudTrail-Insight/ folder, in either bucket layout.

    `[prefix/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE` for a trail, and
    `[prefix/]AWSLogs/o-ORGID/ACCOUNT/CloudTrail/...` for an organization trail.
    """
    return any(folder in LOG_FOLDERS for folder in key.split("/")[:-1])


class S3ObjectError(RuntimeError):
    """An object that could not be fetched; raised so the trigger's retry keeps it."""


class S3ObjectReader:
    """Fetches and decodes the objects S3 notifications name, with an injected client."""

    def __init__(self, s3: Any | None = None, chunk_size: int = CHUNK) -> None:
        self._s3 = s3
        self._chunk_size = chunk_size

    def __call__(self, ref: S3ObjectRef, place: Place, decoder: Decoder) -> Iterator[SourcedRecord]:
        if not is_log_file_key(ref.key):
            decoder.tally.skip(
                place,
                NOT_A_LOG_FILE,
                f"{ref.url}: only keys in a CloudTrail/ or CloudTrail-Insight/ folder are read",
            )
            return
        client = aws.client("s3", self._s3)
        kwargs: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            kwargs["VersionId"] = ref.version_id
        try:
            body = client.get_object(**kwargs)["Body"]
        except Exception as exc:
            raise _read_error(ref, exc) from None
        try:
            yield from read_log_stream(
                _BodyReader(body, ref).read,
                Place(ref.url, envelope="s3_object"),
                decoder,
                chunk_size=self._chunk_size,
            )
        finally:
            body.close()


def _read_error(ref: S3ObjectRef, exc: BaseException) -> S3ObjectError:
    return S3ObjectError(
        f"cannot read {ref.url}: {type(exc).__name__}: {exc}; check that it exists and that "
        "the function's role may s3:GetObject it (and kms:Decrypt its key)"
    )


class _BodyReader:
    """An S3 body's `read`, with a failure partway (a reset connection) an S3ObjectError."""

    def __init__(self, body: Any, ref: S3ObjectRef) -> None:
        self._body = body
        self._ref = ref

    def read(self, size: int) -> bytes:
        try:
            data: bytes = self._body.read(size)
        except Exception as exc:
            raise _read_error(self._ref, exc) from None
        return data


# --- streaming ---------------------------------------------------------------------------

_LOG_FILE_START = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"Records"\s*:\s*\[')
_SPACE = re.compile(rb"\s*")
_TO_BRACKET = re.compile(rb'(?:[^"{}\[\]]++|"(?:[^"\\]++|\\.)*+")*+[{}\[\]]', re.DOTALL)
"""From here past strings to the next bracket outside a string (possessive: no backtracking)."""
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_SCALAR = re.compile(rb"[^\s,\]}]+")


def read_log_stream(
    read: Read, place: Place, decoder: Decoder, *, chunk_size: int = CHUNK
) -> Iterator[SourcedRecord]:
    """Decode a CloudTrail log file from `read`, record by record, in bounded memory.

    Yields what the whole-document path (`decoder.bytes`) yields for a log file: the same
    records with the same places. A file damaged partway yields its records up to the damage,
    then an error. Input that does not start like a log file is read whole and handed to
    `decoder.bytes`, so every other shape is decoded exactly as from a local file.
    """
    raw = _KeptRead(read, chunk_size)
    inflated = _inflate(raw.read, chunk_size)
    head = b""
    try:
        while len(head) < HEAD:
            chunk = next(inflated, b"")
            if not chunk:
                break
            head += chunk
    except CompressionError:
        head = b""
    start = _LOG_FILE_START.match(head)
    if start is None:
        yield from decoder.bytes(raw.everything(), place)
        return
    raw.forget()
    splitter = _RecordsSplitter(head, start.end(), inflated, place, decoder)
    yield from splitter.records()


class _KeptRead:
    """A `read` that keeps what it returned until told to forget (for the fallback path)."""

    def __init__(self, read: Read, chunk_size: int) -> None:
        self._read = read
        self._chunk_size = chunk_size
        self._kept: list[bytes] | None = []

    def read(self, size: int) -> bytes:
        data = self._read(size)
        if self._kept is not None:
            self._kept.append(data)
        return data

    def everything(self) -> bytes:
        parts = self._kept or []
        self._kept = None
        while data := self._read(self._chunk_size):
            parts.append(data)
        return b"".join(parts)

    def forget(self) -> None:
        self._kept = None


def _inflate(read: Read, chunk_size: int) -> Iterator[bytes]:
    """The stream inflated piece by piece: gzip (every member) or zlib, else as it is.

    As `compression.decompress`: recognised by magic bytes, capped at MAX_EXPANSION, and
    bytes after the last gzip member or after a zlib stream are ignored.
    """
    data = read(chunk_size)
    while len(data) < 2 and (more := read(chunk_size)):
        data += more
    kind = compression_of(data)
    if kind is None:
        while data:
            yield data
            data = read(chunk_size)
        return
    wbits = 16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS
    inflater = inflate.decompressobj(wbits)
    total = 0
    try:
        while True:
            out = inflater.decompress(data, chunk_size)
            total += len(out)
            if total > MAX_EXPANSION:
                raise CompressionError(f"{kind} data expands past {MAX_EXPANSION} bytes")
            if out:
                yield out
            if inflater.eof:
                rest = inflater.unused_data
                while len(rest) < 2 and (more := read(chunk_size)):
                    rest += more
                if kind != "gzip" or rest[:2] != GZIP_MAGIC:
                    return
                inflater = inflate.decompressobj(wbits)
                data = rest
                continue
            data = inflater.unconsumed_tail
            if not data and len(out) < chunk_size:  # all input taken, no output held back
                data = read(chunk_size)
                if not data:
                    raise CompressionError(f"{kind} data is truncated (no end of stream)")
    except INFLATE_ERRORS as exc:
        raise CompressionError(f"corrupt {kind} data: {exc}") from None


class _EndOfInputError(Exception):
    """The input ended where more JSON was due."""


class _RecordsSplitter:
    """Splits the elements of `{"Records": [...]}` out of inflated chunks, one at a time.

    Only brackets outside strings are tracked (strings are skipped whole by a regex); each
    element is then parsed (`record.decode_json`) and decoded by `messaging.records_element`.
    """

    def __init__(
        self,
        head: bytes,
        position: int,
        chunks: Iterator[bytes],
        place: Place,
        decoder: Decoder,
    ) -> None:
        self.buf = head
        self.pos = position
        self.offset = 0
        """Inflated bytes dropped from the front of `buf`, for the positions in messages."""
        self.chunks = chunks
        self.place = place
        self.decoder = decoder
        self._failed_from = 1 << 62
        """Inflated offset of the earliest boundary that did not parse (not tried again)."""

    def records(self) -> Iterator[SourcedRecord]:
        tally = self.decoder.tally
        index = 0
        try:
            if self._next_byte() == b"]":
                self.pos += 1
                tally.skip(self.place, "empty Records list")
            else:
                while True:
                    batch = self._batch()
                    if batch:  # many elements at once, parsed in C
                        for element in batch:
                            yield from messaging.records_element(
                                element, index, self.place, self.decoder, depth=1
                            )
                            index += 1
                    else:  # one element, exactly, with exact errors
                        element = self._element(index)
                        if element is not _BAD:
                            yield from messaging.records_element(
                                element, index, self.place, self.decoder, depth=1
                            )
                        index += 1
                    after = self._next_byte()
                    if after not in (b",", b"]"):
                        raise _BrokenError(f"expected , or ] after Records[{index - 1}]")
                    self.pos += 1
                    if after == b"]":
                        break
            self._end()
        except _EndOfInputError:
            tally.error(
                self.place,
                "invalid JSON",
                f"the input ends inside the Records array (truncated?) after {index} element(s)",
            )
        except _BrokenError as exc:
            tally.error(self.place, "invalid JSON", f"{exc} (byte {self.offset + self.pos})")
        except CompressionError as exc:
            tally.error(self.place, "unreadable compressed data", str(exc))

    def _batch(self) -> list[Any]:
        """The whole elements from `pos` up to the last boundary in the buffer, parsed at once.

        CloudTrail writes elements as `},{` and every record with the same first key, so a
        boundary is `},` then the opening of the current element up to its first key
        (`{"eventVersion":`). A cut inside a string never parses, and a parse that succeeds
        ends on a true boundary. So try the last such boundary, then one earlier; neither
        parses: [] (the exact path decides), and boundaries from there on are not tried
        again, so a damaged stretch costs little.
        """
        if self._next_byte() != b"{":
            return []
        buf, start = self.buf, self.pos
        if self.offset + start >= self._failed_from:  # past the stretch that did not parse
            self._failed_from = 1 << 62
        colon = buf.find(b'":', start, start + 130)
        marker = b"}," + buf[start : colon + 2] if colon > 0 else b"},{"
        limit = min(len(buf), self._failed_from - self.offset)
        end = buf.rfind(marker, start, limit)
        for _ in range(BATCH_ATTEMPTS):
            if end <= start:
                break
            try:
                elements = decode_json_array(b"[" + buf[start : end + 1] + b"]")
            except RecordDecodeError:
                self._failed_from = self.offset + end
                end = buf.rfind(marker, start, end)
                continue
            self.pos = end + 1
            return elements
        return []

    def _element(self, index: int) -> Any:
        """Parse the element at `pos` (it starts there even after reading more) and pass it."""
        end = self._value_end()
        try:
            value = decode_json(self.buf[self.pos : end])
        except RecordDecodeError as exc:
            place = self.place.child(f"Records[{index}]")
            self.decoder.tally.error(place, "invalid JSON", str(exc))
            value = _BAD
        self.pos = end
        return value

    def _end(self) -> None:
        """After the array: the closing brace, then nothing but white space."""
        try:
            closing = self._next_byte()
        except _EndOfInputError:
            raise _BrokenError("the input ends before the closing } (truncated?)") from None
        if closing != b"}":
            raise _BrokenError("expected } after the Records array (a log file has no other keys)")
        self.pos += 1
        try:
            extra = self._next_byte()
        except _EndOfInputError:
            return
        raise _BrokenError(f"unexpected {extra!r} after the log file's closing brace")

    def _next_byte(self) -> bytes:
        """The next byte that is not white space (not consumed); _EndOfInputError at the end."""
        while True:
            match = _SPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos : self.pos + 1]
            self._fill()

    def _value_end(self) -> int:
        """Where the JSON value at `pos` ends, reading more input as needed."""
        self._next_byte()
        first = self.buf[self.pos]
        if first in b"{[":
            depth = 0
            at = self.pos
            while True:
                match = _TO_BRACKET.match(self.buf, at)
                if match is None:
                    at -= self._fill()
                    continue
                at = match.end()
                depth += 1 if self.buf[at - 1] in b"{[" else -1
                if depth == 0:
                    return at
        pattern = _STRING if first == ord('"') else _SCALAR
        while True:
            match = pattern.match(self.buf, self.pos)
            if match is not None and (pattern is _STRING or match.end() < len(self.buf)):
                return match.end()
            if match is None and pattern is _SCALAR:
                raise _BrokenError(f"unexpected {self.buf[self.pos : self.pos + 1]!r}")
            try:
                self._fill()
            except _EndOfInputError:
                if match is not None:
                    return match.end()  # a scalar at the very end: the parse will say more
                raise

    def _fill(self) -> int:
        """Append the next inflated chunk, dropping what was consumed; returns the shift."""
        if len(self.buf) - self.pos > MAX_RECORD:
            raise _BrokenError(f"an element of Records is larger than {MAX_RECORD} bytes")
        chunk = next(self.chunks, b"")
        if not chunk:
            raise _EndOfInputError
        shift = self.pos
        self.buf = self.buf[shift:] + chunk
        self.offset += shift
        self.pos = 0
        return shift


BATCH_ATTEMPTS = 2
"""Boundaries tried per batch before one element is split out exactly instead."""


class _BrokenError(Exception):
    """The log file's structure is broken here; the message says how."""


_BAD = object()
"""An element that was not valid JSON (already reported)."""
