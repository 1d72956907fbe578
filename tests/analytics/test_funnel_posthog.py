"""Funnels with PostHog's semantics, on cases ported from PostHog's own funnel tests.

Each ``test_posthog_*`` case reproduces the timestamps of the PostHog test it names
(posthog/hogql_queries/insights/funnels/test/test_funnel.py and conversion_time_cases.py) and
asserts the counts and conversion times PostHog's test asserts. Times are UTC (PostHog's test
team is in UTC); events PostHog creates without a timestamp get one a minute apart in the
order the test creates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from userops.analytics.funnel import FunnelQuery, funnel, funnel_dropped, parse_step, parse_window
from userops.config import Settings
from userops.hub import Hub, connect

Event = tuple[str, str, datetime]  # (person, event, UTC time)
Build = Callable[[list[Event]], Hub]


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Build]:
    """A fresh warehouse holding exactly ``events`` (each person is a customer)."""
    stack = ExitStack()
    made: list[Hub] = []

    def make(events: list[Event]) -> Hub:
        data = tmp_path / f"w{len(made)}"
        hub = stack.enter_context(connect(Settings(data_dir=data, timezone="UTC")))
        made.append(hub)
        with hub.warehouse.write() as cur:
            for person in sorted({p for p, _, _ in events}):
                cur.execute(
                    "INSERT INTO customers (customer_id, signup_at, placeholder) "
                    "VALUES (?, '2000-01-01 00:00+00', false)",
                    [person],
                )
            for i, (person, name, at) in enumerate(events):
                cur.execute(
                    "INSERT INTO events (message_id, type, event, user_id, timestamp, "
                    "received_at) VALUES (?, 'track', ?, ?, ?, ?)",
                    [f"m{i}", name, person, at, at],
                )
        return hub

    with stack:
        yield make


def in_sequence(journeys: dict[str, list[str]], start: datetime) -> list[Event]:
    """PostHog tests that give no timestamps: one event a minute, in creation order."""
    out: list[Event] = []
    for person, names in journeys.items():
        for name in names:
            out.append((person, name, start + timedelta(minutes=len(out))))
    return out


def run(hub: Hub, steps: list[str], window: str, day_from: date, day_to: date, **kw: object):  # type: ignore[no-untyped-def]
    query = FunnelQuery(
        steps=[parse_step(s) for s in steps],
        window_seconds=parse_window(window),
        date_from=day_from,
        date_to=day_to,
        **kw,  # type: ignore[arg-type]
    )
    return funnel(hub.warehouse, timezone="UTC", query=query)


def people(result) -> list[int]:  # type: ignore[no-untyped-def]
    return [s.people for s in result.steps]


T = datetime(2021, 5, 1, tzinfo=UTC)
MAY = (date(2021, 5, 1), date(2021, 5, 14))


def test_posthog_funnel_conversion_window(build: Build) -> None:
    """test_funnel.py::test_funnel_conversion_window: 25 / 10 / 0, and "step three", which
    nobody did, counts 0 (with a warning) instead of failing the report."""
    events: list[Event] = []
    for i in range(25):
        events.append((f"user_{i}", "step one", T))
        later = T + (timedelta(days=1) if i < 10 else timedelta(days=9))
        events.append((f"user_{i}", "step two", later))
    events.append(("user_x", "step tree", T - timedelta(days=30)))  # a near name, out of range
    got = run(build(events), ["step one", "step two", "step three"], "7d", *MAY)
    assert people(got) == [25, 10, 0]
    assert len(got.warnings) == 1
    assert "step 3" in got.warnings[0] and "'step three'" in got.warnings[0]
    assert "did you mean step tree" in got.warnings[0]


def test_posthog_funnel_conversion_window_seconds(build: Build) -> None:
    """test_funnel.py::test_funnel_conversion_window_seconds: a 15 s window, 25 / 10 / 0."""
    events: list[Event] = []
    for i in range(25):
        events.append((f"user_{i}", "step one", T))
        gap = timedelta(seconds=10 if i < 10 else 20)
        events.append((f"user_{i}", "step two", T + gap))
    got = run(build(events), ["step one", "step two", "step three"], "15s", *MAY)
    assert people(got) == [25, 10, 0]


def test_posthog_advanced_funnel_with_repeat_steps(build: Build) -> None:
    """test_funnel.py::test_advanced_funnel_with_repeat_steps: 5 / 4 / 3 / 2 / 1."""
    su, pv, bl = "user signed up", "$pageview", "blaah blaa"
    journeys = {
        "stopped_after_signup1": [su],
        "stopped_after_pageview1": [su, pv],
        "stopped_after_pageview2": [su, pv, bl, pv],
        "stopped_after_pageview3": [su, pv, bl, pv, pv, bl],
        "stopped_after_pageview4": [su, pv, pv, pv, pv],
    }
    hub = build(in_sequence(journeys, T))
    steps = [su, pv, pv, pv, pv]
    got = run(hub, steps, "14d", *MAY)
    assert people(got) == [5, 4, 3, 2, 1]
    q = FunnelQuery(
        steps=[parse_step(s) for s in steps],
        window_seconds=14 * 86400,
        date_from=MAY[0],
        date_to=MAY[1],
    )
    assert funnel_dropped(hub.warehouse, timezone="UTC", query=q, step=5) == [
        "stopped_after_pageview3"
    ]


def test_posthog_advanced_funnel_with_repeat_steps_out_of_order_events(build: Build) -> None:
    """test_funnel.py::test_advanced_funnel_with_repeat_steps_out_of_order_events:
    5 / 4 / 1 / 1 / 1 (page views before signing up do not count)."""
    su, pv, bl = "user signed up", "$pageview", "blaah blaa"
    journeys = {
        "stopped_after_signup1": [pv, su],
        "stopped_after_pageview1": [su, pv],
        "stopped_after_pageview2": [pv, su, bl, pv],
        "stopped_after_pageview3": [bl, pv, bl, pv, su, pv],
        "stopped_after_pageview4": [su, pv, bl, pv, pv, pv],
        "stopped_after_pageview5": [pv, bl, pv, pv, pv],
    }
    got = run(build(in_sequence(journeys, T)), [su, pv, pv, pv, pv], "14d", *MAY)
    assert people(got) == [5, 4, 1, 1, 1]


def test_posthog_funnel_with_multiple_incomplete_tries(build: Build) -> None:
    """conversion_time_cases.py::test_funnel_with_multiple_incomplete_tries: one person, three
    attempts in a 1-day window; only the complete one gives the times (3600 s, not the 2 h and
    3 h of the incomplete tries)."""
    su, pv, se = "user signed up", "$pageview", "something else"
    at = lambda d, h: datetime(2021, 5, d, h, tzinfo=UTC)  # noqa: E731
    events = [
        ("person1", su, at(1, 1)),
        ("person1", pv, at(1, 2)),
        ("person1", se, at(1, 3)),
        ("person1", su, at(3, 4)),
        ("person1", pv, at(3, 5)),
        ("person1", su, at(4, 7)),
        ("person1", pv, at(4, 10)),
    ]
    got = run(build(events), [su, pv, se], "1d", *MAY)
    assert people(got) == [1, 1, 1]
    assert got.steps[1].average_seconds_to_convert == 3600
    assert got.steps[1].median_seconds_to_convert == 3600


def test_posthog_funnel_step_conversion_times(build: Build) -> None:
    """conversion_time_cases.py::test_funnel_step_conversion_times: average 6000 / 5400 s,
    median 7200 / 5400 s."""
    at = lambda d, h: datetime(2020, 1, d, h, tzinfo=UTC)  # noqa: E731
    events = [
        ("person1", "sign up", at(1, 12)),
        ("person1", "play movie", at(1, 13)),
        ("person1", "buy", at(1, 15)),
        ("person2", "sign up", at(2, 14)),
        ("person2", "play movie", at(2, 16)),
        ("person3", "sign up", at(2, 14)),
        ("person3", "play movie", at(2, 16)),
        ("person3", "buy", at(2, 17)),
    ]
    got = run(
        build(events), ["sign up", "play movie", "buy"], "7d", date(2020, 1, 1), date(2020, 1, 8)
    )
    assert [s.average_seconds_to_convert for s in got.steps] == [None, 6000, 5400]
    assert [s.median_seconds_to_convert for s in got.steps] == [None, 7200, 5400]


def test_posthog_funnel_times_with_different_conversion_windows(build: Build) -> None:
    """conversion_time_cases.py::test_funnel_times_with_different_conversion_windows: 3 / 2
    (average 600 s) in 14 days; 3 / 1 (average 300 s) in 5 minutes, where a page view exactly
    5 minutes after signing up still converts: the window bound is inclusive."""
    at = lambda m, h=14: datetime(2020, 1, 2, h, m, tzinfo=UTC)  # noqa: E731
    events = [
        ("stopped_after_signup1", "user signed up", at(0)),
        ("stopped_after_signup1", "pageview", at(5)),
        ("stopped_after_signup2", "user signed up", at(3)),
        ("stopped_after_signup3", "user signed up", at(0, 12)),
        ("stopped_after_signup3", "pageview", at(15, 12)),
    ]
    hub = build(events)
    days = (date(2020, 1, 1), date(2020, 1, 14))
    wide = run(hub, ["user signed up", "pageview"], "14d", *days)
    assert people(wide) == [3, 2] and wide.steps[1].average_seconds_to_convert == 600
    narrow = run(hub, ["user signed up", "pageview"], "5m", *days)
    assert people(narrow) == [3, 1] and narrow.steps[1].average_seconds_to_convert == 300


def test_a_later_attempt_that_converts_is_not_a_drop_off(build: Build) -> None:
    """Issue 9, item 17: the first view does not lead to a cart within the day, a later one
    does. PostHog counts the person as converted; ``entry="first"`` (the older greedy funnel,
    kept as a documented option) does not."""
    at = lambda d, h: datetime(2021, 5, d, h, tzinfo=UTC)  # noqa: E731
    events = [
        ("p", "view", at(2, 9)),
        ("p", "view", at(5, 9)),
        ("p", "cart", at(5, 10)),
        ("p", "pay", at(5, 12)),
        ("q", "view", at(3, 9)),
        ("q", "cart", at(3, 9)),  # the same instant still counts (at or after)
    ]
    hub = build(events)
    got = run(hub, ["view", "cart", "pay"], "1d", *MAY)
    assert people(got) == [2, 2, 1]
    assert got.steps[1].median_seconds_to_convert == (3600 + 0) / 2  # p from the 5th, q at once
    assert got.entry == "any" and got.warnings == []
    first = run(hub, ["view", "cart", "pay"], "1d", *MAY, entry="first")
    assert people(first) == [2, 1, 0] and first.entry == "first"


def test_attempts_must_start_in_the_range_and_the_shortest_path_gives_the_time(
    build: Build,
) -> None:
    """A step-1 event before date_from starts nothing; of two views before one cart, the later
    one gives the time to convert (the same events, a shorter path, as PostHog reports)."""
    at = lambda d, h: datetime(2021, 5, d, h, tzinfo=UTC)  # noqa: E731
    events = [
        ("p", "view", datetime(2021, 4, 30, 23, tzinfo=UTC)),
        ("p", "cart", at(1, 1)),
        ("r", "view", at(2, 8)),
        ("r", "view", at(2, 10)),
        ("r", "cart", at(2, 11)),
    ]
    got = run(build(events), ["view", "cart"], "7d", *MAY)
    assert people(got) == [1, 1]  # r only
    assert got.steps[1].median_seconds_to_convert == 3600
