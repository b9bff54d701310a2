"""Predicates about identity (see docs/rules.md, "Predicates")."""

from __future__ import annotations
