"""Time the analytics reports against hand-written DuckDB SQL and pandas on a 10% sample.

    python bench/analytics.py --data /tmp/shop [--workdir DIR] [--repeat 3] [--sample 0.1]
        [--markdown FILE] [--keep]

``--data`` is a directory written by ``bench/generate.py``. Its Parquet files are loaded straight
into a userops warehouse (DuckDB; the importer is not what is measured here; identities are
derived from ``identify`` events the way the importer links them). Then, for each report, in
the same process and on the same warehouse file:

- userops: the report's service function (Ibis → DuckDB, plus the Python around it);
- SQL: one hand-written DuckDB query for the same definition (person resolution included);
- pandas: the same definition in pandas on the customers whose id hash falls in a 10% sample
  (their events and orders only), after loading them into DataFrames (loading not timed).

The userops and SQL results are compared and must agree exactly (the script fails otherwise).
Best of ``--repeat`` interleaved runs is reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from userops.analytics import service as analytics
from userops.warehouse import Warehouse

TZ = "Asia/Shanghai"
DATE_TO = date(2025, 12, 31)
RETENTION = analytics.RetentionQuery(
    period="week", intervals=13, start_event="signup", return_event="any", date_to=DATE_TO
)
FUNNEL_STEPS = ("Product Viewed", "Product Added", "order")
FUNNEL = analytics.FunnelQuery(
    steps=[analytics.parse_step(s) for s in FUNNEL_STEPS],
    window_seconds=7 * 86400,
    date_from=date(2025, 12, 1),
    date_to=DATE_TO,
)
CHANNELS = analytics.ChannelsQuery(model="signup", period="month", intervals=6, date_to=DATE_TO)
AARRR = analytics.AarrrQuery(period="week", intervals=8, date_to=DATE_TO)


def load(data: Path, db: Path) -> float:
    """Fill a fresh warehouse from the Parquet shop (through its spool: bench/loadshop.py)."""
    from loadshop import load as load_shop

    started = time.perf_counter()
    wh = Warehouse(db, timezone=TZ)
    load_shop(wh, data)
    wh.close()
    return time.perf_counter() - started


# -- hand-written SQL -------------------------------------------------------------------------
#
# The references are the fastest SQL we could write for the same definitions (docs/analytics.md):
# whose event it is is decided on a pre-aggregate (one row per raw key — the user_id, or the
# anonymous_id of a message without one — and per period or day), not per event; filters on
# type, name and time go into the scan; cohorts are semi-joined before anything is joined to
# them; the funnel's "first step-k event at or after step k-1" is an ASOF join.

BEHAVIOUR = "type IN ('track', 'page', 'screen')"
KEY = "coalesce('u' || user_id, 'a' || anonymous_id)"


def resolve(keys: str) -> str:
    """``keys`` (a relation with ``key``, built with KEY) → (key, person): the alias map or the
    user id itself; without a user id, the anonymous id's customer, else ``anon:<id>``; then
    merges. The same rules as userops.customers.queries.person_of_event (keep_anonymous)."""
    return f"""(
      SELECT r.key, coalesce(s.merged_into, r.raw, 'anon:' || r.anon) AS person FROM (
        SELECT k.key, k.anon, coalesce(u.customer_id, k.user_id, a.customer_id) AS raw FROM (
          SELECT key, CASE WHEN key[1] = 'u' THEN key[2:] END AS user_id,
                 CASE WHEN key[1] = 'a' THEN key[2:] END AS anon
          FROM (SELECT DISTINCT key FROM {keys})
        ) k
        LEFT JOIN identities u ON u.kind = 'user_id' AND u.value = k.user_id
        LEFT JOIN identities a ON a.kind = 'anonymous_id' AND a.value = k.anon
      ) r LEFT JOIN customers s ON s.customer_id = r.raw
    )"""


def paid(since: str, until: str = "TIMESTAMPTZ 'infinity'") -> str:
    """(person, ts, amount_fen) of paid orders in [since, until), merged ids folded."""
    return f"""(
      SELECT coalesce(s.merged_into, o.customer_id) AS person, o.paid_at AS ts, o.amount_fen
      FROM orders o LEFT JOIN customers s ON s.customer_id = o.customer_id
      WHERE o.status = 'paid' AND o.paid_at >= {since} AND o.paid_at < {until}
    )"""


def week(ts: str) -> str:
    return f"((date_diff('day', DATE '1970-01-01', timezone('{TZ}', {ts})::DATE) + 3) // 7)"


def local_midnight(d: date) -> str:
    return f"TIMESTAMPTZ '{d.isoformat()} 00:00:00+08'"


def weeks_window(last_day: date, intervals: int) -> tuple[int, int, date, date]:
    last_week = ((last_day - date(1970, 1, 1)).days + 3) // 7
    first_week = last_week - intervals + 1
    since = date(1970, 1, 1) + timedelta(days=first_week * 7 - 3)
    until = date(1970, 1, 1) + timedelta(days=(last_week + 1) * 7 - 3)
    return first_week, last_week, since, until


def sql_retention(con: duckdb.DuckDBPyConnection) -> list[list[int]]:
    first_week, _, since_d, until_d = weeks_window(DATE_TO, 13)
    since, until = local_midnight(since_d), local_midnight(until_d)
    q = f"""
    WITH starts AS (
      SELECT customer_id AS person, {week("signup_at")} AS c FROM customers
      WHERE merged_into IS NULL AND signup_at >= {since} AND signup_at < {until}
    ),
    ev_weeks AS (  -- one row per raw key and week, not per event
      SELECT DISTINCT {KEY} AS key, {week('"timestamp"')} AS p FROM events
      WHERE {BEHAVIOUR} AND "timestamp" >= {since} AND "timestamp" < {until}
    ),
    returns AS (
      SELECT DISTINCT m.person, e.p FROM ev_weeks e JOIN {resolve("ev_weeks")} m USING (key)
      UNION
      SELECT DISTINCT person, {week("ts")} FROM {paid(since, until)}
    )
    SELECT c, 0 AS k, count(*) FROM starts GROUP BY 1
    UNION ALL
    SELECT s.c, r.p - s.c, count(*) FROM starts s JOIN returns r ON r.person = s.person
      AND r.p > s.c GROUP BY 1, 2
    """
    matrix = [[0] * (13 - i) for i in range(13)]
    for c, k, n in con.execute(q).fetchall():
        matrix[c - first_week][k] = n
    return matrix


def sql_funnel(con: duckdb.DuckDBPyConnection) -> list[tuple[int, float | None, float | None]]:
    """PostHog's ordered funnel: every view in the range starts an attempt whose step k is the
    first step-k event at or after step k-1 (an ASOF join) within 7 days of the start; the
    deepest attempt of each person counts (then the first to get there, then the latest
    start). Per step: people, and the median and mean seconds from the previous step."""
    since, until = local_midnight(FUNNEL.date_from), local_midnight(DATE_TO + timedelta(days=1))
    q = f"""
    WITH ev AS (
      SELECT {KEY} AS key, event AS name, "timestamp" AS ts FROM events
      WHERE {BEHAVIOUR} AND event IN ('Product Viewed', 'Product Added')
        AND "timestamp" >= {since} AND "timestamp" <= {until} + INTERVAL 7 DAY
    ),
    pe AS (SELECT m.person, ev.name, ev.ts FROM ev JOIN {resolve("ev")} m USING (key)),
    r0 AS (SELECT DISTINCT person, ts AS t0 FROM pe
           WHERE name = 'Product Viewed' AND ts < {until}),
    s1 AS (SELECT person, ts FROM pe WHERE name = 'Product Added'),
    s2 AS (SELECT person, ts FROM {paid(since, f"{until} + INTERVAL 8 DAY")}),
    r1 AS (SELECT r0.person, r0.t0,
                  CASE WHEN s1.ts <= r0.t0 + INTERVAL 7 DAY THEN s1.ts END AS t1
           FROM r0 ASOF LEFT JOIN s1 ON s1.person = r0.person AND s1.ts >= r0.t0),
    r2 AS (SELECT r1.person, r1.t0, r1.t1,
                  CASE WHEN s2.ts <= r1.t0 + INTERVAL 7 DAY THEN s2.ts END AS t2
           FROM r1 ASOF LEFT JOIN s2 ON s2.person = r1.person AND s2.ts >= r1.t1),
    best AS (
      SELECT * FROM r2 QUALIFY row_number() OVER (
        PARTITION BY person ORDER BY (t1 IS NOT NULL)::INT + (t2 IS NOT NULL)::INT DESC,
        coalesce(t2, t1, t0), t0 DESC) = 1
    )
    SELECT count(t0), count(t1), count(t2),
           median(epoch(t1) - epoch(t0)), avg(epoch(t1) - epoch(t0)),
           median(epoch(t2) - epoch(t1)), avg(epoch(t2) - epoch(t1))
    FROM best
    """
    r = con.execute(q).fetchall()[0]
    return [
        (int(r[0]), None, None),
        (int(r[1]), r[3], None if r[4] is None else round(r[4], 3)),
        (int(r[2]), r[5], None if r[6] is None else round(r[6], 3)),
    ]


def sql_channels(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, ...]]:
    first = date(2025, 7, 1)
    end = date(2026, 1, 1)
    month = f"date_trunc('month', timezone('{TZ}', c.signup_at))::DATE"
    q = f"""
    WITH cohort AS (
      SELECT c.customer_id AS person, c.signup_at AS t0,
             coalesce(c.signup_channel, '(none)') AS channel, {month} AS m
      FROM customers c WHERE c.merged_into IS NULL AND c.signup_at >= {local_midnight(first)}
        AND c.signup_at < {local_midnight(end)}
    ),
    co AS (  -- the cohort's paid orders since their signup: orders before the cohort's first
             -- day cannot count, so they are not read
      SELECT k.person, k.channel, k.m, k.t0, o.ts, o.amount_fen
      FROM cohort k JOIN {paid(local_midnight(first))} o ON o.person = k.person AND o.ts >= k.t0
    ),
    per AS (
      SELECT k.person, k.channel, k.m, k.t0,
        coalesce(sum(co.amount_fen) FILTER (WHERE co.ts < k.t0 + INTERVAL 30 DAY), 0) AS r30,
        coalesce(sum(co.amount_fen) FILTER (WHERE co.ts < k.t0 + INTERVAL 90 DAY), 0) AS r90,
        coalesce(sum(co.amount_fen) FILTER (WHERE co.ts < k.t0 + INTERVAL 180 DAY), 0) AS r180,
        coalesce(arg_min(co.amount_fen, co.ts), 0) AS first_fen
      FROM cohort k LEFT JOIN co USING (person) GROUP BY ALL
    ),
    spend AS (
      SELECT channel, date_trunc('month', date)::DATE AS m, sum(spend_fen) AS spend_fen
      FROM channel_spend WHERE date >= DATE '{first}' AND date < DATE '{end}' GROUP BY ALL
    ),
    by_age AS (
      SELECT channel, m, floor((epoch(ts) - epoch(t0)) / 86400)::BIGINT AS age,
             sum(amount_fen) AS revenue
      FROM co GROUP BY ALL
    ),
    payback AS (
      SELECT a.channel, a.m, min(a.age) AS days FROM (
        SELECT *, sum(revenue) OVER (PARTITION BY channel, m ORDER BY age) AS cum FROM by_age
      ) a JOIN spend s USING (channel, m) WHERE s.spend_fen > 0 AND a.cum >= s.spend_fen
      GROUP BY ALL
    )
    SELECT p.channel, p.m, count(*) AS new, sum(first_fen), sum(r30), sum(r90), sum(r180),
           any_value(s.spend_fen), any_value(b.days)
    FROM per p LEFT JOIN spend s USING (channel, m) LEFT JOIN payback b USING (channel, m)
    GROUP BY ALL
    """
    out = {}
    for r in con.execute(q).fetchall():
        start: date = r[1]
        period_end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        # a horizon is shown only once the whole period's customers are that old (as userops)
        horizons = [
            v if period_end + timedelta(days=h) <= DATE_TO + timedelta(days=1) else None
            for v, h in zip(r[4:7], (30, 90, 180), strict=True)
        ]
        out[(r[0], start.isoformat())] = (r[2], r[3], *horizons, r[7] or 0, r[8])
    return out


def sql_aarrr(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """The AARRR board (weekly, 8 weeks to DATE_TO, activation = order within 7 days, invites =
    ``share``). Activity ("any": behaviour events and paid orders) is pre-aggregated once per
    raw key and shop-local day with its first and last instant: "active in [t0 + a, t0 + b)"
    (a window longer than a day) holds exactly when some day row has last >= t0 + a and
    first < t0 + b, so week-1/week-4 retention never touches single events."""
    first_week, last_week, since_d, until_d = weeks_window(DATE_TO, AARRR.intervals)
    since, until = local_midnight(since_d), local_midnight(until_d)
    next_until = local_midnight(until_d + timedelta(days=7))
    horizon = f"{until} + INTERVAL 35 DAY"
    day = "timezone('{TZ}', {ts})::DATE"
    q = f"""
    WITH cohort AS (
      SELECT customer_id AS person, signup_at AS t0, {week("signup_at")} AS c,
             coalesce(signup_channel, '(none)') AS ch, referrer_id
      FROM customers WHERE merged_into IS NULL AND signup_at >= {since} AND signup_at < {until}
    ),
    ev_days AS (
      SELECT {KEY} AS key, {day.format(TZ=TZ, ts='"timestamp"')} AS d,
             min("timestamp") AS lo, max("timestamp") AS hi,
             count(*) FILTER (WHERE event = 'share') AS shares
      FROM events WHERE {BEHAVIOUR} AND "timestamp" >= {since} AND "timestamp" < {horizon}
      GROUP BY ALL
    ),
    orders_in AS (SELECT * FROM {paid(since, horizon)}),
    act AS (
      SELECT m.person, e.d, e.lo, e.hi, e.shares FROM ev_days e JOIN {resolve("ev_days")} m
        USING (key)
      UNION ALL
      SELECT person, {day.format(TZ=TZ, ts="ts")}, min(ts), max(ts), 0 FROM orders_in
      GROUP BY ALL
    ),
    act_w AS (SELECT *, (date_diff('day', DATE '1970-01-01', d) + 3) // 7 AS w FROM act),
    cohort_act AS (SELECT k.person, k.t0, k.c, a.w, a.lo, a.hi FROM cohort k
                   JOIN act_w a USING (person)),
    reached AS (
      SELECT c,
        count(DISTINCT person) FILTER (WHERE hi >= t0 + INTERVAL 7 DAY
                                       AND lo < t0 + INTERVAL 14 DAY) AS week1,
        count(DISTINCT person) FILTER (WHERE hi >= t0 + INTERVAL 28 DAY
                                       AND lo < t0 + INTERVAL 35 DAY) AS week4,
        count(DISTINCT person) FILTER (WHERE w = c + 1 AND lo < {next_until}) AS next_period
      FROM cohort_act GROUP BY c
    ),
    activated AS (
      SELECT k.c, count(DISTINCT k.person) AS n FROM cohort k JOIN orders_in o
        ON o.person = k.person AND o.ts >= k.t0 AND o.ts < k.t0 + INTERVAL 7 DAY GROUP BY 1
    ),
    active AS (
      SELECT w AS c, count(DISTINCT person) AS n, sum(shares) AS invites FROM act_w
      WHERE d >= DATE '{since_d}' AND d < DATE '{until_d}' GROUP BY 1
    ),
    buyers AS (
      SELECT c, count(*) AS paying, count(*) FILTER (WHERE k >= 2) AS repeat,
             sum(k) AS orders, sum(gmv) AS gmv FROM (
        SELECT {week("ts")} AS c, person, count(*) AS k, sum(amount_fen) AS gmv
        FROM orders_in WHERE ts < {until} GROUP BY ALL
      ) GROUP BY c
    ),
    new AS (
      SELECT c, sum(n_ch) AS n, sum(refs) AS referred,
             map_from_entries(list((ch, n_ch))) AS by_channel FROM (
        SELECT c, ch, count(*) AS n_ch, count(referrer_id) AS refs FROM cohort GROUP BY ALL
      ) GROUP BY c
    )
    SELECT w.c, coalesce(new.n, 0), new.by_channel, coalesce(activated.n, 0),
           coalesce(reached.week1, 0), coalesce(reached.week4, 0),
           coalesce(reached.next_period, 0), coalesce(active.n, 0), coalesce(buyers.paying, 0),
           coalesce(buyers.repeat, 0), coalesce(buyers.orders, 0), coalesce(buyers.gmv, 0),
           coalesce(active.invites, 0)::BIGINT, coalesce(new.referred, 0)
    FROM range({first_week}, {last_week + 1}) w(c)
    LEFT JOIN new USING (c) LEFT JOIN activated USING (c) LEFT JOIN reached USING (c)
    LEFT JOIN active USING (c) LEFT JOIN buyers USING (c)
    ORDER BY 1
    """
    latest = con.execute(
        'SELECT greatest((SELECT max("timestamp") FROM events), (SELECT max(paid_at) FROM '
        "orders WHERE status = 'paid'), (SELECT max(signup_at) FROM customers WHERE "
        "merged_into IS NULL))"
    ).fetchall()[0][0]
    covered = latest.astimezone(ZoneInfo(TZ)).date() + timedelta(days=1)  # data before today
    return [aarrr_row(r, covered) for r in con.execute(q).fetchall()]


def aarrr_row(r: tuple[Any, ...], covered: date) -> tuple[Any, ...]:
    """The compared figures of one AARRR period, from the reference's counts."""
    c, new, by_channel, activated, w1, w4, nxt, active, paying, repeat, orders, gmv, inv = r[:13]
    referred = r[13]
    start = date(1970, 1, 1) + timedelta(days=c * 7 - 3)
    end = start + timedelta(days=7)

    def rate(n: int, age: int) -> float | None:
        if end + timedelta(days=age) > covered:
            return None
        return round(n / new, 4) if new else None

    return (
        start.isoformat(),
        new,
        dict(sorted((by_channel or {}).items(), key=lambda kv: -kv[1])),
        activated,
        rate(w1, 14),
        rate(w4, 35),
        (round(nxt / new, 4) if new else None) if end < covered else None,
        active,
        paying,
        orders,
        gmv,
        round(repeat / paying, 4) if paying else None,
        inv,
        referred,
    )


# -- userops ----------------------------------------------------------------------------------


def ours_retention(wh: Warehouse) -> list[list[int]]:
    result = analytics.retention(wh, timezone=TZ, query=RETENTION)
    return [c.counts for c in result.cohorts]


def ours_funnel(wh: Warehouse) -> list[tuple[int, float | None, float | None]]:
    return [
        (s.people, s.median_seconds_to_convert, s.average_seconds_to_convert)
        for s in analytics.funnel(wh, timezone=TZ, query=FUNNEL).steps
    ]


def ours_aarrr(wh: Warehouse) -> list[tuple[Any, ...]]:
    return [
        (
            p.start.isoformat(),
            p.new_customers,
            p.new_by_channel,
            p.activated,
            p.week1_retention,
            p.week4_retention,
            p.retention_next_period,
            p.active_people,
            p.paying_customers,
            p.paid_orders,
            p.gmv_fen,
            p.repurchase_rate,
            p.invitations,
            p.accepted_invitations,
        )
        for p in analytics.aarrr(wh, timezone=TZ, query=AARRR).periods
    ]


def ours_channels(wh: Warehouse) -> dict[tuple[str, str], tuple[int, ...]]:
    result = analytics.channels(wh, timezone=TZ, query=CHANNELS)
    out = {}
    for p in result.periods:
        out[(p.channel, p.start.isoformat())] = (
            p.new_customers,
            p.first_order_revenue_fen,
            *(p.revenue_fen[h] for h in ("30d", "90d", "180d")),
            p.spend_fen,
            p.payback_days,
        )
    return out


# -- pandas on a sample -------------------------------------------------------------------------


def sample_frames(wh: Warehouse, share: float) -> dict[str, pd.DataFrame]:
    cur = wh.cursor()
    keep = f"hash(customer_id) % 1000 < {int(share * 1000)}"
    frames = {
        "customers": cur.execute(
            f"SELECT customer_id, signup_at, signup_channel FROM customers WHERE {keep}"
        ).df(),
        "orders": cur.execute(
            f"SELECT customer_id, paid_at, amount_fen FROM orders WHERE status = 'paid' AND {keep}"
        ).df(),
        "events": cur.execute(
            "SELECT coalesce(e.user_id, i.customer_id) AS customer_id, e.event, e.timestamp "
            "FROM events e LEFT JOIN identities i ON i.kind = 'anonymous_id' AND i.value = "
            "e.anonymous_id WHERE e.type IN ('track', 'page') AND "
            f"hash(coalesce(e.user_id, i.customer_id)) % 1000 < {int(share * 1000)}"
        ).df(),
        "spend": cur.execute("SELECT * FROM channel_spend").df(),
    }
    cur.close()
    return frames


def local(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(TZ).dt.tz_localize(None)


def pandas_retention(f: dict[str, pd.DataFrame]) -> list[list[int]]:
    weeks = pd.Period(DATE_TO, "W-SUN")
    cohorts = [weeks - (12 - i) for i in range(13)]
    c = f["customers"].assign(w=local(f["customers"].signup_at).dt.to_period("W-SUN"))
    act = pd.concat(
        [
            f["events"][["customer_id", "timestamp"]],
            f["orders"].rename(columns={"paid_at": "timestamp"})[["customer_id", "timestamp"]],
        ]
    )
    act = act.assign(w=local(act.timestamp).dt.to_period("W-SUN"))[["customer_id", "w"]]
    act = act.drop_duplicates()
    c = c[c.w.isin(cohorts)]
    j = c[["customer_id", "w"]].merge(act, on="customer_id", suffixes=("", "_r"))
    j = j[j.w_r > j.w]
    j["k"] = (j.w_r - j.w).apply(lambda d: d.n)
    counts = j.groupby(["w", "k"]).size()
    sizes = c.groupby("w").size()
    return [
        [int(sizes.get(p, 0))] + [int(counts.get((p, k), 0)) for k in range(1, 13 - i)]
        for i, p in enumerate(cohorts)
    ]


def pandas_funnel(f: dict[str, pd.DataFrame]) -> list[int]:
    ev = f["events"]
    since = pd.Timestamp(FUNNEL.date_from, tz=TZ)
    until = pd.Timestamp(DATE_TO + timedelta(days=1), tz=TZ)
    s0 = ev[(ev.event == "Product Viewed") & (ev.timestamp >= since) & (ev.timestamp < until)]
    r = s0[["customer_id", "timestamp"]].drop_duplicates().rename(columns={"timestamp": "t0"})
    window = pd.Timedelta(days=7)
    s1 = ev[ev.event == "Product Added"][["customer_id", "timestamp"]]
    j = r.merge(s1, on="customer_id")
    j = j[(j.timestamp >= j.t0) & (j.timestamp <= j.t0 + window)]
    first1 = j.groupby(["customer_id", "t0"]).timestamp.min().rename("t1").reset_index()
    r = r.merge(first1, on=["customer_id", "t0"], how="left")
    s2 = f["orders"].rename(columns={"paid_at": "timestamp"})[["customer_id", "timestamp"]]
    j = r[r.t1.notna()].merge(s2, on="customer_id")
    j = j[(j.timestamp >= j.t1) & (j.timestamp <= j.t0 + window)]
    first2 = j.groupby(["customer_id", "t0"]).timestamp.min().rename("t2").reset_index()
    r = r.merge(first2, on=["customer_id", "t0"], how="left")
    depth = (r.t1.notna().astype(int) + r.t2.notna().astype(int)).groupby(r.customer_id).max()
    return [len(depth), int((depth >= 1).sum()), int((depth >= 2).sum())]


def pandas_channels(f: dict[str, pd.DataFrame]) -> int:
    c = f["customers"]
    c = c[
        (c.signup_at >= pd.Timestamp("2025-07-01", tz=TZ))
        & (c.signup_at < pd.Timestamp("2026-01-01", tz=TZ))
    ]
    c = c.assign(m=local(c.signup_at).dt.to_period("M"))
    o = f["orders"].merge(c, on="customer_id")
    o = o[o.paid_at >= o.signup_at]
    age = o.paid_at - o.signup_at
    for h in (30, 90, 180):
        o[f"r{h}"] = o.amount_fen.where(age < pd.Timedelta(days=h), 0)
    per = o.groupby(["signup_channel", "m"])[["r30", "r90", "r180"]].sum()
    new = c.groupby(["signup_channel", "m"]).size().rename("new")
    s = f["spend"].assign(m=pd.to_datetime(f["spend"].date).dt.to_period("M"))
    spend = s.groupby(["channel", "m"]).spend_fen.sum()
    spend.index.names = ["signup_channel", "m"]
    table = per.join(new, how="outer").join(spend, how="left")
    o = o.assign(day=(age / pd.Timedelta(days=1)).astype(int))
    cum = o.groupby(["signup_channel", "m", "day"]).amount_fen.sum().groupby(level=[0, 1]).cumsum()
    hit = cum.to_frame("cum").join(spend, on=["signup_channel", "m"])
    payback = hit[hit.cum >= hit.spend_fen].reset_index().groupby(["signup_channel", "m"]).day.min()
    return len(table.join(payback, how="left"))


# -- driver -------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def best_of(fns: list[Callable[[], Any]], repeat: int) -> list[tuple[float, Any]]:
    """Best time of each function, the runs interleaved (a, b, c, a, b, c, …) so that load
    changes on a shared machine hit every side alike."""
    times: list[list[float]] = [[] for _ in fns]
    results: list[Any] = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t, results[i] = timed(fn)
            times[i].append(t)
    return [(min(ts), r) for ts, r in zip(times, results, strict=True)]


def close_enough(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 relative (a mean's last digit may depend on summation order)."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close_enough(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close_enough(a[k], b[k]) for k in a)
    return bool(a == b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a bench/generate.py shop to load")
    parser.add_argument(
        "--data-dir", type=Path, help="a userops data dir filled by `userops import` instead"
    )
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=float, default=0.1)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--only", help="comma-separated: retention,funnel,channels,aarrr")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.data_dir:
        work = args.data_dir
        db = work / "warehouse.duckdb"
    else:
        if args.data is None:
            parser.error("give --data (a Parquet shop) or --data-dir (an imported data dir)")
        work = args.workdir or Path(tempfile.mkdtemp(prefix="userops-bench-analytics-"))
        work.mkdir(parents=True, exist_ok=True)
        db = work / "warehouse.duckdb"
        if not db.exists():
            print(f"loading {args.data} into {db} …", file=sys.stderr)
            print(f"loaded in {load(args.data, db):.1f} s", file=sys.stderr)
    wh = Warehouse(db, timezone=TZ)
    n_events = wh.count("events")
    con = wh.cursor()
    rows = []
    failures = []
    frames = None if args.skip_pandas else sample_frames(wh, args.sample)
    sample_events = len(frames["events"]) if frames is not None else 0
    cases = [
        (
            "retention",
            "weekly retention, 13 cohorts (signup → any)",
            ours_retention,
            sql_retention,
            pandas_retention,
        ),
        (
            "funnel",
            "funnel: Product Viewed → Product Added → order, 7 d, deepest attempt",
            ours_funnel,
            sql_funnel,
            pandas_funnel,
        ),
        (
            "channels",
            "channels: 6 months × channels, signup model",
            ours_channels,
            sql_channels,
            pandas_channels,
        ),
        (
            "aarrr",
            "AARRR: 8 weeks (activation = order in 7 d, invites = share)",
            ours_aarrr,
            sql_aarrr,
            None,
        ),
    ]
    only = set(args.only.split(",")) if args.only else None
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    for key, name, ours, ref, pd_fn in cases:
        if only and key not in only:
            continue
        fns = [lambda ours=ours: ours(wh), lambda ref=ref: ref(con)]
        if pd_fn is not None and frames is not None:
            fns.append(lambda pd_fn=pd_fn: pd_fn(frames))
        timings = best_of(fns, args.repeat)
        (t_ours, r_ours), (t_sql, r_sql) = timings[:2]
        t_pd = timings[2][0] if len(timings) > 2 else None
        same = close_enough(r_ours, r_sql)
        if not same:
            failures.append(name)
            print(f"MISMATCH {name}:\n userops {r_ours}\n sql     {r_sql}", file=sys.stderr)
        rows.append((name, t_ours, t_sql, t_ours / t_sql, t_pd, same))
        print(f"{name}: userops {t_ours:.2f} s, SQL {t_sql:.2f} s", file=sys.stderr)
    con.close()
    wh.close()
    lines = [
        f"events: {n_events:,}; pandas sample: {sample_events:,} events "
        f"({args.sample:.0%} of customers); best of {args.repeat}; load average at end "
        f"{os.getloadavg()[0]:.1f}",
        "",
        "| report | userops s | reference SQL s | ratio | pandas on sample s | same result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, a, b, ratio, p, same in rows:
        pd_s = f"{p:.2f}" if p is not None else "—"
        lines.append(
            f"| {name} | {a:.2f} | {b:.2f} | {ratio:.2f}× | {pd_s} | {'yes' if same else 'NO'} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    if not args.keep and not args.workdir and not args.data_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
