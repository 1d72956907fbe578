"""Retention ``min_occurrences`` (PostHog's ``minimumOccurrences``): hand-derived cells and two
cases ported from PostHog's retention tests
(posthog/hogql_queries/insights/test/test_retention_query_runner.py), in every entrypoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from userops.analytics.retention import RetentionQuery, retention
from userops.cli.main import app
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import Hub, connect


def _date(day: int, hour: int = 5) -> datetime:
    """PostHog's ``_date``: 2020-06-10 + day, 05:00 UTC by default."""
    return datetime(2020, 6, 10 + day, hour, tzinfo=UTC)


def _load(hub: Hub, events: list[tuple[str, datetime]], name: str = "$pageview") -> None:
    with hub.warehouse.write() as cur:
        for person in sorted({p for p, _ in events}):
            cur.execute(
                "INSERT INTO customers (customer_id, signup_at, placeholder) "
                "VALUES (?, '2020-01-01 00:00+00', false)",
                [person],
            )
        for i, (person, at) in enumerate(events):
            cur.execute(
                "INSERT INTO events (message_id, type, event, user_id, timestamp, received_at) "
                "VALUES (?, 'track', ?, ?, ?, ?)",
                [f"m{i}", name, person, at, at],
            )


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with connect(Settings(data_dir=tmp_path / "d", timezone="UTC")) as opened:
        yield opened


def counts(hub: Hub, **kw: object) -> list[list[int]]:
    q = RetentionQuery(period="day", **kw)  # type: ignore[arg-type]
    return [c.counts for c in retention(hub.warehouse, timezone="UTC", query=q).cohorts]


