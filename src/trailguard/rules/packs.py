"""Which packs run: the shipped ones (package data) and the user's folders, per the config."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from trailguard.config import Config, ConfigError
from trailguard.engine import RulePack
from trailguard.rules.catalog import (
    RULE_CHANGE,
    RULE_DELETION,
    RULE_UNLISTED_SERVICE,
    load_catalog,
)
from trailguard.rules.errors import RuleLoadError
from trailguard.rules.loader import load_rules
from trailguard.rules.rule import Rule
from trailguard.rules.ruleset import RuleSet

PACKS_DIR = Path(__file__).parent / "packs"
CATALOG_PACK = "catalog"
CATALOG_RULES = (RULE_DELETION, RULE_UNLISTED_SERVICE, RULE_CHANGE)


def shipped_pack_ids() -> list[str]:
    folders = sorted(
        p.name for p in PACKS_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")
    )
    return [CATALOG_PACK, *folders]


@dataclass(slots=True)
class LoadedPacks:
    """The packs to run, and every rule by id (for `rules list/show/test` and overrides)."""

    packs: list[RulePack]
    rules: dict[str, Rule]
    catalog_rule_ids: tuple[str, ...]

    def known_ids(self) -> list[str]:
        return [*self.catalog_rule_ids, *self.rules]


def load_shipped_rules(pack_id: str, first_ordinal: int = 0) -> list[Rule]:
    return load_rules(PACKS_DIR / pack_id, first_ordinal)


def load_packs(config: Config, extra_paths: tuple[Path, ...] = ()) -> LoadedPacks:
    """Load every enabled pack and user folder, apply `enabled` overrides, check rule ids."""
    unknown_packs = set(config.packs) - set(shipped_pack_ids())
    if unknown_packs:
        raise ConfigError(
            config.source,
            f"packs.{sorted(unknown_packs)[0]}",
            f"no such pack; shipped packs: {', '.join(shipped_pack_ids())}",
        )
    packs: list[RulePack] = []
    rules: dict[str, Rule] = {}
    catalog_ids: tuple[str, ...] = ()
    sources: list[tuple[str, Path]] = []
    for pack_id in shipped_pack_ids():
        if not config.pack_enabled(pack_id):
            continue
        if pack_id == CATALOG_PACK:
            packs.append(load_catalog(PACKS_DIR / "catalog.yaml"))
            catalog_ids = CATALOG_RULES
        else:
            sources.append((pack_id, PACKS_DIR / pack_id))
    sources += [(f"folder:{path}", path) for path in (*config.rule_folders, *extra_paths)]
    for pack_id, path in sources:
        loaded = load_rules(path, first_ordinal=len(rules))
        for rule in loaded:
            if rule.rule_id in rules or rule.rule_id in CATALOG_RULES:
                other = rules[rule.rule_id].source if rule.rule_id in rules else "the catalogue"
                raise RuleLoadError(
                    rule.source, "id", f"duplicate id; also in {other}", rule.rule_id
                )
            rules[rule.rule_id] = rule
        _apply_enabled(loaded, config)
        packs.append(RuleSet(pack_id, loaded))
    _check_override_ids(config, [*catalog_ids, *rules], shipped_disabled=_disabled_ids(config))
    return LoadedPacks(packs, rules, catalog_ids)


def _apply_enabled(rules: list[Rule], config: Config) -> None:
    for rule in rules:
        override = config.overrides.get(rule.rule_id)
        if override is not None and override.enabled is not None:
            rule.enabled = override.enabled


def _disabled_ids(config: Config) -> set[str]:
    """Ids in packs the config turned off: overriding them is not a typo."""
    disabled: set[str] = set()
    for pack_id in shipped_pack_ids():
        if config.pack_enabled(pack_id):
            continue
        if pack_id == CATALOG_PACK:
            disabled.update(CATALOG_RULES)
        else:
            disabled.update(rule.rule_id for rule in load_shipped_rules(pack_id))
    return disabled


def _check_override_ids(config: Config, known: list[str], shipped_disabled: set[str]) -> None:
    for rule_id in config.overrides:
        if rule_id in known or rule_id in shipped_disabled:
            continue
        close = difflib.get_close_matches(rule_id, known, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else "; `trailguard rules list` shows them"
        )
        raise ConfigError(config.source, f"rules.{rule_id}", f"no such rule{hint}")
