"""Configuration is read once at start-up, and no secret shows in its repr or in the logs."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from screenpop.config import ScreenpopConfig, redact_url
from telephony.config import TelephonyConfig
from tests.listener.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"SCREENPOP_SECRET_KEY": "server-key-ABCDEFGH12345",
           "WISPHUB_API_KEY": "api-key-IJKLMNOP67890",
           "WISPHUB_PANEL_PASSWORD": "panel-password-QRSTUV"}


def test_repr_and_description_hold_no_secret():
    config = ScreenpopConfig.from_env({**SECRETS, "REDIS_URL": "redis://pop:redis-pass-XYZ@db:6379/0"})
    shown = repr(config) + str(config) + config.describe()
    for secret in (*SECRETS.values(), "redis-pass-XYZ"):
        assert secret not in shown
    assert "redis://pop:***@db:6379/0" in config.describe()
    assert config.wisphub_api_key == SECRETS["WISPHUB_API_KEY"]  # still there to be used


def test_urls_without_a_password_are_shown_as_they_are():
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact_url("redis://:p@[::1]:6379/0") == "redis://***@[::1]:6379/0"


async def test_the_service_start_up_log_holds_no_secret(redis_url, keys, redis, sandbox):
    port = free_port()
    env = {**os.environ, **SECRETS, "REDIS_URL": redis_url, "REDIS_PREFIX": keys.prefix,
           "SCREENPOP_PORT": str(port), "WISPHUB_URL": sandbox.url,
           "WISPHUB_PANEL_URL": sandbox.panel_url, "WISPHUB_PANEL_USER": "demo@isp-demo"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    lines = []
    try:
        while not any("listening" in line for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, b"".join(lines)
            lines.append(line.decode())
        await asyncio.sleep(1.0)  # the first index sync logs in to the panel meanwhile
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
    log = "".join(lines) + rest.decode()
    assert "screenpop starting" in log and f"redis={redis_url}" in log
    for secret in SECRETS.values():
        assert secret not in log


def test_the_telephony_config_repr_holds_no_secret():
    config = TelephonyConfig.from_env({"AMI_SECRET": "ami-secret-WXYZ",
                                       "REDIS_URL": "redis://:redis-pass-XYZ@db:6379/0"})
    assert "ami-secret-WXYZ" not in repr(config) and "redis-pass-XYZ" not in repr(config)
    assert config.ami_secret == "ami-secret-WXYZ"