def test_posthog_all_events_with_minimum_occurrences(hub: Hub) -> None:
    """test_all_events_with_minimum_occurrences: 11 days, start any event, return $pageview,
    minimumOccurrences 2; only person1's day 5 (two events, one under an alias in PostHog)
    has two return events."""
    _load(
        hub,
        [
            ("person1", _date(0)),
            ("person1", _date(1)),
            ("person1", _date(2)),
            ("person1", _date(5)),
            ("person1", _date(5, 9)),
            ("person1", _date(6)),
            ("person2", _date(1)),
            ("person2", _date(2)),
            ("person2", _date(3)),
            ("person2", _date(6)),
        ],
    )
    got = counts(
        hub,
        intervals=11,
        start_event="any",
        return_event="$pageview",
        min_occurrences=2,
        date_to=date(2020, 6, 20),
    )
    assert got == [
        [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        [2, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        [2, 0, 0, 1, 0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0, 0],
        [2, 0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0],
        [0, 0],
        [0],
    ]
    # the same data without the minimum: PostHog's test_day_interval matrix
    assert counts(
        hub, intervals=11, start_event="any", return_event="$pageview", date_to=date(2020, 6, 20)
    )[:3] == [[1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0], [2, 2, 1, 0, 1, 2, 0, 0, 0, 0],
              [2, 1, 0, 1, 2, 0, 0, 0, 0]]  # fmt: skip


def test_posthog_rolling_retention_with_minimum_occurrences(hub: Hub) -> None:
    """test_rolling_retention_with_minimum_occurrences: cumulative, 5 days ending on day 5,
    minimumOccurrences 3."""
    three = 3
    _load(
        hub,
        [
            ("person1", _date(0)),
            ("person1", _date(3)),
            *[("person1", _date(4))] * three,
            ("person2", _date(0)),
            ("person2", _date(1)),
            ("person3", _date(1)),
            ("person3", _date(2)),
            *[("person3", _date(3))] * three,
            ("person4", _date(3)),
            ("person4", _date(4)),
            ("person5", _date(4)),
        ],
    )
    got = counts(
        hub,
        intervals=5,
        start_event="any",
        return_event="any",
        cumulative=True,
        min_occurrences=three,
        date_to=date(2020, 6, 15),
    )
    assert got == [[2, 1, 1, 0, 0], [1, 1, 0, 0], [3, 1, 0], [3, 0], [0]]


def test_hand_derived_weekly_cells(hub: Hub) -> None:
    """Weeks (Monday first) from 2024-01-01; start ``signup`` is replaced by an event ``join``.

    a joins in week 0; 2 visits in week 1, 1 in week 2, 3 in week 3.
    b joins in week 0; 1 visit in week 1, 2 in week 2.
    c joins in week 1; 2 visits in week 2 (one at 23:59, one at 00:00 next day, same week).
    min 2 → week-0 cohort (a, b): +1 a, +2 b, +3 a; week-1 cohort (c): +1 c, +2 0."""
    at = lambda m, d, h=12, mi=0: datetime(2024, m, d, h, mi, tzinfo=UTC)  # noqa: E731
    events = [
        ("a", "join", at(1, 1)),
        ("b", "join", at(1, 3)),
        ("c", "join", at(1, 9)),
        ("a", "visit", at(1, 8)),
        ("a", "visit", at(1, 14)),
        ("a", "visit", at(1, 16)),
        ("a", "visit", at(1, 22)),
        ("a", "visit", at(1, 23)),
        ("a", "visit", at(1, 24)),
        ("b", "visit", at(1, 10)),
        ("b", "visit", at(1, 15)),
        ("b", "visit", at(1, 21)),
        ("c", "visit", at(1, 17, 23, 59)),
        ("c", "visit", at(1, 18, 0, 0)),
    ]
    with hub.warehouse.write() as cur:
        for person in "abc":
            cur.execute(
                "INSERT INTO customers (customer_id, signup_at, placeholder) "
                "VALUES (?, '2023-01-01 00:00+00', false)",
                [person],
            )
        for i, (person, name, ts) in enumerate(events):
            cur.execute(
                "INSERT INTO events (message_id, type, event, user_id, timestamp, received_at) "
                "VALUES (?, 'track', ?, ?, ?, ?)",
                [f"h{i}", name, person, ts, ts],
            )
    q = RetentionQuery(
        period="week", intervals=4, start_event="join", return_event="visit", min_occurrences=2,
        date_to=date(2024, 1, 22),
    )  # fmt: skip
    got = retention(hub.warehouse, timezone="UTC", query=q)
    assert [c.counts for c in got.cohorts] == [[2, 1, 1, 1], [1, 1, 0], [0, 0], [0]]
    assert got.min_occurrences == 2 and "at least 2 times" in got.definition
    plain = retention(
        hub.warehouse, timezone="UTC", query=q.model_copy(update={"min_occurrences": 1})
    )
    assert [c.counts for c in plain.cohorts] == [[2, 2, 2, 1], [1, 1, 0], [0, 0], [0]]
    with pytest.raises(InvalidInput) as info:
        retention(hub.warehouse, timezone="UTC", query=q.model_copy(update={"min_occurrences": 0}))
    assert info.value.field == "min_occurrences"


def test_min_occurrences_in_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with connect(Settings(data_dir=data, timezone="UTC")) as opened:
        _load(opened, [("p", _date(0)), ("p", _date(1)), ("p", _date(1, 9)), ("q", _date(0))])
    env = {"USEROPS_TIMEZONE": "UTC"}
    base = ["report", "retention", "--data-dir", str(data), "--period", "day", "--intervals",
            "2", "--start-event", "any", "--return-event", "any", "--date-to", "2020-06-11",
            "--json"]  # fmt: skip
    out = CliRunner().invoke(app, [*base, "--min-occurrences", "2"], env=env)
    assert out.exit_code == 0, out.output
    assert [c["counts"] for c in json.loads(out.output)["cohorts"]] == [[2, 1], [1]]
    out = CliRunner().invoke(app, [*base, "--min-occurrences", "3"], env=env)
    assert [c["counts"] for c in json.loads(out.output)["cohorts"]] == [[2, 0], [1]]
    bad = CliRunner().invoke(app, [*base, "--min-occurrences", "0"], env=env)
    assert bad.exit_code != 0 and "min_occurrences" in bad.output
