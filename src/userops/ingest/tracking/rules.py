"""The Segment HTTP Tracking API's rules, as pure functions: check one call, normalise it.

A call's messages become *journal lines*: one JSON object per event with the warehouse's
column names (``message_id``, ``user_id``, …), its ``received_at`` and the skew-corrected
``timestamp``. The line is what the journal stores and what the loader imports, so this module
is the only place that reads Segment's camelCase field names.

Speed: the body is decoded by msgspec straight into typed structs (types are checked in C and a
wrong type names its JSON path); ``properties``, ``traits`` and ``context`` stay raw JSON
bytes, copied into the line without being parsed, unless a rule needs to look inside.
No IO here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
import numpy as np
import orjson

MAX_EVENT_BYTES = 32 * 1024
"""An event's JSON, as stored, may not exceed 32 KB (the spec's limit)."""
MAX_BATCH_BYTES = 500 * 1024
"""A batch request body (``/v1/batch``, ``/v1/import``), decompressed, may not exceed 500 KB."""
MAX_CALL_BYTES = 32 * 1024
"""A single call's body (``/v1/track`` …), decompressed, may not exceed 32 KB (the spec's)."""
MAX_BATCH_EVENTS = 2_500
"""A batch may hold at most 2,500 events."""
MAX_MESSAGE_ID = 100
"""``messageId`` must be shorter than 100 characters."""
MAX_ID = 128
"""``userId``, ``anonymousId``, ``previousId``, ``groupId``: at most 128 characters (the
ledger's customer id column)."""
MAX_DEPTH = 64
"""``properties``, ``traits``, ``context`` and ``integrations`` may nest objects and arrays at
most 64 levels deep."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""``timestamp``, ``originalTimestamp`` and ``sentAt`` (and the clock-corrected time) must lie
in [1970-01-01, 2200-01-01) UTC: outside, a device clock is broken, and the arithmetic of the
skew correction could overflow."""
TRAIT_LIMITS = {
    ("name",): 200,
    ("email",): 256,
    ("phone",): 256,
    ("address", "city"): 64,
    ("address", "state"): 64,
}
"""Identify traits that become ledger profile fields, and the length of their column
(customers/models.py): a longer value is refused at the door, not by the ledger later."""
SIGNUP_SOURCE_LIMIT = 64
"""A ``Signed Up`` track's ``context.campaign.source`` becomes the profile's signup channel."""
ORDER_EVENTS = ("Order Completed", "Order Refunded", "Order Cancelled")
"""Segment e-commerce events that write orders (see ``ingest.service``)."""
MAX_YUAN = Decimal("9999999999999999.99")
"""The largest amount an order can hold (DECIMAL(18, 2) yuan; the fen fit a BIGINT)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")

TYPES = ("track", "identify", "page", "screen", "alias", "group")
_TYPES = frozenset(TYPES)
_NONE = msgspec.Raw()
_NULL = b"null"


class MessageError(ValueError):
    """A message breaks a rule; ``field`` names it (``batch[3].event``)."""

    def __init__(self, message: str, field: str, events: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.events = events
        """How many events the refused call held (1 when the body could not be read)."""


class Message(msgspec.Struct):
    """One Segment message as sent (unknown fields are ignored)."""

    type: str | None = None
    userId: str | int | None = None
    anonymousId: str | int | None = None
    messageId: str | None = None
    event: str | None = None
    name: str | None = None
    previousId: str | int | None = None
    groupId: str | int | None = None
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None
    sentAt: datetime | None = None
    properties: msgspec.Raw = _NONE
    traits: msgspec.Raw = _NONE
    context: msgspec.Raw = _NONE
    integrations: msgspec.Raw = _NONE
    writeKey: str | None = None


class Batch(msgspec.Struct):
    batch: list[Message]
    sentAt: datetime | None = None
    context: msgspec.Raw = _NONE
    writeKey: str | None = None


class Line(msgspec.Struct, omit_defaults=True):
    """A journal line: an event with the warehouse's column names."""

    message_id: str
    type: str
    timestamp: datetime
    received_at: datetime
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    previous_id: str | None = None
    name: str | None = None
    properties: msgspec.Raw = _NONE
    context: msgspec.Raw = _NONE
    traits: msgspec.Raw = _NONE
    write_key: str | None = None
    order_refused: str | None = None
    """Why an order event writes no order (its money is not an amount); the event is kept."""


_MESSAGE = msgspec.json.Decoder(Message)
_BATCH = msgspec.json.Decoder(Batch)
_ENCODE = msgspec.json.Encoder().encode
_PATH = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


@dataclass
class Checked:
    """The good outcome of a call: its events as journal lines, ready to append."""

    lines: list[bytes] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    write_key: str | None = None


def corrected_timestamp(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Segment's clock-skew correction: the device's clock is off by ``sentAt - receivedAt``,
    so ``timestamp = receivedAt - (sentAt - originalTimestamp)``. Without ``sentAt`` the
    timestamp is kept; without a timestamp the event happened when it was received."""
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    return received_at - (sent_at - timestamp)


def _utc(moment: datetime | None) -> datetime | None:
    """Naive timestamps are UTC, as the SDKs mean them."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _object(raw: msgspec.Raw, where: str) -> msgspec.Raw:
    """A raw JSON value that must be an object (or null/absent, kept as absent)."""
    if not len(raw):
        return raw
    first = memoryview(raw)[:1].tobytes()
    if first == b"{":
        return raw
    if bytes(raw) == _NULL:
        return _NONE
    raise MessageError(f"{where}: must be a JSON object", where)


def _load(raw: msgspec.Raw) -> dict[str, Any]:
    value = orjson.loads(bytes(raw))
    return value if isinstance(value, dict) else {}


def _text(text: str, where: str) -> None:
    """An id must hold something visible and no control character (NUL breaks the ledger)."""
    if _CONTROL.search(text):
        raise MessageError(f"{where}: must not contain control characters (NUL, newline …)", where)
    if not text.strip():
        raise MessageError(f"{where}: must not be blank", where)


def _id(value: str | int | None, where: str) -> str | None:
    """An id as text (numbers turned into strings), or None when absent or empty."""
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_ID:
        raise MessageError(f"{where}: at most {MAX_ID} characters, got {len(text)}", where)
    _text(text, where)
    return text


def _in_range(moment: datetime | None, where: str) -> datetime | None:
    moment = _utc(moment)
    if moment is not None and not EARLIEST <= moment < LATEST:
        raise MessageError(
            f"{where}: must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} UTC, "
            f"got {moment.isoformat()}",
            where,
        )
    return moment


def _event_time(
    message: Message, where: str, received_at: datetime, skew: timedelta | None
) -> datetime:
    """The skew-corrected time of the event, inside the accepted range."""
    timestamp = _in_range(message.timestamp, f"{where}.timestamp")
    if timestamp is None:  # RudderStack's SDKs send the device's time as originalTimestamp
        timestamp = _in_range(message.originalTimestamp, f"{where}.originalTimestamp")
    sent_at = _in_range(message.sentAt, f"{where}.sentAt")
    if sent_at is not None:
        skew = received_at - sent_at
    if timestamp is None:
        return received_at
    if skew is None:
        return timestamp
    corrected = timestamp + skew  # both in range: no overflow
    if not EARLIEST <= corrected < LATEST:
        raise MessageError(
            f"{where}.timestamp: corrected for the device clock (sentAt) it falls outside "
            f"{EARLIEST:%Y-%m-%d} … {LATEST:%Y-%m-%d}",
            f"{where}.timestamp",
        )
    return corrected


def _trait_value(traits: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = traits
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _check_traits(traits: msgspec.Raw, where: str) -> None:
    """Traits that become ledger profile fields fit their column and hold no NUL."""
    values = _load(traits)
    for path, limit in TRAIT_LIMITS.items():
        value = _trait_value(values, path)
        if value is None:
            continue
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        name = f"{where}.traits.{'.'.join(path)}"
        if len(text) > limit:
            raise MessageError(f"{name}: at most {limit} characters, got {len(text)}", name)
        if "\x00" in text:
            raise MessageError(f"{name}: must not contain NUL characters", name)


def _check_signup_source(context: msgspec.Raw, where: str) -> None:
    source = _trait_value(_load(context), ("campaign", "source"))
    if isinstance(source, str) and len(source) > SIGNUP_SOURCE_LIMIT:
        name = f"{where}.context.campaign.source"
        raise MessageError(
            f"{name}: at most {SIGNUP_SOURCE_LIMIT} characters (the signup channel)", name
        )


def _amount_problem(value: Any, name: str) -> str | None:
    """The file importer's money rule for a yuan amount: a number or a plain decimal string,
    at most two decimals (fen are never guessed), not negative, not beyond what an order holds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return f"{name}: not an amount in yuan: {orjson.dumps(value).decode()[:40]}"
    text = value.strip() if isinstance(value, str) else repr(value)
    if isinstance(value, int):
        text = str(value)
    negative = text.startswith("-")
    if not _AMOUNT.fullmatch(text.removeprefix("-")):
        return f"{name}: not an amount in yuan (digits, at most 2 decimals): {text[:40]}"
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return f"{name}: not an amount in yuan: {text[:40]}"
    if negative and amount != 0:
        return f"{name}: must be ≥ 0, got {text[:40]}"
    if amount > MAX_YUAN:
        return f"{name}: more than an order can hold ({MAX_YUAN} yuan): {text[:40]}"
    return None


def order_refusal(properties: dict[str, Any]) -> str | None:
    """Why an order event's money cannot make an order (None when it can): ``total`` /
    ``revenue``, ``discount`` and each product's ``price`` follow the file importer's rules,
    and a product's ``quantity`` must be a whole number ≥ 1."""
    for key in ("total", "revenue", "discount"):
        problem = _amount_problem(properties.get(key), f"properties.{key}")
        if problem:
            return problem
    products = properties.get("products")
    if isinstance(products, list):
        for i, product in enumerate(products):
            if not isinstance(product, dict):
                continue
            problem = _amount_problem(product.get("price"), f"properties.products[{i}].price")
            if problem:
                return problem
            quantity = product.get("quantity")
            if quantity is not None and (
                isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1
            ):
                return f"properties.products[{i}].quantity: must be a whole number ≥ 1"
    return None


_STRING = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*$')
_ESCAPE = re.compile(rb"\\.", re.S)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"{}[]')
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"{[")] = 1
_STEP[list(b"}]")] = -1


def _key_before(body: bytes, start: int) -> str | None:
    """The object key whose value opens at ``start`` (None when it is an array element)."""
    found = _STRING.search(body[max(0, start - 512) : start])
    if not found:
        return None
    try:
        key = orjson.loads(b'"' + found.group(1) + b'"')
    except orjson.JSONDecodeError:
        return None
    return key if isinstance(key, str) else None


def _max_depth(body: bytes) -> int:
    """How deep the body nests, fast: escapes blanked, everything but quotes and brackets
    dropped (both in C), then brackets between an odd and an even quote ignored (numpy)."""
    if b"\\" in body:
        body = _ESCAPE.sub(b"__", body)
    kept = np.frombuffer(body.translate(None, _NOT_STRUCTURE), dtype=np.uint8)
    if not len(kept):
        return 0
    outside = (np.cumsum(kept == 34, dtype=np.int32) & 1) == 0
    return int(np.cumsum(_STEP[kept] * outside, dtype=np.int32).max())


def _depths(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(depth after each byte, which bytes open a container), brackets in strings ignored."""
    raw = np.frombuffer(body, dtype=np.uint8)
    at = np.arange(len(raw))
    backslash = raw == 92
    last_plain = np.maximum.accumulate(np.where(backslash, -1, at))
    quotes = np.flatnonzero(raw == 34)
    before = np.maximum(quotes - 1, 0)
    run = np.where(quotes > 0, quotes - 1 - last_plain[before], 0)
    real = np.zeros(len(raw), dtype=np.int8)
    real[quotes[run % 2 == 0]] = 1
    outside = (np.cumsum(real) % 2) == 0
    opens = ((raw == 123) | (raw == 91)) & outside
    closes = ((raw == 125) | (raw == 93)) & outside
    depth = np.cumsum(opens.astype(np.int32) - closes.astype(np.int32))
    return depth, opens


def _nesting_error(body: bytes, call: str) -> MessageError | None:
    """A field nested deeper than MAX_DEPTH, named like ``batch[3].properties``; checked over
    the raw body (one vectorised pass) before decoding, so no depth can exhaust the stack."""
    if body.count(b"{") + body.count(b"[") <= MAX_DEPTH:
        return None
    if _max_depth(body) <= MAX_DEPTH + 1:
        return None  # the common case; otherwise find the field (exact, offsets kept)
    depth, opens = _depths(body)
    batch = call in ("batch", "import")
    for start in np.flatnonzero(opens & (depth == 2)):  # the values of top-level fields
        end = start + int(np.argmax(depth[start:] < 2)) if (depth[start:] < 2).any() else None
        region = depth[start:end]
        key = _key_before(body, int(start))
        allowed = MAX_DEPTH + (3 if batch and key == "batch" else 1)
        if int(region.max()) <= allowed:
            continue
        deep = int(start) + int(np.argmax(region > allowed))
        if not batch:
            where = f"{call}.{key}" if key else call
        elif key != "batch":
            where = key or "body"
        else:
            messages = np.flatnonzero(opens[start : deep + 1] & (depth[start : deep + 1] == 3))
            inner = np.flatnonzero(opens[start : deep + 1] & (depth[start : deep + 1] == 4))
            field_key = _key_before(body, int(start + inner[-1])) if len(inner) else None
            where = f"batch[{len(messages) - 1}]" + (f".{field_key}" if field_key else "")
        return MessageError(f"{where}: JSON nested deeper than {MAX_DEPTH} levels", where)
    return None


def _decode_error(exc: msgspec.MsgspecError, call: str) -> MessageError:
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return MessageError(f"the body is not valid JSON: {exc}", "body")
    text = str(exc)
    match = _PATH.match(text)
    what = match.group("what") if match else text
    path = (match.group("path") if match else None) or ""
    if "missing required field `batch`" in what:
        return MessageError("batch: required, a list of messages", "batch")
    where = path.lstrip(".") if call in ("batch", "import") else f"{call}{path}"
    return MessageError(f"{where or 'body'}: {what}", where or "body")


def _line(
    message: Message,
    *,
    kind: str,
    where: str,
    received_at: datetime,
    skew: timedelta | None,
    batch_context: bytes | None,
    write_key: str | None,
) -> Line:
    user_id = _id(message.userId, f"{where}.userId")
    anonymous_id = _id(message.anonymousId, f"{where}.anonymousId")
    if user_id is None and anonymous_id is None:
        raise MessageError(f"{where}.userId: userId or anonymousId is required", f"{where}.userId")
    message_id = message.messageId
    if not message_id:
        message_id = f"uo-{uuid.uuid4()}"
    elif len(message_id) >= MAX_MESSAGE_ID:
        raise MessageError(
            f"{where}.messageId: must be shorter than {MAX_MESSAGE_ID} characters",
            f"{where}.messageId",
        )
    else:
        _text(message_id, f"{where}.messageId")
    event = message.event
    if kind == "track" and (not event or not event.strip()):
        raise MessageError(f"{where}.event: required for track", f"{where}.event")
    previous_id = _id(message.previousId, f"{where}.previousId")
    if kind == "alias" and (previous_id is None or user_id is None):
        name = "previousId" if previous_id is None else "userId"
        raise MessageError(f"{where}.{name}: alias needs previousId and userId", f"{where}.{name}")
    properties = _object(message.properties, f"{where}.properties")
    traits = _object(message.traits, f"{where}.traits")
    context = _object(message.context, f"{where}.context")
    _object(message.integrations, f"{where}.integrations")
    name = message.name
    if batch_context:
        merged = {**orjson.loads(batch_context), **(_load(context) if len(context) else {})}
        context = msgspec.Raw(orjson.dumps(merged))
    if kind == "identify" and not len(traits) and len(context):
        inner = _load(context).get("traits")  # RudderStack's SDKs send traits here
        if isinstance(inner, dict):
            traits = msgspec.Raw(orjson.dumps(inner))
    if kind == "identify" and len(traits):
        _check_traits(traits, where)
    if kind == "track" and event == "Signed Up" and len(context):
        _check_signup_source(context, where)
    order_refused = None
    if kind == "track" and event in ORDER_EVENTS and len(properties):
        order_refused = order_refusal(_load(properties))
    if kind == "group":
        group_id = _id(message.groupId, f"{where}.groupId")
        if group_id is None:
            raise MessageError(f"{where}.groupId: required for group", f"{where}.groupId")
        props = _load(properties) if len(properties) else {}
        properties = msgspec.Raw(orjson.dumps({**props, "groupId": group_id}))
    if kind in ("page", "screen") and name is None and len(properties):
        found = _load(properties).get("name")
        name = found if isinstance(found, str) else None
    timestamp = _event_time(message, where, received_at, skew)
    return Line(
        message_id=message_id,
        type=kind,
        timestamp=timestamp,
        received_at=received_at,
        event=event,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        name=name,
        properties=properties,
        context=context,
        traits=traits,
        write_key=write_key,
        order_refused=order_refused,
    )


def check_call(
    call: str, body: bytes, *, received_at: datetime, write_key: str | None = None
) -> Checked:
    """Check a whole call (``track`` … or ``batch``/``import``) given its JSON body: every event
    passes or the call is refused with the first broken rule, so nothing of a bad batch is
    stored. ``write_key`` (the key's public prefix) is written into each line."""
    out = Checked()
    too_deep = _nesting_error(body, call)
    if too_deep is not None:
        raise too_deep
    try:
        if call in ("batch", "import"):
            decoded = _BATCH.decode(body)
            messages = decoded.batch
            out.write_key = decoded.writeKey
            if len(messages) > MAX_BATCH_EVENTS:
                raise MessageError(
                    f"batch: at most {MAX_BATCH_EVENTS} events, got {len(messages)}",
                    "batch",
                    len(messages),
                )
            sent_at = _in_range(decoded.sentAt, "sentAt")
            batch_context = _object(decoded.context, "context")
            places = [f"batch[{i}]" for i in range(len(messages))]
        else:
            single = _MESSAGE.decode(body)
            messages, places = [single], [call]
            out.write_key = single.writeKey
            sent_at, batch_context = None, _NONE
    except msgspec.MsgspecError as exc:
        raise _decode_error(exc, call) from None
    except RecursionError:  # not reached after the nesting check; kept as the last guard
        raise MessageError(f"body: JSON nested deeper than {MAX_DEPTH} levels", "body") from None
    skew = None if sent_at is None else received_at - sent_at
    try:
        _check_messages(out, call, messages, places, received_at, skew, batch_context, write_key)
    except MessageError as exc:
        exc.events = len(messages)
        raise
    return out


def _check_messages(
    out: Checked,
    call: str,
    messages: list[Message],
    places: list[str],
    received_at: datetime,
    skew: timedelta | None,
    batch_context: msgspec.Raw,
    write_key: str | None,
) -> None:
    batch_bytes = bytes(batch_context) if len(batch_context) else None
    for message, where in zip(messages, places, strict=True):
        kind = message.type if call in ("batch", "import") else call
        if kind not in _TYPES:
            raise MessageError(
                f"{where}.type: must be one of {'/'.join(TYPES)}, got {kind!r}", f"{where}.type"
            )
        built = _line(
            message,
            kind=kind,  # type: ignore[arg-type]
            where=where,
            received_at=received_at,
            skew=skew,
            batch_context=batch_bytes,
            write_key=write_key,
        )
        line = _ENCODE(built)
        if len(line) > MAX_EVENT_BYTES:
            raise MessageError(
                f"{where}: an event may not exceed {MAX_EVENT_BYTES // 1024} KB "
                f"({len(line)} bytes)",
                where,
            )
        out.lines.append(line)
        out.message_ids.append(built.message_id)
