"""The telephony service's configuration, read once from the environment."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from common.settings import ConfigError, env_float, env_int, env_list, env_str

# Agents' phones; trunks are PJSIP/SIP endpoints too, so the usual trunk names are excluded.
DEFAULT_AGENT_PATTERNS = ("PJSIP/*", "SIP/*", "!*/trunk*", "!*/pstn*")


@dataclass(frozen=True)
class TelephonyConfig:
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "screenpop"
    ami_secret: str = field(default="screenpop-demo", repr=False)
    # `system` brings FullyBooted and Shutdown; call/agent/user are what the tracker reads.
    ami_events: str = "system,call,agent,user"
    agent_endpoint_patterns: tuple[str, ...] = DEFAULT_AGENT_PATTERNS
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)  # may hold a password
    redis_prefix: str = "sp"
    node_name: str = "telephony-1"
    status_host: str = "127.0.0.1"
    status_port: int = 8081  # /status and /metrics
    ping_interval: float = 5.0
    ping_timeout: float = 3.0
    login_timeout: float = 10.0
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    agi_lookup_budget: float = 0.3  # seconds the IVR's caller look-up may take
    tz_name: str = "America/Mexico_City"
    # the dialer (telephony.dialer): runs only when the service also has a DATABASE_URL
    dialer_enabled: bool = True
    dialer_worker: str = ""          # this engine's name; empty: the node name
    dialer_trunk: str = "PJSIP/{number}@trunk"  # customer first: the trunk dial string
    dialer_lease_seconds: float = 60.0
    dialer_offer_seconds: float = 120.0
    dialer_ring_seconds: float = 30.0
    dialer_abandon_cap: float = 0.03
    dialer_refresh_seconds: float = 5.0         # campaign states re-read (also on control msgs)
    dialer_reclaim_seconds: float = 30.0        # leases of dead dialers looked for
    dialer_reclaim_retry_seconds: float = 600.0  # a reclaimed lead waits this (its call may be up)
    dialer_rejected_pause_seconds: float = 30.0  # an agent whose phone refused a call waits this

    # queue callbacks (telephony.dialer.queue_callbacks): on when CALLBACK_QUEUES names a queue
    callback_queues: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (queue, member endpoints)
    callback_attempts: int = 3
    callback_retry_seconds: float = 300.0
    callback_interval: float = 2.0

    @property
    def dialer_name(self) -> str:
        return self.dialer_worker or self.node_name

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TelephonyConfig:
        config = cls(
            ami_host=env_str(env, "AMI_HOST", cls.ami_host),
            ami_port=env_int(env, "AMI_PORT", cls.ami_port, minimum=1),
            ami_username=env_str(env, "AMI_USERNAME", cls.ami_username),
            ami_secret=env_str(env, "AMI_SECRET", cls.ami_secret),
            ami_events=env_str(env, "AMI_EVENTS", cls.ami_events),
            agent_endpoint_patterns=env_list(env, "AGENT_ENDPOINT_PATTERNS", ",".join(DEFAULT_AGENT_PATTERNS)),
            redis_url=env_str(env, "REDIS_URL", cls.redis_url),
            redis_prefix=env_str(env, "REDIS_PREFIX", cls.redis_prefix),
            node_name=env_str(env, "TELEPHONY_NODE", cls.node_name),
            status_host=env_str(env, "TELEPHONY_STATUS_HOST", cls.status_host),
            status_port=env_int(env, "TELEPHONY_STATUS_PORT", cls.status_port),
            ping_interval=env_float(env, "AMI_PING_INTERVAL", cls.ping_interval, minimum=0.05),
            ping_timeout=env_float(env, "AMI_PING_TIMEOUT", cls.ping_timeout, minimum=0.05),
            login_timeout=env_float(env, "AMI_LOGIN_TIMEOUT", cls.login_timeout, minimum=0.1),
            agi_host=env_str(env, "AGI_HOST", cls.agi_host),
            agi_port=env_int(env, "AGI_PORT", cls.agi_port),
            agi_lookup_budget=env_float(env, "AGI_LOOKUP_BUDGET", cls.agi_lookup_budget, minimum=0.01),
            tz_name=env_str(env, "TZ_NAME", cls.tz_name),
            dialer_enabled=_env_switch(env, "DIALER_ENABLED", cls.dialer_enabled),
            dialer_worker=env_str(env, "DIALER_WORKER",
                                  env_str(env, "TELEPHONY_NODE", cls.node_name)),
            dialer_trunk=env_str(env, "DIALER_TRUNK", cls.dialer_trunk),
            dialer_lease_seconds=env_float(env, "DIALER_LEASE_SECONDS", cls.dialer_lease_seconds,
                                           minimum=1.0),
            dialer_offer_seconds=env_float(env, "DIALER_OFFER_SECONDS", cls.dialer_offer_seconds,
                                           minimum=5.0),
            dialer_ring_seconds=env_float(env, "DIALER_RING_SECONDS", cls.dialer_ring_seconds,
                                          minimum=5.0),
            dialer_abandon_cap=env_float(env, "DIALER_ABANDON_CAP", cls.dialer_abandon_cap),
            dialer_refresh_seconds=env_float(env, "DIALER_REFRESH_SECONDS",
                                             cls.dialer_refresh_seconds, minimum=0.1),
            dialer_reclaim_seconds=env_float(env, "DIALER_RECLAIM_SECONDS",
                                             cls.dialer_reclaim_seconds, minimum=0.1),
            dialer_reclaim_retry_seconds=env_float(env, "DIALER_RECLAIM_RETRY_SECONDS",
                                                   cls.dialer_reclaim_retry_seconds),
            dialer_rejected_pause_seconds=env_float(env, "DIALER_REJECTED_PAUSE_SECONDS",
                                                    cls.dialer_rejected_pause_seconds),
            callback_queues=parse_callback_queues(env.get("CALLBACK_QUEUES", "")),
            callback_attempts=env_int(env, "CALLBACK_ATTEMPTS", cls.callback_attempts, minimum=1),
            callback_retry_seconds=env_float(env, "CALLBACK_RETRY_SECONDS",
                                             cls.callback_retry_seconds, minimum=1.0),
            callback_interval=env_float(env, "CALLBACK_INTERVAL", cls.callback_interval,
                                        minimum=0.05),
        )
        if "{number}" not in config.dialer_trunk:
            raise ConfigError("DIALER_TRUNK: debe contener {number}, p. ej. PJSIP/{number}@trunk "
                              f"(se recibió {config.dialer_trunk!r})")
        if not 0 <= config.dialer_abandon_cap < 1:
            raise ConfigError("DIALER_ABANDON_CAP: una fracción entre 0 y 1, p. ej. 0.03 (3 %)")
        if not config.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("REDIS_URL: debe empezar por redis://, rediss:// o unix:// "
                              f"(se recibió {config.redis_url!r})")
        if config.ami_events not in ("on", "off") and "system" not in config.ami_events.split(","):
            raise ConfigError("AMI_EVENTS: debe incluir la clase system (FullyBooted, Shutdown); "
                              f"se recibió {config.ami_events!r}")
        for pattern in config.agent_endpoint_patterns:
            if "/" not in pattern.lstrip("!"):
                raise ConfigError(f"AGENT_ENDPOINT_PATTERNS: {pattern!r} debe tener la forma TECNOLOGÍA/NOMBRE, "
                                  "p. ej. PJSIP/*")
        return config


def parse_callback_queues(raw: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`ventas=PJSIP/6001,PJSIP/6002;soporte=PJSIP/6003` → ((queue, members), …): the queues
    whose callback requests are dialled, and the endpoints of their members (queues.conf)."""
    queues = []
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        queue, sep, members = part.partition("=")
        endpoints = tuple(m.strip() for m in members.split(",") if m.strip())
        if not sep or not queue.strip() or not endpoints or any("/" not in m for m in endpoints):
            raise ConfigError("CALLBACK_QUEUES: use cola=EXTENSIÓN,EXTENSIÓN;otra=…, p. ej. "
                              f"ventas=PJSIP/6001,PJSIP/6002 (se recibió {part!r})")
        queues.append((queue.strip(), endpoints))
    return tuple(queues)


def _env_switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on", "si", "sí"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: use on u off (se recibió {raw!r})")
