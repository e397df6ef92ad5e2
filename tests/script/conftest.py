"""The shipped example provider, as data to break and as a loaded configuration."""
from __future__ import annotations

import copy
import tomllib
from decimal import Decimal
from typing import Any

import pytest

from screenpop.script.provider import (
    ProviderConfig,
    default_provider_config_path,
    load_provider_config,
    parse_provider_config,
)

_EXAMPLE = tomllib.loads(default_provider_config_path().read_text("utf-8"), parse_float=Decimal)


@pytest.fixture
def example_data() -> dict[str, Any]:
    """A fresh copy of the example's parsed TOML, for a test to change."""
    return copy.deepcopy(_EXAMPLE)


@pytest.fixture(scope="session")
def config() -> ProviderConfig:
    return load_provider_config(default_provider_config_path())


@pytest.fixture
def build():
    """Parses changed example data into a configuration."""
    return parse_provider_config
