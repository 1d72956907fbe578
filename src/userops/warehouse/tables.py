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
    "products": {
        # The product catalogue (userops.catalog), from `userops import products`; one row per
        # SKU. category/category_en are paths "美妆 › 面膜" (catalog.paths).
        "sku": "VARCHAR NOT NULL",
        "name": "VARCHAR NOT NULL",
        "category": "VARCHAR",
        "category_en": "VARCHAR",
        "brand": "VARCHAR",
        "price_fen": "BIGINT NOT NULL",
        "list_price_fen": "BIGINT",
        "image_url": "VARCHAR",
        "stock": "BIGINT",
        "status": "VARCHAR",
        "tags": "VARCHAR[]",
    },
    "product_categories": {
        # The category tree derived from products (rebuilt by every products import): one row
        # per node, with its English display name when the file gave one.
        "path": "VARCHAR NOT NULL",
        "parent": "VARCHAR",
        "name": "VARCHAR NOT NULL",
        "name_en": "VARCHAR",
        "depth": "INTEGER NOT NULL",
        "products": "BIGINT NOT NULL",
    },
    "channel_spend": {
        "date": "DATE NOT NULL",
        "channel": "VARCHAR NOT NULL",
        "spend_fen": "BIGINT NOT NULL",
        "impressions": "BIGINT",
        "clicks": "BIGINT",
    },
    "customer_scores": {
        # BG/NBD + Gamma-Gamma per customer (userops.predict); rewritten whole by `predict fit`.
        "customer_id": "VARCHAR NOT NULL",
        "expected_orders_30": "DOUBLE",
        "expected_orders_90": "DOUBLE",
        "expected_orders_365": "DOUBLE",
        "p_alive": "DOUBLE",
        "expected_aov_fen": "BIGINT",
        "clv_fen": "BIGINT",
        "churn_risk": "VARCHAR",
        "model_version": "VARCHAR",
        "computed_at": "TIMESTAMPTZ",
    },
    "recommendations": {
        # "Guess you like" lists (userops.recommend); rewritten whole by `recommend train`.
        "customer_id": "VARCHAR NOT NULL",
        "rank": "INTEGER NOT NULL",
        "sku": "VARCHAR NOT NULL",
        "category": "VARCHAR",
        "score": "DOUBLE NOT NULL",
        "source": "VARCHAR NOT NULL",
        "computed_at": "TIMESTAMPTZ NOT NULL",
    },
    "customer_recommended_category": {
        "customer_id": "VARCHAR NOT NULL",
        "category": "VARCHAR",
        "computed_at": "TIMESTAMPTZ NOT NULL",
    },
    "customer_tag_values": {
        # One row per customer seen before the last refresh's as-of instant (userops.tags).
        "customer_id": "VARCHAR NOT NULL",
        "as_of": "TIMESTAMPTZ NOT NULL",
        "first_seen": "TIMESTAMPTZ",
        "last_active_at": "TIMESTAMPTZ",
        "lifecycle": "VARCHAR",
        "recency_days": "BIGINT",
        "frequency": "BIGINT",
        "monetary_fen": "BIGINT",
        "r_score": "INTEGER",
        "f_score": "INTEGER",
        "m_score": "INTEGER",
        "rfm_cn": "VARCHAR",
        "rfm_segment": "VARCHAR",
        "aov_fen": "BIGINT",
        "aov_tier": "VARCHAR",
        "orders_in_window": "BIGINT",
        "order_frequency": "VARCHAR",
        "referrals": "BIGINT",
        "attributed_orders": "BIGINT",
        "value": "VARCHAR",
        "age_band": "VARCHAR",
        "gender": "VARCHAR",
        "province": "VARCHAR",
        "city_tier": "VARCHAR",
        "birthday_month": "INTEGER",
        "interests": "VARCHAR[]",
    },
    "customer_tags": {
        # The current tags in long form: (customer, family, value); manual tags have family
        # "manual". Read by segments and breakdowns.
        "customer_id": "VARCHAR NOT NULL",
        "family": "VARCHAR NOT NULL",
        "value": "VARCHAR NOT NULL",
    },
    "tag_snapshots": {
        # The counted families of every refresh, dated by as-of: transitions between refreshes.
        "as_of": "TIMESTAMPTZ NOT NULL",
        "customer_id": "VARCHAR NOT NULL",
        "family": "VARCHAR NOT NULL",
        "value": "VARCHAR NOT NULL",
    },
    "tag_refreshes": {
        "as_of": "TIMESTAMPTZ NOT NULL",
        "refreshed_at": "TIMESTAMPTZ NOT NULL",
        "customers": "BIGINT NOT NULL",
        "counts": "JSON NOT NULL",
    },
    "manual_tags": {
        "customer_id": "VARCHAR NOT NULL",
        "tag": "VARCHAR NOT NULL",
        "added_at": "TIMESTAMPTZ NOT NULL",
        "source": "VARCHAR",
    },
    "ref_city_tiers": {
        "tier_city": "VARCHAR NOT NULL",
        "tier": "VARCHAR NOT NULL",
    },
    "customer_reach": {
        # Mirror of the ledger: can this customer be reached on this channel (a contact point
        # and consent granted)? Refreshed with the tags.
        "customer_id": "VARCHAR NOT NULL",
        "channel": "VARCHAR NOT NULL",
        "has_contact": "BOOLEAN NOT NULL",
        "consent": "VARCHAR",
    },
    "segment_members": {
        "segment": "VARCHAR NOT NULL",
        "customer_id": "VARCHAR NOT NULL",
    },
    "segment_history": {
        "as_of": "TIMESTAMPTZ NOT NULL",
        "refreshed_at": "TIMESTAMPTZ NOT NULL",
        "segment": "VARCHAR NOT NULL",
        "size": "BIGINT NOT NULL",
        "entered": "BIGINT NOT NULL",
        "left": "BIGINT NOT NULL",
    },
    "segment_changes": {
        "as_of": "TIMESTAMPTZ NOT NULL",
        "segment": "VARCHAR NOT NULL",
        "customer_id": "VARCHAR NOT NULL",
        "change": "VARCHAR NOT NULL",
    },
}

OWNERS: dict[str, str] = {
    # The one package whose code names each table (tools/check_table_owners.py enforces it);
    # every other package composes the owner's published functions and Ibis expressions.
    "customers": "userops.customers",
    "identities": "userops.customers",
    "customer_reach": "userops.customers",
    "events": "userops.ingest",
    "orders": "userops.ingest",
    "order_items": "userops.ingest",
    "channel_spend": "userops.ingest",
    "products": "userops.catalog",
    "product_categories": "userops.catalog",
    "customer_scores": "userops.predict",
    "recommendations": "userops.recommend",
    "customer_recommended_category": "userops.recommend",
    "customer_tag_values": "userops.tags",
    "customer_tags": "userops.tags",
    "tag_snapshots": "userops.tags",
    "tag_refreshes": "userops.tags",
    "manual_tags": "userops.tags",
    "ref_city_tiers": "userops.tags",
    "segment_members": "userops.segments",
    "segment_history": "userops.segments",
    "segment_changes": "userops.segments",
}

KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "identities": ("kind", "value"),
    "events": ("message_id",),
    "orders": ("order_id",),
    "order_items": ("order_id", "sku"),
    "channel_spend": ("date", "channel"),
    "products": ("sku",),
    "product_categories": ("path",),
    "customer_scores": ("customer_id",),
    "recommendations": ("customer_id", "rank"),
    "customer_recommended_category": ("customer_id",),
}


def create_statements() -> list[str]:
    statements = []
    for table, columns in TABLES.items():
        body = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
    return statements
