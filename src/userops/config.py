"""Settings: one data dir, USEROPS_* environment variables, CLI flags on top."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from userops.core.errors import NotFound
from userops.core.files import make_private_dir

SHOP_MARKERS = ("warehouse.duckdb", "ledger.sqlite3")
"""Files whose presence says a data dir holds a shop (every opened shop has its warehouse; a
SQLite ledger is there too unless the ledger lives in PostgreSQL)."""


class Settings(BaseSettings):
    """Everything userops needs to know about where it runs. Read from ``USEROPS_*``."""

    model_config = SettingsConfigDict(env_prefix="USEROPS_", env_nested_delimiter="__")

    data_dir: Path = Field(default=Path("./userops-data"))
    """Holds the SQLite ledger, the DuckDB warehouse, rejects files and the server lock.
    Created 0700, with every file in it 0600 (``userops.core.files``)."""

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

    import_memory_limit: str = "4GB"
    """Peak memory of one ``userops import`` process, whatever the file size (e.g. ``1GB``,
    ``512MB``). About half goes to DuckDB as its memory limit (staging and checks spill to disk
    in the data dir beyond it) unless ``warehouse_memory_limit`` is set; the ledger batch size
    (rows held in Python at once) is scaled to the rest. See docs/decisions/0019."""

    secret_key: str | None = None
    """Signs console sessions. Default: a random key kept in ``<data_dir>/secret_key``."""

    admin_password: str | None = None
    """Password of the first admin, created at first start; printed once when not given."""

    login_max_failures: int = Field(default=5, ge=1)
    """Failed console sign-ins in a row, per account and per client address, before that account
    or address is locked out (HTTP 429, even with the right password)."""

    login_lockout_seconds: int = Field(default=60, ge=1)
    """The first lockout. Each further failure after it doubles the lockout (exponential backoff),
    up to ``login_lockout_max_seconds``."""

    login_lockout_max_seconds: int = Field(default=3600, ge=1)
    """The longest lockout; failures are also forgotten after this long without a new one."""

    console_session_hours: int = Field(default=7 * 24, ge=1)
    """How long a console sign-in lasts. Sessions are records in the ledger: signing out or
    changing the password ends them, whatever copies of the cookie exist."""

    cookie_secure: Literal["auto", "always", "never"] = "auto"
    """The ``Secure`` flag on the console cookie. ``auto``: when the request came over HTTPS,
    directly or through a trusted proxy that sent ``X-Forwarded-Proto: https``; ``always``: on
    every response (the server is only reachable over HTTPS); ``never``: plain HTTP only."""

    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    """Peer addresses whose ``X-Forwarded-Proto`` and ``X-Forwarded-For`` headers are believed
    (a reverse proxy on the same machine by default). Set as JSON:
    ``USEROPS_TRUSTED_PROXIES='["10.0.0.5"]'``. Headers from any other peer are ignored."""

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

    @field_validator("import_memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        parse_size(value)
        return value

    @property
    def import_duckdb_memory_limit(self) -> str:
        """DuckDB's memory limit in an import process: half of what ``import_memory_limit``
        leaves after the process's own ~256 MB (Python, the drivers, the code), at least 64 MB
        (1,920 MB at the default 4 GB)."""
        mb = parse_size(self.import_memory_limit) // (1 << 20)
        return f"{max(64, (mb - 256) // 2)}MB"

    @property
    def import_batch_rows(self) -> int:
        """Rows per ledger batch of an import: about 25 rows per MB of ``import_memory_limit``
        (100,000 at 4 GB), between 2,000 and 200,000."""
        mb = parse_size(self.import_memory_limit) // (1 << 20)
        return max(2_000, min(200_000, mb * 25))

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
        """The data dir, created 0700 (tightened to it if looser): it holds personal data."""
        return make_private_dir(self.resolved_data_dir)


_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def parse_size(value: str) -> int:
    """Bytes of a size such as ``4GB``, ``512MB`` or ``1.5GiB`` (binary units either way);
    ValueError naming the rule otherwise. At least 64 MB."""
    text = value.strip().upper().replace("IB", "B").replace(" ", "")
    number = text.rstrip("KMGTB")
    unit = text[len(number) :]
    try:
        size = int(float(number) * _UNITS[unit])
    except (ValueError, KeyError):
        raise ValueError(
            f"a memory size is a number and a unit (B, KB, MB, GB, TB), e.g. 4GB; got {value!r}"
        ) from None
    if size < 64 << 20:
        raise ValueError(f"a memory size must be at least 64MB; got {value!r}")
    return size


class NoShopFound(NotFound):
    """Raised by commands that work on an existing shop when the data dir holds none."""


def holds_shop(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in SHOP_MARKERS)


def require_data_dir(settings: Settings) -> Path:
    """The data dir of an existing shop. Never creates anything: a command run in the wrong
    directory must say where it looked instead of starting an empty shop there (only ``demo``,
    ``serve`` and ``init`` create one, through ``ensure_data_dir``)."""
    path = settings.resolved_data_dir
    if holds_shop(path):
        return path
    env = os.environ.get("USEROPS_DATA_DIR")
    where = f"{path} (USEROPS_DATA_DIR={env})" if env else str(path)
    raise NoShopFound(
        f"no userops shop found in {where}; run `userops init` for an empty shop or "
        "`userops demo` for a demo shop, or pass --data-dir",
        field="data_dir",
    )
