"""The rule tree: parsed from JSON with the path of every bad node in the error.

A rule is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": rule}`` or one condition (see
docs/segments.md and the JSON Schema in docs/segment-rule.schema.json).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from userops.catalog import paths
from userops.core import names
from userops.core.errors import InvalidInput

OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "contains",
    "is_null",
    "not_null",
)
ALIASES = {"=": "eq", "==": "eq", "!=": "ne", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
CONDITION_KEYS = (
    "attr",
    "tag",
    "rfm",
    "score",
    "orders",
    "events",
    "inactive",
    "reachable",
    "segment",
    "bought",
)
ORDER_METRICS = ("count", "sum_fen", "aov_fen", "days_since_last")
CUSTOM_PREFIX = "attributes."
"""``{"attr": "attributes.<key>"}`` tests a custom attribute."""


@dataclass(frozen=True)
class Group:
    kind: str  # all | any
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Compare:
    op: str
    value: Any = None


@dataclass(frozen=True)
class Field:
    """A condition on one named field of a source (attr, tag, rfm, score)."""

    source: str
    name: str
    test: Compare
    path: str


@dataclass(frozen=True)
class Orders:
    metric: str
    test: Compare
    within_days: int | None
    path: str


@dataclass(frozen=True)
class PropertyFilter:
    name: str
    test: Compare


@dataclass(frozen=True)
class Events:
    event: str
    test: Compare
    within_days: int | None
    where: tuple[PropertyFilter, ...] = field(default_factory=tuple)
    path: str = ""


@dataclass(frozen=True)
class Inactive:
    event: str  # an event name, or "order"
    days: int
    path: str


@dataclass(frozen=True)
class Reachable:
    channel: str
    path: str


@dataclass(frozen=True)
class InSegment:
    name: str
    path: str


@dataclass(frozen=True)
class Bought:
    """Paid orders holding an item of a category (its node or below), counted per customer."""

    category: str  # normalised path (catalog.paths)
    test: Compare
    within_days: int | None
    path: str


Node = Group | Not | Field | Orders | Events | Inactive | Reachable | InSegment | Bought


def _fail(path: str, message: str, field_name: str = "rule") -> InvalidInput:
    return InvalidInput(f"{path or 'rule'}: {message}", field=field_name)


def _check_name(name: str, path: str, key: str, valid: Callable[[str], bool]) -> None:
    """A custom attribute or event property name must match the documented pattern: it becomes
    a JSON path in the query, where quotes, backslashes, dots or ``*`` have a meaning."""
    if not valid(name):
        rule = names.ATTRIBUTE_RULE if key == "attr" else names.PROPERTY_RULE
        what = "a custom attribute name" if key == "attr" else "a property name"
        raise _fail(path, f"{key} {name!r}: {what} takes {rule}")


def _compare(raw: dict[str, Any], path: str, *, value_key: str = "value") -> Compare:
    op = raw.get("op", "eq")
    if not isinstance(op, str):
        raise _fail(path, "op must be a string")
    op = ALIASES.get(op, op)
    if op not in OPERATORS:
        raise _fail(path, f"unknown operator {op!r}; known: {', '.join(OPERATORS)}")
    value = raw.get(value_key)
    if op in {"is_null", "not_null"}:
        return Compare(op)
    if value is None:
        raise _fail(path, f"{value_key!r} is required for operator {op!r}")
    if op in {"in", "not_in"} and (not isinstance(value, list) or not value):
        raise _fail(path, f"operator {op!r} needs a non-empty list")
    if op == "between" and (not isinstance(value, list) or len(value) != 2):
        raise _fail(path, "operator 'between' needs [low, high]")
    if op in {"gt", "gte", "lt", "lte"} and isinstance(value, (list, dict)):
        raise _fail(path, f"operator {op!r} needs a single value")
    return Compare(op, tuple(value) if isinstance(value, list) else value)


def _days(raw: dict[str, Any], key: str, path: str, *, required: bool) -> int | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise _fail(path, f"{key!r} is required")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1 or value > 36500:
        raise _fail(path, f"{key!r} must be a whole number of days between 1 and 36500")
    return value


def parse(raw: Any, path: str = "") -> Node:
    if not isinstance(raw, dict):
        raise _fail(path, "a rule node must be a JSON object")
    for group in ("all", "any"):
        if group in raw:
            children = raw[group]
            if not isinstance(children, list) or not children:
                raise _fail(path, f"{group!r} needs a non-empty list")
            prefix = f"{path}." if path else ""
            return Group(
                group,
                tuple(parse(child, f"{prefix}{group}[{i}]") for i, child in enumerate(children)),
            )
    if "not" in raw:
        return Not(parse(raw["not"], f"{path}.not" if path else "not"))
    keys = [k for k in CONDITION_KEYS if k in raw]
    if len(keys) != 1:
        raise _fail(
            path,
            "expected one of all/any/not or a condition ("
            + ", ".join(CONDITION_KEYS)
            + f"); got keys {sorted(raw)}",
        )
    key = keys[0]
    name = raw[key]
    if not isinstance(name, str) or not name:
        raise _fail(path, f"{key!r} must name what it tests")
    if key == "attr" and name.startswith(CUSTOM_PREFIX):
        _check_name(name[len(CUSTOM_PREFIX) :], path, "attr", names.is_attribute_name)
    if key in {"attr", "tag", "rfm", "score"}:
        return Field(key, name, _compare(raw, path), path)
    if key == "orders":
        if name not in ORDER_METRICS:
            raise _fail(path, f"unknown order metric {name!r}; known: {', '.join(ORDER_METRICS)}")
        return Orders(
            name, _compare(raw, path), _days(raw, "within_days", path, required=False), path
        )
    if key == "events":
        filters = []
        where = raw.get("where", [])
        if not isinstance(where, list):
            raise _fail(path, "'where' must be a list of property filters")
        for i, item in enumerate(where):
            sub = f"{path}.where[{i}]" if path else f"where[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("property"), str):
                raise _fail(sub, "a filter needs 'property', 'op' and 'value'")
            _check_name(item["property"], sub, "property", names.is_property_name)
            filters.append(PropertyFilter(item["property"], _compare(item, sub)))
        test = _compare({"op": raw.get("op", "gte"), "value": raw.get("value", 1)}, path)
        return Events(
            name, test, _days(raw, "within_days", path, required=False), tuple(filters), path
        )
    if key == "bought":
        try:
            category = paths.normalize(name)
        except paths.BadPath as exc:
            raise _fail(path, str(exc)) from exc
        test = _compare({"op": raw.get("op", "gte"), "value": raw.get("value", 1)}, path)
        return Bought(category, test, _days(raw, "within_days", path, required=False), path)
    if key == "inactive":
        return Inactive(name, _days(raw, "days", path, required=True) or 0, path)
    if key == "reachable":
        return Reachable(name, path)
    return InSegment(name, path)


def parse_rule(raw: Any) -> Node:
    """Parse a whole rule; an error names the bad node (``all[2].any[0]: unknown operator``)."""
    return parse(raw, "")
