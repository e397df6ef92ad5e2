"""Reading a parsed TOML table with errors that name the key path (`plans[2].price`)."""
from __future__ import annotations

import difflib
from collections.abc import Collection
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from screenpop.script.model import ProviderConfigError

_REQUIRED = object()


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


class Table:
    """One TOML table; every key read is remembered so `finish()` can reject unknown ones."""

    def __init__(self, data: dict[str, Any], path: str = "") -> None:
        self._data = data
        self._path = path
        self._read: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def error(self, key: str, problem: str) -> ProviderConfigError:
        return ProviderConfigError(f"{self.path(key)}: {problem}")

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        if key in self._data:
            return self._data[key]
        if default is _REQUIRED:
            raise self.error(key, "falta esta clave")
        return default

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"debe ser un texto no vacío (se recibió {_shown(value)})")
        return value.strip()

    def flag(self, key: str, default: Any = _REQUIRED) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"debe ser true o false (se recibió {_shown(value)})")
        return value

    def whole(self, key: str, default: Any = _REQUIRED, *, minimum: int = 1) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"debe ser un número entero mayor o igual a {minimum} "
                                  f"(se recibió {_shown(value)})")
        return value

    def amount(self, key: str, default: Any = _REQUIRED, *, allow_zero: bool = False) -> Decimal:
        value = self._get(key, default)
        problem = "debe ser un número " + ("mayor o igual a cero" if allow_zero else "positivo")
        try:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
                raise InvalidOperation
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise self.error(key, f"{problem} (se recibió {_shown(value)})") from None
        if not number.is_finite() or number < 0 or (number == 0 and not allow_zero):
            raise self.error(key, f"{problem} (se recibió {_shown(value)})")
        if number.as_tuple().exponent < -2:
            raise self.error(key, f"debe tener como máximo dos decimales (se recibió {value})")
        return number.quantize(Decimal("0.01"))

    def day(self, key: str) -> date:
        value = self._get(key, _REQUIRED)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise self.error(key, f"debe ser una fecha AAAA-MM-DD (se recibió {_shown(value)})")

    def clock(self, key: str) -> time:
        value = self._get(key, _REQUIRED)
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            try:
                return time.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.error(key, f"debe ser una hora HH:MM (se recibió {_shown(value)})")

    def choice(self, key: str, choices: Collection[str], default: Any = _REQUIRED) -> str:
        value = self._get(key, default)
        if value not in choices:
            raise self.error(key, f"valor desconocido {_shown(value)}; "
                                  f"valores válidos: {', '.join(choices)}")
        return value

    def texts(self, key: str, default: Any = _REQUIRED, *, allow_empty: bool = False) -> tuple[str, ...]:
        value = self._get(key, default)
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.error(key, f"debe ser una lista de textos{'' if allow_empty else ' no vacía'} "
                                  f"(se recibió {_shown(value)})")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ProviderConfigError(f"{self.path(key)}[{index}]: debe ser un texto no vacío "
                                          f"(se recibió {_shown(item)})")
        return tuple(item.strip() for item in value)

    def choices(self, key: str, choices: Collection[str], default: Any = _REQUIRED) -> tuple[str, ...]:
        items = self.texts(key, default, allow_empty=True)
        for index, item in enumerate(items):
            if item not in choices:
                raise ProviderConfigError(f"{self.path(key)}[{index}]: valor desconocido {item!r}; "
                                          f"valores válidos: {', '.join(choices)}")
        return tuple(dict.fromkeys(items))

    def table(self, key: str) -> Table:
        value = self._get(key, _REQUIRED)
        if not isinstance(value, dict):
            raise self.error(key, f"debe ser una tabla [{self.path(key)}]")
        return Table(value, self.path(key))

    def tables(self, key: str, *, allow_empty: bool = False) -> list[Table]:
        value = self._get(key, [] if allow_empty else _REQUIRED)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"debe ser una lista de tablas [[{self.path(key)}]]")
        if not value and not allow_empty:
            raise self.error(key, "debe tener al menos un elemento")
        return [Table(item, f"{self.path(key)}[{index}]") for index, item in enumerate(value)]

    def keys(self) -> tuple[str, ...]:
        return tuple(self._data)

    def finish(self) -> None:
        """Reject keys nobody read: a typo must not silently fall back to a default."""
        for key in self._data:
            if key not in self._read:
                close = difflib.get_close_matches(key, sorted(self._read), n=1)
                hint = f" (¿quiso decir {close[0]!r}?)" if close else ""
                raise self.error(key, f"clave desconocida{hint}")
