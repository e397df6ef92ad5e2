"""The pop's `ivr` object, from the channel variables the IVR dialplan sets."""
from __future__ import annotations

from common.envelope import CallUpdate
from screenpop.push.protocol import pop


def ivr_of(**variables: str):
    update = CallUpdate(call_id="1796.1", direction="inbound", state="ringing",
                        customer_number="5215512345678", agents={"PJSIP/6001": "ringing"},
                        variables=variables)
    return pop(update, "PJSIP/6001", "ringing", {"status": "none", "preinstallations": []})["ivr"]


def test_a_call_that_skipped_the_ivr_has_none():
    assert ivr_of() is None
    assert ivr_of(CAMPAIGN_ID="c1", SP_MATCH="one") is None


def test_a_wrong_key_then_a_choice_and_the_lookup():
    ivr = ivr_of(IVR_PATH="41", IVR_STARTED="1796000000", QUEUE_ENTERED="1796000042",
                 SP_MATCH="one", SP_PREINST_ID="1842")
    assert ivr == {"path": "41",
                   "steps": [{"key": "4", "short": "Inválida", "label": "Tecla no válida"},
                             {"key": "1", "short": "Contratar",
                              "label": "Contratar / seguimiento de instalación"}],
                   "started_at": 1796000000.0, "queue_entered_at": 1796000042.0,
                   "lookup_match": "one", "lookup_preinstallation_id": "1842"}


def test_after_hours_before_any_key_and_garbage_times():
    assert [s["short"] for s in ivr_of(IVR_PATH="cerrado")["steps"]] == ["Cerrado"]
    waiting = ivr_of(IVR_STARTED="1796000000", SP_MATCH="unknown")
    assert waiting["steps"] == [] and waiting["queue_entered_at"] is None
    assert waiting["lookup_match"] == "unknown" and waiting["lookup_preinstallation_id"] is None
    odd = ivr_of(IVR_PATH="t", IVR_STARTED="nan", QUEUE_ENTERED="ayer", SP_MATCH="lots")
    assert odd["started_at"] is None and odd["queue_entered_at"] is None
    assert odd["lookup_match"] is None and odd["steps"][0]["short"] == "Sin tecla"


def test_after_hours_then_a_callback_request():
    assert [s["short"] for s in ivr_of(IVR_PATH="cerradoc")["steps"]] == ["Cerrado", "Devolución"]
    assert [s["short"] for s in ivr_of(IVR_PATH="1c")["steps"]] == ["Contratar", "Devolución"]


def callback_of(**variables: str):
    update = CallUpdate(call_id="1797.5", direction="outbound", state="ringing",
                        customer_number="5512345678", agents={"PJSIP/6001": "ringing"},
                        variables=variables)
    return pop(update, "PJSIP/6001", "ringing", {"status": "none", "preinstallations": []})


def test_a_callback_the_queue_callbacks_placed_says_so_and_rings():
    placed = callback_of(SP_CALL="callback-ab12cd-1")
    assert placed["callback"] == {"attempt_id": "callback-ab12cd-1"}
    assert placed["placed_by_agent"] is False  # it rings the agent like an inbound call
    assert callback_of(SP_CALL="42", CAMPAIGN_ID="c1")["callback"] is None  # a campaign's call
    assert callback_of(SP_CALL="callback-<b>x</b>")["callback"] is None
    assert callback_of()["callback"] is None


def test_a_campaign_call_carries_its_campaign_and_no_other_call_does():
    update = CallUpdate(call_id="dl-9", direction="outbound", state="ringing",
                        customer_number="5512345678", agents={"PJSIP/6001": "ringing"},
                        variables={"CAMPAIGN_ID": "c1", "SP_CALL": "9"})
    match = {"status": "none", "preinstallations": []}
    assert pop(update, "PJSIP/6001", "ringing", match,
               campaign_name="Documentos pendientes")["campaign"] == \
        {"name": "Documentos pendientes"}
    assert pop(update, "PJSIP/6001", "ringing", match)["campaign"] == {"name": None}
    assert callback_of()["campaign"] is None
