"""Fill a userops warehouse straight from a bench/generate.py shop (no `userops import`).

The warehouse runs confined (DuckDB external access off; files readable only in its spool,
docs/decisions/0009), so each Parquet file is handed over the way the importers do it: placed
in the spool by ``userops.ingest.files.spooled`` (a hard link, removed after) and read there.
Identities: an anonymous id is linked to the first user that identified with it, as the
importer does. The benches that use this measure queries, not imports (bench/import.py does).
"""

from __future__ import annotations

from pathlib import Path

from userops.ingest.files import spooled
from userops.warehouse import Warehouse

STATEMENTS = {
    "customers.parquet": (
        "INSERT INTO customers SELECT customer_id, gender, birthday, province, city, occupation, "
        "industry, income_band, interests, signup_at, signup_channel, referrer_id, timezone, "
        "NULL, false, NULL FROM read_parquet(?)"
    ),
    "orders.parquet": (
        "INSERT INTO orders SELECT order_id, customer_id, created_at, paid_at, status, "
        "amount_fen, discount_fen, coupon_codes, channel FROM read_parquet(?)"
    ),
    "order_items.parquet": (
        "INSERT INTO order_items SELECT order_id, sku, product_name, category, quantity, "
        "price_fen FROM read_parquet(?)"
    ),
    "events.parquet": (
        'INSERT INTO events SELECT message_id, type, event, user_id, anonymous_id, "timestamp", '
        "received_at, properties::JSON, context::JSON, traits::JSON, NULL, NULL "
        "FROM read_parquet(?)"
    ),
    "spend.parquet": (
        "INSERT INTO channel_spend SELECT date, channel, spend_fen, impressions, clicks "
        "FROM read_parquet(?)"
    ),
}
TABLES = ("customers", "orders", "order_items", "events", "channel_spend", "identities")


def load(warehouse: Warehouse, data: Path) -> None:
    """Replace the shop's facts in ``warehouse`` by the Parquet files in ``data``."""
    with warehouse.write(timezone="UTC") as cur:
        for table in TABLES:
            cur.execute(f"DELETE FROM {table}")
        for name, statement in STATEMENTS.items():
            with spooled(data / name, "parquet", warehouse.spool_dir) as path:
                cur.execute(statement, [str(path)])
        cur.execute(
            "INSERT INTO identities SELECT 'anonymous_id', anonymous_id, arg_min(user_id, "
            "\"timestamp\") FROM events WHERE type = 'identify' AND anonymous_id IS NOT NULL AND "
            "user_id IS NOT NULL GROUP BY anonymous_id"
        )
