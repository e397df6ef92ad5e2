"""Amounts of the call, computed from the provider configuration and the answers (PASO 4 and 8).

Decimal only, two decimals, ROUND_HALF_UP. What the customer pays today:
- 12-month contract: installation + deposit;
- open-ended contract: installation, of which the deposit amount is held as guarantee (the held
  amount is a part of the installation line, `part_of`, never a line of its own in the total);
- plus the first month (plan + add-ons) when `installation.first_month_due_today` is set.
Installation is free while a free-installation promotion covers that technology on the day.
When it is free and the contract is open-ended there is no installation to hold the guarantee
from, so the deposit is charged on its own if `deposit.charge_when_installation_free` is set.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from screenpop.script.model import Promotion, ProviderConfig

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CONTRACTS = ("12m", "open")


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str = "MXN") -> str:
    """`$1,234.50 MXN`"""
    return f"${money(amount):,.2f} {currency}"


@dataclass(frozen=True)
class QuoteLine:
    id: str
    label: str
    amount: Decimal
    text: str
    part_of: str | None = None  # id of the line this amount is included in (not added again)

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "label": self.label, "amount": str(self.amount), "text": self.text}
        return {**data, "part_of": self.part_of} if self.part_of else data


@dataclass(frozen=True)
class Quote:
    currency: str
    technology: str | None
    contract: str | None
    promotion: Promotion | None         # the free-installation promotion applied, if any
    installation_base: QuoteLine        # the configured cost, before any promotion
    installation: QuoteLine             # what is charged for it (0 under a promotion)
    first_month: QuoteLine | None       # the chosen plan's price
    addons: tuple[QuoteLine, ...]       # each chosen add-on, monthly
    addons_monthly: QuoteLine
    monthly: QuoteLine | None           # plan + add-ons
    deposit: QuoteLine
    guarantee_held: QuoteLine | None    # open-ended: part of what is paid kept as guarantee
    due_today_lines: tuple[QuoteLine, ...]
    shared_lines: tuple[QuoteLine, ...]  # what both contracts charge today (before one is chosen)
    due_today: QuoteLine | None         # None until a contract is chosen
    due_today_by_contract: Mapping[str, QuoteLine]
    refund_conditions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        def line(value: QuoteLine | None) -> dict[str, Any] | None:
            return value.to_dict() if value else None
        promotion = self.promotion
        return {
            "currency": self.currency, "technology": self.technology, "contract": self.contract,
            "promotion": {"id": promotion.id, "name": promotion.name,
                          "starts": promotion.starts.isoformat(),
                          "ends": promotion.ends.isoformat()} if promotion else None,
            "installation_base": line(self.installation_base),
            "installation": line(self.installation),
            "first_month": line(self.first_month),
            "addons": [a.to_dict() for a in self.addons],
            "addons_monthly": line(self.addons_monthly),
            "monthly": line(self.monthly),
            "deposit": line(self.deposit),
            "guarantee_held": line(self.guarantee_held),
            "due_today_lines": [d.to_dict() for d in self.due_today_lines],
            "shared_lines": [d.to_dict() for d in self.shared_lines],
            "due_today": line(self.due_today),
            "due_today_by_contract": {k: v.to_dict() for k, v in self.due_today_by_contract.items()},
            "refund_conditions": list(self.refund_conditions),
        }


def active_promotion(config: ProviderConfig, technology: str | None,
                     today: date) -> Promotion | None:
    return next((p for p in config.promotions
                 if p.free_installation and p.applies(today, technology)), None)


def quote(config: ProviderConfig, answers: Mapping[str, Any], today: date) -> Quote:
    def line(id_: str, label: str, amount: Decimal, part_of: str | None = None) -> QuoteLine:
        return QuoteLine(id_, label, money(amount), format_money(amount, config.currency), part_of)

    technology = answers.get("technology")
    contract = answers.get("contract") if answers.get("contract") in CONTRACTS else None
    promotion = active_promotion(config, technology, today)
    installation_cost = ZERO if promotion else config.installation_cost
    plan = config.plan(answers.get("plan_id"))
    plan = plan if plan and plan.technology == technology else None
    chosen = set(answers.get("addons") or ())
    addons = tuple(line(f"addon:{a.id}", a.name, a.price)
                   for a in config.addons_for(technology) if a.id in chosen)
    addons_total = sum((a.amount for a in addons), ZERO)

    installation_label = "Instalación" + (f" (gratis: {promotion.name})" if promotion else "")
    installation = line("installation", installation_label, installation_cost)
    first_month = line("first_month", f"Primera mensualidad ({plan.name})", plan.price) if plan else None
    monthly = line("monthly", "Mensualidad total", plan.price + addons_total) if plan else None
    addons_line = line("addons", "Servicios adicionales (mensual)", addons_total)
    deposit = line("deposit", "Depósito en garantía", config.deposit)

    def due_for(kind: str) -> tuple[tuple[QuoteLine, ...], QuoteLine, QuoteLine | None]:
        parts = [installation]
        held = None
        if kind == "12m" or (installation_cost == ZERO and config.deposit_when_installation_free):
            parts.append(deposit)
        elif installation_cost > ZERO:
            held = line("guarantee_held", "incluye garantía (se retiene si cancela)",
                        min(config.deposit, installation_cost), part_of=installation.id)
        if config.first_month_due_today and plan:
            parts.append(first_month)
            parts.extend(addons)
        total = sum((p.amount for p in parts), ZERO)
        return tuple(parts), line(f"due_today:{kind}", "Total a pagar hoy", total), held

    by_contract = {kind: due_for(kind)[1] for kind in CONTRACTS}
    shared = tuple(p for p in due_for("12m")[0] if p in due_for("open")[0])
    lines, due, held = due_for(contract) if contract else ((), None, None)
    return Quote(
        currency=config.currency, technology=technology, contract=contract, promotion=promotion,
        installation_base=line("installation_base", "Costo de instalación", config.installation_cost),
        installation=installation, first_month=first_month, addons=addons,
        addons_monthly=addons_line, monthly=monthly, deposit=deposit, guarantee_held=held,
        due_today_lines=lines, shared_lines=shared, due_today=due, due_today_by_contract=by_contract,
        refund_conditions=config.refund_conditions)
