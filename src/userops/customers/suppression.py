"""The suppression list: keyed hashes of the ids and contact points of erased people.

An erasure leaves one row per id, phone, email (and other contact point) in ``suppressions``:
``HMAC-SHA256(key, kind + ":" + normalised value)``. Without the key the rows cannot be turned
back into phone numbers by trying every number (a plain hash could: there are only ~10^11
Chinese mobile numbers), and the key never sits in the ledger. Importers and the tracking
loader ask :func:`drop_suppressed` to refuse rows of a suppressed id (they are neither stored
nor echoed to a rejects file) and to blank a suppressed phone or email on a row that is
otherwise kept. See docs/privacy.md and docs/decisions/0010-erasure.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from userops.core.sql import ident
from userops.customers.models import Suppression
from userops.customers.schemas import CONTACT_KINDS
from userops.ledger import unit_of_work

KEY_FILE = "erasure_key"
ID = "id"
"""The kind of customer ids, user ids and anonymous ids: one namespace, as events mix them."""


def normalise(kind: str, value: str) -> str:
    """What is hashed: ids as given; contact points trimmed, emails lower-cased, phones without
    spaces or dashes (so ``138 0000 0001`` is suppressed with ``13800000001``)."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return "".join(ch for ch in value if ch not in " -()")
    return value


def load_key(
    data_dir: Path, configured: str | None = None, *, create: bool = False
) -> bytes | None:
    """The erasure key: ``USEROPS_ERASURE_KEY`` (``configured``), else ``<data_dir>/erasure_key``
    (mode 0600), created on the first erasure. None when there is none yet (nothing erased)."""
    if configured or os.environ.get("USEROPS_ERASURE_KEY"):
        return (configured or os.environ["USEROPS_ERASURE_KEY"]).encode()
    path = data_dir / KEY_FILE
    if not path.exists():
        if not create:
            return None
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def digest(key: bytes, kind: str, value: str) -> str:
    message = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def record(session: Session, key: bytes, values: Iterable[tuple[str, str]], *, at: datetime) -> int:
    """Suppress these (kind, value) pairs; returns how many were new."""
    added = 0
    for kind, value in dict.fromkeys(values):
        if not value:
            continue
        found = digest(key, kind, value)
        exists = session.execute(
            sa.select(Suppression.id).where(Suppression.kind == kind, Suppression.digest == found)
        ).first()
        if exists is None:
            session.add(Suppression(kind=kind, digest=found, erased_at=at))
            added += 1
    session.flush()
    return added


def _digests(session: Session) -> dict[str, set[str]]:
    by_kind: dict[str, set[str]] = {}
    for kind, found in session.execute(sa.select(Suppression.kind, Suppression.digest)).all():
        by_kind.setdefault(kind, set()).add(found)
    return by_kind


def is_suppressed(session: Session, key: bytes | None, kind: str, value: str) -> bool:
    if key is None or not value:
        return False
    found = digest(key, kind, value)
    row = session.execute(
        sa.select(Suppression.id).where(Suppression.kind == kind, Suppression.digest == found)
    ).first()
    return row is not None


# Staged-table columns that carry an id, per entity of the importers (events: every id field).
_ID_COLUMNS = {
    "customers": ("customer_id",),
    "orders": ("customer_id",),
    "events": ("user_id", "anonymous_id", "previous_id"),
}
_TRAIT_CONTACTS = ("phone", "email")


def drop_suppressed(
    cur: duckdb.DuckDBPyConnection,
    engine: Engine,
    data_dir: Path,
    entity: str,
    *,
    table: str = "_good",
    configured_key: str | None = None,
) -> int:
    """Apply the suppression list to an importer's staged DuckDB ``table`` (rows about to be
    stored): delete rows naming a suppressed id and returns how many; blank suppressed contact
    points (customers) or phone/email traits (events) on the rows that stay. Costs one ledger
    query when nobody was ever erased."""
    if entity not in _ID_COLUMNS:
        return 0
    with unit_of_work(engine) as session:
        if session.execute(sa.select(Suppression.id).limit(1)).first() is None:
            return 0
        by_kind = _digests(session)
    key = load_key(data_dir, configured_key)
    if key is None:
        return 0
    columns = {row[0] for row in cur.execute(f"DESCRIBE {table}").fetchall()}
    dropped = _drop_ids(cur, key, table, [c for c in _ID_COLUMNS[entity] if c in columns], by_kind)
    if entity == "customers":
        for kind in CONTACT_KINDS:
            if kind in columns:
                _blank(cur, key, table, kind, ident(kind), by_kind, f"{ident(kind)} = NULL")
    if entity == "events" and "traits" in columns:
        for kind in _TRAIT_CONTACTS:
            picked = f"json_extract_string(traits, '$.{kind}')"
            patch = f"traits = json_merge_patch(traits, '{{\"{kind}\": null}}')"
            _blank(cur, key, table, kind, picked, by_kind, patch)
    return dropped


def _matching(
    cur: duckdb.DuckDBPyConnection, key: bytes, sql: str, kind: str, by_kind: dict[str, set[str]]
) -> list[str]:
    wanted = by_kind.get(kind)
    if not wanted:
        return []
    values = [r[0] for r in cur.execute(sql).fetchall() if r[0]]
    return [v for v in values if digest(key, kind, v) in wanted]


def _drop_ids(
    cur: duckdb.DuckDBPyConnection,
    key: bytes,
    table: str,
    columns: list[str],
    by_kind: dict[str, set[str]],
) -> int:
    if not columns:
        return 0
    union = " UNION ".join(f"SELECT DISTINCT {ident(c)}::VARCHAR FROM {table}" for c in columns)
    hits = _matching(cur, key, union, ID, by_kind)
    if not hits:
        return 0
    cur.register("_suppressed", pa.table({"v": pa.array(hits, pa.string())}))
    try:
        test = " OR ".join(f"{ident(c)} IN (SELECT v FROM _suppressed)" for c in columns)
        return int(cur.execute(f"DELETE FROM {table} WHERE {test}").fetchall()[0][0])
    finally:
        cur.unregister("_suppressed")


def _blank(
    cur: duckdb.DuckDBPyConnection,
    key: bytes,
    table: str,
    kind: str,
    picked: str,
    by_kind: dict[str, set[str]],
    assignment: str,
) -> None:
    hits = _matching(cur, key, f"SELECT DISTINCT {picked} FROM {table}", kind, by_kind)
    if not hits:
        return
    cur.register("_suppressed", pa.table({"v": pa.array(hits, pa.string())}))
    try:
        cur.execute(
            f"UPDATE {table} SET {assignment} WHERE {picked} IN (SELECT v FROM _suppressed)"
        )
    finally:
        cur.unregister("_suppressed")
