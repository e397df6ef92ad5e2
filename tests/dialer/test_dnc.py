"""Reading do-not-call CSVs (pure): the phone column by its header or the first, numbers in any
Mexican form normalised to E.164, repeats and bad rows counted with their line."""
from __future__ import annotations

from common.dialer.dnc import BadRow, parse_dnc_csv


def test_the_phone_column_is_found_by_its_header():
    parsed = parse_dnc_csv("Nombre,Celular,Alta\n"
                           "Ana Pérez,+52 1 55 1234 5678,2026-01-02\n"
                           "Beto,(33) 1234-5678,2026-01-03\n"
                           "Carla\n")
    assert parsed.numbers == ["+525512345678", "+523312345678"]
    assert parsed.bad_rows == [BadRow(4, "", "fila sin columna de teléfono")]


def test_a_file_without_a_header_reads_its_first_column_in_any_delimiter():
    parsed = parse_dnc_csv("5512345678\t2026-01-02\n01 81 1234 5678\t2026-01-03\n"
                           "5512345678\t2026-02-01\nhola\t-\n")
    assert parsed.numbers == ["+525512345678", "+528112345678"]
    assert parsed.repeated == 1
    assert parsed.bad_rows == [BadRow(4, "hola", "no es un número telefónico válido")]


def test_an_empty_file_is_an_empty_list():
    parsed = parse_dnc_csv("")
    assert (parsed.numbers, parsed.bad_rows, parsed.repeated) == ([], [], 0)
