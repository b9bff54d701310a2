"""Rule packs: data shipped with the package (and, later, users' own folders)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from trailguard.rules.catalog import CatalogPack, load_catalog

PACKS_DIR = Path(__file__).parent / "packs"


@cache
def default_catalog() -> CatalogPack:
    """The shipped seed catalogue, loaded once per process (once per Lambda container)."""
    return load_catalog(PACKS_DIR / "catalog.yaml")


__all__ = ["PACKS_DIR", "CatalogPack", "default_catalog", "load_catalog"]
