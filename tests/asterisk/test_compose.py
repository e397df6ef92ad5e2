"""docker-compose.yml: valid for Docker Compose where a client exists, and in step with
asterisk-config/ (the mount, the RTP range, the AMI secret, the FastAGI port)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from telephony.config import TelephonyConfig
from tests.asterisk.conf import CONFIG_DIR, section

ROOT = CONFIG_DIR.parent
COMPOSE = (ROOT / "docker-compose.yml").read_text()
REQUIRED = {"SCREENPOP_SECRET_KEY": "x" * 32, "WISPHUB_API_KEY": "key",
            "WISPHUB_PANEL_USER": "user", "WISPHUB_PANEL_PASSWORD": "password",
            "POSTGRES_PASSWORD": "pg-password"}


def compose_client() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on this machine"
    try:
        version = subprocess.run(["docker", "compose", "version"], capture_output=True,
                                 text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` failed: {exc}"
    if version.returncode != 0:
        return f"`docker compose version` does not work here: {version.stderr.strip()[:120]}"
    return None


def test_docker_compose_config_passes():
    missing = compose_client()
    if missing:
        pytest.skip(missing)
    result = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"),
                             "config", "-q"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **REQUIRED})
    assert result.returncode == 0, result.stderr


def test_asterisk_loads_asterisk_config_as_it_is():
    assert "- ./asterisk-config:/etc/asterisk:ro" in COMPOSE
    assert re.search(r"FROM andrius/asterisk:20\.\d+\.\d+_debian-\w+\n",
                     (CONFIG_DIR / "image" / "Dockerfile").read_text())


def test_the_documented_rtp_range_is_the_configured_one():
    rtp = section("rtp.conf", "general")
    assert f"{rtp.get('rtpstart')}-{rtp.get('rtpend')}/udp RTP" in COMPOSE


def test_telephony_logs_in_and_listens_where_asterisk_expects():
    secret = section("manager.conf", "screenpop").get("secret")
    assert f"AMI_SECRET: ${{AMI_SECRET:-{secret}}}" in COMPOSE
    assert secret == TelephonyConfig().ami_secret
    assert 'AGI_PORT: "4573"' in COMPOSE and "AGI_HOST: 127.0.0.1" in COMPOSE


def test_both_services_keep_records_in_the_compose_postgres():
    assert "- postgres-data:/var/lib/postgresql/data" in COMPOSE
    assert COMPOSE.count("DATABASE_URL: postgresql://screenpop:${POSTGRES_PASSWORD}@127.0.0.1:5432/"
                         "screenpop") == 2


def test_postgres_yields_the_cores_to_the_pop_path():
    postgres = COMPOSE.split("\n  postgres:\n", 1)[1].split("\n  telephony:\n", 1)[0]
    shares = re.search(r"\n    cpu_shares: (\d+)\n", postgres)
    assert shares and int(shares.group(1)) < 1024 and "cpu_shares" not in COMPOSE.replace(
        shares.group(0), "")


def test_redis_keeps_an_append_only_file_in_a_volume():
    assert '"--appendonly", "yes"' in COMPOSE and "- redis-data:/data" in COMPOSE


def test_every_service_has_a_health_check_and_host_networking():
    services = re.split(r"\n  (?=\w[\w-]*:\n)", COMPOSE.split("\nservices:\n", 1)[1].split(
        "\nvolumes:\n")[0])
    names = [block.split(":", 1)[0].strip() for block in services]
    assert names == ["asterisk", "redis", "postgres", "telephony", "screenpop"]
    for block in services:
        assert "network_mode: host" in block and "healthcheck:" in block, block[:40]
