"""Where the shipped example provider configuration lives (importable without jinja2 or WispHub)."""
from __future__ import annotations

from pathlib import Path


def default_provider_config_path() -> Path:
    return Path(__file__).with_name("provider.example.toml")
