"""Where a running `scripts/demo.sh` keeps its services, so the operator commands find them.

Each demo writes one `KEY=value` file per instance into the demo folder (`<repo>/var/demo`, or
`SCREENPOP_DEMO_DIR`) and removes it when it stops. A command that was not told where Redis is
(no `REDIS_URL` nor `REDIS_PREFIX` in its environment) uses the newest demo that is still running,
and always says which server and namespace it used.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = "postgresql://127.0.0.1:5432/screenpop"
DEFAULT_REDIS_PREFIX = "sp"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RunningDemo:
    pid: int
    started: float
    values: Mapping[str, str]


@dataclass(frozen=True)
class RedisTarget:
    url: str
    prefix: str
    source: str  # said to the operator, in Spanish

    def describe(self) -> str:
        return f"Redis {self.url} (prefijo {self.prefix!r}; {self.source})"


def demo_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("SCREENPOP_DEMO_DIR") or REPO_ROOT / "var" / "demo")


def parse_demo_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


def running_demos(folder: Path) -> list[RunningDemo]:
    """The demos whose process is still alive, newest first; files of dead ones are ignored."""
    demos = []
    for path in folder.glob("*.env"):
        try:
            values = parse_demo_file(path.read_text(encoding="utf-8"))
            pid = int(values.get("DEMO_PID", ""))
            started = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        if _alive(pid) and values.get("REDIS_URL"):
            demos.append(RunningDemo(pid, started, values))
    return sorted(demos, key=lambda demo: demo.started, reverse=True)


def redis_target(env: Mapping[str, str]) -> RedisTarget:
    """The environment's Redis when it names one; else the newest running demo's; else defaults."""
    if env.get("REDIS_URL") or env.get("REDIS_PREFIX"):
        return RedisTarget(env.get("REDIS_URL") or DEFAULT_REDIS_URL,
                           env.get("REDIS_PREFIX") or DEFAULT_REDIS_PREFIX,
                           "de REDIS_URL/REDIS_PREFIX")
    demos = running_demos(demo_dir(env))
    if demos:
        newest = demos[0]
        source = f"la demo en marcha, pid {newest.pid}"
        if len(demos) > 1:
            source += (f"; hay {len(demos)} demos en marcha, se usa la más reciente: "
                       "fije REDIS_URL y REDIS_PREFIX para elegir otra")
        return RedisTarget(newest.values["REDIS_URL"],
                           newest.values.get("REDIS_PREFIX") or DEFAULT_REDIS_PREFIX, source)
    return RedisTarget(DEFAULT_REDIS_URL, DEFAULT_REDIS_PREFIX,
                       "valores por defecto: no hay demo en marcha ni REDIS_URL")


@dataclass(frozen=True)
class DatabaseTarget:
    url: str
    source: str

    def describe(self) -> str:
        return f"PostgreSQL {redact(self.url)} ({self.source})"


def database_target(env: Mapping[str, str]) -> DatabaseTarget:
    """DATABASE_URL when set; else the newest running demo's database; else the default."""
    if env.get("DATABASE_URL"):
        return DatabaseTarget(env["DATABASE_URL"], "de DATABASE_URL")
    for demo in running_demos(demo_dir(env)):
        if demo.values.get("DATABASE_URL"):
            return DatabaseTarget(demo.values["DATABASE_URL"], f"la demo en marcha, pid {demo.pid}")
    return DatabaseTarget(DEFAULT_DATABASE_URL,
                          "valor por defecto: no hay demo en marcha ni DATABASE_URL")


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
