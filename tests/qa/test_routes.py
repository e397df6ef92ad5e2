"""The desk over HTTP on a real port: every route per role, CSRF, the recording (ranges, missing
file, forbidden role, traversal), CSV export matching the filter, scoring, disputes, the queue,
calibration and chart data."""
from __future__ import annotations

import csv
import io
import os
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from screenpop.qa.generated_calls import generate_calls, insert_call
from screenpop.qa.routes import QA_POOL

from .conftest import NOW, all_pass

WAV = b"RIFF" + bytes(range(256)) * 40  # 10,244 bytes: content is what the ranges check


@pytest.fixture
async def calls(pool, recordings):
    (recordings / "c-ana.wav").write_bytes(WAV)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO dialer_campaigns (campaign_id, name, mode) "
                           "VALUES ('fibra-nov', 'Fibra noviembre', 'progressive')")
        await insert_call(conn, "c-ana", started_at=NOW, agents=("ana",), recording_file="c-ana.wav",
                          campaign="fibra-nov", steps_reached=("saludo", "cobertura"),
                          events=[(timedelta(0), "started", {}), (timedelta(seconds=5), "agent_answered", {})])
        await insert_call(conn, "c-beto", started_at=NOW - timedelta(hours=1), agents=("beto",),
                          recording_file="gone.wav")
        await insert_call(conn, "c-esc", started_at=NOW - timedelta(hours=2), agents=("ana",),
                          recording_file="../secret.txt")
        await insert_call(conn, "c-abs", started_at=NOW - timedelta(hours=3), agents=("ana",),
                          recording_file=str(recordings.parent / "secret.txt"))
        await insert_call(conn, "c-link", started_at=NOW - timedelta(hours=4), agents=("ana",),
                          recording_file="link.wav")
    (recordings.parent / "secret.txt").write_text("fuera de RECORDINGS_DIR")
    os.symlink(recordings.parent / "secret.txt", recordings / "link.wav")


async def get(person, path, **kwargs):
    return await person.http.get(f"{person.node.url}{path}", allow_redirects=False, **kwargs)


async def post(person, path, data, *, csrf=True):
    data = {**data, **({"csrf_token": person.csrf} if csrf else {})}
    return await person.http.post(f"{person.node.url}{path}", data=data, allow_redirects=False)


REVIEWER_PAGES = ["/qa/export.csv", "/qa/queue", "/qa/disputes", "/qa/charts"]


@pytest.mark.parametrize("role_user", ["rita", "susana", "adan"])
async def test_reviewer_roles_open_every_page(desk, calls, signed_in, role_user):
    person = await signed_in(role_user)
    for path in ["/qa", "/qa/calls/c-beto", *REVIEWER_PAGES]:
        assert (await get(person, path)).status == 200, path
    listing = await (await get(person, "/qa")).text()
    assert "c-ana" in listing and "c-beto" in listing
    # agents by their account's name, in the rows and in the filter
    row = re.search(r'href="/qa/calls/c-ana".*?</tr>', listing, re.S).group(0)
    assert '<td data-label="Asesor">Ana</td>' in row
    assert '<td data-label="Campaña">Fibra noviembre</td>' in row
    assert '<td data-label="Número">+52 55 1234 5678</td>' in row  # stored as 5512345678
    assert '<td data-label="Duración">3:00</td>' in row  # talk time
    assert '<option value="fibra-nov" >Fibra noviembre</option>' in listing
    call = await (await get(person, "/qa/calls/c-ana")).text()
    assert "<dt>Campaña</dt><dd>Fibra noviembre</dd>" in call
    assert "<h2>Calificar a Ana · " in call  # whom the score is for (a transfer's last agent)
    assert '<option value="beto" >Beto</option>' in listing
    filtered = await (await get(person, "/qa?agent=beto")).text()
    assert '<option value="beto" selected>Beto</option>' in filtered
    assert "c-beto" in filtered and "/qa/calls/c-ana" not in filtered


