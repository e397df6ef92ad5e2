"""QA settings read from the environment, and the `python -m screenpop.qa` entry."""
from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.settings import ConfigError
from screenpop.qa.generated_calls import insert_call
from screenpop.qa.settings import QaSettings

ROOT = Path(__file__).resolve().parents[2]


def test_desk_is_off_without_database_url():
    assert QaSettings.from_env({}) is None


def test_settings_from_env(tmp_path):
    settings = QaSettings.from_env({"DATABASE_URL": "postgresql://db/x", "RECORDINGS_DIR": "/rec",
                                    "RETENTION_DAYS": "90", "QA_ARCHIVE_DIR": str(tmp_path)})
    assert settings.recordings_dir == Path("/rec") and settings.retention_days == 90
    assert settings.archive_dir == tmp_path and settings.scorecard.pass_score == 80


def test_bad_qa_config_names_the_variable_and_the_key(tmp_path):
    bad = tmp_path / "qa.toml"
    bad.write_text('[scorecard]\nname = "x"\nversion = "1"\npass_score = 80\n'
                   '[[sections]]\nid = "s"\ntitle = "S"\n'
                   '[[sections.items]]\nid = "a"\nlabel = "A"\nweight = -1\n')
    with pytest.raises(ConfigError, match=r"QA_CONFIG .*sections\[0\]\.items\[0\]\.weight"):
        QaSettings.from_env({"DATABASE_URL": "postgresql://db/x", "QA_CONFIG": str(bad)})
    with pytest.raises(ConfigError, match="QA_CONFIG .*no se pudo leer"):
        QaSettings.from_env({"DATABASE_URL": "postgresql://db/x",
                             "QA_CONFIG": str(tmp_path / "missing.toml")})
    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        QaSettings.from_env({"DATABASE_URL": "postgresql://db/x", "RETENTION_DAYS": "0"})


async def test_retention_command_archives_old_calls(pool, database, tmp_path):
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await insert_call(conn, "viejo", started_at=now - timedelta(days=100))
        await insert_call(conn, "nuevo", started_at=now - timedelta(days=10))
    env = {**os.environ, "DATABASE_URL": database, "RETENTION_DAYS": "30",
           "RECORDINGS_DIR": str(tmp_path / "rec"), "QA_ARCHIVE_DIR": str(tmp_path / "archive")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "screenpop.qa", "retention", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "archivadas 1 llamadas" in out.decode()
    [archive] = (tmp_path / "archive").glob("calls-*.jsonl.gz")
    assert [json.loads(line)["record"]["call_id"] for line in gzip.open(archive, "rt")] == ["viejo"]
    assert [r["call_id"] for r in await pool.fetch("SELECT call_id FROM call_records")] == ["nuevo"]


def test_command_without_database_url_says_so():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "screenpop.qa", "retention"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "DATABASE_URL" in done.stderr
