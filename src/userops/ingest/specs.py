"""What each importable entity's file holds: columns, their kinds, the key, where it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from userops.customers.schemas import CONSENT_CHANNELS, CONTACT_KINDS


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text int posint ts date list json enum gender tz url yuan category
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int | None = None  # text, url: longer values are refused (characters)
    aliases: tuple[tuple[str, str], ...] = ()  # enum: other spellings → a choice


@dataclass(frozen=True)
class EntitySpec:
    name: str  # as typed on the command line
    table: str  # warehouse table, or "customers" (ledger + mirror)
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    json_aliases: dict[str, str] = field(default_factory=dict)
    extra_prefix: str | None = None  # columns with this prefix are accepted (custom attributes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


_CUSTOMERS = EntitySpec(
    name="customers",
    table="customers",
    key=("customer_id",),
    columns=(
        Column("customer_id", "text", required=True),
        Column("name", "text"),
        Column("gender", "gender"),
        Column("birthday", "date"),
        Column("province", "text"),
        Column("city", "text"),
        Column("occupation", "text"),
        Column("industry", "text"),
        Column("income_band", "text"),
        Column("interests", "list"),
        Column("signup_at", "ts"),
        Column("signup_channel", "text"),
        Column("referrer_id", "text"),
        Column("timezone", "tz"),
        *(Column(kind, "text") for kind in CONTACT_KINDS),
        *(
            Column(f"consent_{ch}", "enum", choices=("granted", "withdrawn"))
            for ch in CONSENT_CHANNELS
        ),
    ),
    extra_prefix="attr_",
)

_ORDERS = EntitySpec(
    name="orders",
    table="orders",
    key=("order_id",),
    columns=(
        Column("order_id", "text", required=True),
        Column("customer_id", "text", required=True),
        Column("created_at", "ts", required=True),
        Column("paid_at", "ts"),
        Column("status", "enum", required=True, choices=("paid", "refunded", "cancelled")),
        Column("amount_fen", "int", required=True),
        Column("discount_fen", "int"),
        Column("coupon_codes", "list"),
        Column("channel", "text"),
    ),
)

_ORDER_ITEMS = EntitySpec(
    name="order-items",
    table="order_items",
    key=("order_id", "sku"),
    columns=(
        Column("order_id", "text", required=True),
        Column("sku", "text", required=True),
        Column("product_name", "text"),
        Column("category", "text"),
        Column("quantity", "posint", required=True),
        Column("price_fen", "int", required=True),
    ),
)

_EVENTS = EntitySpec(
    name="events",
    table="events",
    key=("message_id",),
    columns=(
        Column("message_id", "text"),
        Column(
            "type",
            "enum",
            required=True,
            choices=("track", "identify", "page", "screen", "alias", "group"),
        ),
        Column("event", "text"),
        Column("user_id", "text"),
        Column("anonymous_id", "text"),
        Column("timestamp", "ts", required=True),
        Column("received_at", "ts"),
        Column("properties", "json"),
        Column("context", "json"),
        Column("traits", "json"),
        Column("previous_id", "text"),
        Column("name", "text"),
    ),
    json_aliases={
        "messageId": "message_id",
        "userId": "user_id",
        "anonymousId": "anonymous_id",
        "receivedAt": "received_at",
        "previousId": "previous_id",
    },
)

_SPEND = EntitySpec(
    name="spend",
    table="channel_spend",
    key=("date", "channel"),
    columns=(
        Column("date", "date", required=True),
        Column("channel", "text", required=True),
        Column("spend_fen", "int", required=True),
        Column("impressions", "int"),
        Column("clicks", "int"),
    ),
)

PRODUCT_STATUSES = ("on_sale", "off_shelf", "sold_out", "presale")
_STATUS_ALIASES = (
    ("在售", "on_sale"),
    ("上架", "on_sale"),
    ("出售中", "on_sale"),
    ("下架", "off_shelf"),
    ("已下架", "off_shelf"),
    ("仓库中", "off_shelf"),
    ("售罄", "sold_out"),
    ("缺货", "sold_out"),
    ("预售", "presale"),
)

_PRODUCTS = EntitySpec(
    # Stored by userops.catalog (it owns the table): see catalog.store.load.
    name="products",
    table="products",
    key=("sku",),
    columns=(
        Column("sku", "text", required=True, max_length=64),
        Column("name", "text", required=True, max_length=200),
        Column("category", "category"),
        Column("category_en", "category"),
        Column("brand", "text", max_length=100),
        Column("price_fen", "int"),
        Column("price", "yuan"),
        Column("list_price_fen", "int"),
        Column("list_price", "yuan"),
        Column("image_url", "url", max_length=2048),
        Column("stock", "int"),
        Column("status", "enum", choices=PRODUCT_STATUSES, aliases=_STATUS_ALIASES, max_length=20),
        Column("tags", "list"),
    ),
)

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec for spec in (_CUSTOMERS, _ORDERS, _ORDER_ITEMS, _EVENTS, _SPEND, _PRODUCTS)
}
