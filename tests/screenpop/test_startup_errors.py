"""Start-up errors of screenpop and of the provider configuration: one Spanish line that names the
variable or the key."""
from __future__ import annotations

import asyncio
import os
import re
import sys

import pytest

from common.settings import ConfigError
from screenpop.agents import AgentSettings
from screenpop.config import ScreenpopConfig

GOOD = {"SCREENPOP_SECRET_KEY": "test-secret-key-0123456789"}
ENGLISH = re.compile(r"\b(must|got|required|should|invalid|between|least|characters|entry)\b",
                     re.IGNORECASE)


@pytest.mark.parametrize(("env", "variable"), [
    ({}, "SCREENPOP_SECRET_KEY"),
    ({"SCREENPOP_SECRET_KEY": "corta"}, "SCREENPOP_SECRET_KEY"),
    ({"SCREENPOP_PORT": "ochenta"}, "SCREENPOP_PORT"),
    ({"SCREENPOP_PORT": "70000"}, "SCREENPOP_PORT"),
    ({"WISPHUB_TIMEOUT": "rápido"}, "WISPHUB_TIMEOUT"),
    ({"WISPHUB_SYNC_INTERVAL": "1"}, "WISPHUB_SYNC_INTERVAL"),
    ({"WISPHUB_URL": "https://api.wisphub.net/"}, "WISPHUB_URL"),
    ({"WISPHUB_PANEL_URL": "https://wisphub.net"}, "WISPHUB_PANEL_URL"),
    ({"REDIS_URL": ""}, "REDIS_URL"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_screenpop_config_errors_are_spanish_and_name_the_variable(env, variable):
    base = {} if env == {} else GOOD
    with pytest.raises(ConfigError) as error:
        ScreenpopConfig.from_env({**base, **env})
    message = str(error.value)
    assert message.startswith(f"{variable}: "), message
    assert not ENGLISH.search(message), message


@pytest.mark.parametrize(("env", "variable"), [
    ({"ACK_DEADLINE": "pronto"}, "ACK_DEADLINE"),
    ({"WRAPUP_MAX_SECONDS": "-1"}, "WRAPUP_MAX_SECONDS"),
    ({"PAUSE_REASONS": " , "}, "PAUSE_REASONS"),
    ({"PAUSE_REASONS": "x" * 61}, "PAUSE_REASONS"),
])
def test_agent_settings_errors_are_spanish_and_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as error:
        AgentSettings.from_env(env)
    message = str(error.value)
    assert message.startswith(f"{variable}: "), message
    assert not ENGLISH.search(message), message


async def test_a_bad_provider_config_stops_start_up_with_one_spanish_line(tmp_path, redis_url):
    from screenpop.script.paths import default_provider_config_path
    bad = tmp_path / "proveedor.toml"
    bad.write_text(default_provider_config_path().read_text(encoding="utf-8").replace(
        "price = 350.00", "price = 'gratis'", 1), encoding="utf-8")
    env = {**os.environ, **GOOD, "REDIS_URL": redis_url, "PROVIDER_CONFIG": str(bad)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop", "serve", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip().splitlines() == [
        f"screenpop: configuración del proveedor inválida (PROVIDER_CONFIG={bad}): "
        "plans[0].price: debe ser un número positivo (se recibió 'gratis')"]
