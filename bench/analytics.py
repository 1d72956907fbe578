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
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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


def load(data: Path, db: Path) -> float:
    started = time.perf_counter()
    wh = Warehouse(db, timezone=TZ)
    with wh.write() as cur:
        cur.execute(
            "INSERT INTO customers SELECT customer_id, gender, birthday, province, city, "
            "occupation, industry, income_band, interests, signup_at, signup_channel, referrer_id, "
            "timezone, NULL, false, NULL FROM read_parquet(?)",
            [str(data / "customers.parquet")],
        )
        cur.execute(
            "INSERT INTO orders SELECT order_id, customer_id, created_at, paid_at, status, "
            "amount_fen, discount_fen, coupon_codes, channel FROM read_parquet(?)",
            [str(data / "orders.parquet")],
        )
        cur.execute(
            "INSERT INTO events SELECT message_id, type, event, user_id, anonymous_id, timestamp, "
            "received_at, properties::JSON, context::JSON, traits::JSON, NULL, NULL "
            "FROM read_parquet(?)",
            [str(data / "events.parquet")],
        )
        cur.execute(
            "INSERT INTO channel_spend SELECT date, channel, spend_fen, impressions, clicks "
            "FROM read_parquet(?)",
            [str(data / "spend.parquet")],
        )
        # the importer links an anonymous id to the first user that identified with it
        cur.execute(
            "INSERT INTO identities SELECT 'anonymous_id', anonymous_id, "
            "arg_min(user_id, timestamp) FROM events WHERE type = 'identify' AND user_id IS NOT "
            "NULL AND anonymous_id IS NOT NULL GROUP BY anonymous_id"
        )
    wh.close()
    return time.perf_counter() - started


# -- hand-written SQL -------------------------------------------------------------------------

PEOPLE = """
person_events AS (
  SELECT coalesce(m.merged_into, r.raw, 'anon:' || r.anonymous_id) AS person, r.name, r.ts
  FROM (
    SELECT coalesce(iu.customer_id, e.user_id, ia.customer_id) AS raw, e.anonymous_id,
           coalesce(e.event, '$' || e.type) AS name, e.timestamp AS ts
    FROM events e
    LEFT JOIN identities iu ON iu.kind = 'user_id' AND iu.value = e.user_id
    LEFT JOIN identities ia ON ia.kind = 'anonymous_id' AND ia.value = e.anonymous_id
    WHERE e.type IN ('track', 'page', 'screen') {name_filter}
  ) r LEFT JOIN customers m ON m.customer_id = r.raw
),
person_orders AS (
  SELECT coalesce(m.merged_into, o.customer_id) AS person, o.paid_at AS ts, o.amount_fen
  FROM orders o LEFT JOIN customers m ON m.customer_id = o.customer_id
  WHERE o.status = 'paid' AND o.paid_at IS NOT NULL
)"""


def week(ts: str) -> str:
    return f"((date_diff('day', DATE '1970-01-01', ({ts} AT TIME ZONE '{TZ}')::DATE) + 3) // 7)"


def local_midnight(d: date) -> str:
    return f"TIMESTAMPTZ '{d.isoformat()} 00:00:00+08'"


def sql_retention(con: duckdb.DuckDBPyConnection) -> list[list[int]]:
    last = (DATE_TO - date(1970, 1, 1)).days
    last_week = (last + 3) // 7
    first_week = last_week - 12
    since = date(1970, 1, 1) + timedelta(days=first_week * 7 - 3)
    until = date(1970, 1, 1) + timedelta(days=(last_week + 1) * 7 - 3)
    q = f"""
    WITH {PEOPLE.format(name_filter="")},
    starts AS (
      SELECT DISTINCT customer_id AS person, {week("signup_at")} AS c FROM customers
      WHERE merged_into IS NULL AND signup_at >= {local_midnight(since)}
        AND signup_at < {local_midnight(until)}
    ),
    returns AS (
      SELECT DISTINCT person, {week("ts")} AS p FROM (
        SELECT person, ts FROM person_events UNION ALL SELECT person, ts FROM person_orders
      ) WHERE ts >= {local_midnight(since)} AND ts < {local_midnight(until)}
    )
    SELECT s.c, 0 AS k, count(*) FROM starts s GROUP BY 1
    UNION ALL
    SELECT s.c, r.p - s.c, count(*) FROM starts s JOIN returns r ON r.person = s.person
      AND r.p > s.c GROUP BY 1, 2
    """
    matrix = [[0] * (13 - i) for i in range(13)]
    for c, k, n in con.execute(q).fetchall():
        matrix[c - first_week][k] = n
    return matrix


def sql_funnel(con: duckdb.DuckDBPyConnection) -> list[int]:
    """PostHog's ordered funnel: every view in the range starts an attempt (greedy within it),
    the deepest attempt of each person counts."""
    since, until = local_midnight(FUNNEL.date_from), local_midnight(DATE_TO + timedelta(days=1))
    names = "AND coalesce(e.event, '$' || e.type) IN ('Product Viewed', 'Product Added')"
    q = f"""
    WITH {PEOPLE.format(name_filter=names)},
    r0 AS (SELECT DISTINCT person, ts AS t0 FROM person_events WHERE name = 'Product Viewed'
           AND ts >= {since} AND ts < {until}),
    r1 AS (SELECT r0.person, r0.t0, min(s.ts) AS t1 FROM r0 LEFT JOIN person_events s
           ON s.person = r0.person AND s.name = 'Product Added' AND s.ts >= r0.t0
           AND s.ts <= r0.t0 + INTERVAL 7 DAY GROUP BY ALL),
    r2 AS (SELECT r1.person, r1.t0, r1.t1, min(o.ts) AS t2 FROM r1 LEFT JOIN person_orders o
           ON o.person = r1.person AND r1.t1 IS NOT NULL AND o.ts >= r1.t1
           AND o.ts <= r1.t0 + INTERVAL 7 DAY GROUP BY ALL),
    best AS (SELECT person, max((t1 IS NOT NULL)::INT + (t2 IS NOT NULL)::INT) AS depth
             FROM r2 GROUP BY person)
    SELECT count(*), count(*) FILTER (depth >= 1), count(*) FILTER (depth >= 2) FROM best
    """
    row = con.execute(q).fetchall()[0]
    return [int(row[0]), int(row[1]), int(row[2])]


