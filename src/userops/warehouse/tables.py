"""DDL of every warehouse table: the one place where their columns are written down."""

from __future__ import annotations

# Column order matters: importers insert by position after projecting to these columns.
TABLES: dict[str, dict[str, str]] = {
    "customers": {
        # A mirror of the ledger's analytic profile fields (no name or contact points:
        # personal data stays in the ledger). Written only by userops.customers.
        "customer_id": "VARCHAR NOT NULL",
        "gender": "VARCHAR",
        "birthday": "DATE",
        "province": "VARCHAR",
        "city": "VARCHAR",
        "occupation": "VARCHAR",
        "industry": "VARCHAR",
        "income_band": "VARCHAR",
        "interests": "VARCHAR[]",
        "signup_at": "TIMESTAMPTZ",
        "signup_channel": "VARCHAR",
        "referrer_id": "VARCHAR",
        "timezone": "VARCHAR",
        "attributes": "JSON",
        "placeholder": "BOOLEAN NOT NULL",
        "merged_into": "VARCHAR",
    },
    "identities": {
        # Mirror of the ledger's identities: which customer an anonymous id or alias belongs to.
        "kind": "VARCHAR NOT NULL",
        "value": "VARCHAR NOT NULL",
        "customer_id": "VARCHAR NOT NULL",
    },
    "events": {
        "message_id": "VARCHAR NOT NULL",
        "type": "VARCHAR NOT NULL",
        "event": "VARCHAR",
        "user_id": "VARCHAR",
        "anonymous_id": "VARCHAR",
        "timestamp": "TIMESTAMPTZ NOT NULL",
        "received_at": "TIMESTAMPTZ NOT NULL",
        "properties": "JSON",
        "context": "JSON",
        "traits": "JSON",
        "previous_id": "VARCHAR",
        "name": "VARCHAR",
    },
    "orders": {
        "order_id": "VARCHAR NOT NULL",
        "customer_id": "VARCHAR NOT NULL",
        "created_at": "TIMESTAMPTZ NOT NULL",
        "paid_at": "TIMESTAMPTZ",
        "status": "VARCHAR NOT NULL",
        "amount_fen": "BIGINT NOT NULL",
        "discount_fen": "BIGINT NOT NULL",
        "coupon_codes": "VARCHAR[]",
        "channel": "VARCHAR",
    },
    "order_items": {
        "order_id": "VARCHAR NOT NULL",
        "sku": "VARCHAR NOT NULL",
        "product_name": "VARCHAR",
        "category": "VARCHAR",
        "quantity": "BIGINT NOT NULL",
        "price_fen": "BIGINT NOT NULL",
    },
    "channel_spend": {
        "date": "DATE NOT NULL",
        "channel": "VARCHAR NOT NULL",
        "spend_fen": "BIGINT NOT NULL",
        "impressions": "BIGINT",
        "clicks": "BIGINT",
    },
}

KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "identities": ("kind", "value"),
    "events": ("message_id",),
    "orders": ("order_id",),
    "order_items": ("order_id", "sku"),
    "channel_spend": ("date", "channel"),
}


def create_statements() -> list[str]:
    statements = []
    for table, columns in TABLES.items():
        body = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
    return statements
