"""The per-call progress store against a real Redis."""
from __future__ import annotations

import pytest

from screenpop.script.answers import AnswerError
from screenpop.script.progress import CALL_PROGRESS_TTL_SECONDS, CallProgressStore


async def test_unknown_call_starts_at_the_greeting(redis, keys):
    progress = await CallProgressStore(redis, keys).get("nope")
    assert (progress.step, progress.answers, progress.version, progress.updated_at) == (
        "saludo", {}, 0, None)


async def test_two_writers_editing_different_fields_both_survive(redis, keys):
    tab_one, tab_two = CallProgressStore(redis, keys), CallProgressStore(redis, keys)
    await tab_one.save("c1", step="cobertura", answers={"address": " Calle 5 #12 "}, by="ana")
    await tab_two.save("c1", answers={"coverage": "sí", "technology": "fiber"}, by="ana")
    progress = await tab_one.save("c1", answers={"zone": "centro"}, by="luis")
    assert progress.answers == {"address": "Calle 5 #12", "coverage": True,
                                "technology": "fiber", "zone": "centro"}
    assert progress.step == "cobertura"
    assert progress.version == 3
    assert progress.updated_by == "luis"
    assert (await tab_two.get("c1")) == progress


async def test_bad_answer_is_rejected_and_nothing_is_lost(redis, keys):
    store = CallProgressStore(redis, keys)
    before = await store.save("c1", step="datos", answers={"email": "ana@example.mx"}, by="ana")
    with pytest.raises(AnswerError) as error:
        await store.save("c1", step="cierre",
                         answers={"first_name": "Ana", "extra_phone": "12"}, by="ana")
    assert error.value.key == "extra_phone"
    assert "Teléfono adicional" in str(error.value)
    assert await store.get("c1") == before


async def test_unknown_step_is_rejected(redis, keys):
    with pytest.raises(AnswerError) as error:
        await CallProgressStore(redis, keys).save("c1", step="pago", by="ana")
    assert error.value.key == "step"
    assert await redis.exists(keys.call_progress("c1")) == 0


async def test_clearing_an_answer(redis, keys):
    store = CallProgressStore(redis, keys)
    await store.save("c1", answers={"notes": "llamar tarde", "building": False}, by="ana")
    progress = await store.save("c1", answers={"notes": ""}, by="ana")
    assert progress.answers == {"building": False}


async def test_progress_expires_after_thirty_days(redis, keys):
    await CallProgressStore(redis, keys).save("c1", answers={"zone": "centro"}, by="ana")
    ttl = await redis.ttl(keys.call_progress("c1"))
    assert CALL_PROGRESS_TTL_SECONDS - 60 < ttl <= CALL_PROGRESS_TTL_SECONDS
    assert CALL_PROGRESS_TTL_SECONDS == 30 * 24 * 3600
