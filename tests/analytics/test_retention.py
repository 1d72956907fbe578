"""Retention against an independent pandas implementation of PostHog's definition."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from userops.analytics.retention import RetentionQuery, retention
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import Hub, connect

TZ = "Asia/Shanghai"
DATE_TO = date(2026, 3, 20)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, pd.DataFrame]]:
    """60 customers, events over ~8 months incl. anonymous ones, an alias and a merge; events
    are placed near shop-local midnights so UTC days and local days disagree."""
    data = tmp_path_factory.mktemp("ret")
    with connect(Settings(data_dir=Path(data) / "d")) as hub:
        rng = np.random.default_rng(11)
        n = 60
        ids = [f"c{i}" for i in range(n)]
        signup = [
            datetime(2025, 8, 1, tzinfo=UTC) + timedelta(hours=int(h))
            for h in rng.integers(0, 24 * 220, n)
        ]
        cust = pd.DataFrame({"customer_id": ids, "signup_at": signup, "merged_into": None})
        cust.loc[cust.customer_id == "c1", "merged_into"] = "c0"  # c1 was merged into c0
        rows = []
        for i in range(n):
            for _ in range(int(rng.integers(0, 25))):
                day = signup[i] + timedelta(days=int(rng.integers(0, 200)))
                # 15:30..16:30 UTC = 23:30..00:30 in Shanghai: local midnight edges
                ts = day.replace(hour=15, minute=30) + timedelta(minutes=int(rng.integers(0, 60)))
                name = str(rng.choice(["visit", "visit", "buy"]))
                kind = rng.random()
                if kind < 0.15:
                    rows.append((name, None, f"anon{i}", ts))  # anonymous, linked to c{i}
                elif kind < 0.2 and i == 5:
                    rows.append((name, "old5", None, ts))  # alias of c5
                else:
                    rows.append((name, ids[i], None, ts))
        rows.append(("visit", None, "stranger", datetime(2026, 3, 1, 3, tzinfo=UTC)))
        ev = pd.DataFrame(rows, columns=["event", "user_id", "anonymous_id", "timestamp"])
        ev["message_id"] = [f"m{i}" for i in range(len(ev))]
        ident = pd.DataFrame(
            [("anonymous_id", f"anon{i}", ids[i]) for i in range(n)] + [("user_id", "old5", "c5")],
            columns=["kind", "value", "customer_id"],
        )
        with hub.warehouse.write() as cur:
            cur.register("_c", cust)
            cur.execute(
                "INSERT INTO customers (customer_id, signup_at, placeholder, merged_into) "
                "SELECT customer_id, signup_at, false, merged_into FROM _c"
            )
            cur.register("_e", ev)
            cur.execute(
                "INSERT INTO events (message_id, type, event, user_id, anonymous_id, timestamp, "
                "received_at) SELECT message_id, 'track', event, user_id, anonymous_id, "
                "timestamp, timestamp FROM _e"
            )
            cur.register("_i", ident)
            cur.execute("INSERT INTO identities SELECT kind, value, customer_id FROM _i")
        # the reference resolves people on its own
        alias = dict(zip(ident.value, ident.customer_id, strict=True))
        merged = {"c1": "c0"}
        person = [
            (alias.get(u, u) if isinstance(u, str) else alias.get(a, "anon:" + a))
            for u, a in zip(ev.user_id, ev.anonymous_id, strict=True)
        ]
        ev["person"] = [merged.get(p, p) for p in person]
        ev["local"] = ev.timestamp.dt.tz_convert(TZ).dt.tz_localize(None)
        signups = cust[cust.merged_into.isna()].assign(
            event="signup",
            person=lambda d: d.customer_id,
            local=lambda d: pd.to_datetime(d.signup_at).dt.tz_convert(TZ).dt.tz_localize(None),
        )
        ref = pd.concat([ev[["person", "event", "local"]], signups[["person", "event", "local"]]])
        yield hub, ref


FREQ = {
    ("day", "monday"): "D",
    ("week", "monday"): "W-SUN",
    ("week", "sunday"): "W-SAT",
    ("month", "monday"): "M",
}


def reference(ref: pd.DataFrame, q: RetentionQuery) -> list[list[int]]:
    """PostHog's retention, straight from the definition, with pandas periods."""
    freq = FREQ[(q.period, q.week_start if q.period == "week" else "monday")]
    last = pd.Period(q.date_to, freq=freq)
    cohorts = [last - (q.intervals - 1 - i) for i in range(q.intervals)]
    ref = ref.assign(per=ref.local.dt.to_period(freq))
    start = (
        ref[ref.event == q.start_event] if q.start_event != "any" else ref[ref.event != "signup"]
    )
    if q.mode == "first_time":
        start = start.loc[start.groupby("person").local.idxmin()] if len(start) else start
    back = (
        ref[ref.event == q.return_event] if q.return_event != "any" else ref[ref.event != "signup"]
    )
    # minimum occurrences: a (person, period) is a return only with >= N return events in it
    times = back.groupby(["person", "per"]).size().rename("n").reset_index()
    back = times[times.n >= q.min_occurrences]
    out = []
    for ci, c in enumerate(cohorts):
        members = set(start[start.per == c].person)
        row = [len(members)]
        for k in range(1, q.intervals - ci):
            target = [c + k] if not q.cumulative else [c + j for j in range(k, q.intervals - ci)]
            row.append(len(members & set(back[back.per.isin(target)].person)))
        out.append(row)
    return out


