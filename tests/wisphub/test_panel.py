"""The panel client against the sandbox's Django-style panel over real HTTP."""
from __future__ import annotations

from dataclasses import replace

import pytest

from common.phones import to_e164
from screenpop.wisphub.errors import PanelLayoutError, PanelLoginError, WispHubChallenge
from screenpop.wisphub.gateway import create_gateway
from screenpop.wisphub.panel_page import (
    find_csrf_token,
    listed_total,
    next_page,
    parse_preinstallation_list,
)
from tests.wisphub.conftest import FAST


async def test_reads_every_pending_preinstallation(gateway, sandbox):
    records = {r.id: r for r in await gateway.pending_preinstallations()}
    assert set(records) == {str(i) for i in sandbox.store.preinstallations}
    juan = records["1001"]
    assert juan.name == "Juan Pérez López"
    assert juan.phones == ("+525512345678",)
    assert juan.username == "1001@isp-demo"
    assert juan.activation_path == "/preinstalacion/activar/1001@isp-demo/1001/"
    assert juan.zone == "ZONA NORTE - CORTE 15"
    assert juan.created_at is not None and juan.created_at.utcoffset() is not None
    assert juan.missing == ("dni_front", "dni_back", "proof_of_address", "extra_phone",
                            "referral", "location", "housing")
    assert records["1004"].missing == ()
    assert records["1010"].name == "<script>alert(1)</script> Prueba Inyección"
    assert records["1006"].phones == () and records["1006"].missing[0] == "phone"
    assert records["1017"].phones == (to_e164("5512123434"),)  # "ext 3" dropped


async def test_signs_in_once_and_reuses_the_session(gateway, sandbox):
    for _ in range(3):
        assert len(await gateway.pending_preinstallations()) == 30
    assert sandbox.stats.logins == 1
    assert sandbox.stats.requests["GET /preinstalaciones/"] == 3


async def test_signs_in_again_once_after_the_session_expires(gateway, sandbox):
    await gateway.pending_preinstallations()
    sandbox.expire_sessions()
    assert len(await gateway.pending_preinstallations()) == 30
    assert sandbox.stats.logins == 2
    await gateway.pending_preinstallations()
    assert sandbox.stats.logins == 2


async def test_wrong_password_is_a_clear_error_without_a_loop(config, sandbox):
    gateway = create_gateway(replace(config, wisphub_panel_password="mala"), policy=FAST)
    try:
        with pytest.raises(PanelLoginError, match="rechazó el usuario o la contraseña.*no son correctos"):
            await gateway.pending_preinstallations()
        assert sandbox.stats.login_attempts == 1
        with pytest.raises(PanelLoginError):
            await gateway.pending_preinstallations()
        assert sandbox.stats.login_attempts == 2
        assert "GET /preinstalaciones/" not in sandbox.stats.requests
    finally:
        await gateway.aclose()


async def test_a_changed_page_is_a_layout_error(gateway, sandbox):
    sandbox.faults.add("layout", scope="panel", count=1)
    with pytest.raises(PanelLayoutError, match="la lista de preinstalaciones de WispHub cambió"):
        await gateway.pending_preinstallations()
    assert len(await gateway.pending_preinstallations()) == 30


async def test_cloudflare_challenge_on_the_panel(gateway, sandbox):
    sandbox.faults.add("cloudflare", scope="panel", count=1)
    with pytest.raises(WispHubChallenge, match="Just a moment"):
        await gateway.pending_preinstallations()


async def test_stalled_panel_page_is_retried(gateway, sandbox):
    await gateway.pending_preinstallations()
    sandbox.faults.add("stall", scope="panel", count=1)
    assert len(await gateway.pending_preinstallations()) == 30
    assert sandbox.stats.logins == 1


async def test_health_probes_the_api_without_signing_in(gateway, sandbox):
    health = await gateway.health()
    assert health == {"ok": True, "detail": "API de WispHub responde · sin sesión en el panel"}
    sandbox.faults.add("html_521", scope="api", count=1)
    health = await gateway.health()
    assert health["ok"] is False and "521" in health["detail"]
    assert sandbox.stats.logins == 0


def test_csrf_token_is_found_with_either_quote_style():
    assert find_csrf_token("<input type='hidden' name='csrfmiddlewaretoken' value='abc' />") == "abc"
    assert find_csrf_token('<input name="csrfmiddlewaretoken" type="hidden" value="xyz">') == "xyz"
    assert find_csrf_token("<form></form>") is None


