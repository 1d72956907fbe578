"""A server app on a fresh data dir with write, read and revoked keys; helpers to send calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from userops.auth import service as auth
from userops.config import Settings
from userops.ledger import engine_from, migrate, unit_of_work
from userops.server import create_app


@dataclass
class Keys:
    write: str
    read: str
    revoked: str


def make_keys(settings: Settings) -> Keys:
    engine = engine_from(settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        write = auth.create_key(session, scope="write").key
        read = auth.create_key(session, scope="read").key
        revoked = auth.create_key(session, scope="write")
        auth.revoke_key(session, revoked.prefix)
    engine.dispose()
    return Keys(write=write, read=read, revoked=revoked.key)


@pytest.fixture
def keys(settings: Settings) -> Keys:
    return make_keys(settings)


@pytest.fixture
def api(settings: Settings, keys: Keys) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def load(client: TestClient) -> int:
    """Import what the journal holds now (the background loader would within a second)."""
    loaded: int = client.app.state.tracker.load_pending()  # type: ignore[attr-defined]
    return loaded


def rows(client: TestClient, sql: str) -> list[tuple[object, ...]]:
    cur = client.app.state.hub.warehouse.cursor()  # type: ignore[attr-defined]
    try:
        return cur.execute(sql).fetchall()
    finally:
        cur.close()
