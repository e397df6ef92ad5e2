"""The missing-field vocabulary, computed from what WispHub stores for a preinstallation."""
from __future__ import annotations

from screenpop.fields import MISSING_FIELDS, missing_fields


def test_empty_record_lacks_everything_in_display_order():
    missing = missing_fields(phones=(), extra_phone=None, email=None, address=None,
                             coordinates=None, comments=None, documents=())
    assert missing == tuple(MISSING_FIELDS)


def test_complete_record_lacks_nothing():
    missing = missing_fields(
        phones=("+525512345678",), extra_phone="5587654321", email="ana@example.mx",
        address="Av. Siempre Viva 742", coordinates="19.4326,-99.1332",
        comments="Se enteró por Facebook. Casa rentada.",
        documents=("dni_front", "dni_back", "proof_of_address"))
    assert missing == ()


def test_second_number_in_phone_field_counts_as_additional_and_comments_are_accent_blind():
    missing = missing_fields(
        phones=("+525512345678", "+525587654321"), extra_phone="", email="sin-correo",
        address=" ", coordinates="pendiente", comments="COMO SE ENTERO: volante; es PROPIA",
        documents=("dni_back",))
    assert missing == ("address", "dni_front", "proof_of_address", "email", "location")
