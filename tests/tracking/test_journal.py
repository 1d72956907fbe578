"""The journal (torn tails, group commit), the loader's replay and set-aside, and the rules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from userops.config import Settings
from userops.hub import Hub, connect
from userops.ingest.tracking import rules
from userops.ingest.tracking import service as tracking
from userops.ingest.tracking.journal import Journal, segment_name, segments
from userops.jobs import ops

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_torn_last_line_is_cut_and_a_new_segment_started(tmp_path: Path) -> None:
    old = tmp_path / segment_name(7)
    old.write_bytes(b'{"a":1}\n{"b":2}\n{"c":')  # the crash interrupted the third write
    journal = Journal(tmp_path)
    journal.append_wait(b'{"d":4}\n', 1)
    journal.close()
    assert old.read_bytes() == b'{"a":1}\n{"b":2}\n'
    assert [n for n, _ in segments(tmp_path)] == [7, 8]
    assert (tmp_path / segment_name(8)).read_bytes() == b'{"d":4}\n'


def test_concurrent_appends_share_syncs_and_all_land(tmp_path: Path) -> None:
    journal = Journal(tmp_path)

    def writer(t: int) -> None:
        for k in range(50):
            journal.append_wait(f'{{"t":{t},"k":{k}}}\n'.encode(), 1)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sealed = journal.seal()
    journal.close()
    lines = [orjson.loads(x) for p in sealed for x in p.read_bytes().splitlines()]
    assert len(lines) == 400 and len({(x["t"], x["k"]) for x in lines}) == 400
    assert journal.syncs <= 400


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Hub:
    with connect(Settings(data_dir=tmp_path / "data")) as hub:
        yield hub  # type: ignore[misc]


def _track(n: int, prefix: str) -> rules.Checked:
    body = {
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "messageId": f"{prefix}{i}"}
            for i in range(n)
        ]
    }
    return rules.check_call("batch", orjson.dumps(body), received_at=NOW, write_key="uo_w_x")


def test_a_journal_left_behind_is_loaded_by_the_operation(sqlite_hub: Hub) -> None:
    tracker = tracking.Tracker(
        engine=sqlite_hub.engine,
        warehouse=sqlite_hub.warehouse,
        data_dir=sqlite_hub.settings.resolved_data_dir,
    )
    tracker.accept_wait(_track(30, "left-"), key="uo_w_x")
    tracker.journal.close()  # the process "dies" without loading
    result = ops.run(sqlite_hub, "tracking-load", {}, lambda *_: None)
    assert result["loaded"] == 30
    assert sqlite_hub.warehouse.count("events") == 30


def test_a_segment_that_keeps_failing_is_set_aside_then_retried(
    sqlite_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = tracking.Tracker(
        engine=sqlite_hub.engine,
        warehouse=sqlite_hub.warehouse,
        data_dir=sqlite_hub.settings.resolved_data_dir,
    )
    tracker.accept_wait(_track(5, "p-"), key="uo_w_x")
    real = tracking.ingest.load_tracked

    def broken(**_kwargs: object) -> None:
        raise RuntimeError("bug in the loader")

    monkeypatch.setattr(tracking.ingest, "load_tracked", broken)
    for _ in range(tracking.MAX_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            tracker.load_pending()
    tracker.accept_wait(_track(3, "q-"), key="uo_w_x")
    with pytest.raises(RuntimeError):  # third failure: set aside; then the next one is tried
        tracker.load_pending()
    failed = tracker.journal.directory / "failed"
    assert [p.name for p in failed.iterdir()] == [segment_name(1)] and tracker.set_aside == 1
    monkeypatch.setattr(tracking.ingest, "load_tracked", real)
    assert tracker.retry_set_aside() == 1
    tracker.load_pending()
    tracker.journal.close()
    assert sqlite_hub.warehouse.count("events") == 8  # nothing lost


def test_rules_skew_batch_context_and_naive_times() -> None:
    body = {
        "batch": [
            {
                "type": "track",
                "userId": "u",
                "event": "E",
                "messageId": "a",
                "timestamp": "2026-01-02T03:00:00",
                "context": {"ip": "1.2.3.4"},
            },
            {"type": "identify", "anonymousId": "x", "messageId": "b"},
        ],
        "sentAt": "2026-01-02T03:00:10Z",
        "context": {"library": {"name": "wx"}, "ip": "0.0.0.0"},
    }
    checked = rules.check_call("batch", orjson.dumps(body), received_at=NOW)
    first, second = (orjson.loads(x) for x in checked.lines)
    # naive = UTC; the device clock is 10 s behind sentAt → received − 10 s … minus 10 s more
    assert first["timestamp"] == (NOW - timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
    assert first["context"] == {"library": {"name": "wx"}, "ip": "1.2.3.4"}
    assert second["timestamp"] == NOW.isoformat().replace("+00:00", "Z")
    assert rules.corrected_timestamp(None, None, NOW) == NOW
    with pytest.raises(rules.MessageError) as refused:
        rules.check_call("track", b'{"userId": "u", "event": "E", "messageId": 5}', received_at=NOW)
    assert refused.value.field == "track.messageId"
