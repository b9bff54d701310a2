"""Sources: every way CloudTrail records arrive, decoded into bare records with their place.

`Decoder` recognises the envelope from the content (never the file name); `read_local`
feeds it files, folders and stdin.
"""

from trailguard.sources.decoder import Decoder
from trailguard.sources.files import read_local

__all__ = ["Decoder", "read_local"]
