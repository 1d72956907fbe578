"""Recommendation bench: training time on the demo shop (the whole pipeline: warehouse reads,
ALS + co-occurrence + popularity, every list written back) and on 1,000,000 synthetic customers
(the model alone, in memory), each beside a plain reference in the same run (popularity lists in
hand-written DuckDB SQL / NumPy); and the API latency at a fixed request rate against
``userops serve``, beside the per-request DuckDB query the index replaces.

    userops demo --customers 20000 --days 365 --no-serve --data-dir /tmp/demo20k
    python bench/recommend.py --data-dir /tmp/demo20k --customers 1000000 --rate 200 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

POPULAR_SQL = """
WITH w AS (
  SELECT c.customer_id, c.province, i.sku, count(*) AS n
  FROM order_items i JOIN orders o USING (order_id)
  JOIN customers c ON c.customer_id = o.customer_id
  WHERE o.status = 'paid' GROUP BY ALL
), p AS (
  SELECT province, sku, sum(n) AS n FROM w GROUP BY ALL
), ranked AS (
  SELECT province, sku, row_number() OVER (PARTITION BY province ORDER BY n DESC, sku) AS rank
  FROM p QUALIFY rank <= 20
)
SELECT c.customer_id, r.rank, r.sku FROM customers c JOIN ranked r USING (province)
"""


def bench_demo(data_dir: Path) -> None:
    from userops.config import Settings
    from userops.hub import connect
    from userops.recommend import service as recommend

    settings = Settings(data_dir=data_dir)
    with connect(settings) as hub:
        started = time.perf_counter()
        report = recommend.train(hub.warehouse, data_dir=settings.resolved_data_dir)
        ours = time.perf_counter() - started
        cur = hub.warehouse.cursor()
        started = time.perf_counter()
        rows = cur.execute(f"CREATE OR REPLACE TEMP TABLE _pop AS {POPULAR_SQL}").fetchall()
        reference = time.perf_counter() - started
        del rows
        cur.close()
        started = time.perf_counter()
        evaluation = recommend.evaluate(hub.warehouse, data_dir=settings.resolved_data_dir)
        eval_s = time.perf_counter() - started
    print(
        f"\n## demo shop ({report.customers:,} customers, {report.items} products, "
        f"{report.interactions:,} customer×product interactions)"
    )
    print("| | seconds |\n|---|---:|")
    print(
        f"| userops `recommend train` (read, fit ALS + co-occurrence + popularity, "
        f"score and store {report.customers:,} lists) | {ours:.2f} |"
    )
    print(
        f"| reference: province popularity top-20 for every customer, hand-written DuckDB SQL "
        f"| {reference:.2f} |"
    )
    print(f"| userops `recommend evaluate` (split, fit, 5 methods) | {eval_s:.2f} |")
    print("\n| method | recall@10 | NDCG@10 |\n|---|---:|---:|")
    for m in evaluation.methods:
        print(f"| {m.method} | {m.recall_at_10:.4f} | {m.ndcg_at_10:.4f} |")
    print(
        f"\nmodel / popularity recall@10: {evaluation.model_vs_popularity:.2f}× "
        f"({evaluation.test_customers:,} test customers, split at {evaluation.split_at:%Y-%m-%d})"
    )


def bench_synthetic(n: int) -> None:
    """Interactions shaped like the demo shop: ~21 products per customer out of 300, drawn from
    1-3 interest categories (37-38 products each) by popularity."""
    import scipy.sparse as sp

    from userops.recommend.model import Recommender, Shop, batches
    from userops.recommend.schemas import RecommendSettings

    rng = np.random.default_rng(5)
    n_items, n_cat = 300, 8
    item_category = np.arange(n_items) % n_cat
    popularity = rng.pareto(1.5, n_items) + 0.1
    per_customer = rng.poisson(20, n) + 1
    rows = np.repeat(np.arange(n), per_customer)
    interest = rng.integers(0, n_cat, n)[rows]
    in_cat = rng.random(rows.size) < 0.75
    cat = np.where(in_cat, interest, rng.integers(0, n_cat, rows.size))
    # a popular product of that category
    order = np.argsort(item_category, kind="stable")
    starts = np.searchsorted(item_category[order], np.arange(n_cat))
    size = np.bincount(item_category, minlength=n_cat)
    p_cat = [popularity[order[starts[c] : starts[c] + size[c]]] for c in range(n_cat)]
    cum = [np.cumsum(p) / p.sum() for p in p_cat]
    pick = np.empty(rows.size, dtype=np.int64)
    for c in range(n_cat):  # a loop over 8 categories, not customers
        m = cat == c
        pick[m] = order[starts[c] + np.searchsorted(cum[c], rng.random(int(m.sum())))]
    weight = rng.choice([1.0, 3.0, 4.0, 8.0], rows.size, p=[0.75, 0.1, 0.05, 0.1])
    behaviour = sp.csr_matrix((weight.astype(np.float32), (rows, pick)), shape=(n, n_items))
    bought = (behaviour >= 8).astype(np.float32).tocsr()
    interests = sp.csr_matrix(
        (np.ones(n, dtype=np.float32), (np.arange(n), rng.integers(0, n_cat, n))),
        shape=(n, n_cat),
    )
    shop = Shop(
        n,
        item_category,
        n_cat,
        rng.integers(1, 32, n),
        32,
        interests,
        behaviour,
        bought,
        np.isin(item_category, [5, 2]),
    )
    started = time.perf_counter()
    model = Recommender(RecommendSettings()).fit(shop)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    for part in batches(np.arange(n)):
        model.top_k(part, "model", 20)
    score_s = time.perf_counter() - started
    started = time.perf_counter()
    counts = np.asarray(behaviour.sum(axis=0)).ravel()
    top = np.argsort(-counts)[:20]
    _lists = np.broadcast_to(top, (n, 20)).copy()
    reference = time.perf_counter() - started
    print(
        f"\n## {n:,} synthetic customers ({behaviour.nnz:,} interactions, {n_items} products), "
        "in memory"
    )
    print("| | seconds |\n|---|---:|")
    print(f"| userops fit (ALS + co-occurrence + popularity) | {fit_s:.2f} |")
    print(f"| userops top-20 for every customer (exclusions applied) | {score_s:.2f} |")
    print(f"| reference: global popularity top-20 for every customer, NumPy | {reference:.2f} |")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1] * 1000}


async def load(
    url: str, key: str, ids: list[str], rate: int, seconds: int, connections: int = 32
) -> tuple[list[float], int]:
    """Open-loop load: request i is due at i / rate seconds and goes out on a free keep-alive
    connection; latency is measured from the due time (queueing in the client counts). A
    minimal HTTP/1.1 client on asyncio streams, so the generator's own CPU use stays small."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(await asyncio.open_connection(host, int(port)))

    async def one(customer_id: str, due: float) -> None:
        nonlocal errors
        reader, writer = await free.get()
        writer.write(
            f"GET /api/v1/customers/{customer_id}/recommendations?k=10 HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - due)
        if b" 200 " not in status:
            errors += 1
        free.put_nowait((reader, writer))

    tasks = []
    start = time.perf_counter()
    for i in range(rate * seconds):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(random.choice(ids), due)))
    await asyncio.gather(*tasks)
    while not free.empty():
        _reader, writer = free.get_nowait()
        writer.close()
    return latencies, errors


