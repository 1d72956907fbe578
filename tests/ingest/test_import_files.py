"""Importers on real files, on both ledgers: per-row rejects, idempotent re-import, upserts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from tests.conftest import write

from userops.core.errors import InvalidInput
from userops.customers.models import Consent, ConsentEvent, ContactPoint, Customer
from userops.hub import Hub
from userops.ingest.service import import_file
from userops.ledger import unit_of_work


def run(hub: Hub, entity: str, path: Path, **kw):  # type: ignore[no-untyped-def]
    return import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity=entity,
        path=path,
        **kw,
    )


CUSTOMERS = """
customer_id,name,gender,birthday,province,city,interests,signup_at,signup_channel,phone,email,consent_sms,attr_vip
c1,张三,男,1990-01-02,广东省,深圳市,美妆|数码,2024-01-01 10:00,douyin,13800000001,a@x.com,granted,gold
c2,李四,female,1985-13-01,北京市,北京市,,2024-02-01T00:00:00Z,search,13800000002,,withdrawn,
c3,王五,x,,,,,,,,,,
c1,张三丰,男,1990-01-02,广东省,深圳市,美妆|数码,2024-01-01 10:00,douyin,13800000001,a@x.com,granted,gold
c4,赵六,,,,,,,,,,,
"""


def test_customers_rejects_duplicates_and_reimport(hub: Hub, tmp_path: Path) -> None:
    path = write(tmp_path / "customers.csv", CUSTOMERS)
    first = run(hub, "customers", path)
    assert (first.imported, first.updated, first.rejected, first.duplicates) == (2, 0, 2, 1)
    with open(first.rejects_file or "", encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects] == [
        ("3", "birthday"),
        ("4", "gender"),
    ]
    assert rejects[0]["customer_id"] == "c2"
    with unit_of_work(hub.engine) as session:
        c1 = session.get(Customer, "c1")
        assert c1 is not None and c1.name == "张三丰"  # the last row of a duplicated id wins
        assert c1.gender == "male" and c1.interests == ["美妆", "数码"]
        assert c1.attributes == {"vip": "gold"}
        assert c1.signup_at is not None and c1.signup_at.hour == 2  # 10:00 Shanghai = 02:00 UTC
        phone = session.execute(
            sa.select(ContactPoint.value).where(
                ContactPoint.customer_id == "c1", ContactPoint.kind == "phone"
            )
        ).scalar_one()
        assert phone == "13800000001"
        consent = session.get(Consent, ("c1", "sms"))
        assert consent is not None and consent.status == "granted"
        assert consent.source == "import:customers.csv"
    again = run(hub, "customers", path)
    assert (again.imported, again.updated, again.rejected) == (0, 0, 2)
    with unit_of_work(hub.engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ConsentEvent)).scalar() == 1


def test_customers_update_counts_only_changes(hub: Hub, tmp_path: Path) -> None:
    run(hub, "customers", write(tmp_path / "a.csv", CUSTOMERS))
    changed = CUSTOMERS.replace("c4,赵六,", "c4,赵六六,").replace(
        "a@x.com,granted,gold\nc4", "a@x.com,withdrawn,gold\nc4"
    )
    result = run(hub, "customers", write(tmp_path / "b.csv", changed))
    assert (result.imported, result.updated) == (0, 2)
    with unit_of_work(hub.engine) as session:
        history = (
            session.execute(
                sa.select(ConsentEvent.status)
                .where(ConsentEvent.customer_id == "c1")
                .order_by(ConsentEvent.id)
            )
            .scalars()
            .all()
        )
        assert history == ["granted", "withdrawn"]
    mirrored = (
        hub.warehouse.cursor()
        .execute("SELECT count(*) FROM customers WHERE customer_id IN ('c1', 'c4')")
        .fetchall()
    )
    assert mirrored == [(2,)]


ORDERS = """
order_id,customer_id,created_at,paid_at,status,amount_fen,discount_fen,coupon_codes,channel
o1,c1,2024-03-01 10:00,2024-03-01 10:05,paid,12345,0,NEW10|VIP,app
o2,c9,2024-03-02 10:00,2024-03-02T02:05:00Z,paid,500,,,
o3,c1,2024-03-03,,paid,100,0,,app
o4,c1,bad,2024-03-01,paid,100,0,,app
o5,c1,2024-03-01,2024-03-01,paid,-5,0,,app
o6,c2
o7,c2,2024-03-01,,cancelled,700,0,,web
"""


def test_orders_create_unknown_customers_and_are_idempotent(hub: Hub, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", ORDERS)
    first = run(hub, "orders", path)
    assert (first.imported, first.rejected, first.customers_created) == (3, 4, 3)
    with open(first.rejects_file or "", encoding="utf-8") as handle:
        reasons = {int(r["line"]): r["reason"] for r in csv.DictReader(handle)}
    assert set(reasons) == {4, 5, 6, 7}
    assert reasons[4].startswith("paid_at: required")
    assert reasons[5].startswith("created_at: not a timestamp")
    assert reasons[6] == "amount_fen: must be ≥ 0, got -5"
    assert "Expected Number of Columns" in reasons[7]
    rows = (
        hub.warehouse.cursor()
        .execute(
            "SELECT order_id, amount_fen, discount_fen, coupon_codes, epoch(paid_at)::BIGINT "
            "FROM orders ORDER BY order_id"
        )
        .fetchall()
    )
    assert rows[0] == ("o1", 12345, 0, ["NEW10", "VIP"], 1709258700)
    assert rows[1][2] == 0  # a missing discount is 0
    assert rows[1][4] == 1709345100  # an explicit Z offset is kept
    again = run(hub, "orders", path)
    assert (again.imported, again.updated, again.customers_created) == (0, 0, 0)
    changed = run(hub, "orders", write(tmp_path / "o2.csv", ORDERS.replace("12345", "12346")))
    assert (changed.imported, changed.updated) == (0, 1)
    assert hub.warehouse.count("orders") == 3
    with unit_of_work(hub.engine) as session:
        c9 = session.get(Customer, "c9")
        assert c9 is not None and c9.placeholder
    run(hub, "customers", write(tmp_path / "c.csv", "customer_id,name\nc9,钱七\n"))
    with unit_of_work(hub.engine) as session:
        c9 = session.get(Customer, "c9")
        assert c9 is not None and not c9.placeholder and c9.name == "钱七"


def test_parquet_and_jsonl_orders(hub: Hub, tmp_path: Path) -> None:
    con = duckdb.connect()
    parquet = tmp_path / "orders.parquet"
    con.execute(
        "COPY (SELECT 'p' || i AS order_id, 'c' || (i % 3) AS customer_id, "
        "TIMESTAMPTZ '2024-05-01 00:00:00+00' + INTERVAL (i) HOUR AS created_at, "
        "TIMESTAMPTZ '2024-05-01 00:10:00+00' + INTERVAL (i) HOUR AS paid_at, 'paid' AS status, "
        "(i * 100)::BIGINT AS amount_fen, 0::BIGINT AS discount_fen, ['X'] AS coupon_codes, "
        f"'app' AS channel FROM range(10) t(i)) TO '{parquet}' (FORMAT parquet)"
    )
    result = run(hub, "orders", parquet)
    assert (result.imported, result.rejected) == (10, 0)
    lines = [
        {
            "order_id": "j1",
            "customer_id": "c1",
            "created_at": "2024-05-02T10:00:00+08:00",
            "paid_at": "2024-05-02T10:01:00+08:00",
            "status": "PAID",
            "amount_fen": 990,
            "coupon_codes": ["A", "B"],
        },
        {
            "order_id": "j2",
            "customer_id": "c1",
            "created_at": "2024-05-02",
            "status": "paid",
            "paid_at": "2024-05-02",
            "amount_fen": "9.9",
        },
    ]
    jsonl = write(tmp_path / "orders.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    result = run(hub, "orders", jsonl)
    assert (result.imported, result.rejected) == (1, 1)
    stored = (
        hub.warehouse.cursor()
        .execute("SELECT status, coupon_codes FROM orders WHERE order_id = 'j1'")
        .fetchall()
    )
    assert stored == [("paid", ["A", "B"])]


def test_bad_files_are_errors_that_explain(hub: Hub, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="known columns for orders: order_id, customer_id"):
        run(hub, "orders", write(tmp_path / "x.csv", "order_id,customer,total\n1,2,3\n"))
    with pytest.raises(InvalidInput, match="is empty"):
        run(hub, "orders", write(tmp_path / "empty.csv", ""))
    with pytest.raises(InvalidInput, match="unknown entity 'ordrs'; known: customers, orders"):
        run(hub, "ordrs", write(tmp_path / "y.csv", "a\n1\n"))
    with pytest.raises(InvalidInput, match="no rows"):
        run(hub, "orders", write(tmp_path / "header.csv", "order_id,customer_id\n"))
    mapped = run(
        hub,
        "orders",
        write(
            tmp_path / "m.csv",
            "订单号,会员,created_at,paid_at,status,amount_fen\n"
            "m1,c1,2024-01-01,2024-01-01,paid,1\n",
        ),
        mapping={"订单号": "order_id", "会员": "customer_id"},
    )
    assert mapped.imported == 1
    assert hub.warehouse.count("orders") == 1  # the refused files stored nothing


def test_items_and_spend(hub: Hub, tmp_path: Path) -> None:
    items = run(
        hub,
        "order-items",
        write(
            tmp_path / "items.csv",
            "order_id,sku,product_name,category,quantity,price_fen\n"
            "o1,s1,口红,美妆,2,9900\no1,s2,面霜,美妆,0,100\no1,s1,口红,美妆,3,9900\n",
        ),
    )
    assert (items.imported, items.rejected, items.duplicates) == (1, 1, 1)
    assert hub.warehouse.cursor().execute("SELECT quantity FROM order_items").fetchall() == [(3,)]
    spend = run(
        hub,
        "spend",
        write(
            tmp_path / "spend.csv",
            "date,channel,spend_fen,impressions,clicks\n2024-01-01,douyin,100000,5000,300\n"
            "2024-01-02,douyin,abc,1,1\n",
        ),
    )
    assert (spend.imported, spend.rejected) == (1, 1)


EVENTS = [
    {
        "type": "page",
        "anonymousId": "anon-1",
        "messageId": "m1",
        "name": "home",
        "timestamp": "2024-03-01T10:00:00+08:00",
        "context": {"campaign": {"source": "douyin"}},
    },
    {
        "type": "track",
        "anonymousId": "anon-1",
        "event": "product_view",
        "messageId": "m2",
        "timestamp": "2024-03-01T10:01:00+08:00",
        "properties": {"sku": "s1"},
    },
    {
        "type": "identify",
        "anonymousId": "anon-1",
        "userId": "u1",
        "messageId": "m3",
        "timestamp": "2024-03-01T10:02:00+08:00",
        "traits": {"name": "赵六", "email": "z@x.com", "createdAt": "2024-03-01T10:02:00+08:00"},
    },
    {
        "type": "track",
        "userId": "old-u",
        "event": "favorite",
        "messageId": "m4",
        "timestamp": "2024-02-01T10:00:00+08:00",
    },
    {
        "type": "alias",
        "previousId": "old-u",
        "userId": "u1",
        "messageId": "m5",
        "timestamp": "2024-03-02T10:00:00+08:00",
    },
    {"type": "track", "userId": "u1", "event": "order_paid", "timestamp": "2024-03-02T11:00:00Z"},
]


def test_events_stitch_identities_and_merge(hub: Hub, tmp_path: Path) -> None:
    from userops.customers import service as customers

    text = "\n".join(json.dumps(e, ensure_ascii=False) for e in EVENTS) + "\nnot json\n"
    path = write(tmp_path / "events.jsonl", text)
    first = run(hub, "events", path)
    assert (first.imported, first.rejected) == (6, 1)
    again = run(hub, "events", path)
    assert (again.imported, again.updated) == (0, 0)  # also the message without messageId
    with unit_of_work(hub.engine) as session:
        view = customers.customer_360(session, hub.warehouse, "u1")
        assert view.profile.name == "赵六" and not view.profile.placeholder
        assert [c.value for c in view.contact_points] == ["z@x.com"]
        assert {(m.from_kind, m.from_value, m.reason) for m in view.merges} == {
            ("anonymous_id", "anon-1", "identify"),
            ("user_id", "old-u", "alias"),
        }
        assert len(view.merges) == 2  # the re-import recorded nothing twice
        # events before the identify (anonymous) and under the old id count for u1
        assert {e.message_id for e in view.recent_events} >= {"m1", "m2", "m4"}
        assert customers.resolve(session, user_id="old-u", anonymous_id=None) == "u1"
        old = session.get(Customer, "old-u")
        assert old is not None and old.merged_into == "u1"  # the merged row keeps its history
