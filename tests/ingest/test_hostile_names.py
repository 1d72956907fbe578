"""Hostile column names and ``--map`` targets, fed to every importer: never SQL, never foreign data.

A file's header is text the shop's user (or whoever made the file) chose. It may be read, quoted,
as a column, but it must never become SQL, and a name that becomes a custom attribute must match
the documented pattern. The warehouse's DuckDB cannot read files outside its spool either way.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from userops.core.errors import InvalidInput
from userops.customers.models import Customer
from userops.hub import Hub
from userops.ingest.cdnow import import_cdnow
from userops.ingest.service import import_file

HOSTNAME = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
INJECTION = "attr_x', (SELECT content FROM read_text('/etc/hostname')), 'y"
HOSTILE_ATTRIBUTES = [
    INJECTION,
    "attr_it's",  # a lone quote: today a parser error
    'attr_a"b',
    "attr_a\\b",
    "attr_a.b",
    "attr_" + "长" * 65,  # too long
    "attr_",  # empty name
]
HOSTILE_IDS = ["injection", "quote", "double-quote", "backslash", "dot", "too-long", "empty"]
SQL_NAMES = [
    "x', (SELECT content FROM read_text('/etc/hostname')), 'y",
    'x"; DROP TABLE orders; --',
    "it's",
    "a\\b",
]

ROWS = {
    "customers": [{"customer_id": "c1", "name": "张三"}],
    "orders": [
        {
            "order_id": "o1",
            "customer_id": "c1",
            "created_at": "2025-01-01 10:00",
            "paid_at": "2025-01-01 10:05",
            "status": "paid",
            "amount_fen": "1000",
        }
    ],
    "order-items": [{"order_id": "o1", "sku": "s1", "quantity": "1", "price_fen": "1000"}],
    "events": [
        {
            "type": "track",
            "event": "product_view",
            "user_id": "c1",
            "timestamp": "2025-01-01T10:00:00Z",
            "message_id": "m1",
        }
    ],
    "spend": [{"date": "2025-01-01", "channel": "douyin", "spend_fen": "5000"}],
}
TABLE = {
    "customers": "customers",
    "orders": "orders",
    "order-items": "order_items",
    "events": "events",
    "spend": "channel_spend",
}


def run(hub: Hub, entity: str, path: Path, **kw):  # type: ignore[no-untyped-def]
    return import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity=entity,
        path=path,
        **kw,
    )


def write_file(path: Path, rows: list[dict[str, str]]) -> Path:
    """``rows`` as CSV, JSONL or Parquet (by suffix), headers exactly as given."""
    columns = list(rows[0])
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows([[r[c] for c in columns] for r in rows])
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), path)
    return path


def warehouse_text(hub: Hub) -> str:
    """Every value of every user table of the warehouse, as one string."""
    cur = hub.warehouse.cursor()
    try:
        tables = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        parts = []
        for table in tables:
            parts.append(str(cur.execute(f'SELECT * FROM "{table}"').fetchall()))
        return "\n".join(parts)
    finally:
        cur.close()


def ledger_text(hub: Hub) -> str:
    with hub.engine.connect() as con:
        rows = con.execute(sa.select(Customer.customer_id, Customer.attributes)).fetchall()
    return str(rows)


def assert_clean(hub: Hub) -> None:
    assert HOSTNAME, "the test needs /etc/hostname"
    assert HOSTNAME not in warehouse_text(hub)
    assert HOSTNAME not in ledger_text(hub)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("header", HOSTILE_ATTRIBUTES, ids=HOSTILE_IDS)
def test_customer_attribute_headers_are_refused(
    hub: Hub, tmp_path: Path, suffix: str, header: str
) -> None:
    path = write_file(tmp_path / f"customers{suffix}", [{"customer_id": "c1", header: "v"}])
    with pytest.raises(InvalidInput) as err:
        run(hub, "customers", path)
    assert err.value.field == "columns"
    assert repr(header) in err.value.message and "custom attribute name" in err.value.message
    assert_clean(hub)
    with hub.engine.connect() as con:
        assert con.execute(sa.select(sa.func.count()).select_from(Customer)).scalar() == 0


@pytest.mark.parametrize("target", HOSTILE_ATTRIBUTES, ids=HOSTILE_IDS)
def test_customer_map_targets_are_refused(hub: Hub, tmp_path: Path, target: str) -> None:
    path = write_file(tmp_path / "customers.csv", [{"customer_id": "c1", "等级": "gold"}])
    with pytest.raises(InvalidInput) as err:
        run(hub, "customers", path, mapping={"等级": target})
    assert err.value.field == "map"
    assert target in err.value.message and "custom attribute name" in err.value.message
    assert_clean(hub)


def test_the_documented_attribute_names_import(hub: Hub, tmp_path: Path) -> None:
    long_name = "会" * 64
    path = write_file(
        tmp_path / "customers.csv",
        [{"customer_id": "c1", "attr_会员等级": "金卡", f"attr_{long_name}": "x", "VIP_2": "y"}],
    )
    result = run(hub, "customers", path, mapping={"VIP_2": "attr_VIP_2"})
    assert (result.imported, result.rejected) == (1, 0)
    with hub.engine.connect() as con:
        attributes = con.execute(sa.select(Customer.attributes)).scalar_one()
    assert attributes == {"会员等级": "金卡", long_name: "x", "VIP_2": "y"}


@pytest.mark.parametrize("entity", ["orders", "order-items", "spend"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_warehouse_entities_refuse_hostile_headers(
    hub: Hub, tmp_path: Path, entity: str, suffix: str
) -> None:
    rows = [{**ROWS[entity][0], INJECTION: "v"}]
    path = write_file(tmp_path / f"{entity}{suffix}", rows)
    with pytest.raises(InvalidInput) as err:
        run(hub, entity, path)
    assert err.value.field == "columns" and repr(INJECTION) in err.value.message
    assert_clean(hub)
    assert hub.warehouse.count(TABLE[entity]) == 0


@pytest.mark.parametrize("entity", ["customers", "orders", "order-items", "events", "spend"])
def test_hostile_map_targets_are_refused(hub: Hub, tmp_path: Path, entity: str) -> None:
    first = next(iter(ROWS[entity][0]))
    path = write_file(tmp_path / f"{entity}.csv", ROWS[entity])
    for target in SQL_NAMES:
        with pytest.raises(InvalidInput) as err:
            run(hub, entity, path, mapping={first: target})
        assert err.value.field == "map" and target in err.value.message
    assert_clean(hub)
    assert hub.warehouse.count(TABLE[entity]) == 0


@pytest.mark.parametrize("entity", ["customers", "orders", "order-items", "events", "spend"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_hostile_headers_mapped_to_known_columns_are_only_read(
    hub: Hub, tmp_path: Path, entity: str, suffix: str
) -> None:
    """A header may be anything when ``--map`` names what it holds: it is read, quoted."""
    good = ROWS[entity][0]
    names = {c: f"{SQL_NAMES[i % len(SQL_NAMES)]}#{i}" for i, c in enumerate(good)}
    rows = [{names.get(c, c): v for c, v in good.items()}]
    path = write_file(tmp_path / f"{entity}{suffix}", rows)
    result = run(hub, entity, path, mapping={h: c for c, h in names.items()})
    assert (result.imported, result.rejected) == (1, 0)
    assert_clean(hub)
    assert hub.warehouse.count(TABLE[entity]) == 1


def test_events_jsonl_ignores_unknown_hostile_keys(hub: Hub, tmp_path: Path) -> None:
    """Segment messages carry keys userops does not store (``integrations``, ``sentAt``…):
    unknown keys of an events file are skipped, never spliced into the query."""
    message = {**ROWS["events"][0], INJECTION: "v", "properties": {INJECTION: "p"}}
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(message) + "\n")
    result = run(hub, "events", path)
    assert (result.imported, result.rejected) == (1, 0)
    assert_clean(hub)


@pytest.mark.parametrize(
    "name", ["it's.txt", "a'); DROP TABLE orders; --.txt"], ids=["quote", "sql"]
)
def test_cdnow_takes_any_file_name(hub: Hub, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("00001 19970101 1 29.33\n00001 19970118 1 29.73\n00002 19970112 2 43.20\n")
    results = import_cdnow(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        path=path,
    )
    assert results["orders"].imported == 3 and results["customers"].imported == 2
    assert_clean(hub)


def test_cdnow_refuses_a_hostile_file_as_not_cdnow(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "cdnow.txt"
    path.write_text(f"{INJECTION}\n1 2\n")
    with pytest.raises(InvalidInput) as err:
        import_cdnow(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=hub.settings.rejects_dir,
            path=path,
        )
    assert err.value.field == "file"
    assert_clean(hub)


def test_warehouse_sql_cannot_read_or_write_files(hub: Hub, tmp_path: Path) -> None:
    """Even an SQL text that got through could not reach a file outside the spool."""
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    cur = hub.warehouse.cursor()
    try:
        for sql in (
            "SELECT content FROM read_text('/etc/hostname')",
            f"SELECT * FROM read_csv('{outside}')",
            f"COPY (SELECT 1) TO '{tmp_path / 'written.csv'}'",
            f"ATTACH '{tmp_path / 'other.duckdb'}'",
            "SET enable_external_access = true",
            "SET allowed_directories = ['/']",
            "SET lock_configuration = false",
        ):
            with pytest.raises(duckdb.Error):
                cur.execute(sql)
        cur.execute("SET TimeZone = 'UTC'")  # what the code and Ibis change per cursor
    finally:
        cur.close()
    assert not (tmp_path / "written.csv").exists()
