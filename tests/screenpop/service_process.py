"""`python -m screenpop` as production runs it (its own process, on uvloop), for tests that
need the real event loop or the process's memory."""
from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import aiohttp

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScreenpopProcess:
    def __init__(self, redis_url: str, prefix: str, sandbox, data_dir: Path, database: str) -> None:
        self.port = free_port()
        self.env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": prefix,
                    "DATABASE_URL": database,
                    "SCREENPOP_HOST": "127.0.0.1", "SCREENPOP_PORT": str(self.port),
                    "SCREENPOP_SECRET_KEY": "test-secret-key-0123456789",
                    "SCREENPOP_DATA_DIR": str(data_dir),
                    "WISPHUB_URL": sandbox.url, "WISPHUB_API_KEY": sandbox.api_key,
                    "WISPHUB_PANEL_URL": sandbox.panel_url,
                    "WISPHUB_PANEL_USER": sandbox.panel_user,
                    "WISPHUB_PANEL_PASSWORD": sandbox.panel_password}
        self.log_path = data_dir / "screenpop.log"  # read it when a test fails
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> ScreenpopProcess:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "screenpop", env=self.env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log)
        async with aiohttp.ClientSession() as http:
            for _ in range(int(START_TIMEOUT * 10)):
                assert self.proc.returncode is None, "screenpop exited at start-up"
                try:
                    async with http.get(f"{self.url}/login") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError("screenpop did not start listening")

    def rss_kib(self) -> int:
        """Resident memory of the process now (Linux /proc)."""
        return self._status_kib("VmRSS")

    def peak_rss_kib(self) -> int:
        """The most resident memory the process has had since it started."""
        return self._status_kib("VmHWM")

    def _status_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} line in /proc/{self.pid}/status")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
