"""The answer vocabulary: what is kept, normalised, and what is refused with a Spanish message."""
from __future__ import annotations

from datetime import date

import pytest

from screenpop.script.answers import ANSWER_FIELDS, AnswerError, validate_answer
from screenpop.script.progress import CallProgressStore

BRIEF_KEYS = {"address", "location_url", "zone", "coverage", "technology", "wants_to_continue",
              "usage_profile", "plan_id", "addons", "contract", "objections_raised", "first_name",
              "last_name", "dni_number", "email", "extra_phone", "referral", "housing", "colonia",
              "city", "building", "rooftop_access", "fibre_cut_notes", "outlet_near",
              "install_date", "install_window", "documents_received", "notes"}


def test_vocabulary_is_the_agreed_one():
    assert set(ANSWER_FIELDS) == BRIEF_KEYS
    assert ANSWER_FIELDS["technology"].choices == ("wireless", "fiber")
    assert ANSWER_FIELDS["usage_profile"].choices == ("basico", "intermedio", "alto")
    assert ANSWER_FIELDS["contract"].choices == ("12m", "open")
    assert ANSWER_FIELDS["housing"].choices == ("own", "rented")
    assert ANSWER_FIELDS["documents_received"].choices == (
        "dni_front", "dni_back", "proof_of_address", "other")


@pytest.mark.parametrize(("key", "value", "kept"), [
    ("address", "  Calle 5 #12\x00 ", "Calle 5 #12"),
    ("coverage", True, True), ("coverage", "no", False), ("building", "Sí", True),
    ("technology", "fiber", "fiber"), ("zone", "centro", "centro"),
    ("addons", ["tv", "telefonia", "tv"], ["tv", "telefonia"]),
    ("documents_received", ("dni_back",), ["dni_back"]),
    ("install_date", "2025-11-14", "2025-11-14"), ("install_date", date(2025, 11, 14), "2025-11-14"),
    ("extra_phone", "55 8765 4321", "+525587654321"),
    ("email", "Ana.Ruiz@Example.MX", "Ana.Ruiz@example.mx"),
    ("location_url", "19.4326, -99.1332", "https://maps.google.com/?q=19.4326,-99.1332"),
    ("location_url", "https://maps.app.goo.gl/xyz", "https://maps.app.goo.gl/xyz"),
    ("notes", "", None), ("plan_id", None, None), ("notes", "   ", None),
])
def test_values_are_normalised(key, value, kept):
    assert validate_answer(key, value) == kept


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("favourite_colour", "azul", "Campo desconocido"),
    ("technology", "cable", "Tipo de servicio: opción no válida ('cable')"),
    ("contract", "24m", "opciones: 12m, open"),
    ("coverage", "tal vez", "debe ser sí o no"),
    ("addons", "tv", "debe ser una lista"),
    ("documents_received", ["passport"], "opción no válida"),
    ("plan_id", "<b>", "opción no válida"),
    ("install_date", "14/11/2025", "fecha no válida"),
    ("extra_phone", "12", "número no válido"),
    ("email", "ana@", "correo no válido"),
    ("location_url", "javascript:alert(1)", "enlace http(s) o coordenadas"),
    ("location_url", "99.5,10", "enlace http(s) o coordenadas"),
    ("first_name", 5, "debe ser texto"),
    ("first_name", "x" * 101, "máximo 100 caracteres"),
])
def test_bad_values_are_refused_in_spanish(key, value, fragment):
    with pytest.raises(AnswerError) as error:
        validate_answer(key, value)
    assert error.value.key == key
    assert fragment in str(error.value)


@pytest.mark.parametrize(("key", "value"), [("plan_id", "fibra-999"), ("zone", "marte"),
                                            ("addons", ["tv", "netflix"]), ("install_window", "noche"),
                                            ("objections_raised", ["clima"])])
def test_provider_choices_are_checked_against_the_configuration(config, key, value):
    assert validate_answer(key, value) is not None   # a well-formed identifier without config
    with pytest.raises(AnswerError, match="opción no válida"):
        validate_answer(key, value, config)


async def test_progress_store_checks_provider_choices(redis, keys, config):
    store = CallProgressStore(redis, keys, provider=config)
    await store.save("c1", answers={"plan_id": "fibra-100"}, by="ana")
    with pytest.raises(AnswerError):
        await store.save("c1", answers={"plan_id": "fibra-999", "notes": "x"}, by="ana")
    assert (await store.get("c1")).answers == {"plan_id": "fibra-100"}