def sql_channels(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, ...]]:
    first = date(2025, 7, 1)
    end = date(2026, 1, 1)
    month = f"date_trunc('month', c.signup_at AT TIME ZONE '{TZ}')::DATE"
    q = f"""
    WITH {PEOPLE.format(name_filter="AND false")},
    cohort AS (
      SELECT c.customer_id AS person, c.signup_at AS t0,
             coalesce(c.signup_channel, '(none)') AS channel, {month} AS m
      FROM customers c WHERE c.merged_into IS NULL AND c.signup_at >= {local_midnight(first)}
        AND c.signup_at < {local_midnight(end)}
    ),
    per AS (
      SELECT k.person, k.channel, k.m, k.t0,
        coalesce(sum(o.amount_fen) FILTER (WHERE o.ts < k.t0 + INTERVAL 30 DAY), 0) AS r30,
        coalesce(sum(o.amount_fen) FILTER (WHERE o.ts < k.t0 + INTERVAL 90 DAY), 0) AS r90,
        coalesce(sum(o.amount_fen) FILTER (WHERE o.ts < k.t0 + INTERVAL 180 DAY), 0) AS r180,
        coalesce(arg_min(o.amount_fen, o.ts), 0) AS first_fen
      FROM cohort k LEFT JOIN person_orders o ON o.person = k.person AND o.ts >= k.t0
      GROUP BY ALL
    ),
    spend AS (
      SELECT channel, date_trunc('month', date)::DATE AS m, sum(spend_fen) AS spend_fen
      FROM channel_spend WHERE date >= DATE '{first}' AND date < DATE '{end}' GROUP BY ALL
    ),
    by_age AS (
      SELECT k.channel, k.m, floor((epoch(o.ts) - epoch(k.t0)) / 86400)::BIGINT AS age,
             sum(o.amount_fen) AS revenue
      FROM cohort k JOIN person_orders o ON o.person = k.person AND o.ts >= k.t0 GROUP BY ALL
    ),
    payback AS (
      SELECT a.channel, a.m, min(a.age) AS days FROM (
        SELECT *, sum(revenue) OVER (PARTITION BY channel, m ORDER BY age) AS cum FROM by_age
      ) a JOIN spend s USING (channel, m) WHERE s.spend_fen > 0 AND a.cum >= s.spend_fen
      GROUP BY ALL
    )
    SELECT p.channel, p.m, count(*) AS new, sum(first_fen), sum(r30), sum(r90), sum(r180),
           sum((r30 > 0 AND t0 + INTERVAL 30 DAY <= TIMESTAMPTZ '2026-01-01 00:00:00+08')::INT),
           sum(r90::DOUBLE * r90::DOUBLE), any_value(s.spend_fen), any_value(b.days)
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
        out[(r[0], start.isoformat())] = (r[2], r[3], *horizons, r[9] or 0, r[10])
    return out


# -- userops ----------------------------------------------------------------------------------


def ours_retention(wh: Warehouse) -> list[list[int]]:
    result = analytics.retention(wh, timezone=TZ, query=RETENTION)
    return [c.counts for c in result.cohorts]


def ours_funnel(wh: Warehouse) -> list[int]:
    return [s.people for s in analytics.funnel(wh, timezone=TZ, query=FUNNEL).steps]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=float, default=0.1)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
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
    frames = sample_frames(wh, args.sample)
    sample_events = len(frames["events"])
    cases = [
        (
            "weekly retention, 13 cohorts (signup → any)",
            ours_retention,
            sql_retention,
            pandas_retention,
        ),
        (
            "funnel: Product Viewed → Product Added → order, 7 d, deepest attempt",
            ours_funnel,
            sql_funnel,
            pandas_funnel,
        ),
        (
            "channels: 6 months × channels, signup model",
            ours_channels,
            sql_channels,
            pandas_channels,
        ),
    ]
    for name, ours, ref, pd_fn in cases:
        (t_ours, r_ours), (t_sql, r_sql), (t_pd, _) = best_of(
            [
                lambda ours=ours: ours(wh),
                lambda ref=ref: ref(con),
                lambda pd_fn=pd_fn: pd_fn(frames),
            ],
            args.repeat,
        )
        same = r_ours == r_sql
        if not same:
            failures.append(name)
            print(f"MISMATCH {name}:\n userops {r_ours}\n sql     {r_sql}", file=sys.stderr)
        rows.append((name, t_ours, t_sql, t_ours / t_sql, t_pd, same))
        print(
            f"{name}: userops {t_ours:.2f} s, SQL {t_sql:.2f} s, pandas(sample) {t_pd:.2f} s",
            file=sys.stderr,
        )
    con.close()
    wh.close()
    lines = [
        f"events: {n_events:,}; pandas sample: {sample_events:,} events "
        f"({args.sample:.0%} of customers); best of {args.repeat}",
        "",
        "| report | userops s | hand-written SQL s | ratio | pandas on sample s | same result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, a, b, ratio, p, same in rows:
        lines.append(
            f"| {name} | {a:.2f} | {b:.2f} | {ratio:.2f}× | {p:.2f} | {'yes' if same else 'NO'} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
