"""Predicates about compute (see docs/rules.md, "Predicates")."""

from __future__ import annotations