CASES = [
    RetentionQuery(period="week", intervals=10, start_event="signup", return_event="any"),
    RetentionQuery(
        period="week", intervals=10, start_event="visit", return_event="buy", mode="first_time"
    ),
    RetentionQuery(
        period="week", intervals=8, start_event="visit", return_event="visit", week_start="sunday"
    ),
    RetentionQuery(
        period="week",
        intervals=8,
        start_event="buy",
        return_event="visit",
        cumulative=True,
        week_start="sunday",
        mode="first_time",
    ),
    RetentionQuery(period="month", intervals=8, start_event="visit", return_event="any"),
    RetentionQuery(
        period="month",
        intervals=8,
        start_event="any",
        return_event="buy",
        mode="first_time",
        cumulative=True,
    ),
    RetentionQuery(period="day", intervals=20, start_event="visit", return_event="visit"),
    RetentionQuery(
        period="week", intervals=10, start_event="signup", return_event="any", min_occurrences=2
    ),
    RetentionQuery(
        period="month",
        intervals=8,
        start_event="visit",
        return_event="visit",
        cumulative=True,
        min_occurrences=3,
    ),
    RetentionQuery(
        period="day",
        intervals=15,
        start_event="buy",
        return_event="any",
        mode="first_time",
        cumulative=True,
    ),
]


@pytest.mark.parametrize(
    "q", CASES, ids=lambda q: f"{q.period}-{q.mode}-{q.cumulative}-min{q.min_occurrences}"
)
def test_matrix_matches_independent_pandas(
    shop: tuple[Hub, pd.DataFrame], q: RetentionQuery
) -> None:
    hub, ref = shop
    q = q.model_copy(update={"date_to": DATE_TO})
    got = retention(hub.warehouse, timezone=TZ, query=q)
    want = reference(ref, q)
    assert [c.counts for c in got.cohorts] == want
    assert sum(r[0] for r in want) > 0  # the case is not vacuous
    assert any(n for r in want for n in r[1:])
    assert [len(c.counts) for c in got.cohorts] == list(range(q.intervals, 0, -1))


def test_periods_are_calendar_periods_in_shop_time(shop: tuple[Hub, pd.DataFrame]) -> None:
    hub, _ = shop
    got = retention(
        hub.warehouse,
        timezone=TZ,
        query=RetentionQuery(period="week", intervals=3, date_to=DATE_TO, week_start="sunday"),
    )
    assert [c.start for c in got.cohorts] == [date(2026, 3, 1), date(2026, 3, 8), date(2026, 3, 15)]
    got = retention(
        hub.warehouse,
        timezone=TZ,
        query=RetentionQuery(period="month", intervals=2, date_to=DATE_TO),
    )
    assert [c.start for c in got.cohorts] == [date(2026, 2, 1), date(2026, 3, 1)]
    assert got.cohorts[0].rates[0] == 1.0


def test_anonymous_and_merged_people_count_once(shop: tuple[Hub, pd.DataFrame]) -> None:
    hub, ref = shop
    q = RetentionQuery(
        period="month",
        intervals=12,
        start_event="visit",
        return_event="any",
        mode="first_time",
        date_to=DATE_TO,
    )
    got = retention(hub.warehouse, timezone=TZ, query=q)
    people = set(ref[ref.event == "visit"].person)
    firsts = ref[ref.event == "visit"].groupby("person").local.min()
    in_window = firsts[(firsts >= pd.Timestamp(2025, 4, 1)) & (firsts < pd.Timestamp(2026, 4, 1))]
    assert sum(c.size for c in got.cohorts) == len(in_window)
    assert "c1" not in people and "anon:stranger" in people


def test_empty_window_gives_empty_cohorts(shop: tuple[Hub, pd.DataFrame]) -> None:
    hub, _ = shop
    got = retention(
        hub.warehouse,
        timezone=TZ,
        query=RetentionQuery(period="day", intervals=3, date_to=date(2001, 1, 1)),
    )
    assert [c.counts for c in got.cohorts] == [[0, 0, 0], [0, 0], [0]]


def test_breakdown_gives_one_matrix_per_value(shop: tuple[Hub, pd.DataFrame]) -> None:
    hub, _ = shop
    q = RetentionQuery(period="month", intervals=6, date_to=DATE_TO, breakdown="signup_channel")
    got = retention(hub.warehouse, timezone=TZ, query=q)
    assert got.groups is not None and [g.value for g in got.groups] == ["(none)"]
    plain = retention(hub.warehouse, timezone=TZ, query=q.model_copy(update={"breakdown": None}))
    assert got.groups[0].cohorts == plain.cohorts == got.cohorts
    with pytest.raises(InvalidInput, match="tag") as info:
        retention(hub.warehouse, timezone=TZ, query=q.model_copy(update={"breakdown": "tag:rfm"}))
    assert info.value.field == "breakdown" and "signup_channel" in info.value.message


