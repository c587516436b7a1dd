"""The one settings object: every knob comes from an environment variable with a working default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """PBX_DATABASE_URL: SQLAlchemy URL of the configuration database (default: SQLite in ./var).
    PBX_LOG_LEVEL: DEBUG, INFO (default), WARNING…"""

    database_url: str
    log_level: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        default_db = f"sqlite:///{Path('var/pbx.sqlite').resolve()}"
        return cls(
            database_url=env.get("PBX_DATABASE_URL", default_db),
            log_level=env.get("PBX_LOG_LEVEL", "INFO").upper(),
        )
