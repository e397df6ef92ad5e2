"""Everything one running sandbox holds, reachable from its handlers through the app."""
from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from screenpop.sandbox.faults import Faults
from screenpop.sandbox.store import SandboxStore, Stats

LOGINS_PER_MINUTE = 10  # more than this and the panel answers 429, like WispHub's front does


@dataclass
class SandboxState:
    store: SandboxStore
    api_key: str
    panel_user: str
    panel_password: str
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    sessions: dict[str, str] = field(default_factory=dict)  # sessionid → user
    csrf_tokens: set[str] = field(default_factory=set)
    login_pages: int = 0
    recent_logins: deque[float] = field(default_factory=deque)
    # how /preinstalaciones/ is served (WispHub's own is unknown: wisphub-panel.md §9.1): every
    # row at once (DataTables pages in the browser), server-side pages, or filled by AJAX
    list_page_size: int | None = None
    list_server_side: bool = False
    list_hidden_columns: frozenset[str] = frozenset()

    def new_csrf(self) -> str:
        token = secrets.token_urlsafe(24)
        self.csrf_tokens.add(token)
        return token

    def new_session(self, user: str) -> str:
        session = secrets.token_hex(16)
        self.sessions[session] = user
        return session

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def login_allowed(self) -> bool:
        now = time.monotonic()
        while self.recent_logins and now - self.recent_logins[0] > 60:
            self.recent_logins.popleft()
        return len(self.recent_logins) < LOGINS_PER_MINUTE


STATE = web.AppKey("sandbox_state", SandboxState)
