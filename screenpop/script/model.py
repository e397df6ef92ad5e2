"""The provider configuration as the rest of the script sees it (built by screenpop.script.provider)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from screenpop.script.templates import ScriptTemplates

TECHNOLOGIES = ("wireless", "fiber")
TIERS = ("basico", "intermedio", "alto")


class ProviderConfigError(ValueError):
    """A provider configuration that cannot be used; the message starts with the key path."""


@dataclass(frozen=True)
class Promotion:
    id: str
    name: str
    free_installation: bool
    starts: date
    ends: date              # inclusive
    technologies: tuple[str, ...]

    def applies(self, today: date, technology: str | None) -> bool:
        return self.starts <= today <= self.ends and technology in self.technologies


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    tier: str
    speed_mbps: int
    price: Decimal          # monthly
    technology: str


@dataclass(frozen=True)
class Addon:
    id: str
    name: str
    price: Decimal          # monthly
    technologies: tuple[str, ...]


@dataclass(frozen=True)
class Objection:
    id: str
    label: str
    key: str                # one keyboard key that shows the answer
    answer: str             # template source (rendered through `templates`)


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    technologies: tuple[str, ...]   # empty: no coverage there

    @property
    def covered(self) -> bool:
        return bool(self.technologies)


@dataclass(frozen=True)
class InstallWindow:
    id: str
    label: str
    starts: time
    ends: time


@dataclass(frozen=True)
class ScriptStep:
    title: str
    say: tuple[str, ...]    # template sources, one per line
    say_outbound: tuple[str, ...] = ()  # instead of `say` on a call the agent or a campaign placed


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    currency: str
    tz: ZoneInfo
    installation_cost: Decimal
    first_month_due_today: bool
    fibre_cut_note: str
    deposit: Decimal
    deposit_when_installation_free: bool
    refund_conditions: tuple[str, ...]
    contract_months: int
    contract_clause: str
    promotions: tuple[Promotion, ...]
    plans: tuple[Plan, ...]
    addons: tuple[Addon, ...]
    objections: tuple[Objection, ...]
    zones: tuple[Zone, ...]
    install_windows: tuple[InstallWindow, ...]
    script: Mapping[str, ScriptStep]
    templates: ScriptTemplates = field(compare=False, repr=False)

    def plan(self, plan_id: object) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    def zone(self, zone_id: object) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)

    def install_window(self, window_id: object) -> InstallWindow | None:
        return next((w for w in self.install_windows if w.id == window_id), None)

    def plans_for(self, technology: str | None) -> tuple[Plan, ...]:
        return tuple(p for p in self.plans if p.technology == technology)

    def addons_for(self, technology: str | None) -> tuple[Addon, ...]:
        return tuple(a for a in self.addons if technology in a.technologies)
