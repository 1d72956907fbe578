"""One bad event must not block a segment: what the ledger refuses is isolated into a rejects
file (and counted in the loader status) and the rest of the segment loads (ledger on SQLite and
PostgreSQL; only PostgreSQL enforces column lengths and refuses NUL bytes)."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson

from userops.hub import Hub
from userops.ingest.tracking import service as tracking

WHEN = "2026-01-02T03:04:05Z"


def _line(message_id: str, kind: str, **fields: object) -> dict[str, object]:
    return {
        "message_id": message_id,
        "type": kind,
        "timestamp": WHEN,
        "received_at": WHEN,
        **fields,
    }


# Lines as an earlier version of the API journaled them (before the door checked these rules):
# the journal holds them, acknowledged, and the loader must cope.
GOOD = [_line(f"g{i}", "track", event="Viewed", user_id=f"shop-{i}") for i in range(6)] + [
    _line("g-id", "identify", user_id="shop-0", anonymous_id="anon-0", traits={"phone": "138"}),
]
BAD = {
    "bad-phone": _line("bad-phone", "identify", user_id="shop-1", traits={"phone": "1" * 500}),
    "bad-long-id": _line("bad-long-id", "track", event="Viewed", user_id="x" * 200),
    "bad-nul": _line("bad-nul", "identify", user_id="shop-2", anonymous_id="a\u0000b"),
}


def test_a_row_the_ledger_refuses_is_isolated_and_the_rest_loads(hub: Hub) -> None:
    data_dir = hub.settings.resolved_data_dir
    tracker = tracking.Tracker(engine=hub.engine, warehouse=hub.warehouse, data_dir=data_dir)
    lines = [*GOOD[:3], BAD["bad-phone"], *GOOD[3:5], BAD["bad-long-id"], BAD["bad-nul"], *GOOD[5:]]
    tracker.journal.append_wait(b"".join(orjson.dumps(x) + b"\n" for x in lines), len(lines))
    loaded = tracker.load_pending()
    tracker.stop()
    cur = hub.warehouse.cursor()
    try:
        stored = {r[0] for r in cur.execute("SELECT message_id FROM events").fetchall()}
    finally:
        cur.close()
    postgres = hub.engine.dialect.name == "postgresql"
    refused = set(BAD) if postgres else set()  # SQLite stores long and NUL-bearing text
    assert stored == {x["message_id"] for x in lines} - refused
    assert loaded == len(lines) - len(refused)
    status = tracker.status()
    assert status["rejected_events"] == len(refused) and status["load_errors"] == 0
    files = sorted((data_dir / "rejects").glob("events-*.csv")) if refused else []
    assert [str(f) for f in files[-1:]] == ([status["last_rejects_file"]] if refused else [])
    if refused:
        with open(files[-1], newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
        by_id = {orjson.loads(r["record"])["message_id"]: r for r in records}
        assert set(by_id) == refused  # kept whole, with the reason: nothing is lost
        for record in by_id.values():
            assert record["reason"].startswith("ledger refused the row: ")
            assert "1" * 50 not in record["reason"]  # the ledger's reason, not the value
        assert "too long" in by_id["bad-phone"]["reason"]
    journal = Path(data_dir / "tracking" / "journal")
    assert not list(journal.glob("seg-*.ndjson")) and not (journal / "failed").exists()
