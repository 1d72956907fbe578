"""Customer-system bench: a full tag refresh and five segment previews on a large shop, against
hand-written DuckDB SQL for the same definitions (bench/reference/tags.sql and the SQL below) and
pandas on a sample, measured in the same run. Each measurement runs in its own process so its
peak memory (max RSS) is its own.

    python bench/generate.py --out /tmp/shop            # 1M customers, 10M orders, 50M events
    python bench/tags.py --data /tmp/shop --workdir /tmp/tagbench

or, on a data dir filled by ``userops import`` (see bench/README.md):

    python bench/tags.py --workdir /work/bench-data-5 --skip-prepare

With ``--data`` the warehouse is filled straight from the Parquet files (bench/loadshop.py;
this bench measures tags and segments, not imports; bench/import.py measures those). The
reference results are checked against userops' in the same run (exit 1 if they differ).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
REFERENCE_SQL = (HERE / "reference" / "tags.sql").read_text(encoding="utf-8")

# The references resolve people the way the definitions say (docs/tags.md): an event belongs to
# the customer its user_id maps to (alias identities, else the user_id itself), or without a
# user_id to the customer its anonymous_id is linked to; then merges are followed. They do it on
# the smallest input that still answers the question: events filtered first (name, window,
# property) and counted per raw key, so the identity joins see one row per key, not per event.
KEYED_EVENTS = (
    "(SELECT coalesce(s.merged_into, r.raw) AS customer_id, r.n FROM (SELECT "
    "coalesce(u.customer_id, k.user_id, a.customer_id) AS raw, k.n FROM ({keys}) k "
    "LEFT JOIN identities u ON u.kind = 'user_id' AND u.value = k.user_id "
    "LEFT JOIN identities a ON a.kind = 'anonymous_id' AND a.value = k.anon) r "
    "LEFT JOIN customers s ON s.customer_id = r.raw WHERE r.raw IS NOT NULL)"
)
EVENT_KEYS = (
    "SELECT user_id, CASE WHEN user_id IS NULL THEN anonymous_id END AS anon, count(*) AS n "
    "FROM events WHERE {where} GROUP BY ALL"
)
# Paid orders before $t in a window, summed per customer id first, merged ids folded after.
PAID_SUMS = (
    "(SELECT coalesce(s.merged_into, o.customer_id) AS customer_id, sum(o.n) AS n, "
    "sum(o.m) AS m FROM (SELECT customer_id, count(*) AS n, sum(amount_fen) AS m FROM orders "
    "WHERE status = 'paid' AND paid_at < $t AND paid_at >= $t - INTERVAL {days} DAY "
    "GROUP BY customer_id) o LEFT JOIN customers s ON s.customer_id = o.customer_id "
    "GROUP BY 1)"
)
PEOPLE = "(SELECT customer_id FROM customers WHERE merged_into IS NULL)"

SEGMENTS: dict[str, tuple[dict[str, Any], str]] = {
    # name: (userops rule, hand-written SQL selecting customer_id; $t = as-of). Tag rules read
    # the wide customer_tag_values (one row per customer, written by the same refresh
    # transaction as the long-form customer_tags the rules are defined on, which is its UNPIVOT).
    "valuable_active": (
        {
            "all": [
                {"tag": "lifecycle", "op": "in", "value": ["active", "returning"]},
                {"rfm": "monetary_fen", "op": ">=", "value": 50000},
            ]
        },
        "SELECT customer_id FROM customer_tag_values WHERE lifecycle IN ('active', 'returning') "
        f"AND monetary_fen >= 50000 AND customer_id IN {PEOPLE}",
    ),
    "beauty_browsers": (
        {
            "events": "Product Viewed",
            "within_days": 30,
            "op": ">=",
            "value": 3,
            "where": [{"property": "category", "value": "美妆"}],
        },
        "SELECT customer_id FROM "
        + KEYED_EVENTS.format(
            keys=EVENT_KEYS.format(
                where='event = \'Product Viewed\' AND "timestamp" < $t AND "timestamp" >= '
                "$t - INTERVAL 30 DAY AND properties->>'$.category' = '美妆'"
            )
        )
        + f" WHERE customer_id IN {PEOPLE} GROUP BY customer_id HAVING sum(n) >= 3",
    ),
    "vip_gone_quiet": (
        {
            "all": [
                {"tag": "rfm_cn", "value": "important_value"},
                {"orders": "count", "within_days": 90, "op": "=", "value": 0},
            ]
        },
        "SELECT v.customer_id FROM customer_tag_values v WHERE v.rfm_cn = 'important_value' "
        f"AND v.customer_id IN {PEOPLE} AND v.customer_id NOT IN (SELECT customer_id FROM "
        f"{PAID_SUMS.format(days=90)})",
    ),
    "young_south": (
        {
            "all": [
                {"attr": "province", "op": "in", "value": ["广东省", "浙江省", "福建省"]},
                {"tag": "age_band", "op": "in", "value": ["25-29", "30-34"]},
            ]
        },
        "SELECT customer_id FROM customer_tag_values WHERE age_band IN ('25-29', '30-34') AND "
        "customer_id IN (SELECT customer_id FROM customers WHERE merged_into IS NULL AND "
        "province IN ('广东省', '浙江省', '福建省'))",
    ),
    "big_spenders_or_kol": (
        {
            "any": [
                {"tag": "value", "value": "kol"},
                {"orders": "sum_fen", "within_days": 180, "op": ">=", "value": 100000},
            ]
        },
        f"SELECT customer_id FROM customer_tag_values WHERE value = 'kol' AND customer_id IN "
        f"{PEOPLE} UNION SELECT customer_id FROM {PAID_SUMS.format(days=180)} WHERE m >= 100000 "
        f"AND customer_id IN {PEOPLE}",
    ),
}


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def literal(t: datetime) -> str:
    return f"TIMESTAMPTZ '{t.isoformat()}'"


def shop_timezone(workdir: Path) -> str:
    from userops.config import Settings

    return Settings(data_dir=workdir).timezone


def as_of_instant(workdir: Path, day: date) -> datetime:
    """What ``userops tags refresh --as-of DAY`` computes at: midnight of DAY, shop timezone."""
    from userops.core.clock import local_midnight_utc

    return local_midnight_utc(day, ZoneInfo(shop_timezone(workdir)))


def prepare(data: Path, workdir: Path) -> None:
    """A fresh userops data dir (``userops init``) whose warehouse holds the Parquet shop."""
    from loadshop import load

    from userops.config import Settings
    from userops.hub import connect

    subprocess.run(
        [sys.executable, "-m", "userops", "init", "--data-dir", str(workdir)], check=True
    )
    with connect(Settings(data_dir=workdir)) as hub:
        load(hub.warehouse, data)


def run_command(workdir: Path, day: date) -> dict[str, Any]:
    """``userops tags refresh`` as a user runs it: a subprocess, wall time, start-up included."""
    cmd = [sys.executable, "-m", "userops", "tags", "refresh", "--as-of", day.isoformat()]
    cmd += ["--backfill", "--json", "--data-dir", str(workdir)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"userops tags refresh failed:\n{proc.stderr[-3000:]}")
    doc = json.loads(proc.stdout)
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "command_s": round(seconds, 2),
        "customers": doc["customers"],
        "counts": doc["counts"],
        "peak_mb": round(child, 1),
    }


def run_query(workdir: Path, as_of: datetime) -> dict[str, Any]:
    """userops' tag query alone: the Ibis expression of tags/queries.py, compiled and run."""
    import ibis

    from userops.config import Settings
    from userops.hub import connect
    from userops.tags import queries
    from userops.tags.rules import TagSettings

    with connect(Settings(data_dir=workdir)) as hub:
        con = hub.warehouse.ibis()
        started = time.perf_counter()
        sql = ibis.to_sql(
            queries.tag_values(
                con,
                as_of,
                TagSettings(),
                con.table("ref_city_tiers"),
                timezone=hub.warehouse.timezone,
            ),
            dialect="duckdb",
        )
        compile_s = time.perf_counter() - started
        con.disconnect()
        cur = hub.warehouse.cursor(timezone="UTC")
        started = time.perf_counter()
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _tv AS {sql}")
        query_s = time.perf_counter() - started
        rows = cur.execute("SELECT count(*) FROM _tv").fetchall()[0][0]
        cur.close()
    return {
        "query_s": round(query_s, 2),
        "compile_s": round(compile_s, 3),
        "rows": int(rows),
        "peak_mb": peak_mb(),
    }