def bench_api(data_dir: Path, rate: int, seconds: int, port: int) -> None:
    import duckdb
    import httpx

    userops = [sys.executable, "-m", "userops"]
    env = {**os.environ, "USEROPS_DATA_DIR": str(data_dir)}
    key = json.loads(
        subprocess.run(
            [*userops, "keys", "create", "--scope", "read", "--json"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    )["key"]
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    ids = [r[0] for r in con.execute("SELECT customer_id FROM customers").fetchall()]
    # reference: the per-request query the in-memory index replaces (same process, one thread)
    sample = random.sample(ids, 2000)
    timings = []
    for customer_id in sample:
        started = time.perf_counter()
        con.execute(
            "SELECT rank, sku, category, score, source FROM recommendations WHERE "
            "customer_id = ? ORDER BY rank LIMIT 10",
            [customer_id],
        ).fetchall()
        timings.append(time.perf_counter() - started)
    con.close()
    server = subprocess.Popen(
        [*userops, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        warm = httpx.get(
            f"{url}/api/v1/customers/{ids[0]}/recommendations",
            headers={"authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert warm.status_code == 200, warm.text
        asyncio.run(load(url, key, ids, rate, 2))  # warm-up
        latencies, errors = asyncio.run(load(url, key, ids, rate, seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
    ours = percentiles(latencies)
    ref = percentiles(timings)
    print(
        f"\n## GET /api/v1/customers/{{id}}/recommendations?k=10, {rate} requests/s for "
        f"{seconds} s ({len(latencies):,} requests, {errors} errors), `userops serve`, "
        "load generator on the same machine"
    )
    print("| | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|")
    print(
        f"| userops API (HTTP, API key check, in-memory index) | {ours['p50']:.2f} | "
        f"{ours['p95']:.2f} | {ours['p99']:.2f} | {ours['max']:.2f} |"
    )
    print(
        f"| reference: the DuckDB query per request, no HTTP, one thread, no load | "
        f"{ref['p50']:.2f} | {ref['p95']:.2f} | {ref['p99']:.2f} | {ref['max']:.2f} |"
    )
    print(f"\nmean {statistics.mean(latencies) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip", nargs="*", default=[], choices=["demo", "synthetic", "api"])
    args = parser.parse_args()
    if "demo" not in args.skip:
        bench_demo(args.data_dir)
    if "synthetic" not in args.skip:
        bench_synthetic(args.customers)
    if "api" not in args.skip:
        bench_api(args.data_dir, args.rate, args.seconds, args.port)


if __name__ == "__main__":
    main()
