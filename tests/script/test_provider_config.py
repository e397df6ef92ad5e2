"""Loading and validating the provider configuration: every error names its key path."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from screenpop.config import ScreenpopConfig
from screenpop.script.provider import (
    ProviderConfigError,
    default_provider_config_path,
    load_provider_config,
    parse_provider_config,
)


def test_the_shipped_example_is_complete(config):
    assert config.name == "Red Veloz Internet"
    assert config.currency == "MXN"
    assert str(config.tz) == "America/Mexico_City"
    assert config.installation_cost == Decimal("1200.00")
    assert config.deposit == Decimal("800.00")
    assert config.contract_months == 12
    assert [(p.technology, p.speed_mbps) for p in config.plans] == [
        ("wireless", 10), ("wireless", 20), ("wireless", 50),
        ("fiber", 50), ("fiber", 100), ("fiber", 300)]
    assert {a.id for a in config.addons} == {"tv", "telefonia"}
    assert [o.id for o in config.objections] == ["precio", "condiciones", "instalacion",
                                                 "competencia", "permanencia"]
    promotion = config.promotions[0]
    assert (promotion.name, promotion.starts, promotion.ends) == (
        "Instalación gratis noviembre", date(2025, 11, 1), date(2025, 11, 30))
    assert [w.id for w in config.install_windows] == ["manana", "tarde"]
    assert len(config.refund_conditions) == 4
    assert any(not z.covered for z in config.zones)


def test_empty_provider_config_setting_means_the_shipped_example():
    env = {"SCREENPOP_SECRET_KEY": "x" * 16, "PROVIDER_CONFIG": ""}
    assert ScreenpopConfig.from_env(env).provider_config == str(default_provider_config_path())
    assert ScreenpopConfig.from_env({**env, "PROVIDER_CONFIG": "/etc/isp.toml"}).provider_config == (
        "/etc/isp.toml")


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(ProviderConfigError, match=r"^PROVIDER_CONFIG: no se puede leer"):
        load_provider_config(tmp_path / "nope.toml")


def test_toml_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[provider\nname = 'x'\n", "utf-8")
    with pytest.raises(ProviderConfigError, match=r"^PROVIDER_CONFIG: '.*bad.toml' no es TOML válido"):
        load_provider_config(bad)


def _set(path: str, value):
    """A change to the parsed TOML at a dotted path with [index] parts; value DELETE removes."""
    def change(data):
        parts = path.replace("[", ".[").split(".")
        target = data
        for part in parts[:-1]:
            target = target[int(part[1:-1])] if part.startswith("[") else target[part]
        last = parts[-1]
        key = int(last[1:-1]) if last.startswith("[") else last
        if value is DELETE:
            del target[key]
        else:
            target[key] = value
    return change


DELETE = object()

CASES = [
    # (id, change, key path the message starts with, fragment of the problem)
    ("missing-table", _set("provider", DELETE), "provider", "falta esta clave"),
    ("missing-key", _set("provider.name", DELETE), "provider.name", "falta esta clave"),
    ("missing-plan-price", _set("plans[2].price", DELETE), "plans[2].price", "falta esta clave"),
    ("missing-script-step", _set("script.deposito", DELETE), "script.deposito", "falta esta clave"),
    ("wrong-type-text", _set("provider.name", 5), "provider.name", "debe ser un texto no vacío (se recibió 5)"),
    ("wrong-type-flag", _set("installation.first_month_due_today", "sí"),
     "installation.first_month_due_today", "debe ser true o false (se recibió 'sí')"),
    ("wrong-type-int", _set("plans[0].speed_mbps", "10"), "plans[0].speed_mbps", "número entero"),
    ("wrong-type-table-list", _set("plans", {"id": "x"}), "plans", "lista de tablas"),
    ("wrong-type-list", _set("zones[1].technologies", "wireless"), "zones[1].technologies",
     "lista de textos"),
    ("empty-say", _set("script.saludo.say", []), "script.saludo.say", "no vacía"),
    ("text-price", _set("plans[2].price", "abc"), "plans[2].price",
     "debe ser un número positivo (se recibió 'abc')"),
    ("negative-price", _set("plans[1].price", Decimal("-5")), "plans[1].price", "número positivo"),
    ("zero-price", _set("addons[0].price", 0), "addons[0].price", "número positivo"),
    ("negative-installation", _set("installation.cost", -1), "installation.cost",
     "mayor o igual a cero"),
    ("three-decimals", _set("addons[1].price", Decimal("99.505")), "addons[1].price",
     "dos decimales"),
    ("not-a-number", _set("deposit.amount", Decimal("NaN")), "deposit.amount", "mayor o igual a cero"),
    ("deposit-above-installation", _set("deposit.amount", Decimal("1500")), "deposit.amount",
     "no puede ser mayor que installation.cost"),
    ("unknown-tier", _set("plans[0].tier", "premium"), "plans[0].tier",
     "valor desconocido 'premium'; valores válidos: basico, intermedio, alto"),
    ("unknown-technology", _set("plans[4].technology", "cable"), "plans[4].technology",
     "valor desconocido 'cable'"),
    ("unknown-zone-technology", _set("zones[0].technologies", ["fiber", "5g"]),
     "zones[0].technologies[1]", "valor desconocido '5g'"),
    ("unknown-currency", _set("provider.currency", "USD"), "provider.currency", "valor desconocido"),
    ("unknown-timezone", _set("provider.timezone", "Mexico/Narnia"), "provider.timezone",
     "zona horaria desconocida"),
    ("bad-date", _set("promotions[0].starts", "2025-13-01"), "promotions[0].starts",
     "debe ser una fecha AAAA-MM-DD (se recibió '2025-13-01')"),
    ("date-with-time", _set("promotions[0].ends", datetime(2025, 11, 30, 12)), "promotions[0].ends",
     "debe ser una fecha"),
    ("bad-time", _set("install_windows[1].starts", "2 de la tarde"), "install_windows[1].starts",
     "debe ser una hora HH:MM"),
    ("window-ends-first", _set("install_windows[0].ends", "08:00"), "install_windows[0].ends",
     "antes de empezar"),
    ("promotion-ends-before-start", _set("promotions[0].ends", date(2025, 10, 31)),
     "promotions[0].ends", "la promoción termina (2025-10-31) antes de empezar (2025-11-01)"),
    ("duplicate-plan-id", _set("plans[3].id", "inalambrico-10"), "plans[3].id",
     "id repetido 'inalambrico-10' (ya usado en plans[0])"),
    ("duplicate-zone-id", _set("zones[2].id", "centro"), "zones[2].id", "id repetido 'centro'"),
    ("duplicate-objection-id", _set("objections[4].id", "precio"), "objections[4].id",
     "id repetido 'precio'"),
    ("bad-id", _set("plans[0].id", "Fibra 100"), "plans[0].id", "no es un identificador válido"),
    ("objection-key-clash", _set("objections[3].key", "1"), "objections[3].key",
     "la tecla '1' ya la usa objections[0]"),
    ("objection-key-not-one-key", _set("objections[0].key", "F1"), "objections[0].key",
     "una sola tecla"),
    ("unknown-key", _set("plans[0].prize", 10), "plans[0].prize",
     "clave desconocida (¿quiso decir 'price'?)"),
    ("unknown-section", _set("extras", {"a": 1}), "extras", "clave desconocida"),
    ("unknown-step", _set("script.pago", {"title": "Pago", "say": ["x"]}), "script.pago",
     "paso desconocido"),
    ("contract-months-zero", _set("contract.months", 0), "contract.months", "mayor o igual a 1"),
    ("template-syntax-error", _set("script.saludo.say[0]", "Hola {{ proveedor "),
     "script.saludo.say[0]", "error de sintaxis en la plantilla (línea 1)"),
    ("template-block-error", _set("script.cierre.say[3]", "{% if plan %}Gracias"),
     "script.cierre.say[3]", "error de sintaxis"),
    ("objection-template-syntax-error", _set("objections[1].answer", "{{ 1 + }}"),
     "objections[1].answer", "error de sintaxis"),
    ("template-undefined-variable", _set("script.cierre.say[1]", "Gracias {{ nombre_cliente }}"),
     "script.cierre.say[1]", "la plantilla usa una variable que no existe"),
    ("objection-undefined-variable", _set("objections[2].answer", "{{ descuento }}"),
     "objections[2].answer", "'descuento' is undefined"),
    ("template-unguarded-choice", _set("script.planes.say[0]", "Su plan: {{ plan.nombre }}"),
     "script.planes.say[0]", "Use {% if … %}"),
    ("template-html", _set("script.saludo.say[1]", "<b>Hola</b> {{ cliente }}"),
     "script.saludo.say[1]", "no HTML"),
    ("template-sandbox", _set("script.saludo.say[1]", "{{ cliente.__class__.__mro__ }}"),
     "script.saludo.say[1]", "la plantilla"),
    ("outbound-template-syntax-error", _set("script.saludo.say_outbound[1]", "Le llamo de {{ "),
     "script.saludo.say_outbound[1]", "error de sintaxis"),
    ("outbound-template-undefined", _set("script.saludo.say_outbound[0]", "¿Hablo con {{ nombre }}?"),
     "script.saludo.say_outbound[0]", "la plantilla usa una variable que no existe"),
    ("outbound-not-a-list", _set("script.saludo.say_outbound", "¿Hablo con…?"),
     "script.saludo.say_outbound", "debe ser una lista de textos"),
]


@pytest.mark.parametrize(("change", "path", "problem"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_error_names_its_key(example_data, change, path, problem):
    change(example_data)
    with pytest.raises(ProviderConfigError) as error:
        parse_provider_config(example_data)
    message = str(error.value)
    assert message.startswith(f"{path}: "), message
    assert problem in message


def test_zone_technology_without_plans_is_rejected(example_data):
    example_data["plans"] = [p for p in example_data["plans"] if p["technology"] == "wireless"]
    with pytest.raises(ProviderConfigError, match=r"^zones\[0\]\.technologies: ofrece 'fiber' "
                                                  r"pero no hay ningún plan"):
        parse_provider_config(example_data)


def test_prices_accept_numeric_text_and_keep_two_decimals(example_data):
    example_data["plans"][0]["price"] = " 349.5 "
    example_data["installation"]["cost"] = 1500
    config = parse_provider_config(example_data)
    assert config.plans[0].price == Decimal("349.50")
    assert str(config.installation_cost) == "1500.00"
