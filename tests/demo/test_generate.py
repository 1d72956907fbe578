"""The synthetic demo shop: determinism, file formats, consistency and the planted patterns."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from userops.demo.generate import DemoShop, generate_shop, write_shop
from userops.demo.geo import PROVINCES

END = dt.date(2026, 11, 20)  # the shop covers 2025-11-20 .. 2026-11-19: 双12, 春节, 618, 双11
DAYS = 365
END_UTC = dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.UTC)  # 2026-11-20 00:00 Asia/Shanghai
START_UTC = dt.datetime(2025, 11, 19, 16, 0, tzinfo=dt.UTC)

TS = pa.timestamp("us", tz="UTC")
STR_LIST = pa.list_(pa.string())

EXPECTED_SCHEMAS = {
    "customers": pa.schema(
        [
            ("customer_id", pa.string()),
            ("name", pa.string()),
            ("gender", pa.string()),
            ("birthday", pa.date32()),
            ("province", pa.string()),
            ("city", pa.string()),
            ("occupation", pa.string()),
            ("industry", pa.string()),
            ("income_band", pa.string()),
            ("interests", STR_LIST),
            ("signup_at", TS),
            ("signup_channel", pa.string()),
            ("referrer_id", pa.string()),
            ("timezone", pa.string()),
            ("phone", pa.string()),
            ("email", pa.string()),
            ("wechat_openid", pa.string()),
            ("wechat_unionid", pa.string()),
            ("push_token", pa.string()),
            ("weibo_id", pa.string()),
            ("consent_sms", pa.string()),
            ("consent_email", pa.string()),
            ("consent_wechat", pa.string()),
            ("consent_push", pa.string()),
            ("consent_weibo", pa.string()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.string()),
            ("created_at", TS),
            ("paid_at", TS),
            ("status", pa.string()),
            ("amount_fen", pa.int64()),
            ("discount_fen", pa.int64()),
            ("coupon_codes", STR_LIST),
            ("channel", pa.string()),
        ]
    ),
    "order_items": pa.schema(
        [
            ("order_id", pa.string()),
            ("sku", pa.string()),
            ("product_name", pa.string()),
            ("category", pa.string()),
            ("quantity", pa.int64()),
            ("price_fen", pa.int64()),
        ]
    ),
    "events": pa.schema(
        [
            ("message_id", pa.string()),
            ("type", pa.string()),
            ("event", pa.string()),
            ("user_id", pa.string()),
            ("anonymous_id", pa.string()),
            ("timestamp", TS),
            ("received_at", TS),
            ("properties", pa.string()),
            ("context", pa.string()),
            ("traits", pa.string()),
        ]
    ),
    "spend": pa.schema(
        [
            ("date", pa.date32()),
            ("channel", pa.string()),
            ("spend_fen", pa.int64()),
            ("impressions", pa.int64()),
            ("clicks", pa.int64()),
        ]
    ),
    "products": pa.schema(  # the products import format (docs/import-formats.md)
        [
            ("sku", pa.string()),
            ("name", pa.string()),
            ("category", pa.string()),
            ("category_en", pa.string()),
            ("brand", pa.string()),
            ("price_fen", pa.int64()),
            ("list_price_fen", pa.int64()),
            ("image_url", pa.string()),
            ("stock", pa.int64()),
            ("status", pa.string()),
            ("tags", pa.list_(pa.string())),
        ]
    ),
}
TABLES = tuple(EXPECTED_SCHEMAS)
CHANNELS = {
    "app_store",
    "search",
    "ad_network",
    "social_ads",
    "douyin",
    "xiaohongshu",
    "offline",
    "kol",
    "referral",
    "organic",
}
UNPAID_CHANNELS = {"referral", "organic"}
TRACK_EVENTS = {
    "signup",
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "favorite",
    "follow",
    "share",
    "checkin",
    "order_paid",
    "refund",
}


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    return generate_shop(customers=3000, days=DAYS, seed=7, end=END)


@pytest.fixture(scope="module")
def db(shop: DemoShop) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")  # ::date and hour() in shop local time
    for name in TABLES:
        con.register(name, getattr(shop, name))
    return con


def one(db: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    row = db.execute(sql).fetchone()
    assert row is not None
    return row


# --------------------------------------------------------------------------------------
# Determinism and formats
# --------------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables() -> None:
    a = generate_shop(customers=400, days=60, seed=11, end=END)
    b = generate_shop(customers=400, days=60, seed=11, end=END)
    for name in TABLES:
        assert getattr(a, name).equals(getattr(b, name)), name


def test_different_seed_gives_different_tables() -> None:
    a = generate_shop(customers=400, days=60, seed=11, end=END)
    b = generate_shop(customers=400, days=60, seed=12, end=END)
    for name in ("customers", "orders", "order_items", "events", "spend"):
        assert not getattr(a, name).equals(getattr(b, name)), name


def test_schemas_are_exactly_the_import_formats(shop: DemoShop) -> None:
    for name, schema in EXPECTED_SCHEMAS.items():
        assert getattr(shop, name).schema.equals(schema), name


def test_default_end_is_today_and_nothing_is_in_the_future() -> None:
    small = generate_shop(customers=60, days=10)
    now = dt.datetime.now(dt.UTC)
    latest = pc.max(small.events.column("received_at")).as_py()
    assert latest < now
    first_day = pc.min(small.spend.column("date")).as_py()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    assert first_day >= today - dt.timedelta(days=11)


def test_write_shop_round_trips(shop: DemoShop, tmp_path: Path) -> None:
    paths = write_shop(shop, tmp_path / "out")
    assert set(paths) == {"customers", "orders", "order-items", "events", "spend", "products"}
    assert paths["order-items"].name == "order_items.parquet"
    for entity, attr in [
        ("customers", "customers"),
        ("orders", "orders"),
        ("order-items", "order_items"),
        ("events", "events"),
        ("spend", "spend"),
        ("products", "products"),
    ]:
        assert paths[entity].exists()
        assert pq.read_table(paths[entity]).equals(getattr(shop, attr)), entity


# --------------------------------------------------------------------------------------
# Keys, money, time range
# --------------------------------------------------------------------------------------


def test_keys_are_unique(db: duckdb.DuckDBPyConnection, shop: DemoShop) -> None:
    assert one(db, "SELECT count(DISTINCT customer_id), count(*) FROM customers") == (3000, 3000)
    n_orders = shop.orders.num_rows
    assert one(db, "SELECT count(DISTINCT order_id) FROM orders")[0] == n_orders
    n_items = shop.order_items.num_rows
    assert (
        one(db, "SELECT count(*) FROM (SELECT DISTINCT order_id, sku FROM order_items)")[0]
        == n_items
    )
    assert one(db, "SELECT count(DISTINCT message_id) FROM events")[0] == shop.events.num_rows
    assert one(db, "SELECT count(DISTINCT phone) FROM customers")[0] == 3000
    assert one(db, "SELECT count(DISTINCT email) = count(email) FROM customers")[0]
    assert (
        one(db, "SELECT count(*) FROM (SELECT DISTINCT date, channel FROM spend)")[0]
        == shop.spend.num_rows
    )
    # every item belongs to an order, every order has items, every order to a customer
    assert (
        one(db, """SELECT count(*) FROM order_items i ANTI JOIN orders o USING (order_id)""")[0]
        == 0
    )
    assert one(db, "SELECT count(*) FROM orders o ANTI JOIN order_items i USING (order_id)")[0] == 0
    assert (
        one(db, "SELECT count(*) FROM orders o ANTI JOIN customers c USING (customer_id)")[0] == 0
    )


def test_money_identity_for_every_order(db: duckdb.DuckDBPyConnection) -> None:
    bad, n, min_amount, min_discount = one(
        db,
        """
        SELECT count(*) FILTER (WHERE o.amount_fen <> i.subtotal - o.discount_fen),
               count(*), min(o.amount_fen), min(o.discount_fen)
        FROM orders o
        JOIN (SELECT order_id, sum(quantity * price_fen) AS subtotal
              FROM order_items GROUP BY order_id) i USING (order_id)""",
    )
    assert n > 1000
    assert bad == 0
    assert min_amount > 0
    assert min_discount >= 0
    assert one(db, "SELECT min(quantity), min(price_fen) FROM order_items") >= (1, 1)
    # coupons explain the discounts
    assert (
        one(
            db,
            """SELECT count(*) FROM orders
                      WHERE discount_fen > 0 AND len(coupon_codes) = 0""",
        )[0]
        == 0
    )
    assert (
        one(db, "SELECT count(*) FROM orders WHERE list_contains(coupon_codes, 'NEW10')")[0] > 100
    )


def test_no_timestamp_outside_the_shop_range(shop: DemoShop) -> None:
    columns = [
        (shop.customers, "signup_at"),
        (shop.orders, "created_at"),
        (shop.orders, "paid_at"),
        (shop.events, "timestamp"),
        (shop.events, "received_at"),
    ]
    for table, column in columns:
        values = table.column(column)
        assert pc.max(values).as_py() < END_UTC, column
        assert pc.min(values).as_py() >= START_UTC, column
    dates = shop.spend.column("date")
    assert pc.min(dates).as_py() == dt.date(2025, 11, 20)
    assert pc.max(dates).as_py() == dt.date(2026, 11, 19)
    assert pc.all(
        pc.greater_equal(shop.events.column("received_at"), shop.events.column("timestamp"))
    ).as_py()


def test_orders_statuses_and_payment_times(db: duckdb.DuckDBPyConnection) -> None:
    rows = dict(db.execute("SELECT status, count(*) FROM orders GROUP BY 1").fetchall())
    total = sum(rows.values())
    assert set(rows) == {"paid", "refunded", "cancelled"}
    assert 0.85 < rows["paid"] / total < 0.95
    assert 0.02 < rows["refunded"] / total < 0.07
    assert 0.03 < rows["cancelled"] / total < 0.09
    assert (
        one(
            db,
            """SELECT count(*) FROM orders
                      WHERE (status = 'cancelled') <> (paid_at IS NULL)""",
        )[0]
        == 0
    )
    lo, hi = one(
        db,
        """SELECT min(epoch(paid_at) - epoch(created_at)),
                               max(epoch(paid_at) - epoch(created_at))
                        FROM orders WHERE paid_at IS NOT NULL""",
    )
    assert lo > 0  # paid seconds to minutes after creation
    assert hi <= 3600
    # every order after its customer's signup
    assert (
        one(
            db,
            """SELECT count(*) FROM orders o JOIN customers c USING (customer_id)
                      WHERE o.created_at <= c.signup_at""",
        )[0]
        == 0
    )
    assert {r[0] for r in db.execute("SELECT DISTINCT channel FROM orders").fetchall()} == {
        "app",
        "mini_program",
        "web",
        "offline",
    }


def test_orders_peak_in_the_evening(db: duckdb.DuckDBPyConnection) -> None:
    evening, night = one(
        db,
        """
        SELECT count(*) FILTER (WHERE hour(created_at) BETWEEN 19 AND 22),
               count(*) FILTER (WHERE hour(created_at) BETWEEN 2 AND 5) FROM orders""",
    )
    assert evening > 5 * night


# --------------------------------------------------------------------------------------
# Events agree with orders and customers
# --------------------------------------------------------------------------------------


def test_event_types_and_names(db: duckdb.DuckDBPyConnection, shop: DemoShop) -> None:
    counts = dict(
        db.execute("""SELECT coalesce(event, '<' || type || '>'), count(*)
                                FROM events GROUP BY 1""").fetchall()
    )
    assert set(counts) == TRACK_EVENTS | {"<identify>", "<page>"}
    assert (
        one(
            db,
            """SELECT count(*) FROM events WHERE (type = 'track') <> (event IS NOT NULL)
                      OR (type = 'identify') <> (traits IS NOT NULL)
                      OR anonymous_id IS NULL""",
        )[0]
        == 0
    )
    # anonymous-only messages are the page views before signup
    assert one(db, "SELECT count(*) FROM events WHERE user_id IS NULL AND type <> 'page'")[0] == 0
    assert (
        one(
            db,
            """SELECT count(*) FROM events e JOIN customers c ON e.user_id = c.customer_id
                      WHERE e.timestamp < c.signup_at""",
        )[0]
        == 0
    )
    # one device id per customer
    assert (
        one(
            db,
            """SELECT max(n) FROM (SELECT user_id, count(DISTINCT anonymous_id) n
                      FROM events WHERE user_id IS NOT NULL GROUP BY 1)""",
        )[0]
        == 1
    )
    for column in ("properties", "context", "traits"):
        for text in shop.events.column(column).drop_null().to_pylist()[:5000]:
            json.loads(text)


def test_signup_and_identify_for_every_customer(db: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(
            db,
            """SELECT count(*) FROM customers c WHERE
        (SELECT count(*) FROM events e WHERE e.user_id = c.customer_id AND e.event = 'signup'
            AND e.timestamp = c.signup_at) <> 1
        OR (SELECT count(*) FROM events e WHERE e.user_id = c.customer_id
            AND e.type = 'identify') <> 1""",
        )[0]
        == 0
    )
    assert (
        one(
            db,
            """SELECT count(*) FROM events e JOIN customers c ON e.user_id = c.customer_id
                      WHERE e.type = 'identify' AND json_extract_string(e.traits, '$.name')
                      <> c.name""",
        )[0]
        == 0
    )
    # pre-signup anonymous page views exist and are linked by the identify's anonymous id
    assert one(db, "SELECT count(*) FROM events WHERE type = 'page' AND user_id IS NULL")[0] > 500


def test_first_event_carries_the_signup_campaign(db: duckdb.DuckDBPyConnection) -> None:
    bad, n = one(
        db,
        """
        WITH first AS (
            SELECT anonymous_id, arg_min(context, timestamp) AS context FROM events GROUP BY 1)
        SELECT count(*) FILTER (WHERE json_extract_string(f.context, '$.campaign.source')
                                IS DISTINCT FROM c.signup_channel), count(*)
        FROM first f JOIN (SELECT DISTINCT user_id, anonymous_id FROM events
                           WHERE user_id IS NOT NULL) u USING (anonymous_id)
        JOIN customers c ON c.customer_id = u.user_id""",
    )
    assert n == 3000
    assert bad == 0
    assert (
        one(
            db,
            """SELECT count(*) FROM events
                      WHERE context LIKE '%campaign%'""",
        )[0]
        == 3000
    )


def test_every_paid_order_has_one_order_paid_event(db: duckdb.DuckDBPyConnection) -> None:
    bad, n = one(
        db,
        """
        WITH paid AS (
            SELECT json_extract_string(properties, '$.order_id') AS order_id, user_id,
                   timestamp, CAST(json_extract(properties, '$.amount_fen') AS BIGINT) AS amount
            FROM events WHERE event = 'order_paid')
        SELECT count(*) FILTER (WHERE (SELECT count(*) FROM paid p WHERE p.order_id = o.order_id
                                       AND p.user_id = o.customer_id AND p.timestamp = o.paid_at
                                       AND p.amount = o.amount_fen) <> 1), count(*)
        FROM orders o WHERE o.status IN ('paid', 'refunded')""",
    )
    assert n > 1000
    assert bad == 0
    assert one(db, "SELECT count(*) FROM events WHERE event = 'order_paid'")[0] == n
    refunds_bad = one(
        db,
        """
        SELECT count(*) FROM orders o WHERE o.status = 'refunded' AND (
            SELECT count(*) FROM events e WHERE e.event = 'refund' AND e.user_id = o.customer_id
            AND json_extract_string(e.properties, '$.order_id') = o.order_id
            AND e.timestamp > o.paid_at) <> 1""",
    )[0]
    assert refunds_bad == 0
    assert (
        one(db, "SELECT count(*) FROM events WHERE event = 'refund'")[0]
        == one(db, "SELECT count(*) FROM orders WHERE status = 'refunded'")[0]
    )


def test_orders_are_preceded_by_views_and_carts_the_same_day(
    db: duckdb.DuckDBPyConnection,
) -> None:
    db.execute("""CREATE OR REPLACE TEMP TABLE product_events AS
        SELECT user_id, event, timestamp, json_extract_string(properties, '$.sku') AS sku
        FROM events WHERE event IN ('product_view', 'add_to_cart')""")
    bad, n = one(
        db,
        """
        SELECT count(*) FILTER (WHERE NOT (
            EXISTS (SELECT 1 FROM product_events e WHERE e.event = 'product_view'
                    AND e.user_id = o.customer_id AND e.sku = i.sku
                    AND e.timestamp < o.created_at AND e.timestamp::date = o.created_at::date)
            AND EXISTS (SELECT 1 FROM product_events e WHERE e.event = 'add_to_cart'
                    AND e.user_id = o.customer_id AND e.sku = i.sku
                    AND e.timestamp < o.created_at AND e.timestamp::date = o.created_at::date)
        )), count(*)
        FROM order_items i JOIN orders o USING (order_id)""",
    )
    assert n > 1000
    assert bad == 0


def test_the_catalogue_holds_every_sku_sold_or_seen_at_its_price(
    db: duckdb.DuckDBPyConnection, shop: DemoShop
) -> None:
    assert one(db, "SELECT count(*), count(DISTINCT sku) FROM products") == (300, 300)
    # every SKU sold is in the catalogue, at the price the order items carry, with its name
    assert one(
        db,
        "SELECT count(*) FROM order_items i LEFT JOIN products p USING (sku) WHERE p.sku IS NULL "
        "OR p.price_fen <> i.price_fen OR p.name <> i.product_name",
    ) == (0,)
    # ... and every SKU of a product event
    assert one(
        db,
        "SELECT count(*) FROM events e LEFT JOIN products p ON p.sku = "
        "json_extract_string(e.properties, '$.sku') WHERE json_extract_string(e.properties, "
        "'$.sku') IS NOT NULL AND (p.sku IS NULL OR p.price_fen <> CAST(json_extract("
        "e.properties, '$.price_fen') AS BIGINT))",
    ) == (0,)
    # the first level of a product's path is the order item's category; English per level
    assert one(
        db,
        "SELECT count(*) FROM order_items i JOIN products p USING (sku) "
        "WHERE split_part(p.category, ' › ', 1) <> i.category",
    ) == (0,)
    assert one(
        db,
        "SELECT count(*) FROM products WHERE len(string_split(category, ' › ')) <> 2 OR "
        "len(string_split(category_en, ' › ')) <> 2 OR NOT regexp_full_match(category_en, "
        "'[A-Za-z&'' ›]+')",
    ) == (0,)
    assert one(db, "SELECT count(*) FROM products WHERE category = '美妆 › 面膜'")[0] > 0
    assert one(
        db, "SELECT count(*) FROM products WHERE list_price_fen < price_fen OR stock < 0"
    ) == (0,)


def test_product_properties_match_the_catalogue(db: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(
            db,
            """
        SELECT count(*) FROM (
            SELECT DISTINCT json_extract_string(properties, '$.sku') AS sku,
                   json_extract_string(properties, '$.category') AS category,
                   CAST(json_extract(properties, '$.price_fen') AS BIGINT) AS price_fen
            FROM events WHERE event IN ('product_view', 'add_to_cart', 'favorite')) e
        JOIN (SELECT DISTINCT sku, category, price_fen FROM order_items) i USING (sku)
        WHERE e.category <> i.category OR e.price_fen <> i.price_fen""",
        )[0]
        == 0
    )
    n_skus, n_categories = one(
        db,
        """
        SELECT count(DISTINCT json_extract_string(properties, '$.sku')),
               count(DISTINCT json_extract_string(properties, '$.category'))
        FROM events WHERE event = 'product_view'""",
    )
    assert 250 <= n_skus <= 300
    assert n_categories == 8


# --------------------------------------------------------------------------------------
# Believability: channels, geography, people, referrals
# --------------------------------------------------------------------------------------


def test_channels_spend_and_acquisition_cost(db: duckdb.DuckDBPyConnection) -> None:
    signups = dict(
        db.execute("SELECT signup_channel, count(*) FROM customers GROUP BY 1").fetchall()
    )
    assert set(signups) == CHANNELS
    assert len(set(signups.values())) >= 8  # different volumes
    spend = dict(db.execute("SELECT channel, sum(spend_fen) FROM spend GROUP BY 1").fetchall())
    assert set(spend) == CHANNELS - UNPAID_CHANNELS
    rows_per_channel = {
        r[0] for r in db.execute("SELECT count(*) FROM spend GROUP BY channel").fetchall()
    }
    assert rows_per_channel == {DAYS}  # one row per day per paid channel
    assert (
        one(
            db,
            """SELECT count(*) FROM spend WHERE spend_fen <= 0 OR impressions <= 0
                      OR clicks < 0 OR clicks > impressions""",
        )[0]
        == 0
    )
    cac = {ch: spend[ch] / signups[ch] for ch in spend}
    assert cac["douyin"] * 3 < cac["search"]  # cheap vs expensive acquisition
    assert max(cac.values()) > 4 * min(cac.values())
    # ... and quality differs the other way round: revenue per signup
    revenue = dict(
        db.execute("""
        SELECT c.signup_channel, coalesce(sum(o.amount_fen), 0) / count(DISTINCT c.customer_id)
        FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id
            AND o.status = 'paid'
        GROUP BY 1""").fetchall()
    )
    assert revenue["search"] > 2 * revenue["douyin"]


def test_all_34_provinces_and_plausible_people(db: duckdb.DuckDBPyConnection) -> None:
    provinces = {r[0] for r in db.execute("SELECT DISTINCT province FROM customers").fetchall()}
    assert provinces == {p.name for p in PROVINCES}
    assert len(provinces) == 34
    cities = {p.name: set(p.cities) for p in PROVINCES}
    for province, city in db.execute("SELECT DISTINCT province, city FROM customers").fetchall():
        assert city in cities[province]
    largest = one(
        db,
        """SELECT province FROM customers GROUP BY 1
                         ORDER BY count(*) DESC LIMIT 1""",
    )[0]
    assert largest == "广东省"
    shanghai_tz = one(db, "SELECT avg((timezone = 'Asia/Shanghai')::INT) FROM customers")[0]
    assert 0.9 < shanghai_tz < 1.0
    assert {r[0] for r in db.execute("SELECT DISTINCT gender FROM customers").fetchall()} == {
        "male",
        "female",
    }
    assert {r[0] for r in db.execute("SELECT DISTINCT income_band FROM customers").fetchall()} == {
        "<5k",
        "5k-10k",
        "10k-20k",
        "20k+",
    }
    assert one(db, """SELECT min(len(interests)), max(len(interests)) FROM customers""") == (1, 3)
    assert (
        one(
            db,
            """SELECT count(*) FROM customers WHERE NOT regexp_full_match(phone,
                      '1[3-9][0-9]{9}')""",
        )[0]
        == 0
    )
    email_null, openid = one(
        db,
        """SELECT avg((email IS NULL)::INT),
                                           avg((wechat_openid IS NOT NULL)::INT) FROM customers""",
    )
    assert 0.5 < email_null < 0.7
    assert 0.6 < openid < 0.8
    assert (
        one(
            db,
            """SELECT count(*) FROM customers WHERE wechat_openid IS NOT NULL
                      AND NOT regexp_full_match(wechat_openid, 'o[A-Za-z0-9_-]{27}')""",
        )[0]
        == 0
    )
    # a consent exists exactly when the contact point does
    assert (
        one(
            db,
            """SELECT count(*) FROM customers WHERE
        (email IS NULL) <> (consent_email IS NULL) OR (wechat_openid IS NULL)
        <> (consent_wechat IS NULL) OR (push_token IS NULL) <> (consent_push IS NULL)
        OR (weibo_id IS NULL) <> (consent_weibo IS NULL) OR consent_sms IS NULL""",
        )[0]
        == 0
    )
    consents = {
        r[0]
        for r in db.execute("""SELECT DISTINCT consent_sms FROM customers
                                            UNION SELECT DISTINCT consent_push FROM customers
                                            WHERE consent_push IS NOT NULL""").fetchall()
    }
    assert consents == {"granted", "withdrawn"}
    ages = one(
        db,
        """SELECT min(date_diff('year', birthday, DATE '2026-11-20')),
                             max(date_diff('year', birthday, DATE '2026-11-20')) FROM customers""",
    )
    assert ages[0] >= 17 and ages[1] <= 80


def test_referrals_point_at_earlier_customers(db: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(
            db,
            """SELECT count(*) FROM customers
                      WHERE (referrer_id IS NOT NULL) <> (signup_channel = 'referral')""",
        )[0]
        == 0
    )
    assert (
        one(
            db,
            """SELECT count(*) FROM customers c JOIN customers r
                      ON c.referrer_id = r.customer_id WHERE r.signup_at >= c.signup_at""",
        )[0]
        == 0
    )
    assert (
        one(
            db,
            """SELECT count(*) FROM customers c ANTI JOIN customers r
                      ON c.referrer_id = r.customer_id WHERE c.referrer_id IS NOT NULL""",
        )[0]
        == 0
    )
    heavy = one(
        db,
        """SELECT count(*) FROM (SELECT referrer_id FROM customers
                       WHERE referrer_id IS NOT NULL GROUP BY 1 HAVING count(*) >= 3)""",
    )[0]
    assert 5 <= heavy <= 40  # about 0.5% of 3000 customers are KOL-like referrers
    # each referee was preceded by a share of the referrer
    assert (
        one(
            db,
            """SELECT count(*) FROM customers c WHERE c.referrer_id IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.user_id = c.referrer_id
                      AND e.event = 'share' AND e.timestamp < c.signup_at)""",
        )[0]
        == 0
    )


# --------------------------------------------------------------------------------------
# Planted patterns
# --------------------------------------------------------------------------------------


def test_planted_favorite_effect_on_day_30_retention(db: duckdb.DuckDBPyConnection) -> None:
    """>= 3 favorites in the first 7 days -> much better retention (active in days 30-59)."""
    rows = db.execute("""
        WITH cohort AS (
            SELECT customer_id, signup_at FROM customers
            WHERE signup_at < TIMESTAMPTZ '2026-11-20 00:00:00+08' - INTERVAL 60 DAY),
        per_customer AS (
            SELECT c.customer_id,
                   count(*) FILTER (WHERE e.event = 'favorite'
                                    AND e.timestamp < c.signup_at + INTERVAL 7 DAY) AS favorites,
                   count(*) FILTER (WHERE e.timestamp >= c.signup_at + INTERVAL 30 DAY
                                    AND e.timestamp < c.signup_at + INTERVAL 60 DAY) AS later
            FROM cohort c LEFT JOIN events e ON e.user_id = c.customer_id
            GROUP BY 1)
        SELECT favorites >= 3 AS aha, count(*), avg((later > 0)::INT)
        FROM per_customer GROUP BY 1""").fetchall()
    by_group = {aha: (n, retained) for aha, n, retained in rows}
    n_aha, retained_aha = by_group[True]
    n_rest, retained_rest = by_group[False]
    assert n_aha > 200 and n_rest > 1000
    assert 0.35 < retained_aha < 0.65
    assert 0.05 < retained_rest < 0.22
    assert retained_aha > retained_rest + 0.2
    assert retained_aha > 2.5 * retained_rest


def test_seasonal_peaks_and_spring_festival_dip(db: duckdb.DuckDBPyConnection) -> None:
    daily = dict(
        db.execute("""SELECT created_at::date, count(*) FROM orders
                               GROUP BY 1""").fetchall()
    )
    median = float(np.median(list(daily.values())))
    assert daily[dt.date(2026, 11, 11)] > 2 * median
    assert daily[dt.date(2026, 6, 18)] > 1.5 * median
    festival = [daily.get(dt.date(2026, 2, 17) + dt.timedelta(days=d), 0) for d in range(-3, 4)]
    assert np.mean(festival) < 0.75 * median
    signups = dict(
        db.execute("""SELECT signup_at::date, count(*) FROM customers
                                 GROUP BY 1""").fetchall()
    )
    assert signups[dt.date(2026, 11, 11)] > 2 * float(np.median(list(signups.values())))


def test_repeat_purchases_look_like_buy_till_you_die(db: duckdb.DuckDBPyConnection) -> None:
    """Heterogeneous purchase counts: many one-time buyers, a long tail of loyal ones."""
    counts = [
        r[0]
        for r in db.execute("""SELECT count(*) FROM orders WHERE status <> 'cancelled'
                                          GROUP BY customer_id""").fetchall()
    ]
    one_timers = sum(1 for c in counts if c == 1) / len(counts)
    assert 0.4 < one_timers < 0.8
    assert max(counts) >= 8
    # spend level is per customer: order values of the same customer are correlated
    corr = one(
        db,
        """
        WITH o AS (SELECT customer_id, amount_fen,
                          row_number() OVER (PARTITION BY customer_id ORDER BY created_at) AS k
                   FROM orders WHERE status <> 'cancelled')
        SELECT corr(ln(a.amount_fen), ln(b.amount_fen)) FROM o a JOIN o b
        ON a.customer_id = b.customer_id AND a.k = 1 AND b.k = 2""",
    )[0]
    assert corr > 0.1
