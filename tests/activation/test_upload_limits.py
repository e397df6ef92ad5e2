"""Uploads are streamed to disk, capped per session, and checked whole (not by their first
bytes): over HTTP against a node with the write-back and the WispHub sandbox."""
from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from screenpop.operations.files import FileRejected, check_file
from screenpop.web.uploads import MAX_PER_SESSION
from tests.activation import samples
from tests.activation.conftest import CALL_ID, RECORD_ID, Pop, wait_for
from tests.activation.test_documents_services import UPLOAD, upload
from tests.screenpop.conftest import Agent, Telephony, call
from tests.screenpop.service_process import ScreenpopProcess

USUARIO = f"{RECORD_ID}@isp-demo"
BOUNDARY = "limite-de-prueba"
VALID = {"jpeg": samples.jpeg(), "padded-jpeg": samples.jpeg(300_000), "png": samples.png(),
         "pdf": samples.pdf(), "webp": samples.webp(), "heic": samples.heic()}


def _truncated_png() -> bytes:
    whole = samples.png()
    return whole[:-12]  # no IEND


def _bad_crc_png() -> bytes:
    whole = bytearray(samples.png())
    whole[40] ^= 0xFF  # inside IDAT
    return bytes(whole)


BROKEN = {
    "jpeg-cut": samples.jpeg(20_000)[:-2000],
    "jpeg-head-only": samples.jpeg()[:200],
    "jpeg-head-then-zip": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                          + b"PK\x03\x04" + b"\x00" * 4000,
    "png-without-iend": _truncated_png(),
    "png-damaged": _bad_crc_png(),
    "png-with-trailer": samples.png() + b"<?php system($_GET['c']); ?>",
    "pdf-cut": samples.pdf(50_000)[:30_000],
    "pdf-head-only": b"%PDF-1.7\n" + b"0" * 2000,
    "webp-cut": samples.webp()[:-3],
    "heic-cut": samples.heic()[:-10],
}


@pytest.mark.parametrize("name", VALID)
def test_whole_valid_files_pass(name):
    content = VALID[name]
    assert check_file(io.BytesIO(content), len(content))


@pytest.mark.parametrize("name", BROKEN)
def test_files_broken_after_their_first_bytes_are_refused(name):
    content = BROKEN[name]
    with pytest.raises(FileRejected) as refused:
        check_file(io.BytesIO(content), len(content))
    assert "Pida al cliente que lo envíe de nuevo" in str(refused.value)


async def test_a_file_is_checked_whole_over_http(agent_on_call, sandbox):
    _, agent = agent_on_call
    for name in ("jpeg-cut", "png-without-iend", "pdf-cut", "jpeg-head-then-zip"):
        status, body = await upload(agent, BROKEN[name], name="ine.jpg")
        assert (status, body["error"]) == (415, "bad_type"), (name, body)
        assert body["message"].startswith("El archivo "), body
    assert UPLOAD not in sandbox.stats.requests
    status, body = await upload(agent, samples.png(), name="ine.png", mime="image/png")
    assert status == 200 and body["operation"]["state"] == "done", body
    assert [d["content_type"] for d in sandbox.store.documents[USUARIO]] == ["image/png"]


