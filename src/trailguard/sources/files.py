"""Local input for the CLI: files, folders (recursively, in a stable order) and stdin."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from trailguard.model import Place, SourcedRecord
from trailguard.sources.decoder import Decoder

STDIN = "-"


def expand_paths(paths: Iterable[str], decoder: Decoder) -> Iterator[str]:
    """Each file under the given paths, sorted; a missing path is an input error."""
    for given in paths:
        if given == STDIN:
            yield STDIN
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


def read_local(paths: Iterable[str], decoder: Decoder) -> Iterator[SourcedRecord]:
    """Decode every file under `paths` ("-" is stdin), reporting what cannot be read."""
    for name in expand_paths(paths, decoder):
        if name == STDIN:
            yield from decoder.bytes(sys.stdin.buffer.read(), Place("<stdin>"))
            continue
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            decoder.tally.error(Place(name), "cannot read file", exc.strerror or str(exc))
            continue
        yield from decoder.bytes(data, Place(name))
