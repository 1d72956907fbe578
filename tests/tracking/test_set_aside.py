"""Restarts with a segment set aside in ``journal/failed/``: every acknowledged event reaches the
warehouse, with and without new traffic after the restart (ledger on SQLite and PostgreSQL).

The segment fails for real: the ledger's ``customers`` table is renamed away behind the server's
back, so each load of new user ids is refused by the ledger, as it would be during an outage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.tracking.conftest import make_keys, rows

from userops.config import Settings
from userops.ingest.tracking import service as tracking
from userops.ingest.tracking.journal import Journal, move_no_clobber, segment_name, segments
from userops.server import create_app


@pytest.fixture(autouse=True)
def _no_background_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test decides when the loader runs (the thread would otherwise count attempts)."""
    monkeypatch.setenv("USEROPS_TRACKING_LOAD_INTERVAL", "3600")


def _ledger(settings: Settings, sql: str) -> None:
    engine = sa.create_engine(settings.ledger_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


@contextmanager
def _ledger_down(settings: Settings) -> Iterator[None]:
    _ledger(settings, "ALTER TABLE customers RENAME TO customers_away")
    try:
        yield
    finally:
        _ledger(settings, "ALTER TABLE customers_away RENAME TO customers")


def _send(api: TestClient, key: str, prefix: str, n: int) -> set[str]:
    batch = [
        {"type": "track", "userId": f"{prefix}-u{i}", "event": "E", "messageId": f"{prefix}-{i}"}
        for i in range(n)
    ]
    response = api.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert response.status_code == 200, response.text
    return {m["messageId"] for m in batch}


def _set_aside_one_segment(settings: Settings, key: str) -> set[str]:
    """A first run whose only segment (7 acknowledged events) fails three loads: set aside."""
    with TestClient(create_app(settings)) as api:
        sent = _send(api, key, "first", 7)
        tracker: tracking.Tracker = api.app.state.tracker  # type: ignore[attr-defined]
        with _ledger_down(settings):
            for _ in range(tracking.MAX_ATTEMPTS - 1):
                with pytest.raises(sa.exc.SQLAlchemyError):
                    tracker.load_pending()
            tracker.load_pending()  # third failure: set aside, no longer blocking
        assert tracker.set_aside == 1
    failed = settings.resolved_data_dir / "tracking" / "journal" / "failed"
    assert len(segments(failed)) == 1
    return sent


def _stored(settings: Settings) -> set[str]:
    with TestClient(create_app(settings)) as api:
        return {r[0] for r in rows(api, "SELECT message_id FROM events")}  # type: ignore[misc]


def test_restart_without_traffic_loads_the_set_aside_segment(settings: Settings) -> None:
    key = make_keys(settings).write
    sent = _set_aside_one_segment(settings, key)
    with TestClient(create_app(settings)) as api:  # restart; nothing new arrives
        assert {r[0] for r in rows(api, "SELECT message_id FROM events")} == sent
    assert _stored(settings) == sent  # and a further restart keeps them
    journal = settings.resolved_data_dir / "tracking" / "journal"
    assert segments(journal / "failed") == [] and segments(journal) == []


@pytest.mark.parametrize("ledger_still_down", [False, True], ids=["ledger-back", "ledger-down"])
def test_restart_with_new_traffic_loses_nothing(
    settings: Settings, ledger_still_down: bool
) -> None:
    key = make_keys(settings).write
    sent = _set_aside_one_segment(settings, key)
    if ledger_still_down:
        # the retried segment fails again, and the new events are acknowledged all the same
        with _ledger_down(settings), TestClient(create_app(settings)) as api:
            sent |= _send(api, key, "second", 5)
            sent |= _send(api, key, "third", 3)
    else:
        with TestClient(create_app(settings)) as api:
            sent |= _send(api, key, "second", 5)
            sent |= _send(api, key, "third", 3)
    assert len(sent) == 15
    assert _stored(settings) == sent


def test_segment_numbers_are_never_reused(tmp_path: Path) -> None:
    """Numbering starts after the highest segment in either folder, a set-aside segment comes
    back under a fresh number, and no move replaces a file."""
    directory = tmp_path / "journal"
    (directory / "failed").mkdir(parents=True)
    (directory / "failed" / segment_name(4)).write_bytes(b'{"a":1}\n')
    (directory / segment_name(2)).write_bytes(b'{"b":2}\n')
    journal = Journal(directory, sync=False)
    journal.append_wait(b'{"c":3}\n', 1)
    adopted = journal.adopt(directory / "failed" / segment_name(4))
    journal.append_wait(b'{"d":4}\n', 1)
    journal.close()
    names = {n: p.read_bytes() for n, p in segments(directory)}
    assert names == {2: b'{"b":2}\n', 5: b'{"c":3}\n', 6: b'{"a":1}\n', 7: b'{"d":4}\n'}
    assert adopted.name == segment_name(6) and segments(directory / "failed") == []
    with pytest.raises(FileExistsError):
        move_no_clobber(directory / segment_name(2), directory / segment_name(5), sync=False)
    assert (directory / segment_name(5)).read_bytes() == b'{"c":3}\n'