class HeldUpload:
    """A multipart upload whose file part stays open until `finish()`: the request is in
    flight, as a large file on a slow link is."""

    def __init__(self, agent: Agent, content: bytes) -> None:
        self.agent, self.content = agent, content
        self.sent_half = asyncio.Event()
        self._finish = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def _body(self) -> AsyncIterator[bytes]:
        half = len(self.content) // 2
        yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n"
               f"dni_front\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"ine.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
        yield self.content[:half]
        self.sent_half.set()
        await self._finish.wait()
        yield self.content[half:] + f"\r\n--{BOUNDARY}--\r\n".encode()

    def start(self) -> HeldUpload:
        async def run():
            response = await self.agent.http.post(
                f"{self.agent.node.url}/api/calls/{CALL_ID}/documents", data=self._body(),
                headers={"X-CSRF-Token": self.agent.csrf,
                         "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
            return response.status, await response.json()
        self.task = asyncio.create_task(run())
        return self

    async def finish(self) -> tuple[int, dict]:
        self._finish.set()
        assert self.task is not None
        return await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def spooled_pop(config, redis, keys, index, gateway, settings_path, tmp_path):
    pop = Pop(replace(config, data_dir=str(tmp_path / "data")), redis, keys, index, gateway,
              settings_path)
    await pop.start()
    yield pop
    await pop.stop()


async def test_uploads_stream_to_disk_and_each_session_has_a_few_in_flight(
        agent_on_call, spooled_pop, sandbox, tmp_path):
    ana = Agent(spooled_pop, "ana")
    other_session = Agent(spooled_pop, "ana")
    held: list[HeldUpload] = []
    try:
        assert (await ana.sign_in()).status == 302
        assert (await other_session.sign_in()).status == 302
        held += [HeldUpload(ana, samples.jpeg(2_000_000 + i)).start()
                for i in range(MAX_PER_SESSION)]
        for upload_ in held:
            await asyncio.wait_for(upload_.sent_half.wait(), 10)
        [spool] = (tmp_path / "data").glob("uploads-*")
        # The halves already sent are on disk (but for what the multipart reader keeps back to
        # find the boundary), not in the process's memory.
        await wait_for(lambda: len(on_disk := [f.stat().st_size for f in spool.iterdir()]) == len(
            held) and min(on_disk) > 1_000_000 - 300_000, "the partial files on disk")

        status, body = await upload(ana, samples.jpeg(), name="otra.jpg")
        assert (status, body["error"]) == (429, "too_many_uploads")
        assert body["message"] == (f"Ya se están subiendo {MAX_PER_SESSION} archivos desde esta "
                                   "sesión. Espere a que terminen y vuelva a intentarlo.")
        # Another session of the same agent is not held back by this one.
        status, body = await upload(other_session, samples.png(), name="ine.png",
                                    mime="image/png")
        assert status == 200, body

        results = [await upload_.finish() for upload_ in held]
        assert [status for status, _ in results] == [200] * MAX_PER_SESSION, results
        assert all(body["operation"]["state"] == "done" for _, body in results)
        assert not list(spool.iterdir())  # each file removed after use
        status, body = await upload(ana, samples.jpeg(), name="despues.jpg")
        assert status == 200, body
    finally:
        for upload_ in held:
            if not upload_.task.done():
                upload_.task.cancel()
        await asyncio.gather(*(u.task for u in held), return_exceptions=True)
        await ana.close()
        await other_session.close()
    assert len(sandbox.store.documents[USUARIO]) == MAX_PER_SESSION + 2
    await spooled_pop.stop()
    assert not list((tmp_path / "data").iterdir())  # the node's spool folder is gone



async def _jpeg_upload_body(bulk: bytes, tag: int) -> AsyncIterator[bytes]:
    """A multipart body with a 5 MiB JPEG made unique by a small comment segment, streamed from
    one shared buffer (the test itself stays small)."""
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n"
           f"dni_front\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"filename=\"ine-{tag}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    note = f"copia {tag}".encode()
    yield b"\xff\xd8\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note
    view = memoryview(bulk)[2:]
    for start in range(0, len(view), 256 * 1024):
        yield bytes(view[start:start + 256 * 1024])
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def test_fifty_parallel_uploads_from_one_session_keep_the_process_small(
        redis, keys, redis_url, sandbox, settings_path, index, tmp_path, users, database):
    await users.add("ana", "secreto-123", "agent", ["PJSIP/6001"])
    await Telephony(redis, keys).publish(call(CALL_ID, {"PJSIP/6001": "answered"},
                                              number="5512345678"))
    service = await ScreenpopProcess(redis_url, keys.prefix, sandbox, tmp_path, database).start()
    ana = Agent(service, "ana")
    try:
        assert (await ana.sign_in()).status == 302
        status, body = await upload(ana, samples.jpeg(200_000), name="calentamiento.jpg")
        assert status == 200, body
        before = service.rss_kib()
        bulk = samples.jpeg(5 * 1024 * 1024)

        async def send(tag: int) -> tuple[int, dict]:
            response = await ana.http.post(
                f"{service.url}/api/calls/{CALL_ID}/documents", data=_jpeg_upload_body(bulk, tag),
                headers={"X-CSRF-Token": ana.csrf,
                         "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
            return response.status, await response.json()

        results = await asyncio.gather(*(send(tag) for tag in range(50)))
        peak, after = service.peak_rss_kib(), service.rss_kib()
        print(f"\nscreenpop RSS: {before / 1024:.1f} MB before, peak {peak / 1024:.1f} MB during "
              f"50 parallel 5 MiB uploads from one session, {after / 1024:.1f} MB after")
        statuses = [status for status, _ in results]
        print(f"answers: {statuses.count(200)} stored, {statuses.count(429)} refused (429)")
        assert set(statuses) <= {200, 429} and 200 in statuses, statuses
        assert all(body["error"] == "too_many_uploads" for status, body in results
                   if status == 429)
        # Generous: unbounded buffering took it ~880 MB up; streaming keeps it tens of MB.
        assert (peak - before) / 1024 < 300, (before, peak)
    finally:
        await ana.close()
        await service.stop()
