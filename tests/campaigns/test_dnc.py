"""The do-not-call page over HTTP: add and remove with a note, search and paging, a CSV import
with bad rows (line numbers), repeats and numbers already there, streamed progress, and the
campaign leads it blocks — against real PostgreSQL."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp

from common.dialer.outcomes import Order
from common.dialer.store import Campaign, Mode, NewLead

REPEP = ("Telefono;Nombre\n"
         "5511112222;Uno\n"
         "55 1111 3333;Dos\n"
         "hola;Tres\n"
         "5511112222;Uno otra vez\n"
         ";\n"
         "+52 55 1111 4444;Cuatro\n"
         "123;Corto\n")


def upload(csrf: str | None, text: str, name: str = "repep.csv") -> aiohttp.FormData:
    form = aiohttp.FormData()
    if csrf is not None:
        form.add_field("csrf_token", csrf)
    form.add_field("file", text.encode("utf-8"), filename=name, content_type="text/csv")
    return form


async def test_import_reports_bad_rows_and_blocks_leads(node, signed_in, store, pool):
    await store.create_campaign(Campaign("c", "c", Mode.PROGRESSIVE, Order.AGENT_FIRST, 3, {}))
    await store.add_leads("c", [NewLead("1", "5511113333"), NewLead("2", "5599990000")],
                          datetime.now(UTC))
    await store.add_to_dnc(["+525511114444"], source="manual")
    boss = await signed_in("susana")

    # streamed, as the page's progress bar reads it
    response = await boss.http.post(f"{node.url}/dnc/import", data=upload(None, REPEP),
                                    headers={"X-CSRF-Token": boss.csrf,
                                             "Accept": "application/x-ndjson"})
    assert response.status == 200
    lines = [json.loads(line) for line in (await response.text()).splitlines()]
    assert lines[0] == {"stage": "store", "done": 0, "total": 3}
    assert lines[-2] == {"stage": "store", "done": 3, "total": 3}
    summary = lines[-1]["summary"]
    assert summary["added"] == 2 and summary["already_there"] == 1
    assert summary["repeated_in_file"] == 1 and summary["leads_blocked"] == 1
    assert [(r["line"], r["value"]) for r in summary["bad_rows"]] == [(4, "hola"), (8, "123")]
    assert await pool.fetchval("SELECT state FROM dialer_leads WHERE preinstallation_id = '1'"
                               ) == "blocked"
    assert await pool.fetchval("SELECT source FROM dialer_dnc WHERE phone = '+525511112222'"
                               ) == "import:repep.csv"

    # the plain form (no script): the summary on the page
    response = await boss.http.post(f"{node.url}/dnc/import",
                                    data=upload(boss.csrf, "telefono\n5522220000\nxx\n"))
    page = await response.text()
    assert response.status == 200
    assert "Agregados: <strong>1</strong>" in page and "Línea 3: «xx»" in page
    assert "1 registros bloqueados en campañas" in page


async def test_import_needs_csrf_and_a_file(node, signed_in, pool):
    boss = await signed_in("susana")
    response = await boss.http.post(f"{node.url}/dnc/import", data=upload("bad", REPEP))
    assert response.status == 403
    response = await boss.http.post(f"{node.url}/dnc/import", data=upload(boss.csrf, " \n"))
    assert response.status == 400 and "vacío" in await response.text()
    assert await pool.fetchval("SELECT count(*) FROM dialer_dnc") == 0
    agent = await signed_in("agente1")
    response = await agent.http.post(f"{node.url}/dnc/import", data=upload(agent.csrf, REPEP))
    assert response.status == 403


async def test_add_remove_search_and_pages(node, signed_in, store, pool):
    await store.create_campaign(Campaign("c", "c", Mode.PROGRESSIVE, Order.AGENT_FIRST, 3, {}))
    await store.add_leads("c", [NewLead("1", "5533334444")], datetime.now(UTC))
    boss = await signed_in("susana")

    async def post(path, **data):
        return await boss.http.post(f"{node.url}{path}", data={"csrf_token": boss.csrf, **data},
                                    allow_redirects=False)

    response = await post("/dnc/add", phone="55 3333 4444", note="Pidió no llamar")
    assert response.status == 303 and response.headers["Location"] == "/dnc?done=added"
    row = await pool.fetchrow("SELECT * FROM dialer_dnc")
    assert (row["phone"], row["note"], row["added_by"], row["source"]) == (
        "+525533334444", "Pidió no llamar", "susana", "manual")
    assert await pool.fetchval("SELECT state FROM dialer_leads") == "blocked"
    assert (await post("/dnc/add", phone="5533334444")).headers["Location"] == \
        "/dnc?done=already"
    response = await post("/dnc/add", phone="12")
    assert response.status == 400 and "No es un número telefónico válido" in \
        await response.text()
    response = await boss.http.post(f"{node.url}/dnc/add", data={"phone": "5533330000"},
                                    allow_redirects=False)
    assert response.status == 403

    await store.add_to_dnc([f"+52551000{i:04d}" for i in range(120)], source="repep")
    page = await (await boss.http.get(f"{node.url}/dnc")).text()
    assert "121 números" in page and "Página 1 de 3" in page
    page = await (await boss.http.get(f"{node.url}/dnc?page=3")).text()
    assert page.count('<tr data-phone=') == 21
    page = await (await boss.http.get(f"{node.url}/dnc?q=Pidió")).text()
    assert page.count('<tr data-phone=') == 1 and "+525533334444" in page
    page = await (await boss.http.get(f"{node.url}/dnc?q=%25_")).text()
    assert "Ningún número coincide" in page

    response = await post("/dnc/remove", phone="+525533334444")
    assert response.headers["Location"] == "/dnc?done=removed"
    assert await pool.fetchval("SELECT state FROM dialer_leads") == "ready"
    assert (await post("/dnc/remove", phone="+525533334444")).headers["Location"] == \
        "/dnc?done=absent"