async def test_agent_sees_only_own_calls(desk, calls, signed_in):
    ana = await signed_in("ana")
    listing = await (await get(ana, "/qa")).text()
    assert "/qa/calls/c-ana" in listing and "c-beto" not in listing
    assert "Exportar CSV" not in listing
    # agent=beto in the query cannot widen what an agent sees
    assert "c-beto" not in await (await get(ana, "/qa?agent=beto")).text()
    assert (await get(ana, "/qa/calls/c-ana")).status == 200
    assert (await get(ana, "/qa/calls/c-beto")).status == 404
    assert (await get(ana, "/qa/calls/c-beto/recording")).status == 404
    for path in REVIEWER_PAGES:
        response = await get(ana, path)
        assert response.status == 403, path
        assert "solo para calidad" in await response.text()
    assert (await get(ana, "/qa/api/charts")).status == 403


async def test_agent_cannot_score_claim_calibrate_or_resolve(desk, calls, signed_in, scorecard):
    ana = await signed_in("ana")
    for path, data in (("/qa/calls/c-ana/evaluation", all_pass(scorecard)),
                       ("/qa/queue/claim", {}), ("/qa/calibrations", {"call_id": "c-ana"}),
                       ("/qa/disputes/1/resolve", {"decision": "overturned", "note": "x"})):
        assert (await post(ana, path, data)).status == 403, path
    assert await desk_count(desk, "qa_evaluations") == 0
    assert await desk_count(desk, "qa_calibrations") == 0


async def desk_count(desk, table):
    return await desk.app[QA_POOL].fetchval(f"SELECT count(*) FROM {table}")


async def test_signed_out_is_sent_to_login(desk, calls, signed_in):
    async with aiohttp.ClientSession() as anonymous:
        for path in ["/qa", "/qa/calls/c-ana", "/qa/calls/c-ana/recording", "/qa/export.csv"]:
            response = await anonymous.get(f"{desk.url}{path}", allow_redirects=False)
            assert response.status == 302 and response.headers["Location"] == "/login", path
        response = await anonymous.post(f"{desk.url}/qa/calls/c-ana/evaluation", data={},
                                        allow_redirects=False)
        assert response.status == 302


async def test_every_state_change_needs_the_csrf_token(desk, calls, signed_in, scorecard):
    rita, ana = await signed_in("rita"), await signed_in("ana")
    for person, path, data in ((rita, "/qa/calls/c-ana/evaluation", all_pass(scorecard)),
                               (rita, "/qa/queue/claim", {}),
                               (rita, "/qa/calibrations", {"call_id": "c-ana"}),
                               (rita, "/qa/disputes/1/resolve", {"decision": "upheld", "note": "x"}),
                               (ana, "/qa/evaluations/1/items/tono/dispute", {"reason": "x"})):
        response = await post(person, path, data, csrf=False)
        assert response.status == 403 and "caducó" in await response.text(), path
        response = await post(person, path, {**data, "csrf_token": "wrong"}, csrf=False)
        assert response.status == 403, path
    assert await desk_count(desk, "qa_evaluations") == 0


async def test_recording_full_and_ranges(desk, calls, signed_in):
    for username in ("ana", "rita"):
        person = await signed_in(username)
        whole = await get(person, "/qa/calls/c-ana/recording")
        assert whole.status == 200 and await whole.read() == WAV
        assert whole.headers["Accept-Ranges"] == "bytes"
        part = await get(person, "/qa/calls/c-ana/recording", headers={"Range": "bytes=100-199"})
        assert part.status == 206 and await part.read() == WAV[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(WAV)}"
        tail = await get(person, "/qa/calls/c-ana/recording", headers={"Range": "bytes=-10"})
        assert tail.status == 206 and await tail.read() == WAV[-10:]
        beyond = await get(person, "/qa/calls/c-ana/recording",
                           headers={"Range": f"bytes={len(WAV) + 5}-"})
        assert beyond.status == 416


async def test_recording_missing_or_escaping_is_not_served(desk, calls, signed_in):
    rita = await signed_in("rita")
    for call_id in ("c-beto", "c-esc", "c-abs", "c-link", "no-such-call"):
        response = await get(rita, f"/qa/calls/{call_id}/recording")
        assert response.status == 404, call_id
        assert "fuera de RECORDINGS_DIR" not in await response.text()
    for path in ("/qa/calls/..%2F..%2Fsecret.txt/recording", "/qa/calls/../secret.txt/recording",
                 "/qa/calls/%2e%2e/recording", "/qa/calls/c-ana/recording/../../secret.txt"):
        response = await get(rita, path)
        # refused either as a malformed call id (400) or as no such call (404), never served
        assert response.status in (400, 404), path
        assert "fuera de RECORDINGS_DIR" not in await response.text()


