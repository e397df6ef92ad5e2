"""The guided call, step by step."""
from __future__ import annotations

STEP_IDS = ("saludo", "cobertura", "planes", "contrato", "objeciones", "datos", "condiciones",
            "deposito", "servicios", "cierre")
