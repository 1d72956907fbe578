"""Tracking API benchmark: `userops serve` on loopback against a load generator in other processes.

    python bench/ingest.py [--seconds 10] [--batch 500] [--senders 2] [--rate 1000]
        [--track-seconds 10] [--profile] [--markdown results.md]

Phases, in one run, each bounded in time:
1. batch: ``--senders`` processes post ``/v1/batch`` calls of ``--batch`` events (about 420 bytes
   each, unique messageIds) back to back on keep-alive connections for ``--seconds``. An event
   counts when its call got 200, i.e. it is journaled and fdatasync'd (durable). Reported:
   acknowledged events/s and call latency.
2. load: the time until the warehouse holds every acknowledged event (the loader imports the
   journal behind the API: checks, dedupe by messageId, identity, orders), and the events/s of
   send + load together. Checked afterwards: warehouse events == acknowledged events.
3. track: single ``/v1/track`` calls paced at ``--rate`` per second (open loop, 8 sender threads
   in one process) for ``--track-seconds``; achieved rate and latency p50/p99 (from the scheduled
   send time, so a stalled server shows up as latency).
4. reference: the same number of events, as one Arrow table, appended straight into a fresh
   DuckDB file's ``events`` table (``INSERT INTO events SELECT * FROM arrow``) in this process.

With ``--profile`` py-spy samples the server during the batch phase; the summary lists where the
server's time goes (top functions by own samples, and by area).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

USEROPS = [sys.executable, "-m", "userops"]
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def event(worker: int, n: int, i: int) -> dict[str, Any]:
    user = (n * 7 + i) % 5000
    return {
        "type": "track",
        "event": "Product Viewed",
        "userId": f"u{user}",
        "anonymousId": f"anon-{worker}-{user}",
        "messageId": f"b{worker}-{n}-{i}",
        "timestamp": "2026-01-01T08:00:00.000Z",
        "properties": {"product_id": f"sku-{i % 300}", "price": 59.9, "category": "tea"},
        "context": {
            "library": {"name": "analytics-python", "version": "2.4.0"},
            "page": {"path": "/p/sku", "url": "https://shop.example.com/p/sku"},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger",
            "campaign": {"source": "douyin", "medium": "social"},
        },
    }


def batch_sender(port: int, auth: str, worker: int, size: int, seconds: float, out: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    acked = 0
    latencies: list[float] = []
    errors: Counter[int] = Counter()
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        body = orjson.dumps(
            {"batch": [event(worker, n, i) for i in range(size)], "sentAt": "2026-01-01T08:00:01Z"}
        )
        start = time.perf_counter()
        conn.request("POST", "/v1/batch", body, headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        if response.status == 200:
            acked += size
        else:
            errors[response.status] += 1
    conn.close()
    out.put({"acked": acked, "latencies": latencies, "errors": dict(errors)})


def track_sender(port: int, auth: str, rate: float, seconds: float, out: Any) -> None:
    threads = 8
    results: list[tuple[float, int]] = []
    lock = threading.Lock()

    def run(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": auth, "Content-Type": "application/json"}
        interval = threads / rate
        start = time.perf_counter() + t * (1 / rate)
        k = 0
        mine: list[tuple[float, int]] = []
        while True:
            scheduled = start + k * interval
            if scheduled - start > seconds:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body = orjson.dumps(event(100 + t, k, 0) | {"messageId": f"t{t}-{k}"})
            conn.request("POST", "/v1/track", body, headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - scheduled, response.status))
            k += 1
        conn.close()
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put({"results": results, "elapsed": time.perf_counter() - began})


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def warehouse_events(data_dir: Path) -> int:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return int(con.execute("SELECT count(DISTINCT message_id) FROM events").fetchone()[0])
    finally:
        con.close()


def reference(n: int, size: int) -> float:
    """Seconds to append ``n`` of the same events to a fresh DuckDB ``events`` table via Arrow."""
    from userops.warehouse.tables import create_statements

    received = datetime.now(UTC)
    rows = [event(0, k // size, k % size) for k in range(n)]
    table = pa.table(
        {
            "message_id": [r["messageId"] for r in rows],
            "type": [r["type"] for r in rows],
            "event": [r["event"] for r in rows],
            "user_id": [r["userId"] for r in rows],
            "anonymous_id": [r["anonymousId"] for r in rows],
            "timestamp": pa.array([received] * n, pa.timestamp("us", tz="UTC")),
            "received_at": pa.array([received] * n, pa.timestamp("us", tz="UTC")),
            "properties": [orjson.dumps(r["properties"]).decode() for r in rows],
            "context": [orjson.dumps(r["context"]).decode() for r in rows],
            "traits": pa.nulls(n, pa.string()),
            "previous_id": pa.nulls(n, pa.string()),
            "name": pa.nulls(n, pa.string()),
        }
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-ref-"))
    try:
        start = time.perf_counter()
        con = duckdb.connect(str(workdir / "ref.duckdb"))
        for statement in create_statements():
            con.execute(statement)
        con.register("arrow_events", table)
        con.execute("INSERT INTO events SELECT * FROM arrow_events")
        con.close()
        return time.perf_counter() - start
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


AREAS = [
    ("journal write + fdatasync (group commit thread)", ("tracking/journal.py",)),
    ("loader: DuckDB staging, checks, insert", ("ingest/service.py", "ingest/staging.py")),
    ("loader: ledger (identity, profiles)", ("customers/", "sqlalchemy")),
    ("event checks + journal lines (rules.py)", ("tracking/rules.py",)),
    ("body read, gunzip, JSON parse (router)", ("_body (",)),
    ("tracker: dedupe window, stats, live ring", ("tracking/service.py", "tracking/live.py")),
    ("router: key cache, response", ("routers/tracking.py",)),
    ("ASGI: FastAPI/Starlette (routing, middleware)", ("starlette/", "fastapi/")),
    ("HTTP: uvicorn + httptools protocol", ("uvicorn/", "httptools")),
    ("event loop (uvloop/asyncio)", ("asyncio/", "uvloop")),
]


def summarise_profile(path: Path, top: int = 12) -> list[str]:
    """py-spy raw output (collapsed stacks) → share of samples by area (the innermost frame of a
    known component decides) and the top functions by own samples."""
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        own[frames[-1]] += samples
        area = "other (interpreter, GC, threading)"
        for frame in reversed(frames):
            found = next(
                (name for name, needles in AREAS if any(n in frame for n in needles)), None
            )
            if found:
                area = found
                break
        areas[area] += samples
    lines = [f"samples: {total} (active threads only)", "by area:"]
    lines += [f"  {share(n, total)}  {name}" for name, n in areas.most_common()]
    lines.append(f"top {top} functions by own samples:")
    lines += [f"  {share(n, total)}  {frame}" for frame, n in own.most_common(top)]
    return lines


def share(n: int, total: int) -> str:
    return f"{100 * n / max(total, 1):5.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--track-seconds", type=float, default=10)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    data_dir = workdir / "data"
    env = {
        **os.environ,
        "USEROPS_ADMIN_PASSWORD": "bench-password-1",
        "USEROPS_TRACKING_RATE_LIMIT": "0",
    }
    created = subprocess.run(
        [*USEROPS, "keys", "create", "--scope", "write", "--json", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    key = json.loads(created.stdout)["key"]
    auth = "Basic " + b64encode(f"{key}:".encode()).decode()
    port = free_port()
    server = subprocess.Popen(
        [*USEROPS, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    report: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)

        ctx = mp.get_context("spawn")
        out = ctx.Queue()

        def record(seconds: float, path: Path) -> subprocess.Popen[str] | None:
            if not args.profile:
                return None
            spy = subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--duration",
                    str(max(1, int(seconds))),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(1.0)
            return spy

        profiler = record(args.seconds, workdir / "profile-batch.txt")
        senders = [
            ctx.Process(target=batch_sender, args=(port, auth, w, args.batch, args.seconds, out))
            for w in range(args.senders)
        ]
        began = time.perf_counter()
        for p in senders:
            p.start()
        parts = [out.get() for _ in senders]
        sent_s = time.perf_counter() - began
        for p in senders:
            p.join()
        acked = sum(p["acked"] for p in parts)
        lat = [x for p in parts for x in p["latencies"]]
        errors = Counter()
        for p in parts:
            errors.update(p["errors"])
        # load: wait until the warehouse holds everything (the tracking-load operation runs in
        # the server and returns after the loader drained the journal)
        from userops.cli.dispatch import run as dispatch
        from userops.config import Settings

        settings = Settings(data_dir=data_dir)
        status = dispatch(settings, "tracking-load", {}, lambda *_: None)
        loaded_s = time.perf_counter() - began
        if profiler is not None:
            profiler.wait(timeout=120)
        report["batch"] = {
            "events_acked": acked,
            "seconds": sent_s,
            "acked_events_per_s": acked / sent_s,
            "calls": len(lat),
            "call_p50_ms": pct(lat, 0.5) * 1e3,
            "call_p99_ms": pct(lat, 0.99) * 1e3,
            "errors": dict(errors),
            "send_plus_load_seconds": loaded_s,
            "end_to_end_loaded_events_per_s": acked / loaded_s,
            "journal_syncs": status.get("journal_syncs"),
        }

        profiler = record(args.track_seconds, workdir / "profile-track.txt")
        track = ctx.Process(
            target=track_sender, args=(port, auth, args.rate, args.track_seconds, out)
        )
        track.start()
        result = out.get()
        track.join()
        if profiler is not None:
            profiler.wait(timeout=120)
        lat_t = [x for x, s in result["results"] if s == 200]
        report["track"] = {
            "target_per_s": args.rate,
            "achieved_per_s": len(result["results"]) / result["elapsed"],
            "ok": len(lat_t),
            "not_ok": len(result["results"]) - len(lat_t),
            "p50_ms": pct(lat_t, 0.5) * 1e3,
            "p99_ms": pct(lat_t, 0.99) * 1e3,
            "max_ms": max(lat_t) * 1e3 if lat_t else float("nan"),
            "mean_ms": statistics.fmean(lat_t) * 1e3 if lat_t else float("nan"),
        }
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=120)
    stored = warehouse_events(data_dir)
    expected = report["batch"]["events_acked"] + report["track"]["ok"]
    report["stored_events"] = stored
    report["stored_matches_acked"] = stored == expected
    ref_n = report["batch"]["events_acked"]
    ref_s = reference(ref_n, args.batch)
    report["reference"] = {"events": ref_n, "seconds": ref_s, "events_per_s": ref_n / ref_s}
    report["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    b, t, r = report["batch"], report["track"], report["reference"]
    table = [
        "| measure | userops | reference / target |",
        "|---|---|---|",
        f"| /v1/batch acknowledged (durable) events/s | {b['acked_events_per_s']:,.0f} | "
        f"target 50,000 |",
        f"| batch call latency p50 / p99 ({args.batch} events) | {b['call_p50_ms']:.1f} / "
        f"{b['call_p99_ms']:.1f} ms | |",
        f"| send + load into the warehouse, events/s | {b['end_to_end_loaded_events_per_s']:,.0f}"
        f" | DuckDB Arrow append: {r['events_per_s']:,.0f} events/s |",
        f"| ratio DuckDB Arrow append / userops acknowledged | "
        f"{r['events_per_s'] / b['acked_events_per_s']:.1f}× | |",
        f"| /v1/track single calls/s achieved | {t['achieved_per_s']:,.0f} | target 1,000 |",
        f"| /v1/track latency p50 / p99 / max | {t['p50_ms']:.1f} / {t['p99_ms']:.1f} / "
        f"{t['max_ms']:.1f} ms | target p99 < 20 ms |",
        f"| warehouse events == acknowledged events | {report['stored_matches_acked']} "
        f"({stored:,}) | |",
    ]
    print(json.dumps(report, indent=2, default=str))
    print("\n".join(table))
    for phase in ("batch", "track"):
        path = workdir / f"profile-{phase}.txt"
        if args.profile and path.exists():
            print(f"\nprofile of the server during the {phase} phase (py-spy, all threads):")
            print("\n".join(summarise_profile(path)))
    if args.markdown:
        args.markdown.write_text("\n".join(table) + "\n")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
