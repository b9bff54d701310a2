"""What every command needs first: the configuration and the packs, or a clear error."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from trailguard.config import Config, ConfigError, load_config
from trailguard.engine import Engine
from trailguard.pipeline import Detector
from trailguard.rules.errors import RuleLoadError
from trailguard.rules.packs import LoadedPacks, load_packs
from trailguard.state.registry import build_store

EXIT_ERRORS = 2


class SetupError(Exception):
    """Configuration or rules that cannot be loaded; the message says what to fix."""


@dataclass(slots=True)
class Setup:
    config: Config
    loaded: LoadedPacks

    def detector(self) -> Detector:
        return Detector(Engine(self.loaded.packs), self.config, build_store(self.config.state))


def load_setup(config_path: str | None, rule_paths: list[str] | None = None) -> Setup:
    """Load `--config` and any `--rules` folders; warn about expired allowlist entries."""
    try:
        config = load_config(Path(config_path)) if config_path else Config()
        loaded = load_packs(config, tuple(Path(p) for p in rule_paths or ()))
    except (ConfigError, RuleLoadError) as exc:
        raise SetupError(str(exc)) from None
    for warning in config.warnings():
        sys.stderr.write(f"trailguard: warning: {warning}\n")
    return Setup(config, loaded)
