"""What the pop has already done in WispHub during a call, read from the write-back's operations
(screenpop.operations: kinds activation / document / data / service), so the record, the steps
and the final checklist show it. Pure: it reads the operations it is given."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from screenpop.fields import DOCUMENTS

DONE_STATES = frozenset({"done", "verified"})


class OperationView(Protocol):
    kind: str
    state: str
    label: str
    params: dict[str, Any]
    reference: str


@dataclass(frozen=True)
class CallWork:
    uploaded: frozenset[str] = frozenset()   # DOCUMENTS keys uploaded to WispHub
    data_saved: bool = False                 # "Guardar datos faltantes" done
    activated: bool = False
    activation_reference: str | None = None  # what WispHub answered (installation reference)
    services: tuple[str, ...] = ()           # labels of the services attached

    @classmethod
    def from_operations(cls, operations: Iterable[OperationView]) -> CallWork:
        done = [op for op in operations if op.state in DONE_STATES]
        activation = next((op for op in done if op.kind == "activation"), None)
        return cls(
            uploaded=frozenset(op.params.get("doc_kind") for op in done
                               if op.kind == "document" and op.params.get("doc_kind") in DOCUMENTS),
            data_saved=any(op.kind == "data" for op in done),
            activated=activation is not None,
            activation_reference=(activation.reference or None) if activation else None,
            services=tuple(op.label for op in done if op.kind == "service"),
        )

    def activation_text(self) -> str:
        if not self.activated:
            return ""
        reference = f" ({self.activation_reference})" if self.activation_reference else ""
        return f"Preinstalación activada en WispHub{reference}: el cliente ya está en Instalaciones."


NOTHING_DONE = CallWork()
