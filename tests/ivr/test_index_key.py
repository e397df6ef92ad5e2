"""The IVR's quick caller-ID key gives the index key phonenumbers gives, for every valid number."""
from __future__ import annotations

import random

from common.phones import to_e164
from telephony.ivr.lookup import index_key


def test_the_quick_key_is_phonenumbers_e164_for_every_valid_number():
    rng = random.Random(5)
    samples = []
    for _ in range(3000):
        national = f"{rng.randint(2, 9)}{rng.randint(0, 10**9 - 1):09d}"
        prefix = rng.choice(["", "52", "+52", "521", "+521", "044", "045", "01"])
        samples.append(prefix + national)
    samples += ["55 1234 5678", "(55) 1234-5678", "+52 1 55 1234 5678", "+14155550100",
                "14155550100", "0015551234", "123", "1234567890"]
    checked = 0
    for raw in samples:
        e164 = to_e164(raw)
        if e164 is not None:
            checked += 1
            assert index_key(raw) == e164, raw
    assert checked > 1000


def test_withheld_and_foreign_numbers():
    for withheld in ("anonymous", "<unknown>", "", None, "Restricted"):
        assert index_key(withheld) is None
    assert index_key("+14155550100") == to_e164("+14155550100")
