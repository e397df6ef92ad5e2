"""Reading configuration from the environment with errors that name the variable."""
from __future__ import annotations

import os
from collections.abc import Mapping


class ConfigError(ValueError):
    """Configuration that cannot be used; the message names the variable and the problem."""


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"{name} is required")
    return value


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0,
            maximum: int = 65535) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = env.get(name) or default
    items = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not items:
        raise ConfigError(f"{name} must list at least one value")
    return items


def environ() -> Mapping[str, str]:
    return os.environ
