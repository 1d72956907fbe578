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
from typing import Any

import msgspec
import orjson

MAX_EVENT_BYTES = 32 * 1024
"""An event's JSON, as stored, may not exceed 32 KB (the spec's limit)."""
MAX_BATCH_BYTES = 500 * 1024
"""A request body, decompressed, may not exceed 500 KB."""
MAX_BATCH_EVENTS = 2_500
"""A batch may hold at most 2,500 events."""
MAX_MESSAGE_ID = 100
"""``messageId`` must be shorter than 100 characters."""

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


def _id(value: str | int | None) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


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
    user_id = _id(message.userId)
    anonymous_id = _id(message.anonymousId)
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
    event = message.event
    if kind == "track" and (not event or not event.strip()):
        raise MessageError(f"{where}.event: required for track", f"{where}.event")
    previous_id = _id(message.previousId)
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
    if kind == "group":
        group_id = _id(message.groupId)
        if group_id is None:
            raise MessageError(f"{where}.groupId: required for group", f"{where}.groupId")
        props = _load(properties) if len(properties) else {}
        properties = msgspec.Raw(orjson.dumps({**props, "groupId": group_id}))
    if kind in ("page", "screen") and name is None and len(properties):
        found = _load(properties).get("name")
        name = found if isinstance(found, str) else None
    timestamp = _utc(message.timestamp)
    if message.sentAt is not None:
        skew = received_at - _utc(message.sentAt)  # type: ignore[operator]
    if timestamp is None:
        timestamp = received_at
    elif skew is not None:
        timestamp = timestamp + skew
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
    )


def check_call(
    call: str, body: bytes, *, received_at: datetime, write_key: str | None = None
) -> Checked:
    """Check a whole call (``track`` … or ``batch``/``import``) given its JSON body: every event
    passes or the call is refused with the first broken rule, so nothing of a bad batch is
    stored. ``write_key`` (the key's public prefix) is written into each line."""
    out = Checked()
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
            sent_at = _utc(decoded.sentAt)
            batch_context = _object(decoded.context, "context")
            places = [f"batch[{i}]" for i in range(len(messages))]
        else:
            single = _MESSAGE.decode(body)
            messages, places = [single], [call]
            out.write_key = single.writeKey
            sent_at, batch_context = None, _NONE
    except msgspec.MsgspecError as exc:
        raise _decode_error(exc, call) from None
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
