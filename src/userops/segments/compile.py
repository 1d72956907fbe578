"""Rule tree → one Ibis boolean over the people table. Pure: no IO besides reading schemas.

Never falls back to TRUE: an unknown field or a rule that cannot be compiled is an error, because
for a campaign audience "match everyone" is the worst possible mistake (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from userops.catalog import queries as catalog
from userops.core.clock import as_utc, local_midnight_utc
from userops.core.errors import InvalidInput
from userops.core.names import json_path
from userops.customers import queries as customers
from userops.ingest import queries as facts
from userops.predict import queries as predictions
from userops.recommend import queries as recommended
from userops.segments import fields as F
from userops.segments.tree import (
    CUSTOM_PREFIX,
    Bought,
    Compare,
    Events,
    Field,
    Group,
    Inactive,
    InSegment,
    Node,
    Not,
    Orders,
    Reachable,
)
from userops.tags import queries as tag_tables


@dataclass
class Context:
    con: ibis.BaseBackend
    now: datetime
    lookup: Callable[[str], Any]  # saved segment name → parsed rule (raises NotFound)
    timezone: str  # the shop's: a date typed in a rule is a shop-local day
    people: ir.Table = field(init=False)
    _visiting: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.people = customers.people(self.con).select("customer_id", *F.ATTR_FIELDS, "attributes")


def compile_rule(node: Node, ctx: Context) -> ir.BooleanValue:
    ids = ctx.people.customer_id
    match node:
        case Group(kind="all", children=cs):
            return ibis.and_(*(compile_rule(c, ctx) for c in cs))
        case Group(kind="any", children=cs):
            return ibis.or_(*(compile_rule(c, ctx) for c in cs))
        case Not(child=c):
            return ~compile_rule(c, ctx)
        case Field(source="attr"):
            return _attr(node, ctx)
        case Field(source="tag"):
            return _tag(node, ctx, ids)
        case Field(source="rfm"):
            return _numbers(node, ctx, ids, tag_tables.current_values, F.VALUE_FIELDS)
        case Field(source="score") if node.name in F.RECOMMENDED_FIELDS:
            column = F.RECOMMENDED_FIELDS[node.name]
            source = recommended.recommended_categories(ctx.con)
            hit = source.filter(_apply(source[column], node.test, "string", node.path))
            return ids.isin(hit.customer_id)
        case Field(source="score"):
            return _numbers(node, ctx, ids, predictions.scores, F.SCORE_FIELDS)
        case Orders():
            return _orders(node, ctx, ids)
        case Events():
            return _events(node, ctx, ids)
        case Inactive():
            return _inactive(node, ctx, ids)
        case Reachable():
            return _reachable(node, ctx, ids)
        case InSegment():
            return _segment(node, ctx)
        case Bought():
            return _bought(node, ctx, ids)
    raise InvalidInput(f"cannot compile {type(node).__name__}", field="rule")


def members(node: Node, ctx: Context) -> ir.Table:
    """The people matching the rule: a table of ``customer_id``."""
    return ctx.people.filter(compile_rule(node, ctx)).select("customer_id")


def _fail(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path or 'rule'}: {message}", field="rule")


def _coerce(value: Any, kind: str, path: str) -> Any:
    if isinstance(value, tuple):
        return tuple(_coerce(v, kind, path) for v in value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, f"needs a number, got {value!r}")
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise _fail(path, f"needs a date YYYY-MM-DD, got {value!r}") from exc
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(path, f"needs true or false, got {value!r}")
        return value
    return str(value)


@dataclass(frozen=True)
class _Span:
    """What a typed date or time covers, in UTC: a day is [low, high); an instant is low = high,
    inclusive."""

    low: datetime
    high: datetime
    is_day: bool

    def below_high(self, column: ir.Value) -> ir.BooleanValue:
        return column < self.high if self.is_day else column <= self.high


def _span(value: Any, tz: ZoneInfo, path: str) -> _Span:
    """A rule's date (``2026-03-01``: that shop-local day) or time (no offset: shop-local; with
    an offset or ``Z``: that instant), as everywhere else in userops."""
    text = value if isinstance(value, str) else None
    if text is not None and len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None:
            start = local_midnight_utc(day, tz)
            return _Span(start, local_midnight_utc(day + timedelta(days=1), tz), True)
    try:
        parsed = datetime.fromisoformat(text or "")
    except ValueError as exc:
        raise _fail(path, f"needs a date (YYYY-MM-DD) or time (ISO 8601), got {value!r}") from exc
    moment = as_utc(parsed, tz)
    return _Span(moment, moment, False)


def _moment(column: ir.Value, test: Compare, tz: ZoneInfo, path: str) -> ir.BooleanValue:
    """A timestamp field against typed dates or times: ``eq "2026-03-01"`` is any time of that
    shop-local day, ``lte`` it includes the whole day, ``gt`` it starts the next day."""
    op, value = test.op, test.value
    if op in {"is_null", "not_null", "contains"}:
        return _apply(column, test, "timestamp", path)
    if op in {"gt", "gte", "lt", "lte", "eq", "ne"}:
        span = _span(value, tz, path)
        within = (column >= span.low) & span.below_high(column)
        match op:
            case "gt":
                return column >= span.high if span.is_day else column > span.high
            case "gte":
                return column >= span.low
            case "lt":
                return column < span.low
            case "lte":
                return span.below_high(column)
            case "eq":
                return within
            case _:
                return ~within | column.isnull()
    if op == "between":
        low, high = _span(value[0], tz, path), _span(value[1], tz, path)
        return (column >= low.low) & high.below_high(column)
    spans = [_span(v, tz, path) for v in value]
    hit = ibis.or_(*((column >= s.low) & s.below_high(column) for s in spans))
    return hit if op == "in" else ~hit | column.isnull()


def _apply(column: ir.Value, test: Compare, kind: str, path: str) -> ir.BooleanValue:
    op, value = test.op, test.value
    if op == "is_null":
        return column.isnull()
    if op == "not_null":
        return column.notnull()
    if kind == "list":
        if op != "contains":
            raise _fail(path, "a list field takes 'contains'")
        return column.contains(str(value))
    if op == "contains":
        if kind != "string":
            raise _fail(path, "'contains' is for text and lists")
        return column.contains(str(value))
    if kind == "timestamp":  # compared through _moment, which knows the shop's day
        raise _fail(path, "cannot compile a time comparison here")
    value = _coerce(value, kind, path)
    if op in {"gt", "gte", "lt", "lte", "between"} and kind in {"string", "boolean"}:
        raise _fail(path, f"operator {op!r} needs a number or a date field")
    match op:
        case "eq":
            return column == value
        case "ne":
            return (column != value) | column.isnull()
        case "in":
            return column.isin(list(value))
        case "not_in":
            return ~column.isin(list(value)) | column.isnull()
        case "gt":
            return column > value
        case "gte":
            return column >= value
        case "lt":
            return column < value
        case "lte":
            return column <= value
        case "between":
            return column.between(value[0], value[1])
    raise _fail(path, f"unknown operator {op!r}")


def _holds_for_zero(test: Compare) -> bool:
    """Whether a count or sum of 0 satisfies the test (customers with no rows at all)."""
    op, value = test.op, test.value
    checks = {
        "eq": lambda: value == 0,
        "ne": lambda: value != 0,
        "gt": lambda: value < 0,
        "gte": lambda: value <= 0,
        "lt": lambda: value > 0,
        "lte": lambda: value >= 0,
        "in": lambda: 0 in value,
        "not_in": lambda: 0 not in value,
        "between": lambda: value[0] <= 0 <= value[1],
    }
    check = checks.get(op)
    return bool(check()) if check else False


def _attr(node: Field, ctx: Context) -> ir.BooleanValue:
    people = ctx.people
    if node.name.startswith(CUSTOM_PREFIX):
        key = node.name[len(CUSTOM_PREFIX) :]  # checked by the parser (core.names)
        column = people.attributes.cast("json")[json_path(key)].str
        return _apply(column, node.test, "string", node.path)
    kind = F.ATTR_FIELDS.get(node.name)
    if kind is None:
        raise _fail(
            node.path,
            f"unknown attribute {node.name!r}; known: "
            f"{', '.join(F.ATTR_FIELDS)}, attributes.<custom>",
        )
    if kind == "timestamp":
        return _moment(people[node.name], node.test, ZoneInfo(ctx.timezone), node.path)
    return _apply(people[node.name], node.test, kind, node.path)


def _tag(node: Field, ctx: Context, ids: ir.Column) -> ir.BooleanValue:
    if node.name not in F.TAG_FAMILIES:
        raise _fail(
            node.path, f"unknown tag family {node.name!r}; known: {', '.join(F.TAG_FAMILIES)}"
        )
    tags = tag_tables.current_tags(ctx.con)
    tags = tags.filter(tags.family == node.name)
    test = node.test
    if test.op in {"ne", "not_in"}:
        positive = Compare("eq" if test.op == "ne" else "in", test.value)
        hit = tags.filter(_apply(tags.value, positive, "string", node.path))
        return ~ids.isin(hit.customer_id)
    if test.op == "is_null":
        return ~ids.isin(tags.customer_id)
    if test.op == "not_null":
        return ids.isin(tags.customer_id)
    hit = tags.filter(_apply(tags.value, test, "string", node.path))
    return ids.isin(hit.customer_id)


def _numbers(
    node: Field,
    ctx: Context,
    ids: ir.Column,
    table: Callable[[ibis.BaseBackend], ir.Table],
    registry: dict[str, str],
) -> ir.BooleanValue:
    """A test on a column of the owner's per-customer table ``table`` (tag values, scores)."""
    kind = registry.get(node.name)
    if kind is None:
        known = [*registry, *(F.RECOMMENDED_FIELDS if node.source == "score" else ())]
        raise _fail(
            node.path, f"unknown {node.source} field {node.name!r}; known: {', '.join(known)}"
        )
    source = table(ctx.con)
    if kind == "timestamp":
        test = _moment(source[node.name], node.test, ZoneInfo(ctx.timezone), node.path)
    else:
        test = _apply(source[node.name], node.test, kind, node.path)
    hit = source.filter(test)
    return ids.isin(hit.customer_id)


