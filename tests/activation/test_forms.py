"""The activation form read by field names, and files recognised by content (pure)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from screenpop.operations.files import sniff
from screenpop.operations.outcomes import classify
from screenpop.operations.settings import ActionSettings
from screenpop.sandbox.store import SandboxStore
from screenpop.sandbox.write_pages import activation_page
from screenpop.wisphub.activation import (
    ActivationData,
    ActivationNotPossible,
    activation_payload,
    describe,
)
from screenpop.wisphub.errors import (
    PanelLoginError,
    WispHubApiError,
    WispHubAuthError,
    WispHubError,
    WispHubUnavailable,
)
from screenpop.wisphub.panel_forms import AmbiguousOption, PanelFormChanged, parse_form

ZONES = (("1", "ZONA SUR - CORTE 28"), ("2", "ZONA NORTE - CORTE 15"),
         ("3", "ZONA SUR 2 - CORTE 5"))
DATA = ActivationData(username="7@isp", service_id="7", zone="ZONA NORTE - CORTE 15",
                      plan="20 MEGAS", install_at="20/05/2030 09:00", add_phones=("5587654321",),
                      router="RB NORTE", ap="Sectorial Norte 1")
PREFILLED = {"cliente-fecha_registro": "01/05/2030 10:00", "usr-first_name": "Ana María",
             "usr-last_name": "Ruiz de la Torre", "perfil-cedula": "RUTA900101",
             "perfil-localidad": "Centro", "perfil-ciudad": "Toluca",
             "cliente-coordenadas": "19.28,-99.65", "perfil-telefono": "5512345678, 5599990000",
             "cliente-comentarios": "Llamar tarde\n--- HECHO CON EL FORMULARIO DE PRE-INSTALACIÓN",
             "cliente-zona_cliente": "2"}


def form(ips=("10.0.0.5", "10.0.0.6"), drop=None, **values):
    html = activation_page({**PREFILLED, **values}, ZONES, list(ips), "tok'en", "demo@isp",
                           drop=drop)
    return parse_form(html, "form#agregar-cliente")


def test_payload_keeps_what_wisphub_holds_and_sets_only_what_the_call_captured():
    parsed = form()
    assert parsed.csrf == "tok'en"
    assert ("", "---------") not in parsed.fields["cliente-plan_internet"].options
    payload = activation_payload(parsed, DATA)
    assert payload["cliente-ip"] == "10.0.0.5"
    assert payload["cliente-zona_cliente"] == "2"
    assert payload["cliente-plan_internet"] == "2"
    assert payload["cliente-router_cliente"] == "12"
    # the call captured none of these: WispHub's values go back untouched
    for name in ("usr-first_name", "usr-last_name", "perfil-cedula", "perfil-localidad",
                 "perfil-ciudad", "cliente-coordenadas", "cliente-fecha_registro"):
        assert payload[name] == PREFILLED[name], name
    assert payload["perfil-telefono"] == "5512345678,5599990000,5587654321"
    assert payload["cliente-cliente_rb"] == "ana_maria_7"
    assert payload["perfil-retenciones"] == "0.00"
    assert "archivo_ine" not in payload and "csrfmiddlewaretoken" not in payload


def test_comments_are_appended_once_never_replaced():
    data = replace(DATA, comments="Plan: Intermedio")
    payload = activation_payload(form(), data)
    assert payload["cliente-comentarios"] == PREFILLED["cliente-comentarios"] + "\n\nPlan: Intermedio"
    again = activation_payload(form(**{"cliente-comentarios": payload["cliente-comentarios"]}), data)
    assert again["cliente-comentarios"] == payload["cliente-comentarios"]
    html = activation_payload(form(**{"cliente-comentarios": "<p>Hola</p>"}), data)
    assert html["cliente-comentarios"] == "<p>Hola</p><p>Plan: Intermedio</p>"


def test_a_missing_field_is_named_in_the_agents_words():
    with pytest.raises(PanelFormChanged, match="^el formulario de activación de WispHub cambió: "
                                               "ya no tiene el campo «AP o sectorial» /"):
        activation_payload(form(drop="cliente-ap_cliente"), DATA)


@pytest.mark.parametrize("change, message", [
    ({"zone": "MARTE"}, "WispHub no ofrece «MARTE» en zona"),
    ({"plan": "1000 MEGAS"}, "WispHub no ofrece «1000 MEGAS» en plan de internet"),
], ids=["zone", "plan"])
def test_an_option_wisphub_does_not_offer_is_named(change, message):
    with pytest.raises(PanelFormChanged, match=message):
        activation_payload(form(), replace(DATA, **change))


def test_an_option_is_matched_exactly_and_ambiguity_names_the_candidates():
    # "ZONA SUR" is the start of two zones: nothing is picked, both are named
    with pytest.raises(AmbiguousOption, match="«ZONA SUR - CORTE 28», «ZONA SUR 2 - CORTE 5»"):
        activation_payload(form(**{"cliente-zona_cliente": "1"}), replace(DATA, zone="ZONA SUR"))
    # the exact text wins over the longer one that contains it
    payload = activation_payload(form(**{"cliente-zona_cliente": "1"}),
                                 replace(DATA, zone="zona sur - corte 28"))
    assert payload["cliente-zona_cliente"] == "1"


def test_router_and_ap_are_never_the_first_option_by_default():
    with pytest.raises(ActivationNotPossible, match="No hay router configurado para la zona "
                                                    "«ZONA NORTE - CORTE 15»"):
        activation_payload(form(), replace(DATA, router=""))
    # one WispHub already has is kept
    payload = activation_payload(form(**{"cliente-router_cliente": "13"}), replace(DATA, router=""))
    assert payload["cliente-router_cliente"] == "13"


def test_the_zone_posted_is_the_one_the_free_ips_were_computed_for():
    with pytest.raises(ActivationNotPossible, match="tiene la zona «ZONA SUR - CORTE 28» en "
                                                    "WispHub y la llamada es para «ZONA NORTE"):
        activation_payload(form(**{"cliente-zona_cliente": "1"}), DATA)
    with pytest.raises(ActivationNotPossible, match="no tiene zona en WispHub"):
        activation_payload(form(**{"cliente-zona_cliente": ""}), DATA)


def test_no_free_ip_stops_the_activation():
    with pytest.raises(ActivationNotPossible, match="no ofrece IPs libres en la zona"):
        activation_payload(form(ips=()), DATA)


def test_the_preview_speaks_in_labels_and_option_names():
    parsed = form()
    rows = describe(parsed, activation_payload(parsed, DATA))
    shown = {r["label"]: r for r in rows}
    assert shown["Plan internet"]["value"] == "20 MEGAS 450 · Intermedio Inalámbrico"
    assert shown["Plan internet"]["changed"] is True
    assert shown["Zona"] == {"label": "Zona", "value": "ZONA NORTE - CORTE 15", "changed": False}
    assert not any("-" in r["label"] and "_" in r["label"] for r in rows)
    assert not any(r["label"].startswith(("cliente", "perfil", "usr")) for r in rows)


@pytest.mark.parametrize("head, expected", [
    (b"\xff\xd8\xff\xe0rest", ("image/jpeg", "jpg")),
    (b"\x89PNG\r\n\x1a\nrest", ("image/png", "png")),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ("image/webp", "webp")),
    (b"\x00\x00\x00\x18ftypheic\x00", ("image/heic", "heic")),
    (b"%PDF-1.4\n", ("application/pdf", "pdf")),
    (b"MZ\x90\x00", None),
    (b"<html>", None),
], ids=["jpeg", "png", "webp", "heic", "pdf", "exe", "html"])
def test_files_are_recognised_by_their_first_bytes(head, expected):
    assert sniff(head) == expected


@pytest.mark.parametrize("error", [
    PanelLoginError("el panel de WispHub vuelve a pedir inicio de sesión justo después de "
                    "iniciarla (/preinstalacion/activar/1@x/1/); revise el usuario / en"),
    WispHubAuthError("el panel de WispHub negó el acceso a /clientes/ver/1@x/ (403) / x"),
    WispHubUnavailable("WispHub no responde en panel GET /preinstalaciones/: sin respuesta / x"),
    WispHubApiError("WispHub rechazó POST /api/agregar-servicio-telefonia/ (400): No existe", 400, {}),
    WispHubError("la tarea 1b4e28ba-2fa1-11d2-883f-0016d3cca427 falló en cliente-plan_internet"),
], ids=["login", "403", "down", "drf", "task"])
def test_what_the_agent_reads_names_no_wisphub_internals(error):
    outcome = classify(error)
    for text in (outcome.reason, outcome.hint):
        assert "/" not in text and "cliente-" not in text and "1b4e28ba" not in text, text
    assert outcome.hint  # and always what to do


def test_the_demo_configures_a_router_and_ap_for_every_sandbox_zone():
    settings = ActionSettings.from_file(Path("screenpop/sandbox/actions.json"))
    store = SandboxStore.load()
    zones = {r["zona"] for r in store.preinstallations.values() if r.get("zona")}
    assert zones <= set(settings.zones)
    assert all(z.router and z.ap for z in settings.zones.values())
