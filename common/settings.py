"""Reading configuration from the environment with errors that name the variable (in Spanish,
like every start-up error the operators read)."""
from __future__ import annotations

import os
from collections.abc import Mapping


class ConfigError(ValueError):
    """Configuration that cannot be used; the message names the variable and the problem."""


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"{name}: falta esta variable (es obligatoria)")
    return value


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0,
            maximum: int = 65535) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: debe ser un número entero (se recibió {raw!r})") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}: debe estar entre {minimum} y {maximum} (se recibió {value})")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: debe ser un número (se recibió {raw!r})") from None
    if value < minimum:
        raise ConfigError(f"{name}: debe ser al menos {minimum} (se recibió {value})")
    return value


def env_list(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = env.get(name) or default
    items = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not items:
        raise ConfigError(f"{name}: debe tener al menos un valor (separados por comas)")
    return items


def environ() -> Mapping[str, str]:
    return os.environ
