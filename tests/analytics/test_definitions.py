"""Item 20 of issue 9: the AARRR board's retention and the retention report's +1 cell are
defined once (analytics/definitions.py), labelled, agree where they measure the same thing,
and periods that are not over are flagged partial."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from userops.analytics.aarrr import AarrrQuery, aarrr
from userops.analytics.retention import RetentionQuery, retention
from userops.config import Settings
from userops.hub import Hub, connect

at = lambda d, h=10: datetime(2024, 1, d, h, tzinfo=UTC)  # noqa: E731

# Weeks are Monday first: w0 Jan 1-7, w1 8-14, w2 15-21, w3 22-28, w4 Jan 29-Feb 4.
SIGNUPS = {"a": at(1), "b": at(7), "c": at(10), "d": at(11), "e": at(23)}
VISITS = [
    ("a", at(9)),  # day 8 after signup: week 1 (days 7-13) and the next calendar week
    ("b", at(8)),  # day 1 after a Sunday signup: the next calendar week, not days 7-13
    ("c", at(18)),  # day 8: both
    ("d", at(16)),  # day 5, next calendar week only
    ("d", at(29)),
    ("e", at(31)),  # the latest data: Wednesday Jan 31, so w4 is not over
    ("a", at(31)),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("defs") / "d"
    with connect(Settings(data_dir=Path(data), timezone="UTC")) as hub:
        with hub.warehouse.write() as cur:
            for person, ts in SIGNUPS.items():
                cur.execute(
                    "INSERT INTO customers (customer_id, signup_at, placeholder) "
                    "VALUES (?, ?, false)",
                    [person, ts],
                )
            for i, (person, ts) in enumerate(VISITS):
                cur.execute(
                    "INSERT INTO events (message_id, type, event, user_id, timestamp, "
                    "received_at) VALUES (?, 'track', 'visit', ?, ?, ?)",
                    [f"v{i}", person, ts, ts],
                )
        yield hub


def both(hub: Hub, tz: str, **kw: object):  # type: ignore[no-untyped-def]
    board = aarrr(hub.warehouse, timezone=tz, query=AarrrQuery(period="week", **kw))  # type: ignore[arg-type]
    matrix = retention(
        hub.warehouse,
        timezone=tz,
        query=RetentionQuery(period="week", start_event="signup", return_event="any", **kw),  # type: ignore[arg-type]
    )
    return board, matrix


def test_week1_and_next_period_are_two_labelled_definitions(shop: Hub) -> None:
    board, matrix = both(shop, "UTC", intervals=5, date_to=date(2024, 1, 31))
    w = board.periods
    assert [p.new_customers for p in w] == [2, 2, 0, 1, 0]
    # days 7-13 after each signup: a yes, b no; c yes, d no
    assert [p.week1_retention for p in w[:2]] == [0.5, 0.5]
    # the next calendar week: a and b; c and d; e (in a week that is not over)
    assert [p.retention_next_period for p in w] == [1.0, 1.0, None, 1.0, None]
    assert [p.retention_next_period_partial for p in w] == [False, False, False, True, False]
    assert "days 7-13 after signup" in board.definitions["week1_retention"]
    assert "calendar week" in board.definitions["retention_next_period"]
    assert "+1 cell" in board.definitions["retention_next_period"]
    assert "calendar week" in matrix.definition
    # the retention report's +1 cells are the same numbers
    assert [c.rates[1] for c in matrix.cohorts[:4]] == [1.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai"])
def test_aarrr_next_period_equals_retention_plus_one(shop: Hub, tz: str) -> None:
    board, matrix = both(shop, tz, intervals=5, date_to=date(2024, 1, 31))
    for period, cohort in zip(board.periods, matrix.cohorts, strict=True):
        assert period.start == cohort.start
        assert period.new_customers == cohort.size
        if cohort.size and len(cohort.rates) > 1:
            assert period.retention_next_period == cohort.rates[1]


def test_partial_periods_are_flagged(shop: Hub) -> None:
    board, matrix = both(shop, "UTC", intervals=5, date_to=date(2024, 1, 31))
    assert board.covered_until == matrix.covered_until == date(2024, 2, 1)
    assert [p.partial for p in board.periods] == [False, False, False, False, True]
    assert [c.partial_cells for c in matrix.cohorts] == [
        [False, False, False, False, True],
        [False, False, False, True],
        [False, False, True],
        [False, True],
        [True],
    ]
    assert [c.partial for c in matrix.cohorts] == [True] * 5
    done, done_matrix = both(shop, "UTC", intervals=3, date_to=date(2024, 1, 21))
    assert not any(p.partial for p in done.periods)
    assert [c.partial for c in done_matrix.cohorts] == [False, False, False]


def test_they_agree_on_the_demo_shop(demo_settings: Settings) -> None:
    with connect(demo_settings) as hub:
        for tz, week_start in (("Asia/Shanghai", "monday"), ("Asia/Shanghai", "sunday")):
            board, matrix = both(
                hub, tz, intervals=8, date_to=date(2026, 11, 15), week_start=week_start
            )
            compared = 0
            for period, cohort in zip(board.periods, matrix.cohorts, strict=True):
                if cohort.size and len(cohort.rates) > 1:
                    assert period.retention_next_period == cohort.rates[1]
                    compared += 1
            assert compared == 7
            # and they are different measurements: calendar next week ≠ days 7-13
            assert any(
                p.week1_retention is not None and p.week1_retention != p.retention_next_period
                for p in board.periods
            )