def test_breakdown_by_tag_splits_the_matrix(tmp_path: Path) -> None:
    with connect(Settings(data_dir=tmp_path / "d")) as hub, hub.warehouse.write() as cur:
        cur.execute(
            "INSERT INTO customers (customer_id, signup_at, placeholder, province, attributes) "
            "VALUES ('a', '2026-03-02 10:00+08', false, '广东省', '{\"vip\": \"gold\"}'), "
            "('b', '2026-03-03 10:00+08', false, NULL, '{\"vip\": \"gold\"}'), "
            "('c', '2026-03-04 10:00+08', false, NULL, NULL)"
        )
        cur.execute(
            "INSERT INTO events (message_id, type, event, user_id, timestamp, received_at) "
            "VALUES ('1', 'track', 'visit', 'a', '2026-03-10 10:00+08', now()), "
            "('2', 'track', 'visit', 'c', '2026-03-11 10:00+08', now())"
        )
        cur.execute(
            "INSERT INTO customer_tags VALUES ('a', 'lifecycle', 'new'), ('b', 'lifecycle', 'new')"
            ", ('c', 'lifecycle', 'lost')"
        )
    with connect(Settings(data_dir=tmp_path / "d")) as hub:
        q = RetentionQuery(
            period="week", intervals=2, date_to=date(2026, 3, 12), breakdown="tag:lifecycle"
        )
        got = retention(hub.warehouse, timezone=TZ, query=q)
        assert {g.value: [c.counts for c in g.cohorts] for g in got.groups or []} == {
            "new": [[2, 1], [0]],
            "lost": [[1, 1], [0]],
        }
        assert [c.counts for c in got.cohorts] == [[3, 2], [0]]
        by_province = retention(
            hub.warehouse, timezone=TZ, query=q.model_copy(update={"breakdown": "province"})
        )
        assert {g.value: g.cohorts[0].counts for g in by_province.groups or []} == {
            "(none)": [2, 1],
            "广东省": [1, 1],
        }
        by_attribute = retention(
            hub.warehouse, timezone=TZ, query=q.model_copy(update={"breakdown": "attr:vip"})
        )
        assert {g.value: g.cohorts[0].counts for g in by_attribute.groups or []} == {
            "gold": [2, 1],
            "(none)": [1, 1],
        }


@pytest.mark.parametrize(
    ("update", "field", "text"),
    [
        ({"period": "year"}, "period", "day, week, month"),
        ({"intervals": 0}, "intervals", "between 1 and"),
        ({"period": "month", "intervals": 61}, "intervals", "60"),
        ({"start_event": "vist"}, "start_event", "did you mean visit"),
        ({"return_event": "bye"}, "return_event", "known: any, order, buy, visit"),
        ({"mode": "sometimes"}, "mode", "recurring, first_time"),
        ({"week_start": "friday"}, "week_start", "monday, sunday"),
        ({"breakdown": "shoe_size"}, "breakdown", "available: signup_channel"),
    ],
)
def test_bad_input_is_refused_with_the_allowed_values(
    shop: tuple[Hub, pd.DataFrame], update: dict[str, object], field: str, text: str
) -> None:
    hub, _ = shop
    with pytest.raises(InvalidInput) as info:
        retention(hub.warehouse, timezone=TZ, query=RetentionQuery(date_to=DATE_TO, **update))
    assert info.value.field == field
    assert text in info.value.message


def test_segment_restricts_cohorts_to_its_members(shop: tuple[Hub, pd.DataFrame]) -> None:
    from userops.jobs import ops
    from userops.ledger import unit_of_work
    from userops.segments import service as segments
    from userops.tags import service as tags

    hub, ref = shop
    known = sorted(p for p in set(ref.person) if not p.startswith("anon:"))
    chosen = known[::2]
    tags.add_manual(hub.warehouse, chosen, "half", source="test")
    with unit_of_work(hub.engine) as session:
        segments.create(
            session,
            hub.warehouse,
            name="half",
            rule={"tag": "manual", "value": "half"},
            replace=True,
        )
    q = RetentionQuery(period="month", intervals=6, date_to=DATE_TO, segment="half")
    got = ops.run(hub, "analytics.retention", q.model_dump(mode="json"), lambda *_: None)
    want = reference(ref[ref.person.isin(chosen)], q)
    assert [c["counts"] for c in got["cohorts"]] == want
    everyone = reference(ref, q)
    assert 0 < sum(r[0] for r in want) < sum(r[0] for r in everyone)  # the filter did something
    with pytest.raises(Exception, match="no segment 'nope'"):
        ops.run(
            hub,
            "analytics.retention",
            {**q.model_dump(mode="json"), "segment": "nope"},
            lambda *_: None,
        )
