"""The activation form read by field names, and files recognised by content (pure)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from screenpop.operations.files import sniff
from screenpop.sandbox.write_pages import activation_page
from screenpop.wisphub.activation import ActivationData, ActivationNotPossible, activation_payload
from screenpop.wisphub.panel_forms import PanelFormChanged, parse_form

ZONES = (("1", "ZONA SUR - CORTE 28"), ("2", "ZONA NORTE - CORTE 15"))
DATA = ActivationData(username="7@isp", service_id="7", first_name="Ana", last_name="Ruiz",
                      phones=("5512345678", "5587654321"), zone="zona norte", plan="20 MEGAS",
                      install_at="20/05/2030 09:00")


def form(ips=("10.0.0.5", "10.0.0.6"), drop=None):
    html = activation_page({"cliente-fecha_registro": "01/05/2030 10:00"}, ZONES, list(ips),
                           "tok'en", "demo@isp", drop=drop)
    return parse_form(html, "form#agregar-cliente")


def test_payload_keeps_the_form_and_fills_ours_from_the_offered_options():
    parsed = form()
    assert parsed.csrf == "tok'en"
    assert ("", "---------") not in parsed.fields["cliente-plan_internet"].options
    payload = activation_payload(parsed, DATA)
    assert payload["cliente-ip"] == "10.0.0.5"
    assert payload["cliente-zona_cliente"] == "2"
    assert payload["cliente-plan_internet"] == "2"
    assert payload["cliente-router_cliente"] == "11"      # no default: the first offered
    assert payload["perfil-telefono"] == "5512345678,5587654321"
    assert payload["cliente-cliente_rb"] == "ana_ruiz_7"
    assert payload["cliente-fecha_registro"] == "01/05/2030 10:00"  # untouched field kept
    assert payload["perfil-retenciones"] == "0.00"
    assert "archivo_ine" not in payload and "csrfmiddlewaretoken" not in payload


def test_a_missing_field_is_named():
    with pytest.raises(PanelFormChanged, match="^el formulario de activación de WispHub cambió: "
                                               "falta el campo cliente-ap_cliente"):
        activation_payload(form(drop="cliente-ap_cliente"), DATA)


@pytest.mark.parametrize("change, message", [
    ({"zone": "MARTE"}, "WispHub no ofrece «MARTE» en zona"),
    ({"plan": "1000 MEGAS"}, "WispHub no ofrece «1000 MEGAS» en plan de internet"),
], ids=["zone", "plan"])
def test_an_option_wisphub_does_not_offer_is_named(change, message):
    with pytest.raises(PanelFormChanged, match=message):
        activation_payload(form(), replace(DATA, **change))


def test_no_free_ip_stops_the_activation():
    with pytest.raises(ActivationNotPossible, match="no ofrece IPs libres"):
        activation_payload(form(ips=()), DATA)


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
