"""The record as a pop shows it (pure): FALTA never lists what the record itself shows, and an
installation says so."""
from __future__ import annotations

from screenpop.index import Installed, Match
from screenpop.pops import match_payload, record_payload
from tests.screenpop.conftest import record


def test_an_address_on_screen_is_not_listed_as_missing():
    shown = record("7", "Ana Ruiz", ["+525512345678"], address="Calle 5 #10",
                   missing=("address", "email"))
    payload = record_payload(shown)
    assert (payload["address"], payload["missing"], payload["missing_labels"]) == (
        "Calle 5 #10", ["email"], ["Correo electrónico"])
    assert record_payload(shown, missing=["address", "dni_front"])["missing_labels"] == [
        "INE (frente)"]


def test_an_installation_is_marked_with_its_reference():
    pending = record("8", "Luis Mora", ["+525512345678"])
    done = record("9", "Rosa Díaz", ["+525512345678"])
    payload = match_payload(Match.of([pending, done], {"9": Installed("Instalación 9", 1.0)}))
    assert [(r["id"], r["stage"], r["installation_reference"])
            for r in payload["preinstallations"]] == [("8", "pending", None),
                                                       ("9", "installed", "Instalación 9")]