def _window(table: ir.Table, column: str, ctx: Context, within_days: int | None) -> ir.Table:
    table = table.filter(table[column] < ctx.now)
    if within_days:
        table = table.filter(table[column] >= ctx.now - timedelta(days=within_days))
    return table


def _orders(node: Orders, ctx: Context, ids: ir.Column) -> ir.BooleanValue:
    paid = _window(customers.paid_orders(ctx.con, ctx.now), "paid_at", ctx, node.within_days)
    per = paid.group_by("customer_id").aggregate(
        count=paid.count(),
        sum_fen=paid.amount_fen.sum(),
        aov_fen=(paid.amount_fen.sum() // paid.count()),
        last=paid.paid_at.max(),
    )
    if node.metric == "days_since_last":
        metric = (int(ctx.now.timestamp()) - per["last"].epoch_seconds()) // 86_400
    else:
        metric = per[node.metric]
    test = node.test
    matched = per.filter(_apply(metric, test, "number", node.path))
    if node.metric in {"count", "sum_fen"} and _holds_for_zero(test):
        failed = per.filter(~_apply(metric, test, "number", node.path))
        return ~ids.isin(failed.customer_id)
    return ids.isin(matched.customer_id)


def _event_rows(ctx: Context, event: str, within_days: int | None) -> ir.Table:
    events = customers.resolved_events(ctx.con, ctx.now)
    events = _window(events, "timestamp", ctx, within_days)
    return events.filter(events.event == event)


def _events(node: Events, ctx: Context, ids: ir.Column) -> ir.BooleanValue:
    rows = _event_rows(ctx, node.event, node.within_days)
    for i, prop in enumerate(node.where):
        path = f"{node.path}.where[{i}]" if node.path else f"where[{i}]"
        raw = rows.properties.cast("json")[json_path(prop.name)]  # checked by the parser
        is_number = isinstance(prop.test.value, (int, float)) and not isinstance(
            prop.test.value, bool
        )
        column = raw.float if is_number else raw.str
        rows = rows.filter(_apply(column, prop.test, "number" if is_number else "string", path))
    per = rows.group_by("customer_id").aggregate(n=rows.count())
    if _holds_for_zero(node.test):
        failed = per.filter(~_apply(per.n, node.test, "number", node.path))
        return ~ids.isin(failed.customer_id)
    return ids.isin(per.filter(_apply(per.n, node.test, "number", node.path)).customer_id)


def _inactive(node: Inactive, ctx: Context, ids: ir.Column) -> ir.BooleanValue:
    if node.event == "order":
        recent = _window(customers.paid_orders(ctx.con, ctx.now), "paid_at", ctx, node.days)
    else:
        recent = _event_rows(ctx, node.event, node.days)
    return ~ids.isin(recent.customer_id)


def _reachable(node: Reachable, ctx: Context, ids: ir.Column) -> ir.BooleanValue:
    if node.channel not in F.REACH_CHANNELS:
        raise _fail(
            node.path, f"unknown channel {node.channel!r}; known: {', '.join(F.REACH_CHANNELS)}"
        )
    return ids.isin(customers.reachable(ctx.con, node.channel).customer_id)


def _segment(node: InSegment, ctx: Context) -> ir.BooleanValue:
    if node.name in ctx._visiting:
        raise _fail(node.path, f"segment {node.name!r} refers to itself")
    ctx._visiting.add(node.name)
    try:
        return compile_rule(ctx.lookup(node.name), ctx)
    finally:
        ctx._visiting.discard(node.name)


def _bought(node: Bought, ctx: Context, ids: ir.Column) -> ir.BooleanValue:
    """Paid orders (in the window) with at least one item whose product is in the category
    node or below it (``catalog.in_category``), counted per customer and tested."""
    paid = _window(customers.paid_orders(ctx.con, ctx.now), "paid_at", ctx, node.within_days)
    items = facts.order_items(ctx.con)
    in_node = catalog.in_category(ctx.con, node.category).select("sku")
    hit = items.filter(items.sku.isin(in_node.sku)).select("order_id").distinct()
    orders = paid.filter(paid.order_id.isin(hit.order_id))
    per = orders.group_by("customer_id").aggregate(n=orders.order_id.nunique())
    if _holds_for_zero(node.test):
        failed = per.filter(~_apply(per.n, node.test, "number", node.path))
        return ~ids.isin(failed.customer_id)
    return ids.isin(per.filter(_apply(per.n, node.test, "number", node.path)).customer_id)
