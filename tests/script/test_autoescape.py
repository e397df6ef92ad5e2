"""HTML in a customer's name, in a captured answer or in a configuration text comes out as text."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from screenpop.script.steps import render_script
from screenpop.wisphub.models import Preinstallation

NOW = datetime(2025, 11, 12, 16, 30, tzinfo=UTC)
SCRIPT_TAG = "<script>alert(1)</script>"


def hostile_record() -> Preinstallation:
    return Preinstallation(id="9", username=None, name=f"{SCRIPT_TAG} & <b>Pérez</b>",
                           phones=(), phone_raw="", email=None, address=None, zone=None,
                           created_at=None, missing=(), activation_path=None)


def all_html(script) -> str:
    lines = [line for step in script["steps"] for line in step["say"]]
    return "\n".join(lines + [o["answer"] for o in script["objections"]])


def test_customer_name_from_wisphub_is_escaped(config):
    script = render_script(config, record=hostile_record(), agent_name="Ana", answers={}, now=NOW)
    greeting = script["steps"][0]["say"][1]
    assert greeting == ("¿Tengo el gusto con &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                        "&lt;b&gt;Pérez&lt;/b&gt;?")
    assert "<script>" not in all_html(script) and "<b>" not in all_html(script)
    # plain-text fields carry the raw value; the page inserts those as text
    assert script["customer_name"] == f"{SCRIPT_TAG} & <b>Pérez</b>"


def test_captured_name_and_agent_name_are_escaped(config):
    script = render_script(config, record=None, agent_name='<img src=x onerror="x()">',
                           answers={"first_name": "<i>Ana</i>", "last_name": "O'Hara"}, now=NOW)
    assert script["steps"][0]["say"][0].endswith(
        "Le atiende &lt;img src=x onerror=&#34;x()&#34;&gt;. ¿En qué puedo ayudarle?")
    assert script["steps"][0]["say"][1] == "¿Tengo el gusto con &lt;i&gt;Ana&lt;/i&gt; O&#39;Hara?"


def test_configuration_texts_are_escaped(example_data, build):
    example_data["provider"]["name"] = "Red <b>Veloz</b>"
    example_data["plans"][3]["name"] = f"Fibra {SCRIPT_TAG}"
    example_data["contract"]["clause"] = "no puede <u>cancelar</u> antes"
    example_data["deposit"]["refund_conditions"][0] = "pagar <a href='x'>factura</a>"
    config = build(example_data)
    answers = {"coverage": True, "wants_to_continue": True, "technology": "fiber",
               "plan_id": "fibra-50", "contract": "12m"}
    script = render_script(config, record=None, agent_name="Ana", answers=answers, now=NOW)
    html = all_html(script)
    for raw in ("<b>", "<script>", "<u>", "<a "):
        assert raw not in html
    steps = {s["id"]: s for s in script["steps"]}
    assert "Se comunica a Red &lt;b&gt;Veloz&lt;/b&gt;" in steps["saludo"]["say"][0]
    assert "Fibra &lt;script&gt;alert(1)&lt;/script&gt; de 50 Mbps" in steps["planes"]["say"][1]
    assert steps["contrato"]["say"][1] == "Le recalco que no puede &lt;u&gt;cancelar&lt;/u&gt; antes"
    assert "pagar &lt;a href=&#39;x&#39;&gt;factura&lt;/a&gt;" in steps["deposito"]["say"][1]
    assert "En Red &lt;b&gt;Veloz&lt;/b&gt; le atiende" in script["objections"][0]["answer"]
    json.dumps(script)
