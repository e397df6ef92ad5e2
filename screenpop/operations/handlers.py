"""Per kind of operation: how to send it, and how to tell from WispHub that it already happened."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from screenpop.operations.model import Operation
from screenpop.wisphub.activation import ActivationData
from screenpop.wisphub.writes import Document, Done, WispHubWriter


class Handler(Protocol):
    verify_first: bool  # look at WispHub before every send, not only after an unknown outcome

    def lock_name(self, op: Operation) -> tuple[str, str]:
        """(WispHub record, what) one sender at a time may write, whichever call asks."""
        ...

    async def send(self, op: Operation, blob: bytes | None,
                   on_task: Callable[[str], Awaitable[None]]) -> Done: ...

    async def verify(self, op: Operation) -> str | None: ...


class Activation:
    verify_first = True  # another call (or WispHub itself) may have activated it already

    def __init__(self, writer: WispHubWriter) -> None:
        self._writer = writer

    def lock_name(self, op) -> tuple[str, str]:
        return str(op.params["service_id"]), "activation"

    async def send(self, op, blob, on_task) -> Done:
        return await self._writer.activate(ActivationData.from_dict(op.params))

    async def verify(self, op) -> str | None:
        return await self._writer.activation_done(ActivationData.from_dict(op.params))


class Upload:
    verify_first = False

    def __init__(self, writer: WispHubWriter) -> None:
        self._writer = writer

    def lock_name(self, op) -> tuple[str, str]:
        return str(op.params["username"]), op.op_id

    async def send(self, op, blob, on_task) -> Done:
        if blob is None:
            raise LookupError("el archivo ya no está guardado; súbalo de nuevo")
        p = op.params
        return await self._writer.upload_document(
            Document(p["username"], p["title"], p["description"], p["filename"], p["mime"],
                     p["marker"], bool(p.get("visible"))), blob)

    async def verify(self, op) -> str | None:
        return await self._writer.document_listed(op.params["username"], op.params["marker"])


class Profile:
    verify_first = False

    def __init__(self, writer: WispHubWriter) -> None:
        self._writer = writer

    def lock_name(self, op) -> tuple[str, str]:
        return str(op.params["service_id"]), "data"  # a read-modify-write of one profile

    async def send(self, op, blob, on_task) -> Done:
        return await self._writer.save_profile(op.params["service_id"], op.params["profile"])

    async def verify(self, op) -> str | None:
        return await self._writer.profile_saved(op.params["service_id"], op.params["profile"])


class Service:
    verify_first = False

    def __init__(self, writer: WispHubWriter) -> None:
        self._writer = writer

    def lock_name(self, op) -> tuple[str, str]:
        return str(op.params["service_id"]), op.op_id

    async def send(self, op, blob, on_task) -> Done:
        p = op.params
        return await self._writer.add_service(p["service_id"], p["service_kind"], p["name"],
                                              p["price"], on_task=on_task)

    async def verify(self, op) -> str | None:
        return await self._writer.service_listed(op.params["service_id"], op.params["name"])


def handlers_for(writer: WispHubWriter) -> dict[str, Handler]:
    return {"activation": Activation(writer), "document": Upload(writer), "data": Profile(writer),
            "service": Service(writer)}
