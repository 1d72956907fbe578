"""Settings: one data dir, USEROPS_* environment variables, CLI flags on top."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything userops needs to know about where it runs. Read from ``USEROPS_*``."""

    model_config = SettingsConfigDict(env_prefix="USEROPS_", env_nested_delimiter="__")

    data_dir: Path = Field(default=Path("./userops-data"))
    """Holds the SQLite ledger, the DuckDB warehouse, rejects files and the server lock."""

    ledger_url: str | None = None
    """SQLAlchemy URL of the ledger; default ``sqlite:///<data_dir>/ledger.sqlite3``.
    Production: ``postgresql+psycopg://user@host/db``."""

    timezone: str = "Asia/Shanghai"
    """The shop's timezone: day boundaries, naive timestamps in files, the console's clock."""

    currency: str = "CNY"
    """ISO 4217 code; amounts are stored in its minor unit (fen for CNY)."""

    warehouse_memory_limit: str | None = None
    """DuckDB's memory limit, e.g. ``2GB`` (default: DuckDB's, 80% of RAM). Work beyond it
    spills to disk in the data dir, so imports of any size run in bounded memory."""

    secret_key: str | None = None
    """Signs console sessions. Default: a random key kept in ``<data_dir>/secret_key``."""

    admin_password: str | None = None
    """Password of the first admin, created at first start; printed once when not given."""

    erasure_key: str | None = None
    """Keys the hashes of erased people's ids (docs/privacy.md). Default: a random key kept in
    ``<data_dir>/erasure_key``; give the same key to every server of one shop."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be a 3-letter ISO 4217 code")
        return value.upper()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_ledger_url(self) -> str:
        if self.ledger_url:
            return self.ledger_url
        return f"sqlite:///{self.resolved_data_dir / 'ledger.sqlite3'}"

    @property
    def warehouse_path(self) -> Path:
        return self.resolved_data_dir / "warehouse.duckdb"

    @property
    def rejects_dir(self) -> Path:
        return self.resolved_data_dir / "rejects"

    def ensure_data_dir(self) -> Path:
        path = self.resolved_data_dir
        path.mkdir(parents=True, exist_ok=True)
        return path