def run_reference(workdir: Path, as_of: datetime) -> dict[str, Any]:
    """The reference SQL, then a row-by-row comparison with what userops stored
    (customer_tag_values of the refresh just run, same as-of): EXCEPT ALL both ways."""
    import duckdb

    con = duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    started = time.perf_counter()
    # ages are counted on the shop-local date of the as-of instant
    from zoneinfo import ZoneInfo

    from userops.config import Settings

    local_day = as_of.astimezone(ZoneInfo(Settings(data_dir=workdir).timezone)).date()
    sql = REFERENCE_SQL.replace("$d", f"DATE {literal(local_day.isoformat())}")
    con.execute(sql.replace("$t", literal(as_of)))
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM ref_tags").fetchall()[0][0]
    stored_as_of = con.execute("SELECT DISTINCT as_of FROM customer_tag_values").fetchall()
    cols = ", ".join(
        r[0] for r in con.execute("DESCRIBE SELECT * FROM customer_tag_values").fetchall()
    )
    only_ref = con.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM ref_tags EXCEPT ALL "
        f"SELECT {cols} FROM customer_tag_values)"
    ).fetchall()[0][0]
    only_ours = con.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM customer_tag_values EXCEPT ALL "
        f"SELECT {cols} FROM ref_tags)"
    ).fetchall()[0][0]
    example = None
    if only_ref or only_ours:
        example = con.execute(
            f"(SELECT 'reference' AS side, {cols} FROM (SELECT {cols} FROM ref_tags EXCEPT ALL "
            f"SELECT {cols} FROM customer_tag_values) LIMIT 3) UNION ALL (SELECT 'userops', "
            f"{cols} FROM (SELECT {cols} FROM customer_tag_values EXCEPT ALL SELECT {cols} "
            "FROM ref_tags) LIMIT 3)"
        ).fetchall()
    return {
        "query_s": round(seconds, 2),
        "rows": int(rows),
        "stored_as_of": [str(r[0]) for r in stored_as_of],
        "only_reference": int(only_ref),
        "only_userops": int(only_ours),
        "example": [[str(v) for v in r] for r in example or []],
        "peak_mb": peak_mb(),
    }


