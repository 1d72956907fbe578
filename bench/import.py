"""Import benchmark: `userops import` against a plain DuckDB load of the same Parquet file.

    python bench/import.py --data /tmp/shop [--entities orders,events] [--workdir /tmp/x]
        [--repeat] [--markdown results.md]

For each entity:
- userops: `userops import ENTITY FILE --json --data-dir DIR` in a subprocess, DIR a fresh data
  dir; the wall time of that one command (interpreter start-up included) and rows/s = imported /
  seconds, from its JSON summary `{"<entity>": {"imported": n, "updated": n, "rejected": n, ...}}`.
- with --repeat: the same command again into the same data dir, i.e. the idempotent re-import
  (expected imported = 0 and updated = 0), and its wall time.
- reference: a fresh DuckDB database file and `CREATE TABLE t AS SELECT * FROM read_parquet(FILE)`,
  timed from connect to close (the close writes the checkpoint), in this process.
The file is read once beforehand, so both start with it in the page cache.
The ratio is userops seconds / DuckDB seconds: how many times the plain load userops takes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

FILES: dict[str, str] = {
    "customers": "customers.parquet",
    "orders": "orders.parquet",
    "order-items": "order_items.parquet",
    "events": "events.parquet",
    "spend": "spend.parquet",
}
ALIASES = {"order_items": "order-items", "items": "order-items"}


@dataclass
class UseropsRun:
    seconds: float | None = None
    imported: int | None = None
    updated: int | None = None
    rejected: int | None = None
    duplicates: int | None = None
    customers_created: int | None = None
    rejects_file: str | None = None
    error: str | None = None
    peak_rss_mb: float | None = None

    @property
    def rows_per_s(self) -> float | None:
        if self.seconds is None or self.imported is None or self.seconds <= 0:
            return None
        return self.imported / self.seconds


@dataclass
class Result:
    entity: str
    file: Path
    rows: int
    size: int
    userops: UseropsRun | None = None
    repeat: UseropsRun | None = None
    duckdb_s: float | None = None

    @property
    def duckdb_rows_per_s(self) -> float | None:
        return self.rows / self.duckdb_s if self.duckdb_s else None

    @property
    def ratio(self) -> float | None:
        u = self.userops
        if u is None or u.error or u.seconds is None or not self.duckdb_s:
            return None
        return u.seconds / self.duckdb_s


# --------------------------------------------------------------------------------------------
# The two measurements
# --------------------------------------------------------------------------------------------


def find_cli(explicit: str | None) -> str | None:
    """The userops executable: --userops, else next to this Python, else on PATH."""
    if explicit:
        return shutil.which(explicit)
    beside = Path(sys.executable).parent / "userops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("userops")


def parse_summary(stdout: str, entity: str) -> dict[str, Any]:
    """The entity's summary from the CLI's --json output (the last JSON object printed)."""
    doc: Any = None
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        for line in reversed(stdout.strip().splitlines()):
            try:
                doc = json.loads(line)
                break
            except json.JSONDecodeError:
                continue
    if not isinstance(doc, dict):
        raise ValueError(f"no JSON object in output: {stdout[-500:]!r}")
    if "error" in doc:
        raise ValueError(f"userops error: {json.dumps(doc['error'], ensure_ascii=False)}")
    for key in (entity, entity.replace("-", "_")):
        if isinstance(doc.get(key), dict):
            return dict(doc[key])
    if len(doc) == 1 and isinstance(next(iter(doc.values())), dict):
        return dict(next(iter(doc.values())))
    raise ValueError(f"no summary for {entity!r} in {json.dumps(doc)[:500]}")


def run_userops(
    cli: str, entity: str, file: Path, data_dir: Path, timeout: float | None
) -> UseropsRun:
    if not (data_dir / "warehouse.duckdb").exists():  # `userops init`, not timed
        subprocess.run([cli, "init", "--data-dir", str(data_dir)], capture_output=True, check=True)
    cmd = [cli, "import", entity, str(file), "--json", "--data-dir", str(data_dir)]
    rss_file = data_dir / "peak-rss-kb.txt"
    if shutil.which("time") or Path("/usr/bin/time").exists():  # GNU time: the child's max RSS
        cmd = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return UseropsRun(seconds=time.perf_counter() - t0, error=f"timed out after {timeout} s")
    except OSError as exc:
        return UseropsRun(error=f"cannot run {cli}: {exc}")
    seconds = time.perf_counter() - t0
    peak = None
    if rss_file.exists():
        text = rss_file.read_text().strip().splitlines()
        peak = int(text[-1]) / 1024 if text and text[-1].isdigit() else None
        rss_file.unlink()
    try:
        summary = parse_summary(proc.stdout, entity)
    except ValueError as exc:
        tail = proc.stderr.strip().splitlines()[-5:]
        return UseropsRun(
            seconds=seconds,
            error=f"exit {proc.returncode}: {exc}" + ("\n  " + "\n  ".join(tail) if tail else ""),
        )
    if proc.returncode != 0:
        return UseropsRun(seconds=seconds, error=f"exit {proc.returncode}: {proc.stderr[-500:]}")

    def count(key: str) -> int | None:
        value = summary.get(key)
        return int(value) if isinstance(value, int | float) else None

    return UseropsRun(
        seconds=seconds,
        imported=count("imported"),
        updated=count("updated"),
        rejected=count("rejected"),
        duplicates=count("duplicates"),
        customers_created=count("customers_created"),
        rejects_file=summary.get("rejects_file"),
        peak_rss_mb=peak,
    )


def run_duckdb(file: Path, db_path: Path, threads: int | None) -> float:
    """Seconds for a plain DuckDB load of the file into a fresh database file."""
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    literal = "'" + str(file).replace("'", "''") + "'"
    t0 = time.perf_counter()
    con = duckdb.connect(str(db_path))
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet({literal})")
    con.close()
    return time.perf_counter() - t0


def warm_cache(file: Path) -> None:
    """Read the file once, so both measurements start with it in the page cache."""
    with file.open("rb") as handle:
        while handle.read(16 << 20):
            pass


def cli_startup(cli: str) -> float | None:
    """Wall seconds of `userops --help`: the fixed start-up cost inside every userops figure."""
    t0 = time.perf_counter()
    proc = subprocess.run([cli, "--help"], capture_output=True, check=False)
    return time.perf_counter() - t0 if proc.returncode == 0 else None


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def fmt_s(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def fmt_rate(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def fmt_int(x: int | None) -> str:
    return "—" if x is None else f"{x:,}"


def markdown(results: list[Result], repeat: bool, userops_state: str) -> str:
    head = ["entity", "rows", "userops s", "userops rows/s", "duckdb s", "duckdb rows/s", "ratio"]
    if repeat:
        head += ["re-import s", "re-import imported/updated"]
    head += ["imported", "rejected", "peak RSS MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for r in results:
        u = r.userops
        if u is None or u.error:
            u_cells = [userops_state if u is None else "failed"] * 2
            imported, rejected = userops_state if u is None else "failed", "—"
        else:
            u_cells = [fmt_s(u.seconds), fmt_rate(u.rows_per_s)]
            imported, rejected = fmt_int(u.imported), fmt_int(u.rejected)
        ratio = "—" if r.ratio is None else f"{r.ratio:.1f}×"
        row = [
            r.entity,
            f"{r.rows:,}",
            *u_cells,
            fmt_s(r.duckdb_s),
            fmt_rate(r.duckdb_rows_per_s),
            ratio,
        ]
        if repeat:
            p = r.repeat
            if p is None or p.error:
                row += [userops_state if p is None else "failed"] * 2
            else:
                row += [fmt_s(p.seconds), f"{fmt_int(p.imported)}/{fmt_int(p.updated)}"]
        peak = "—" if u is None or not u.peak_rss_mb else f"{u.peak_rss_mb:,.0f}"
        row += [imported, rejected, peak]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def environment(data: Path, cli: str | None, startup: float | None, skipped: bool) -> str:
    cpus = os.cpu_count()
    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {cpus} CPUs, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, data {data}"
        + (f", `userops --help` {startup:.2f} s" if startup is not None else "")
        + ("" if cli or skipped else ", userops CLI not found")
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_entities(text: str) -> list[str]:
    entities = []
    for raw in text.split(","):
        name = ALIASES.get(raw.strip(), raw.strip())
        if not name:
            continue
        if name not in FILES:
            raise argparse.ArgumentTypeError(f"unknown entity {raw!r}; known: {', '.join(FILES)}")
        entities.append(name)
    if not entities:
        raise argparse.ArgumentTypeError("no entities")
    return entities


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", type=Path, required=True, help="directory written by bench/generate.py"
    )
    ap.add_argument(
        "--entities",
        type=parse_entities,
        default=["orders", "events"],
        help=f"comma-separated, of {','.join(FILES)} (default orders,events)",
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the fresh data dirs and DuckDB files go (default: a new "
        "temporary dir, removed at the end)",
    )
    ap.add_argument(
        "--repeat",
        action="store_true",
        help="re-import each file into the same data dir and time that too",
    )
    ap.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    ap.add_argument(
        "--userops",
        default=None,
        help="userops executable (default: next to this Python, else on PATH)",
    )
    ap.add_argument("--skip-userops", action="store_true", help="only the DuckDB reference")
    ap.add_argument("--skip-duckdb", action="store_true", help="only the userops import")
    ap.add_argument(
        "--duckdb-threads",
        type=int,
        default=None,
        help="DuckDB threads for the reference (default: DuckDB's, all cores)",
    )
    ap.add_argument(
        "--timeout", type=float, default=None, help="seconds allowed per userops command"
    )
    ap.add_argument(
        "--keep", action="store_true", help="keep the data dirs and DuckDB files afterwards"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data: Path = args.data.expanduser().resolve()
    missing = [FILES[e] for e in args.entities if not (data / FILES[e]).is_file()]
    if missing:
        print(
            f"error: not in {data}: {', '.join(missing)} (run bench/generate.py)", file=sys.stderr
        )
        return 2
    cli = None if args.skip_userops else find_cli(args.userops)
    userops_state = "skipped" if args.skip_userops else ("pending" if cli is None else "n/a")
    if not args.skip_userops and cli is None:
        print(
            "warning: userops CLI not found; measuring the DuckDB reference only", file=sys.stderr
        )
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="userops-bench-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    startup = cli_startup(cli) if cli else None
    results: list[Result] = []
    failed = False
    try:
        for entity in args.entities:
            file = data / FILES[entity]
            result = Result(
                entity=entity,
                file=file,
                rows=pq.ParquetFile(file).metadata.num_rows,
                size=file.stat().st_size,
            )
            results.append(result)
            print(
                f"{entity}: {file.name}, {result.rows:,} rows, {result.size / 2**20:,.1f} MiB",
                file=sys.stderr,
                flush=True,
            )
            warm_cache(file)
            if cli:
                data_dir = workdir / f"data-{entity}"
                shutil.rmtree(data_dir, ignore_errors=True)  # fresh: the CLI creates it
                result.userops = run_userops(cli, entity, file, data_dir, args.timeout)
                report_run("  userops", result.userops)
                if args.repeat and not result.userops.error:
                    result.repeat = run_userops(cli, entity, file, data_dir, args.timeout)
                    report_run("  re-import", result.repeat)
                    if not result.repeat.error and (
                        result.repeat.imported or result.repeat.updated
                    ):
                        print("  note: the re-import was not a no-op", file=sys.stderr)
                failed |= bool(result.userops.error or (result.repeat and result.repeat.error))
                if not args.keep:
                    shutil.rmtree(data_dir, ignore_errors=True)
            if not args.skip_duckdb:
                db_path = workdir / f"reference-{entity}.duckdb"
                result.duckdb_s = run_duckdb(file, db_path, args.duckdb_threads)
                print(
                    f"  duckdb: {result.duckdb_s:.2f} s, "
                    f"{fmt_rate(result.duckdb_rows_per_s)} rows/s",
                    file=sys.stderr,
                    flush=True,
                )
                if not args.keep:
                    for path in (db_path, db_path.with_name(db_path.name + ".wal")):
                        path.unlink(missing_ok=True)
    finally:
        if own_workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            print(f"kept: {workdir}", file=sys.stderr)
    table = markdown(results, args.repeat, userops_state)
    env = environment(data, cli, startup, args.skip_userops)
    print(table + "\n" + env)
    if args.markdown:
        args.markdown.write_text(table + "\n" + env + "\n", encoding="utf-8")
    return 1 if failed else 0


def report_run(label: str, run: UseropsRun) -> None:
    if run.error:
        print(
            f"{label}: FAILED after {fmt_s(run.seconds)} s: {run.error}",
            file=sys.stderr,
            flush=True,
        )
    else:
        print(
            f"{label}: {fmt_s(run.seconds)} s, imported {fmt_int(run.imported)}, updated "
            f"{fmt_int(run.updated)}, rejected {fmt_int(run.rejected)}, "
            f"{fmt_rate(run.rows_per_s)} rows/s"
            + (
                f", {run.customers_created:,} customers created from ids"
                if run.customers_created
                else ""
            )
            + (f", {run.duplicates:,} duplicate keys in file" if run.duplicates else "")
            + (f", peak RSS {run.peak_rss_mb:,.0f} MB" if run.peak_rss_mb else "")
            + (f", rejects in {run.rejects_file}" if run.rejects_file else ""),
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
