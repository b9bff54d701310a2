"""The shape every envelope module provides to the decoder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from trailguard.model import Place, SourcedRecord

if TYPE_CHECKING:
    from trailguard.sources.decoder import Decoder


class Envelope(Protocol):
    """Recognises one JSON shape AWS delivers and unwraps the records inside it."""

    name: str

    def matches(self, obj: dict[str, Any]) -> bool: ...

    def decode(
        self, obj: dict[str, Any], place: Place, decoder: Decoder, depth: int
    ) -> Iterator[SourcedRecord]: ...
