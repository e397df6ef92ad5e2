"""Receiving uploaded documents without holding them in memory while they arrive.

Each file is streamed to its own temporary file in this node's spool folder (created under
SCREENPOP_DATA_DIR at start, removed at stop), its whole structure is checked there, and only a
file that passed is read back for the write-back, a few at a time per node. A session may have
only a few uploads in flight: 50 parallel uploads from one tab are refused, not buffered.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import MultipartReader

from screenpop.operations.files import MAX_FILE_BYTES, check_file

log = logging.getLogger(__name__)

MAX_PER_SESSION = 2
READ_BACK_AT_ONCE = 4  # files of this node in memory for the write-back at the same time
CHUNK = 256 * 1024
KIND_FIELD_BYTES = 40


class TooManyUploads(Exception):
    """The session already has MAX_PER_SESSION uploads in flight."""


@dataclass
class Received:
    kind: str
    path: Path | None  # None when no file part came
    size: int  # bytes read from the file part (up to the hard cap)


class UploadSpool:
    def __init__(self, data_dir: Path, *, per_session: int = MAX_PER_SESSION,
                 read_back_at_once: int = READ_BACK_AT_ONCE) -> None:
        self._data_dir = data_dir
        self._per_session = per_session
        self._in_flight: dict[str, int] = {}
        self._read_back = asyncio.Semaphore(read_back_at_once)
        self.root: Path | None = None

    async def run(self) -> AsyncIterator[None]:
        """Cleanup-context body: the node's spool folder exists while the app runs."""
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="uploads-", dir=self._data_dir))
        try:
            yield
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    @contextlib.asynccontextmanager
    async def slot(self, session_id: str) -> AsyncIterator[None]:
        key = hashlib.sha256(session_id.encode()).hexdigest()
        if self._in_flight.get(key, 0) >= self._per_session:
            raise TooManyUploads
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]

    async def receive(self, reader: MultipartReader, hard_cap: int) -> Received:
        """The form's `kind` and its first `file` part, written to disk. Bytes past
        MAX_FILE_BYTES are read (up to `hard_cap`, to answer cleanly) but not kept."""
        assert self.root is not None, "the spool runs with the app"
        kind, path, size = "other", None, 0
        try:
            while (part := await reader.next()) is not None:
                if part.name == "kind":
                    raw = await part.read(decode=True)
                    kind = raw[:KIND_FIELD_BYTES].decode(errors="replace")
                elif part.name == "file" and path is None:
                    fd, name = tempfile.mkstemp(suffix=".upload", dir=self.root)
                    path = Path(name)
                    with os.fdopen(fd, "wb") as out:
                        while chunk := await part.read_chunk(CHUNK):
                            size += len(chunk)
                            if size > hard_cap:
                                break
                            if size <= MAX_FILE_BYTES:
                                await asyncio.to_thread(out.write, chunk)
                    if size > hard_cap:
                        break
                else:
                    await part.release()
        except BaseException:
            discard(path)
            raise
        return Received(kind, path, size)

    async def check(self, path: Path, size: int) -> tuple[str, str]:
        """(MIME type, extension) of the whole file; FileRejected says what is wrong."""
        def run() -> tuple[str, str]:
            with path.open("rb") as stream:
                return check_file(stream, size)
        return await asyncio.to_thread(run)

    async def with_content(self, path: Path, use: Callable[[bytes], object]):
        """Run `use(content)` (a coroutine function) with the file's bytes, a few files of this
        node at a time."""
        async with self._read_back:
            content = await asyncio.to_thread(path.read_bytes)
            return await use(content)


def discard(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