async def test_the_call_page_offers_the_player_only_for_a_file_it_can_serve(desk, calls,
                                                                            signed_in, pool):
    await pool.execute("INSERT INTO call_records (call_id, ring_at, recording_file) "
                       "VALUES ('c-live', now(), 'c-live.wav')")  # Asterisk still writing it
    async with pool.acquire() as conn:
        await insert_call(conn, "c-plain", started_at=NOW)  # not recorded
    rita = await signed_in("rita")
    says = {}
    for call_id in ("c-ana", "c-beto", "c-esc", "c-live", "c-plain"):
        page = await (await get(rita, f"/qa/calls/{call_id}")).text()
        player = re.search(r'<audio id="player"[^>]*>|<p class="\w+" id="no-recording">([^<]*)',
                           page)
        says[call_id] = player.group(1) or "player"
    assert says == {
        "c-ana": "player",
        "c-beto": "No se encontró el archivo de la grabación. Si esta llamada debía grabarse, "
                  "avise a soporte.",
        "c-esc": "No se encontró el archivo de la grabación. Si esta llamada debía grabarse, "
                 "avise a soporte.",  # "../secret.txt": never offered, never served
        "c-live": "La grabación estará disponible cuando termine la llamada.",
        "c-plain": "Esta llamada no tiene grabación."}


async def test_csv_export_streams_exactly_the_filtered_calls(desk, pool, signed_in):
    async with pool.acquire() as conn:
        await generate_calls(conn, 2500, end=NOW, days=20)
        expected = [r["call_id"] for r in await conn.fetch(
            "SELECT call_id FROM call_records WHERE agent_username = 'agente05' AND "
            "started_at >= '2026-11-10 00:00-06' AND started_at < '2026-11-16 00:00-06' "
            "ORDER BY started_at DESC, call_id DESC")]
    rita = await signed_in("rita")
    response = await get(rita, "/qa/export.csv?agent=agente05&from=2026-11-10&to=2026-11-15")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["call_id"] for r in rows] == expected and expected
    assert rows[0]["started_at"].endswith("-06")  # shown in TZ_NAME
    assert rows[0]["complete"] == "si" and rows[0]["agent_username"] == "agente05"
    everything = await get(rita, "/qa/export.csv")
    assert len((await everything.text()).splitlines()) == 2501


async def test_list_paging_over_http(desk, pool, signed_in):
    async with pool.acquire() as conn:
        await generate_calls(conn, 120, end=NOW, days=5)
    rita = await signed_in("rita")
    seen, path = [], "/qa?campaign=reactivacion"
    while path:
        page = await (await get(rita, path)).text()
        seen += re.findall(r'href="/qa/calls/([^"]+)"', page)
        found = re.search(r'href="([^"]+)" rel="next"', page)
        path = found.group(1).replace("&amp;", "&") if found else None
        assert path is None or "campaign=reactivacion" in path
    assert len(seen) == 30 and len(set(seen)) == 30


async def test_bad_filter_says_what_to_fix(desk, calls, signed_in):
    rita = await signed_in("rita")
    response = await get(rita, "/qa?from=20/11/2026")
    assert response.status == 400 and "AAAA-MM-DD" in await response.text()
    assert (await get(rita, "/qa?after=garbage")).status == 400


