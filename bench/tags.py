"""Customer-system bench: a full tag refresh and five segment previews on a large shop, against
hand-written DuckDB SQL for the same definitions (bench/reference/tags.sql and the SQL below) and
pandas on a sample, measured in the same run. Each measurement runs in its own process so its
peak memory (max RSS) is its own.

    python bench/generate.py --out /tmp/shop            # 1M customers, 10M orders, 50M events
    python bench/tags.py --data /tmp/shop --workdir /tmp/tagbench

The warehouse is filled straight from the Parquet files with DuckDB (this bench measures tags
and segments, not imports; bench/import.py measures those).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REFERENCE_SQL = (HERE / "reference" / "tags.sql").read_text(encoding="utf-8")

# The same resolution of people the definitions require (docs/tags.md): events under anonymous
# ids and aliases, and orders of merged customers, count for the surviving customer.
RESOLVED_EVENTS = (
    "(SELECT coalesce(m.merged_into, r.cid) AS customer_id, r.* EXCLUDE (cid) FROM (SELECT "
    "coalesce(u.customer_id, e.user_id, a.customer_id) AS cid, e.* FROM events e LEFT JOIN "
    "identities u ON u.kind = 'user_id' AND u.value = e.user_id LEFT JOIN identities a ON "
    "a.kind = 'anonymous_id' AND a.value = e.anonymous_id WHERE e.\"timestamp\" < $t) r "
    "LEFT JOIN customers m ON m.customer_id = r.cid WHERE r.cid IS NOT NULL)"
)
PAID = (
    "(SELECT coalesce(m.merged_into, o.customer_id) AS customer_id, o.paid_at, o.amount_fen "
    "FROM orders o LEFT JOIN customers m ON m.customer_id = o.customer_id WHERE o.status = "
    "'paid' AND o.paid_at < $t)"
)

SEGMENTS: dict[str, tuple[dict[str, Any], str]] = {
    # name: (userops rule, hand-written SQL selecting customer_id; $t = as-of)
    "valuable_active": (
        {
            "all": [
                {"tag": "lifecycle", "op": "in", "value": ["active", "returning"]},
                {"rfm": "monetary_fen", "op": ">=", "value": 50000},
            ]
        },
        "SELECT customer_id FROM customers c WHERE merged_into IS NULL AND customer_id IN "
        "(SELECT customer_id FROM customer_tags WHERE family = 'lifecycle' AND value IN "
        "('active', 'returning')) AND customer_id IN (SELECT customer_id FROM "
        "customer_tag_values WHERE monetary_fen >= 50000)",
    ),
    "beauty_browsers": (
        {
            "events": "Product Viewed",
            "within_days": 30,
            "op": ">=",
            "value": 3,
            "where": [{"property": "category", "value": "美妆"}],
        },
        "SELECT customer_id FROM customers WHERE merged_into IS NULL AND customer_id IN ("
        f"SELECT customer_id FROM {RESOLVED_EVENTS} WHERE event = 'Product Viewed' AND "
        "\"timestamp\" >= $t - INTERVAL 30 DAY AND properties->>'category' = '美妆' "
        "GROUP BY customer_id HAVING count(*) >= 3)",
    ),
    "vip_gone_quiet": (
        {
            "all": [
                {"tag": "rfm_cn", "value": "important_value"},
                {"orders": "count", "within_days": 90, "op": "=", "value": 0},
            ]
        },
        "SELECT customer_id FROM customers WHERE merged_into IS NULL AND customer_id IN "
        "(SELECT customer_id FROM customer_tags WHERE family = 'rfm_cn' AND value = "
        f"'important_value') AND customer_id NOT IN (SELECT customer_id FROM {PAID} WHERE "
        "paid_at >= $t - INTERVAL 90 DAY)",
    ),
    "young_south": (
        {
            "all": [
                {"attr": "province", "op": "in", "value": ["广东省", "浙江省", "福建省"]},
                {"tag": "age_band", "op": "in", "value": ["25-29", "30-34"]},
            ]
        },
        "SELECT customer_id FROM customers WHERE merged_into IS NULL AND province IN "
        "('广东省', '浙江省', '福建省') AND customer_id IN (SELECT customer_id FROM "
        "customer_tags WHERE family = 'age_band' AND value IN ('25-29', '30-34'))",
    ),
    "big_spenders_or_kol": (
        {
            "any": [
                {"tag": "value", "value": "kol"},
                {"orders": "sum_fen", "within_days": 180, "op": ">=", "value": 100000},
            ]
        },
        "SELECT customer_id FROM customers WHERE merged_into IS NULL AND (customer_id IN "
        "(SELECT customer_id FROM customer_tags WHERE family = 'value' AND value = 'kol') OR "
        f"customer_id IN (SELECT customer_id FROM {PAID} WHERE paid_at >= $t - INTERVAL 180 DAY "
        "GROUP BY customer_id HAVING sum(amount_fen) >= 100000))",
    ),
}


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def literal(t: datetime) -> str:
    return f"TIMESTAMPTZ '{t.isoformat()}'"


def prepare(data: Path, workdir: Path) -> None:
    """A userops data dir whose warehouse holds the Parquet shop (customers mirror, orders,
    events, identities from identify calls)."""
    from userops.config import Settings
    from userops.hub import connect

    settings = Settings(data_dir=workdir)
    with connect(settings) as hub, hub.warehouse.write(timezone="UTC") as cur:
        for table in ("customers", "orders", "events", "identities", "order_items"):
            cur.execute(f"DELETE FROM {table}")
        cur.execute(
            "INSERT INTO customers SELECT customer_id, gender, birthday, province, city, "
            "occupation, industry, income_band, interests, signup_at, signup_channel, "
            "referrer_id, timezone, NULL, false, NULL FROM read_parquet(?)",
            [str(data / "customers.parquet")],
        )
        cur.execute(
            "INSERT INTO orders BY NAME SELECT * EXCLUDE (coupon_codes), coupon_codes "
            "FROM read_parquet(?)",
            [str(data / "orders.parquet")],
        )
        cur.execute(
            "INSERT INTO events BY NAME SELECT message_id, type, event, user_id, anonymous_id, "
            '"timestamp", received_at, properties::JSON AS properties, context::JSON AS '
            "context, traits::JSON AS traits FROM read_parquet(?)",
            [str(data / "events.parquet")],
        )
        cur.execute(
            "INSERT INTO identities SELECT 'anonymous_id', anonymous_id, arg_min(user_id, "
            "\"timestamp\") FROM events WHERE type = 'identify' AND anonymous_id IS NOT NULL AND "
            "user_id IS NOT NULL GROUP BY anonymous_id"
        )


def run_userops_refresh(workdir: Path, as_of: datetime) -> dict[str, Any]:
    import ibis

    from userops.config import Settings
    from userops.hub import connect
    from userops.tags import queries, service
    from userops.tags.rules import TagSettings

    with connect(Settings(data_dir=workdir)) as hub:
        con = hub.warehouse.ibis()
        sql = ibis.to_sql(
            queries.tag_values(con, as_of, TagSettings(), con.table("ref_city_tiers")),
            dialect="duckdb",
        )
        con.disconnect()
        cur = hub.warehouse.cursor(timezone="UTC")
        started = time.perf_counter()
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _tv AS {sql}")
        query_s = time.perf_counter() - started
        cur.close()
        started = time.perf_counter()
        result = service.refresh(hub.warehouse, as_of=as_of, settings=TagSettings())
        full_s = time.perf_counter() - started
    return {
        "query_s": round(query_s, 2),
        "refresh_s": round(full_s, 2),
        "customers": result.customers,
        "counts": result.counts,
        "peak_mb": peak_mb(),
    }


def run_reference(workdir: Path, as_of: datetime) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    started = time.perf_counter()
    con.execute(REFERENCE_SQL.replace("$t", literal(as_of)))
    seconds = time.perf_counter() - started
    counts: dict[str, dict[str, int]] = {}
    for family in ("lifecycle", "rfm_cn", "rfm_segment", "aov_tier", "order_frequency", "value"):
        rows = con.execute(
            f"SELECT {family}, count(*) FROM ref_tags WHERE {family} IS NOT NULL "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        counts[family] = {str(k): int(v) for k, v in rows}
    customers = con.execute("SELECT count(*) FROM ref_tags").fetchall()[0][0]
    return {
        "query_s": round(seconds, 2),
        "customers": int(customers),
        "counts": counts,
        "peak_mb": peak_mb(),
    }


def run_segments(workdir: Path, as_of: datetime) -> dict[str, Any]:
    import duckdb

    from userops.config import Settings
    from userops.hub import connect
    from userops.ledger import unit_of_work
    from userops.segments import service as segments

    out: dict[str, Any] = {}

    def median_time(fn: Any) -> tuple[float, Any]:
        fn()  # warm: a running server has compiled and cached what it needs
        times, result = [], None
        for _ in range(3):
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        return round(sorted(times)[1], 3), result

    with connect(Settings(data_dir=workdir)) as hub, unit_of_work(hub.engine) as session:
        for name, (rule, _sql) in SEGMENTS.items():
            seconds, preview = median_time(
                lambda rule=rule: segments.preview(session, hub.warehouse, rule, now=as_of)
            )
            out[name] = {"userops_s": seconds, "count": preview.count}
    con = duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    for name, (_rule, sql) in SEGMENTS.items():
        query = sql.replace("$t", literal(as_of))

        def run(query: str = query) -> int:
            rows = con.execute(
                f"SELECT customer_id, count(*) OVER () FROM ({query}) ORDER BY customer_id LIMIT 10"
            ).fetchall()
            return int(rows[0][1]) if rows else 0

        seconds, count = median_time(run)
        out[name].update(sql_s=seconds, sql_count=count)
    out["peak_mb"] = peak_mb()
    return out


def run_pandas(workdir: Path, as_of: datetime, fraction: float) -> dict[str, Any]:
    """Lifecycle and RFM in pandas on a sample of customers (with all their orders/events)."""
    import duckdb
    import numpy as np
    import pandas as pd

    con = duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    modulo = max(1, round(1 / fraction))
    sample = f"hash(customer_id) % {modulo} = 0"
    people = con.execute(f"SELECT customer_id, signup_at FROM customers WHERE {sample}").df()
    orders = con.execute(
        f"SELECT customer_id, paid_at, amount_fen FROM orders WHERE status = 'paid' AND "
        f"paid_at < {literal(as_of)} AND {sample}"
    ).df()
    events = con.execute(
        f'SELECT user_id AS customer_id, "timestamp" AS ts FROM events WHERE user_id IS NOT '
        f'NULL AND "timestamp" < {literal(as_of)} AND hash(user_id) % {modulo} = 0'
    ).df()
    t = pd.Timestamp(as_of)
    started = time.perf_counter()
    act = pd.concat([orders.rename(columns={"paid_at": "ts"})[["customer_id", "ts"]], events])
    per = act.groupby("customer_id")["ts"].agg(["min", "max"])
    recent = act[act.ts >= t - pd.Timedelta(days=30)].groupby("customer_id")["ts"].min()
    per["f"] = recent
    merged = act.merge(per["f"].rename("f_").reset_index(), on="customer_id")
    per["p"] = merged[merged.ts < merged.f_].groupby("customer_id")["ts"].max()
    base = people.set_index("customer_id").join(per)
    first_seen = base[["signup_at", "min"]].min(axis=1)
    gap = pd.Timedelta(days=90)
    returning = (base.p.notna() & (base.f - base.p >= gap)) | (
        base.p.isna() & (base.f - first_seen >= gap)
    )
    base["lifecycle"] = np.select(
        [first_seen >= t - pd.Timedelta(days=30), base["max"] >= t - pd.Timedelta(days=30)],
        [np.array("new"), np.where(returning, "returning", "active")],
        default=np.where(
            base["max"].fillna(first_seen) >= t - pd.Timedelta(days=180), "silent", "churned"
        ),
    )
    rfm = orders.groupby("customer_id").agg(
        last=("paid_at", "max"), f=("paid_at", "size"), m=("amount_fen", "sum")
    )
    rfm["r"] = ((t - rfm["last"]).dt.total_seconds() // 86400).astype(int)
    for col, reverse in (("r", True), ("f", False), ("m", False)):
        cuts = rfm[col].astype(float).quantile([0.2, 0.4, 0.6, 0.8]).to_numpy()
        above = (rfm[col].to_numpy()[:, None] > cuts[None, :]).sum(axis=1)
        rfm[f"{col}s"] = 5 - above if reverse else 1 + above
    seconds = time.perf_counter() - started
    return {"pandas_s": round(seconds, 2), "sample_customers": len(people), "peak_mb": peak_mb()}


def phase(name: str, args: argparse.Namespace) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            name,
            "--data",
            str(args.data),
            "--workdir",
            str(args.workdir),
            "--as-of",
            args.as_of,
            "--sample",
            str(args.sample),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/userops-tagbench"))
    parser.add_argument("--as-of", default="2026-01-01")
    parser.add_argument("--sample", type=float, default=0.1)
    parser.add_argument("--skip-prepare", action="store_true")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    as_of = datetime.combine(date.fromisoformat(args.as_of), datetime.min.time(), tzinfo=UTC)
    if args.phase:
        runners = {
            "prepare": lambda: (prepare(args.data, args.workdir), {"peak_mb": peak_mb()})[1],
            "userops": lambda: run_userops_refresh(args.workdir, as_of),
            "reference": lambda: run_reference(args.workdir, as_of),
            "segments": lambda: run_segments(args.workdir, as_of),
            "pandas": lambda: run_pandas(args.workdir, as_of, args.sample),
        }
        print(json.dumps(runners[args.phase](), default=str))
        return
    if not args.skip_prepare:
        started = time.perf_counter()
        phase("prepare", args)
        print(f"prepared {args.workdir} in {time.perf_counter() - started:.1f} s")
    ours = phase("userops", args)
    ref = phase("reference", args)
    same = ours["counts"] == ref["counts"] and ours["customers"] == ref["customers"]
    print("\n## Tag refresh (as of", args.as_of, ")\n")
    print("| measure | userops | hand-written DuckDB SQL | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| tag query (6 families + attributes) | {ours['query_s']} s | {ref['query_s']} s | "
        f"{ours['query_s'] / max(ref['query_s'], 1e-9):.2f}× |"
    )
    print(f"| full refresh (query + store + snapshot) | {ours['refresh_s']} s | — | — |")
    print(f"| peak memory | {ours['peak_mb']} MB | {ref['peak_mb']} MB | |")
    print(f"\ncustomers tagged: {ours['customers']:,}; counts identical to the reference: {same}")
    if not same:
        print("userops:", json.dumps(ours["counts"], ensure_ascii=False))
        print("reference:", json.dumps(ref["counts"], ensure_ascii=False))
    seg = phase("segments", args)
    print("\n## Segment preview (count + 10-id sample; median of 3 warm runs)\n")
    print("| segment | customers | userops | hand-written SQL | ratio | same count |")
    print("|---|---:|---:|---:|---:|---|")
    for name in SEGMENTS:
        s = seg[name]
        print(
            f"| {name} | {s['count']:,} | {s['userops_s']} s | {s['sql_s']} s | "
            f"{s['userops_s'] / max(s['sql_s'], 1e-9):.2f}× | {s['count'] == s['sql_count']} |"
        )
    print(f"\npeak memory (segments process): {seg['peak_mb']} MB")
    pan = phase("pandas", args)
    print(
        f"\npandas, lifecycle + RFM scores on a {args.sample:.0%} sample "
        f"({pan['sample_customers']:,} customers): {pan['pandas_s']} s, "
        f"peak {pan['peak_mb']} MB"
    )


if __name__ == "__main__":
    main()