def test_columns_are_found_by_header_text_not_position():
    html = """<table><thead><tr><th>Acción</th><th>Teléfono celular</th><th>Nombre completo</th>
    <th>Correo</th></tr></thead><tbody><tr>
    <td class="text-right"><a href="/preinstalacion/activar/0485@yaa/485">x</a></td>
    <td>5512345678</td><td>Ana Ruiz</td><td>ana@example.mx</td></tr></tbody></table>"""
    [row] = parse_preinstallation_list(html)
    assert (row.id, row.username, row.name, row.phone, row.email) == (
        "485", "0485@yaa", "Ana Ruiz", "5512345678", "ana@example.mx")
    assert row.activation_path == "/preinstalacion/activar/0485@yaa/485/"


def test_empty_list_and_broken_rows():
    empty = """<table id="lista-preinstalaciones"><thead><tr><th>Nombre</th><th>Teléfono</th></tr>
    </thead><tbody><tr><td colspan="2" class="dataTables_empty">Ningún dato</td></tr></tbody></table>"""
    assert parse_preinstallation_list(empty) == []
    no_link = empty.replace('<td colspan="2" class="dataTables_empty">Ningún dato</td>',
                            "<td>Ana</td><td>5512345678</td>")
    with pytest.raises(PanelLayoutError, match="enlace /preinstalacion/activar/"):
        parse_preinstallation_list(no_link)
    no_phone = """<table><tr><th>Nombre</th></tr><tr><td>Ana</td>
    <td><a href="/preinstalacion/activar/1@x/1/">a</a></td></tr></table>"""
    with pytest.raises(PanelLayoutError, match="faltan las columnas teléfono"):
        parse_preinstallation_list(no_phone)


async def test_a_header_that_merely_holds_a_word_does_not_bind_the_column(gateway, sandbox):
    # the sandbox's list has "Router Cliente" (empty) before "Nombre"
    records = {r.id: r for r in await gateway.pending_preinstallations()}
    assert records["1001"].name == "Juan Pérez López"
    html = """<table><thead><tr><th>Router Cliente</th><th>Cliente</th><th>Teléfono</th></tr>
    </thead><tbody><tr><td>RB1</td><td>Ana Ruiz</td>
    <td><a href="/preinstalacion/activar/1@x/1/">5512345678</a></td></tr></tbody></table>"""
    [row] = parse_preinstallation_list(html)
    assert row.name == "Ana Ruiz"


async def test_a_missing_optional_column_is_unknown_not_missing(gateway, sandbox):
    sandbox.state.list_hidden_columns = frozenset({"Documentos", "Correo"})
    juan = {r.id: r for r in await gateway.pending_preinstallations()}["1001"]
    assert not {"dni_front", "dni_back", "proof_of_address", "email"} & set(juan.missing)
    assert juan.unknown == ("dni_front", "dni_back", "proof_of_address", "email")
    pop = juan.to_pop()
    assert pop["unknown_labels"] == ["INE (frente)", "INE (reverso)", "Comprobante de domicilio",
                                     "Correo electrónico"]


async def test_server_side_pages_are_followed(gateway, sandbox):
    sandbox.state.list_page_size = 7
    records = await gateway.pending_preinstallations()
    assert sorted(r.id for r in records) == sorted(str(i) for i in sandbox.store.preinstallations)
    assert sandbox.stats.requests["GET /preinstalaciones/"] == 5  # 30 rows, 7 a page


async def test_a_list_filled_by_the_browser_is_refused_not_indexed_empty(gateway, sandbox):
    sandbox.state.list_server_side = True
    with pytest.raises(PanelLayoutError, match="se llena desde el navegador por partes"):
        await gateway.pending_preinstallations()


def test_a_list_announcing_more_rows_than_it_shows_is_refused():
    html = """<table><thead><tr><th>Nombre</th><th>Teléfono</th></tr></thead><tbody><tr>
    <td>Ana</td><td><a href="/preinstalacion/activar/1@x/1/">5512345678</a></td></tr></tbody>
    </table><div>Mostrando 1 a 1 de 40 registros</div>"""
    assert listed_total(html) == 40
    assert next_page(html) is None