async def test_score_dispute_and_resolve_over_http(desk, calls, signed_in, scorecard):
    rita, ana, sofia = await signed_in("rita"), await signed_in("ana"), await signed_in("sofia")
    form = all_pass(scorecard, tono="fail")
    form.update({"comment-tono": "Interrumpió <b>dos</b> veces", "at-tono": "0:42"})
    incomplete = dict(form)
    del incomplete["result-cierre"]
    response = await post(rita, "/qa/calls/c-ana/evaluation", incomplete)
    assert response.status == 400 and "Falta calificar" in await response.text()
    response = await post(rita, "/qa/calls/c-ana/evaluation", form)
    assert response.status == 303 and response.headers["Location"] == "/qa/calls/c-ana"
    page = await (await get(ana, "/qa/calls/c-ana")).text()
    assert "90.0" in page and "Interrumpió &lt;b&gt;dos&lt;/b&gt; veces" in page
    assert 'data-seconds="42' in page
    evaluation_id = re.search(r'/qa/evaluations/(\d+)/items/tono/dispute', page).group(1)
    # beto was not scored on this call: he cannot dispute it
    beto = await signed_in("beto")
    assert (await post(beto, f"/qa/evaluations/{evaluation_id}/items/tono/dispute",
                       {"reason": "x"})).status == 404
    response = await post(ana, f"/qa/evaluations/{evaluation_id}/items/tono/dispute",
                          {"reason": "No interrumpí"})
    assert response.status == 303
    dispute_id = await desk.app[QA_POOL].fetchval("SELECT id FROM qa_disputes")
    disputes = await (await get(sofia, "/qa/disputes")).text()
    assert "No interrumpí" in disputes and "asesor Ana · calificó Rita" in disputes
    own = await post(rita, f"/qa/disputes/{dispute_id}/resolve",
                     {"decision": "overturned", "note": "Tiene razón"})
    assert own.status == 403  # the reviewer who scored does not judge the dispute
    response = await post(sofia, f"/qa/disputes/{dispute_id}/resolve",
                          {"decision": "overturned", "note": "Escuché 0:42: no interrumpió",
                           "back": "/qa/calls/c-ana"})
    assert response.status == 303 and response.headers["Location"] == "/qa/calls/c-ana"
    page = await (await get(ana, "/qa/calls/c-ana")).text()
    assert "100.0" in page and "Corregida por Sofia" in page


async def test_agent_scores_of_other_agents_are_hidden(desk, calls, signed_in, pool, scorecard):
    rita = await signed_in("rita")
    async with pool.acquire() as conn:
        await insert_call(conn, "c-shared", started_at=NOW, agents=("ana", "beto"))
    assert (await post(rita, "/qa/calls/c-shared/evaluation", all_pass(scorecard))).status == 303
    ana = await signed_in("ana")  # took part before the transfer; beto was scored
    page = await (await get(ana, "/qa/calls/c-shared")).text()
    assert "Todavía no hay calificaciones" in page
    listing = await (await get(ana, "/qa")).text()
    row = re.search(r'href="/qa/calls/c-shared".*?</tr>', listing, re.S).group(0)
    assert "100.0" not in row
    beto = await signed_in("beto")
    row = re.search(r'href="/qa/calls/c-shared".*?</tr>', await (await get(beto, "/qa")).text(),
                    re.S).group(0)
    assert "100.0" in row


async def test_the_queue_of_a_day_before_samples_its_ended_calls(desk, signed_in, pool):
    tz = ZoneInfo("America/Mexico_City")  # the desk's TZ_NAME
    today = datetime.now(tz).date()
    yesterday = today - timedelta(days=1)
    noon = datetime.combine(yesterday, time(12), tz)
    async with pool.acquire() as conn:
        for n in range(12):
            await insert_call(conn, f"ayer-{n}", started_at=noon + timedelta(minutes=n),
                              agents=(f"nuevo{n % 3}",), talk_seconds=20)
        await conn.execute("INSERT INTO call_records (call_id, ring_at, answered_at) "
                           "VALUES ('en-curso', now(), now())")  # answered, still going on
    rita = await signed_in("rita")
    page = await (await get(rita, f"/qa/queue?day={yesterday.isoformat()}")).text()
    assert f"Mi cola del {yesterday:%d/%m/%Y}</h1>" in page
    assert int(re.search(r"Muestra del día: (\d+)", page).group(1)) > 0
    assert 'href="/qa/queue">Hoy</a>' in page
    claimed = await post(rita, "/qa/queue/claim", {"day": yesterday.isoformat()})
    assert claimed.status == 303
    assert claimed.headers["Location"] == f"/qa/queue?day={yesterday.isoformat()}"
    mine = re.findall(r"/qa/calls/(ayer-\d+)", await (await get(
        rita, f"/qa/queue?day={yesterday.isoformat()}")).text())
    assert mine
    today_page = await (await get(rita, "/qa/queue")).text()
    assert "(hoy)" in today_page and "Día siguiente" not in today_page
    assert "en-curso" not in today_page and "Muestra del día: 0 llamadas" in today_page
    for day, says in ((today + timedelta(days=1), "todavía no ocurren"),
                      ("02/12/2026", "use el formato AAAA-MM-DD")):
        response = await get(rita, f"/qa/queue?day={day}")
        assert response.status == 400 and says in await response.text()


