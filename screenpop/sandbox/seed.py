"""Numbers in the default seed that the PBX simulator's demo calls, by the match they give."""
from __future__ import annotations

# one match each, then a family phone shared by three leads, then a number shared with the
# record whose name holds HTML (escaping check)
DEMO_NUMBERS: list[str] = [
    "+525512345678",
    "+528112345678",
    "+523312345678",
    "+525587654321",
    "+525544556677",
]
# a number no preinstallation carries: the "sin coincidencia" pop
DEMO_UNKNOWN_NUMBER = "+525500001111"