def run_segments(workdir: Path, as_of: datetime) -> dict[str, Any]:
    """Each preview (count + the first 10 ids) by userops and by its reference, interleaved,
    median of 3 warm runs; then the full member sets are compared (not timed)."""
    from userops.config import Settings
    from userops.hub import connect
    from userops.ledger import unit_of_work
    from userops.segments import service as segments

    out: dict[str, Any] = {}

    def reference(query: str) -> tuple[int, list[str]]:
        rows = con.execute(
            f"SELECT customer_id, count(*) OVER () FROM ({query}) ORDER BY customer_id LIMIT 10"
        ).fetchall()
        return (int(rows[0][1]) if rows else 0), [r[0] for r in rows]

    with connect(Settings(data_dir=workdir)) as hub, unit_of_work(hub.engine) as session:
        # The reference runs on a cursor of the same (confined) connection: same process,
        # same cache, no file access needed.
        con = hub.warehouse.cursor(timezone="UTC")
        for name, (rule, sql) in SEGMENTS.items():
            query = sql.replace("$t", literal(as_of))

            def ours(rule: dict[str, Any] = rule) -> tuple[int, list[str]]:
                p = segments.preview(session, hub.warehouse, rule, now=as_of)
                return p.count, list(p.sample)

            ours()  # warm: a running server has compiled and cached what it needs
            reference(query)
            times: dict[str, list[float]] = {"userops": [], "sql": []}
            results: dict[str, Any] = {}
            for _ in range(3):
                for side, fn in (("userops", ours), ("sql", lambda q=query: reference(q))):
                    started = time.perf_counter()
                    results[side] = fn()
                    times[side].append(time.perf_counter() - started)
            members = segments.members_sql(session, hub.warehouse, rule, now=as_of)
            cur = hub.warehouse.cursor(timezone="UTC")
            ours_all = {r[0] for r in cur.execute(members).fetchall()}
            cur.close()
            ref_all = {r[0] for r in con.execute(query).fetchall()}
            out[name] = {
                "userops_s": round(sorted(times["userops"])[1], 3),
                "sql_s": round(sorted(times["sql"])[1], 3),
                "count": results["userops"][0],
                "sql_count": results["sql"][0],
                "same": results["userops"] == results["sql"] and ours_all == ref_all,
                "members_only_userops": len(ours_all - ref_all),
                "members_only_sql": len(ref_all - ours_all),
            }
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
            "--workdir",
            str(args.workdir),
            "--as-of",
            args.as_of,
            "--sample",
            str(args.sample),
            *(["--data", str(args.data)] if args.data else []),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a bench/generate.py shop to load (prepare)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/userops-tagbench"))
    parser.add_argument("--as-of", default="2026-01-01", help="a shop-local day")
    parser.add_argument("--sample", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-prepare", action="store_true")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    day = date.fromisoformat(args.as_of)
    if args.phase:
        as_of = as_of_instant(args.workdir, day)
        runners = {
            "prepare": lambda: (prepare(args.data, args.workdir), {"peak_mb": peak_mb()})[1],
            "command": lambda: run_command(args.workdir, day),
            "query": lambda: run_query(args.workdir, as_of),
            "reference": lambda: run_reference(args.workdir, as_of),
            "segments": lambda: run_segments(args.workdir, as_of),
            "pandas": lambda: run_pandas(args.workdir, as_of, args.sample),
        }
        print(json.dumps(runners[args.phase](), default=str))
        return 0
    if not args.skip_prepare:
        if args.data is None:
            parser.error("--data is needed unless --skip-prepare (an imported data dir)")
        started = time.perf_counter()
        phase("prepare", args)
        print(f"prepared {args.workdir} in {time.perf_counter() - started:.1f} s")
    print(f"load average at start: {os.getloadavg()}")
    runs: dict[str, list[dict[str, Any]]] = {"command": [], "query": [], "reference": []}
    for _ in range(args.repeat):  # interleaved, so load changes hit every side alike
        for name in runs:
            runs[name].append(phase(name, args))
    best = {
        name: min(r, key=lambda x: x.get("command_s", x.get("query_s"))) for name, r in runs.items()
    }
    cmd, ours, ref = best["command"], best["query"], best["reference"]
    last_ref = runs["reference"][-1]
    same = last_ref["only_reference"] == 0 and last_ref["only_userops"] == 0
    print(f"\n## Tag refresh (as of {args.as_of}, shop timezone; best of {args.repeat})\n")
    print("| measure | userops | reference SQL | ratio | peak MB (userops / ref) |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| `userops tags refresh` (the command) | {cmd['command_s']} s | {ref['query_s']} s | "
        f"{cmd['command_s'] / ref['query_s']:.2f}× | {cmd['peak_mb']:.0f} / {ref['peak_mb']:.0f} |"
    )
    print(
        f"| tag query alone (compile {ours['compile_s']} s not included) | {ours['query_s']} s | "
        f"{ref['query_s']} s | {ours['query_s'] / ref['query_s']:.2f}× | "
        f"{ours['peak_mb']:.0f} / {ref['peak_mb']:.0f} |"
    )
    print(
        f"\ncustomers tagged: {cmd['customers']:,}; reference rows {ref['rows']:,}; "
        f"row-identical to the stored customer_tag_values: {same}"
    )
    failures = 0
    if not same:
        failures += 1
        print(
            f"MISMATCH: {last_ref['only_reference']} rows only in the reference, "
            f"{last_ref['only_userops']} only in userops; e.g. {last_ref['example']}",
            file=sys.stderr,
        )
    seg = phase("segments", args)
    print("\n## Segment preview (count + 10-id sample; median of 3 warm interleaved runs)\n")
    print("| segment | customers | userops | reference SQL | ratio | same members |")
    print("|---|---:|---:|---:|---:|---|")
    for name in SEGMENTS:
        s = seg[name]
        print(
            f"| {name} | {s['count']:,} | {s['userops_s']} s | {s['sql_s']} s | "
            f"{s['userops_s'] / max(s['sql_s'], 1e-9):.2f}× | {s['same']} |"
        )
        if not s["same"]:
            failures += 1
            print(f"MISMATCH {name}: {s}", file=sys.stderr)
    print(f"\npeak memory (segments process): {seg['peak_mb']} MB")
    if not args.skip_pandas:
        pan = phase("pandas", args)
        print(
            f"\npandas, lifecycle + RFM scores on a {args.sample:.0%} sample "
            f"({pan['sample_customers']:,} customers): {pan['pandas_s']} s, "
            f"peak {pan['peak_mb']} MB"
        )
    print(f"load average at end: {os.getloadavg()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
