"""Turn bytes into JSON documents: one object, one array, or JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from trailguard.model import Place
from trailguard.tally import InputTally

UTF8_BOM = b"\xef\xbb\xbf"
_JSON_STARTS = frozenset(b"{[")


def _preview(data: bytes, limit: int = 40) -> str:
    text = data[:limit].decode("utf-8", "replace")
    return repr(text + ("..." if len(data) > limit else ""))


def json_error(exc: orjson.JSONDecodeError) -> str:
    """orjson's message, which already names line, column and character."""
    return str(exc)


def parse_documents(
    data: bytes, place: Place, tally: InputTally, *, strict: bool
) -> Iterator[tuple[Any, Place]]:
    """Yield each JSON document in `data` with its place.

    A single document is tried first; if that fails but the first line alone is JSON (or,
    when the first line is the bad one, most lines are), the input is JSON lines and each
    line stands alone (a bad line is reported, the rest go on).
    Input that does not look like JSON at all is a skip, or an error when `strict` (where
    JSON was promised, as in an SQS body).
    """
    body = data[3:] if data.startswith(UTF8_BOM) else data
    stripped = body.lstrip()
    if not stripped:
        if strict:
            tally.error(place, "empty input where JSON was expected")
        else:
            tally.skip(place, "empty input")
        return
    if stripped[0] not in _JSON_STARTS:
        if strict:
            tally.error(place, "not JSON", f"starts with {_preview(stripped)}")
        else:
            tally.skip(place, "not JSON (not CloudTrail data)", f"starts with {_preview(stripped)}")
        return
    try:
        yield orjson.loads(body), place
        return
    except orjson.JSONDecodeError as whole_error:
        lines = body.splitlines()
        first_line = next((line for line in lines if line.strip()), b"")
        if len(lines) < 2 or not (_parses(first_line) or _mostly_json(lines)):
            tally.error(place, "invalid JSON", json_error(whole_error))
            return
    yield from _json_lines(lines, place, tally)


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _mostly_json(lines: list[bytes]) -> bool:
    """More than half the non-blank lines parse alone: JSON lines, not one broken document."""
    texts = [line for line in lines if line.strip()]
    return 2 * sum(map(_parses, texts)) > len(texts)


def _json_lines(lines: list[bytes], place: Place, tally: InputTally) -> Iterator[tuple[Any, Place]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        line_place = place.child(f"line {number}", "json_lines")
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            tally.error(line_place, "invalid JSON line", json_error(exc))
            continue
        yield document, line_place
