"""The screenpop service's configuration, read once from the environment."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common.settings import ConfigError, env_float, env_int, env_str
from screenpop.script.paths import default_provider_config_path


@dataclass(frozen=True)
class ScreenpopConfig:
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "sp"
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str = ""  # signs nothing itself; required so deployments set one (sessions, CSRF)
    public_origin: str = ""  # e.g. https://pop.example.mx; empty = same host as the request
    wisphub_url: str = "http://127.0.0.1:8090/api/"
    wisphub_api_key: str = "sandbox.0123456789abcdef0123456789abcdef"
    wisphub_panel_url: str = "http://127.0.0.1:8090/"
    wisphub_panel_user: str = "demo@isp-demo"
    wisphub_panel_password: str = "demo"
    wisphub_timeout: float = 8.0
    sync_interval: float = 300.0
    provider_config: str = str(default_provider_config_path())  # PROVIDER_CONFIG empty: the shipped example
    tz_name: str = "America/Mexico_City"
    session_ttl: int = 12 * 3600
    cookie_secure: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScreenpopConfig:
        config = cls(
            redis_url=env_str(env, "REDIS_URL", cls.redis_url),
            redis_prefix=env_str(env, "REDIS_PREFIX", cls.redis_prefix),
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
        )
        if len(config.secret_key) < 16:
            raise ConfigError("SCREENPOP_SECRET_KEY: debe tener al menos 16 caracteres")
        if not config.wisphub_url.endswith("/api/"):
            raise ConfigError("WISPHUB_URL: debe terminar en /api/ (p. ej. https://api.wisphub.net/api/); "
                              f"se recibió {config.wisphub_url!r}")
        if not config.wisphub_panel_url.endswith("/"):
            raise ConfigError("WISPHUB_PANEL_URL: debe terminar en / (p. ej. https://wisphub.net/); "
                              f"se recibió {config.wisphub_panel_url!r}")
        return config
