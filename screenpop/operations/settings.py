"""How this provider's WispHub is filled: per-zone defaults, plan and service mapping, timings.

Read from a JSON file (WISPHUB_ACTIONS_CONFIG); every key optional:
{"zones": {"<provider zone id>": {"wisphub_zone": "ZONA SUR", "router": "RB Sur",
           "ap": "Sectorial 2", "technician": "tecnico1@isp"}},
 "plans": {"<provider plan id>": "<WispHub plan option value or text>"},
 "services": {"<addon id>": "tv" | "phone" | "other"},
 "hiring_channel": "<cliente-forma_contratacion option>",
 "task_deadline": 60, "outbox_interval": 2, "retry_base": 2, "retry_cap": 300,
 "unknown_wait": 150, "unknown_checks": 3, "max_attempts": 6, "max_checks": 8}

`unknown_wait` must be longer than any request can still be running inside WispHub after we gave
up on its answer (stalls of 8–60 s are known, and a Cloudflare 524 comes after 100 s while the
origin keeps working): only then does "not there" mean "not done".
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.settings import ConfigError


@dataclass(frozen=True)
class ZoneDefaults:
    wisphub_zone: str = ""
    router: str = ""
    ap: str = ""
    technician: str = ""


@dataclass(frozen=True)
class ActionSettings:
    zones: Mapping[str, ZoneDefaults] = field(default_factory=dict)
    plans: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, str] = field(default_factory=dict)
    hiring_channel: str = ""
    task_deadline: float = 60.0
    task_interval: float = 1.0
    outbox_interval: float = 2.0
    retry_base: float = 2.0
    retry_cap: float = 300.0
    lock_seconds: float = 180.0
    answer_wait: float = 20.0   # how long a route waits for WispHub before answering "pendiente"
    unknown_wait: float = 150.0  # after an unknown outcome, before looking (see the docstring)
    unknown_checks: int = 3     # looks showing "not done" before it is sent again
    max_attempts: int = 6       # sends of one operation before a person must look
    max_checks: int = 8         # looks at WispHub of one unknown outcome before a person must look
    lock_retry: float = 2.0     # another call is writing the same record: look again after this

    @classmethod
    def from_file(cls, path: str | Path) -> ActionSettings:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            zones = {str(k): ZoneDefaults(**v) for k, v in (data.get("zones") or {}).items()}
            numbers = {k: float(data[k]) for k in ("task_deadline", "task_interval",
                                                   "outbox_interval", "retry_base", "retry_cap",
                                                   "lock_seconds", "answer_wait", "unknown_wait",
                                                   "lock_retry") if k in data}
            numbers.update({k: int(data[k]) for k in ("unknown_checks", "max_attempts",
                                                      "max_checks") if k in data})
            return cls(zones=zones, plans={str(k): str(v) for k, v in (data.get("plans") or {}).items()},
                       services={str(k): str(v) for k, v in (data.get("services") or {}).items()},
                       hiring_channel=str(data.get("hiring_channel", "")), **numbers)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"WISPHUB_ACTIONS_CONFIG {path}: {exc}") from exc

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionSettings:
        path = env.get("WISPHUB_ACTIONS_CONFIG", "")
        return cls.from_file(path) if path else cls()
