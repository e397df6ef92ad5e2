"""The one interface the rest of the project uses to read WispHub, and its factory.

WispHub's REST API has no preinstallation routes (wisphub-api.md §4), so pending
preinstallations come from the staff panel's list; the REST API answers the health check.
Swapping the source (a future API route, a webhook) means another class with these methods.
"""
from __future__ import annotations

from datetime import tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

from screenpop.config import ScreenpopConfig
from screenpop.wisphub.errors import WispHubError
from screenpop.wisphub.http import RetryPolicy
from screenpop.wisphub.models import Preinstallation
from screenpop.wisphub.panel import PanelClient
from screenpop.wisphub.records import build_preinstallation
from screenpop.wisphub.rest import RestClient


class WispHubGateway(Protocol):
    async def pending_preinstallations(self) -> list[Preinstallation]: ...
    async def preinstallation(self, preinstallation_id: str) -> Preinstallation | None: ...
    async def health(self) -> dict: ...
    async def aclose(self) -> None: ...


class PanelGateway:
    def __init__(self, rest: RestClient, panel: PanelClient, tz: tzinfo) -> None:
        self.rest = rest
        self.panel = panel
        self._tz = tz

    async def pending_preinstallations(self) -> list[Preinstallation]:
        return [build_preinstallation(row, self._tz) for row in await self.panel.pending_rows()]

    async def preinstallation(self, preinstallation_id: str) -> Preinstallation | None:
        # the panel has no per-record page known to us; the list is one request anyway
        wanted = str(preinstallation_id)
        return next((r for r in await self.pending_preinstallations() if r.id == wanted), None)

    async def health(self) -> dict:
        """A cheap probe of the REST API (one attempt); never signs in to the panel."""
        panel = "sesión del panel activa" if self.panel.has_session else "sin sesión en el panel"
        try:
            await self.rest.get_json("zonas/", {"limit": 1}, attempts=1)
        except WispHubError as exc:
            return {"ok": False, "detail": f"{exc} · {panel}"}
        return {"ok": True, "detail": f"API de WispHub responde · {panel}"}

    async def aclose(self) -> None:
        await self.rest.aclose()
        await self.panel.aclose()


def create_gateway(config: ScreenpopConfig, *, transport: httpx.AsyncBaseTransport | None = None,
                   policy: RetryPolicy = RetryPolicy()) -> PanelGateway:
    rest = RestClient(config.wisphub_url, config.wisphub_api_key, timeout=config.wisphub_timeout,
                      transport=transport, policy=policy)
    panel = PanelClient(config.wisphub_panel_url, config.wisphub_panel_user,
                        config.wisphub_panel_password, timeout=config.wisphub_timeout,
                        transport=transport, policy=policy)
    return PanelGateway(rest, panel, ZoneInfo(config.tz_name))
