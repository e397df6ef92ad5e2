"""The preinstallation index on a real Redis: matching, links, search, atomic replacement."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from common.phones import all_e164, to_e164
from screenpop.fields import missing_fields
from screenpop.index import Installed, PreinstallationIndex
from screenpop.wisphub.models import Preinstallation


def record(id_: str, name: str, phone_raw: str, email: str | None = None) -> Preinstallation:
    phones = tuple(all_e164(phone_raw))
    return Preinstallation(
        id=id_, username=f"{id_}@isp-demo", name=name, phones=phones, phone_raw=phone_raw,
        email=email, address="Calle Falsa 123", zone="Del Valle",
        created_at=datetime(2025, 7, 1, 10, 30, tzinfo=UTC),
        missing=missing_fields(phones=phones, extra_phone=None, email=email,
                               address="Calle Falsa 123", coordinates=None, comments=None,
                               documents=()),
        activation_path=f"/preinstalacion/activar/{id_}@isp-demo/{id_}/")


RECORDS = [
    record("101", "José Hernández Núñez", "5512345678", "jose@example.mx"),
    record("102", "María Pérez", "+52 55 8765 4321, 5215511112222"),
    record("103", "Pedro Pérez", "55 8765 4321"),
    record("104", "Sin Teléfono", ""),
]


@pytest.fixture
async def index(redis, keys):
    idx = PreinstallationIndex(redis, keys)
    await idx.replace_all(RECORDS, source="test")
    return idx


async def test_match_one_many_none(index):
    one = await index.match("+525512345678")
    assert one.status == "one"
    assert [r.id for r in one.preinstallations] == ["101"]
    assert one.preinstallations[0] == RECORDS[0]

    many = await index.match(to_e164("5587654321"))
    assert many.status == "many"
    assert sorted(r.id for r in many.preinstallations) == ["102", "103"]

    assert (await index.match("+525599999999")).status == "none"
    assert (await index.match(None)).status == "none"


@pytest.mark.parametrize("raw", ["5511112222", "+52 55 1111 2222", "5215511112222",
                                 "044 55 1111 2222", "01 55 1111 2222", "(55) 1111-2222"],
                         ids=["national", "international", "legacy-521", "legacy-044",
                              "legacy-01", "punctuated"])
async def test_every_format_of_a_second_number_matches(index, raw):
    found = await index.match(to_e164(raw))
    assert [r.id for r in found.preinstallations] == ["102"]


async def test_remembered_link_wins_over_the_phone_index(index, redis, keys):
    number = to_e164("5587654321")
    linked = await index.link_number(number, "103")
    assert linked.id == "103"
    match = await index.match(number)
    assert (match.status, [r.id for r in match.preinstallations]) == ("one", ["103"])

    # the link survives a full sync; once the record is no longer pending the index answers
    await index.replace_all(RECORDS, source="test")
    assert [r.id for r in (await index.match(number)).preinstallations] == ["103"]
    await index.replace_all([r for r in RECORDS if r.id != "103"], source="test")
    assert [r.id for r in (await index.match(number)).preinstallations] == ["102"]


async def test_link_to_unknown_record_is_refused(index):
    with pytest.raises(KeyError):
        await index.link_number("+525512345678", "999")


async def test_search_is_accent_and_case_insensitive(index):
    assert [r.id for r in await index.search("jose hernandez")] == ["101"]
    assert [r.id for r in await index.search("NUÑEZ")] == ["101"]
    assert [r.id for r in await index.search("perez")] == ["102", "103"]
    assert [r.id for r in await index.search("8765 4321")] == ["102", "103"]
    assert [r.id for r in await index.search("jose@example")] == ["101"]
    assert await index.search("   ") == []
    assert len(await index.search("perez", limit=1)) == 1


async def test_replace_all_swaps_everything_and_reports_status(index, redis, keys):
    await index.replace_all([RECORDS[2]], source="panel")
    assert await index.get("101") is None
    assert (await index.match("+525512345678")).status == "none"
    assert [r.id for r in (await index.match(to_e164("5587654321"))).preinstallations] == ["103"]
    status = await index.status()
    assert status["count"] == 1 and status["source"] == "panel" and status["last_error"] is None
    assert status["last_sync"] > 0
    leftovers = [k async for k in redis.scan_iter(match=f"{keys.prefix}:index:staging:*")]
    assert leftovers == []
    assert await redis.ttl(keys.index_records) == -1

    await index.replace_all([], source="panel")
    assert (await index.status())["count"] == 0
    assert await index.all() == []


async def test_upsert_and_remove_keep_phone_index_consistent(index):
    moved = Preinstallation.from_dict({**RECORDS[0].to_dict(), "phones": ["+525533334444"],
                                       "phone_raw": "5533334444"})
    await index.upsert(moved)
    assert (await index.match("+525512345678")).status == "none"
    assert [r.id for r in (await index.match("+525533334444")).preinstallations] == ["101"]
    assert (await index.get("101")).phone_raw == "5533334444"

    await index.remove("102")
    assert [r.id for r in (await index.match(to_e164("5587654321"))).preinstallations] == ["103"]
    assert (await index.status())["count"] == 3


async def test_failure_is_recorded_without_touching_the_index(index):
    await index.record_failure("WispHub no responde")
    status = await index.status()
    assert status["last_error"] == "WispHub no responde" and status["count"] == 4
    assert (await index.match("+525512345678")).status == "one"


def test_record_json_round_trip_and_pop_shape():
    original = RECORDS[1]
    assert Preinstallation.from_json(original.to_json()) == original
    pop = original.to_pop()
    assert pop["phone"] == "+525587654321"
    assert pop["phones"] == ["+525587654321", "+525511112222"]
    assert pop["created_at"] == "2025-07-01T10:30:00+00:00"
    assert "extra_phone" not in pop["missing"] and "email" in pop["missing"]
    assert RECORDS[3].to_pop()["phone"] == "" and RECORDS[3].missing[0] == "phone"


async def test_an_activated_record_stays_findable_as_an_installation(index, keys, redis):
    assert await index.mark_installed("101", "Instalación 101", at=1000.0)
    match = await index.match("+525512345678")
    assert [r.id for r in match.preinstallations] == ["101"]
    assert match.installed["101"] == Installed("Instalación 101", 1000.0)
    assert (await index.match(to_e164("5587654321"))).installed == {}
    # a later mark without a reference (a sync seeing the client) keeps WispHub's reference
    assert await index.mark_installed("101", None, at=2000.0)
    assert (await index.installed("101")).reference == "Instalación 101"
    assert not await index.mark_installed("999", "Instalación 999")
    assert await redis.hget(keys.index_installed, "999") is None
    assert {i: (r.name, m.reference) for i, (r, m) in (await index.installations()).items()} == {
        "101": ("José Hernández Núñez", "Instalación 101")}
    await index.remove("101")
    assert await index.installed("101") is None


async def test_a_full_replace_swaps_the_installed_marks_with_the_records(index):
    await index.mark_installed("101", "Instalación 101")
    await index.replace_all(RECORDS[1:], source="test",
                            installed={"102": Installed(None, 5.0), "555": Installed(None, 5.0)})
    assert await index.installed("101") is None
    assert await index.installed("555") is None   # not among the records: not kept
    assert (await index.match(to_e164("5511112222"))).installed == {"102": Installed(None, 5.0)}
    status = await index.status()
    assert (status["count"], status["installed"]) == (3, 1)
