"""The screenpop service's configuration, read once from the environment. Secrets (the server
key, WispHub's API key and panel password, a password in REDIS_URL) never appear in its repr or
in `describe()`, the start-up log line."""
from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from common.demo_env import DEFAULT_DATABASE_URL
from common.settings import ConfigError, env_float, env_int, env_str
from screenpop.script.paths import default_provider_config_path
from screenpop.web.peers import parse_networks


@dataclass(frozen=True)
class ScreenpopConfig:
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)  # may hold a password
    redis_prefix: str = "sp"
    # PostgreSQL: the accounts (and, when DATABASE_URL is set, the call records and the QA desk)
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    host: str = "127.0.0.1"
    port: int = 8080
    # signs nothing itself; required so deployments set one (sessions, CSRF)
    secret_key: str = field(default="", repr=False)
    public_origin: str = ""  # e.g. https://pop.example.mx; empty = same host as the request
    wisphub_url: str = "http://127.0.0.1:8090/api/"
    wisphub_api_key: str = field(default="sandbox.0123456789abcdef0123456789abcdef", repr=False)
    wisphub_panel_url: str = "http://127.0.0.1:8090/"
    wisphub_panel_user: str = "demo@isp-demo"
    wisphub_panel_password: str = field(default="demo", repr=False)
    wisphub_timeout: float = 8.0
    sync_interval: float = 300.0
    provider_config: str = str(default_provider_config_path())  # PROVIDER_CONFIG empty: the shipped example
    tz_name: str = "America/Mexico_City"
    session_ttl: int = 12 * 3600
    cookie_secure: bool = False
    data_dir: str = str(Path(tempfile.gettempdir()) / "screenpop")  # uploads are spooled here
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For names the client
    login_free_attempts: int = 5  # per account and address, before waits start
    login_first_delay: float = 30.0  # seconds; doubles with each further failure

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScreenpopConfig:
        config = cls(
            redis_url=env_str(env, "REDIS_URL", cls.redis_url),
            redis_prefix=env_str(env, "REDIS_PREFIX", cls.redis_prefix),
            database_url=env.get("DATABASE_URL", "").strip() or cls.database_url,
            host=env_str(env, "SCREENPOP_HOST", cls.host),
            port=env_int(env, "SCREENPOP_PORT", cls.port),
            secret_key=env_str(env, "SCREENPOP_SECRET_KEY"),
            public_origin=env.get("SCREENPOP_PUBLIC_ORIGIN", ""),
            wisphub_url=env_str(env, "WISPHUB_URL", cls.wisphub_url),
            wisphub_api_key=env_str(env, "WISPHUB_API_KEY", cls.wisphub_api_key),
            wisphub_panel_url=env_str(env, "WISPHUB_PANEL_URL", cls.wisphub_panel_url),
            wisphub_panel_user=env_str(env, "WISPHUB_PANEL_USER", cls.wisphub_panel_user),
            wisphub_panel_password=env_str(env, "WISPHUB_PANEL_PASSWORD", cls.wisphub_panel_password),
            wisphub_timeout=env_float(env, "WISPHUB_TIMEOUT", cls.wisphub_timeout, minimum=0.1),
            sync_interval=env_float(env, "WISPHUB_SYNC_INTERVAL", cls.sync_interval, minimum=5.0),
            provider_config=env.get("PROVIDER_CONFIG", "").strip() or cls.provider_config,
            tz_name=env_str(env, "TZ_NAME", cls.tz_name),
            session_ttl=env_int(env, "SCREENPOP_SESSION_TTL", cls.session_ttl, minimum=60,
                                maximum=30 * 24 * 3600),
            cookie_secure=env.get("SCREENPOP_COOKIE_SECURE", "") in ("1", "true", "yes"),
            data_dir=env.get("SCREENPOP_DATA_DIR", "").strip() or cls.data_dir,
            trusted_proxies=tuple(p.strip() for p in env.get("SCREENPOP_TRUSTED_PROXIES", "")
                                  .split(",") if p.strip()),
            login_free_attempts=env_int(env, "SCREENPOP_LOGIN_FREE_ATTEMPTS",
                                        cls.login_free_attempts, minimum=1, maximum=100),
            login_first_delay=env_float(env, "SCREENPOP_LOGIN_FIRST_DELAY", cls.login_first_delay,
                                        minimum=1.0),
        )
        try:
            parse_networks(config.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"SCREENPOP_TRUSTED_PROXIES: {exc}") from None
        if len(config.secret_key) < 16:
            raise ConfigError("SCREENPOP_SECRET_KEY: debe tener al menos 16 caracteres")
        if not config.wisphub_url.endswith("/api/"):
            raise ConfigError("WISPHUB_URL: debe terminar en /api/ (p. ej. https://api.wisphub.net/api/); "
                              f"se recibió {config.wisphub_url!r}")
        if not config.wisphub_panel_url.endswith("/"):
            raise ConfigError("WISPHUB_PANEL_URL: debe terminar en / (p. ej. https://wisphub.net/); "
                              f"se recibió {config.wisphub_panel_url!r}")
        return config

    def describe(self) -> str:
        """One line for the start-up log: where everything is, no secret."""
        return (f"redis={redact_url(self.redis_url)} prefix={self.redis_prefix} "
                f"database={redact_url(self.database_url)} "
                f"listen={self.host}:{self.port} wisphub={redact_url(self.wisphub_url)} "
                f"panel={redact_url(self.wisphub_panel_url)} panel_user={self.wisphub_panel_user} "
                f"provider={self.provider_config} tz={self.tz_name}")


def redact_url(url: str) -> str:
    """The URL without the password of its user part (redis://:secret@host → redis://***@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***" if parts.username else "***"
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rsplit('@', 1)[1]}"))
