"""Re-running ``userops demo`` on an existing shop (issue 9, item 12): refused unless --reset
(confirmed, or --yes), and --reset removes the old shop completely, on SQLite and PostgreSQL
ledgers alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from tests.conftest import write

USEROPS = [sys.executable, "-m", "userops"]
DEMO = ("demo", "--customers", "300", "--days", "30", "--seed", "5", "--no-serve", "--json")


def run(*args: str, data_dir: Path, ledger_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("USEROPS_")}
    env["USEROPS_LEDGER_URL"] = ledger_url
    return subprocess.run(
        [*USEROPS, *args, "--data-dir", str(data_dir)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def stats(data_dir: Path, ledger_url: str) -> dict[str, int]:
    proc = run("stats", "--json", data_dir=data_dir, ledger_url=ledger_url)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def ledger_rows(ledger_url: str, table: str) -> int:
    engine = sa.create_engine(ledger_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_demo_refuses_an_existing_shop_and_reset_replaces_it(
    tmp_path: Path, ledger_url: str
) -> None:
    data_dir = tmp_path / "shop"
    first = run(*DEMO, data_dir=data_dir, ledger_url=ledger_url)
    assert first.returncode == 0, first.stderr
    generated = json.loads(first.stdout)["stats"]
    assert generated["customers"] == 300
    # the shop lives on: a customer of its own, a rejected row, an API key
    orders = write(
        tmp_path / "orders.csv",
        "order_id,customer_id,created_at,paid_at,status,amount_fen\n"
        "own-1,own-customer,2025-01-01,2025-01-01,paid,100\n"
        "own-2,own-customer,not-a-date,2025-01-01,paid,100\n",
    )
    imported = run(
        "import", "orders", str(orders), "--json", data_dir=data_dir, ledger_url=ledger_url
    )
    assert json.loads(imported.stdout)["orders"]["rejected"] == 1
    assert list((data_dir / "rejects").iterdir())
    key = run(
        "keys", "create", "--scope", "read", "--json", data_dir=data_dir, ledger_url=ledger_url
    )
    assert key.returncode == 0, key.stderr
    before = stats(data_dir, ledger_url)
    assert before["customers"] == 301 and before["orders"] == generated["orders"] + 1

    again = run(*DEMO, data_dir=data_dir, ledger_url=ledger_url)
    assert again.returncode != 0
    error = json.loads(again.stdout)["error"]
    assert error["code"] == "conflict" and error["field"] == "data_dir"
    assert str(data_dir) in error["message"] and "--reset" in error["message"]
    assert "301 customers" in error["message"]
    assert stats(data_dir, ledger_url) == before

    # a fresh data dir does not help while the ledger still holds the shop, and stays uncreated
    fresh = tmp_path / "fresh"
    elsewhere = run(*DEMO, data_dir=fresh, ledger_url=ledger_url)
    assert elsewhere.returncode != 0
    assert json.loads(elsewhere.stdout)["error"]["code"] == "conflict"
    assert "the ledger" in elsewhere.stderr and not fresh.exists()

    unconfirmed = run(*DEMO, "--reset", data_dir=data_dir, ledger_url=ledger_url)
    assert unconfirmed.returncode != 0
    assert json.loads(unconfirmed.stdout)["error"]["field"] == "yes"
    assert stats(data_dir, ledger_url) == before

    reset = run(*DEMO, "--reset", "--yes", data_dir=data_dir, ledger_url=ledger_url)
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["stats"] == generated
    assert stats(data_dir, ledger_url) == generated  # the shop's own customer and order are gone
    assert not (data_dir / "rejects").exists()
    assert ledger_rows(ledger_url, "api_keys") == 0
    assert ledger_rows(ledger_url, "customers") == 300
    listed = run("keys", "list", "--json", data_dir=data_dir, ledger_url=ledger_url)
    assert json.loads(listed.stdout) == []