async def test_queue_claims_and_calibration(desk, calls, signed_in, pool, scorecard):
    async with pool.acquire() as conn:
        for n in range(30):
            await insert_call(conn, f"hoy-{n}", started_at=datetime.now(UTC) - timedelta(minutes=n),
                              agents=(f"nuevo{n % 3}",), talk_seconds=20)
    rita, sofia = await signed_in("rita"), await signed_in("sofia")
    page = await (await get(rita, "/qa/queue")).text()
    total = int(re.search(r"Muestra del día: (\d+)", page).group(1))
    assert total > 0  # new agents and short calls: a large share
    assert (await post(rita, "/qa/queue/claim", {})).status == 303
    assert (await post(sofia, "/qa/queue/claim", {})).status == 303
    mine = set(re.findall(r'/qa/calls/(hoy-\d+)', await (await get(rita, "/qa/queue")).text()))
    theirs = set(re.findall(r'/qa/calls/(hoy-\d+)', await (await get(sofia, "/qa/queue")).text()))
    assert mine and not mine & theirs and len(mine | theirs) == min(total, 40)
    taken = sorted(mine)[0]
    response = await post(sofia, "/qa/queue/claim", {"call_id": taken})
    assert response.status == 409 and "Otro revisor" in await response.text()

    response = await post(rita, "/qa/calibrations", {"call_id": "c-ana", "title": "Semana 47"})
    assert response.status == 303
    session_url = response.headers["Location"]
    session_id = session_url.rsplit("/", 1)[1]
    for person, overrides in ((rita, {}), (sofia, {"tono": "fail", "cierre": "fail"})):
        response = await post(person, "/qa/calls/c-ana/evaluation",
                              {**all_pass(scorecard, **overrides), "calibration_id": session_id})
        assert response.status == 303 and response.headers["Location"] == session_url
    page = await (await get(sofia, session_url)).text()
    assert re.search(r'id="score-range">15.0<', page)
    assert page.count("qa-disagree") == 2


async def test_chart_data(desk, calls, signed_in, scorecard):
    rita = await signed_in("rita")
    await post(rita, "/qa/calls/c-ana/evaluation", all_pass(scorecard, tono="fail"))
    await post(rita, "/qa/calls/c-beto/evaluation", all_pass(scorecard, tono="fail", cierre="fail"))
    data = await (await get(rita, "/qa/api/charts")).json()
    assert {(p["agent"], p["name"], p["score"]) for p in data["weekly_scores"]} == {
        ("ana", "Ana", 90.0), ("beto", "Beto", 85.0)}
    assert data["failed_items"][0] == {"item_id": "tono", "label": "Tono amable y sin interrumpir",
                                       "failures": 2}
    assert {(a["agent"], a["name"]) for a in data["activation"]} == {("ana", "Ana"),
                                                                     ("beto", "Beto")}
    bad = await get(rita, "/qa/api/charts?from=nope")
    assert bad.status == 400 and "AAAA-MM-DD" in (await bad.json())["error"]


@pytest.mark.parametrize(("username", "sections"), [
    ("ana", ["Mis calificaciones"]),
    ("rita", ["Calidad"]),
    ("susana", ["Supervisión", "Campañas", "Calidad"]),
    ("adan", ["Supervisión", "Campañas", "Calidad"])])
async def test_every_top_bar_links_the_sections_the_role_may_open(desk, signed_in, username,
                                                                  sections):
    person = await signed_in(username)

    def links(page: str) -> list[tuple[str, str]]:
        nav = re.search(r'<nav class="sections".*?</nav>', page, re.S).group(0)
        return re.findall(r'<a class="toplink" href="([^"]+)"([^>]*)>([^<]+)</a>', nav)

    home = links(await (await get(person, "/")).text())
    assert [label for _, _, label in home] == sections
    # from the agent page a section opens in a tab of its own: the pop page stays for the next call
    assert all('target="_blank"' in attributes for _, attributes, _ in home)
    qa = links(await (await get(person, "/qa")).text())
    assert [label for _, _, label in qa] == ["Pantalla de asesor", *sections[:-1]]
    assert all(href != "/qa" and "target" not in attributes for href, attributes, _ in qa)
