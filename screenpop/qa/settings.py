"""The QA desk's settings, read once from the environment at start-up (the scorecard too, so a
bad QA_CONFIG stops start-up with an error that names the key)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.settings import ConfigError, env_int
from screenpop.qa.scorecard import QaConfigError, Scorecard, load_scorecard

DEFAULT_SCORECARD = Path(__file__).resolve().parent / "scorecard.default.toml"


@dataclass(frozen=True)
class QaSettings:
    database_url: str
    recordings_dir: Path
    scorecard: Scorecard
    retention_days: int = 365
    archive_dir: Path = Path("qa-archive")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> QaSettings | None:
        """None when DATABASE_URL is not set: the desk is off."""
        url = env.get("DATABASE_URL", "").strip()
        if not url:
            return None
        scorecard_path = Path(env.get("QA_CONFIG", "").strip() or DEFAULT_SCORECARD)
        try:
            scorecard = load_scorecard(scorecard_path)
        except QaConfigError as exc:
            raise ConfigError(f"QA_CONFIG ({scorecard_path}): {exc}") from None
        return cls(
            database_url=url,
            recordings_dir=Path(env.get("RECORDINGS_DIR", "").strip() or "recordings"),
            scorecard=scorecard,
            retention_days=env_int(env, "RETENTION_DAYS", cls.retention_days, minimum=1,
                                   maximum=100 * 365),
            archive_dir=Path(env.get("QA_ARCHIVE_DIR", "").strip() or cls.archive_dir),
        )
