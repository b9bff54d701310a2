"""Undo gzip or zlib compression, recognised by magic bytes, never by file name."""

from __future__ import annotations

import zlib
from typing import Any

try:  # Intel ISA-L inflates gzip faster than zlib: inflating is a large part of decoding
    from isal import isal_zlib

    inflate: Any = isal_zlib
except ImportError:  # a platform without isal's wheels: the standard library, same API
    inflate = zlib
INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, inflate.error)

GZIP_MAGIC = b"\x1f\x8b"
MAX_EXPANSION = 1 << 31
"""Refuse to inflate past 2 GiB: a guard against decompression bombs."""


class CompressionError(ValueError):
    """Compressed data that cannot be inflated."""


def is_zlib_header(data: bytes) -> bool:
    """RFC 1950: CM=8 in the low nibble and the 16-bit header a multiple of 31.

    FDICT (a preset dictionary, which nothing here could supply) must be clear: the check
    is only two bytes, and without this, text such as `x = 1` or `80 ...` passes it.
    """
    return (
        len(data) >= 2
        and data[0] & 0x0F == 8
        and data[0] >> 4 <= 7
        and not data[1] & 0x20
        and ((data[0] << 8) | data[1]) % 31 == 0
    )


def compression_of(data: bytes) -> str | None:
    if data[:2] == GZIP_MAGIC:
        return "gzip"
    if is_zlib_header(data):
        return "zlib"
    return None


def decompress(data: bytes) -> bytes:
    """Return `data` inflated when it starts with a gzip or zlib header, else unchanged."""
    kind = compression_of(data)
    if kind is None:
        return data
    # wbits 16+MAX_WBITS reads gzip (all members), MAX_WBITS reads zlib.
    wbits = 16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS
    out: list[bytes] = []
    remaining = data
    total = 0
    try:
        while remaining:
            if total >= MAX_EXPANSION:  # max_length 0 would mean no limit at all
                raise CompressionError(f"{kind} data expands past {MAX_EXPANSION} bytes")
            inflater = inflate.decompressobj(wbits)
            chunk = inflater.decompress(remaining, MAX_EXPANSION - total)
            total += len(chunk)
            out.append(chunk)
            if inflater.unconsumed_tail:
                raise CompressionError(f"{kind} data expands past {MAX_EXPANSION} bytes")
            if not inflater.eof:
                raise CompressionError(f"{kind} data is truncated (no end of stream)")
            remaining = inflater.unused_data
            if kind != "gzip" or remaining[:2] != GZIP_MAGIC:
                break  # trailing bytes after a zlib stream or gzip padding are ignored
    except INFLATE_ERRORS as exc:
        raise CompressionError(f"corrupt {kind} data: {exc}") from None
    return b"".join(out)
