"""Predicates about s3 (see docs/rules.md, "Predicates")."""

from __future__ import annotations
