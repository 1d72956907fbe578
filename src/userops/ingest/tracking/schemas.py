"""The tracking calls' request bodies as pydantic models, used only to document them.

The handlers read raw bodies (``rules.check_call`` decodes them with msgspec, for speed); these
models describe the same rules for ``/openapi.json``, so an SDK author sees which fields are
required and how long they may be. Rules a JSON Schema cannot state (byte limits, nesting depth,
the clock-skew correction) are in the descriptions. When a rule in ``rules`` changes, change it
here too: the schemathesis test (tests/api/test_schemathesis.py) holds the server to this.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import models_json_schema

from userops.ingest.tracking import rules

MAX_ID = 128
"""Ids of people and groups: at most 128 characters (the ledger's customer id column)."""

_VISIBLE = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
"""Something visible, and no control character."""
Id = Annotated[str, StringConstraints(max_length=MAX_ID, pattern=f"^$|{_VISIBLE}")] | int
"""A number is read as its text; an empty string is the same as no id."""
MessageId = Annotated[
    str, StringConstraints(min_length=1, max_length=rules.MAX_MESSAGE_ID - 1, pattern=_VISIBLE)
]
Moment = Annotated[
    datetime,
    Field(
        description="RFC 3339 date-time; without an offset it is UTC. Must lie in "
        "[1970-01-01, 2200-01-01) UTC, also after the clock-skew correction."
    ),
]
JsonObject = dict[str, Any]


class _Call(BaseModel):
    """Fields every call may carry. Unknown fields are accepted and ignored."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"anyOf": [{"required": ["userId"]}, {"required": ["anonymousId"]}]},
    )

    userId: Id | None = Field(None, description="Your id of the person (userId or anonymousId)")
    anonymousId: Id | None = Field(None, description="A device or cookie id, before sign-in")
    messageId: MessageId | None = Field(
        None, description="Idempotency key: a repeated messageId is acknowledged, stored once"
    )
    timestamp: Moment | None = None
    originalTimestamp: Moment | None = Field(
        None, description="RudderStack's name for timestamp, read when timestamp is absent"
    )
    sentAt: Moment | None = Field(
        None, description="When the device sent the call: corrects the device's clock skew"
    )
    context: JsonObject | None = None
    integrations: JsonObject | None = None
    writeKey: str | None = Field(None, description="The write key, if not sent in a header")


class TrackCall(_Call):
    """``POST /v1/track``: the person did something."""

    event: Annotated[str, StringConstraints(pattern=r"\S")] = Field(
        description="What happened, e.g. Order Completed"
    )
    properties: JsonObject | None = None


class IdentifyCall(_Call):
    """``POST /v1/identify``: who the person is (traits name, email, phone, address …)."""

    traits: JsonObject | None = Field(
        None,
        description="name ≤ 200, email ≤ 256, phone ≤ 256, address.city and address.state ≤ 64 "
        "characters; without traits, context.traits is read",
    )


class PageCall(_Call):
    """``POST /v1/page``: a web page was viewed."""

    name: str | None = Field(None, description="The page's name (else properties.name)")
    properties: JsonObject | None = None


class ScreenCall(PageCall):
    """``POST /v1/screen``: an app screen was viewed."""


class AliasCall(_Call):
    """``POST /v1/alias``: ``previousId`` and ``userId`` are one person."""

    model_config = ConfigDict(extra="allow", json_schema_extra=None)

    userId: Id = Field(description="The person's id from now on")
    previousId: Id = Field(description="The id they had before")


class GroupCall(_Call):
    """``POST /v1/group``: the person belongs to a group (a company, a household …)."""

    groupId: Id = Field(description="The group's id")
    traits: JsonObject | None = None


class TrackMessage(TrackCall):
    type: Literal["track"]


class IdentifyMessage(IdentifyCall):
    type: Literal["identify"]


class PageMessage(PageCall):
    type: Literal["page"]


class ScreenMessage(ScreenCall):
    type: Literal["screen"]


class AliasMessage(AliasCall):
    type: Literal["alias"]


class GroupMessage(GroupCall):
    type: Literal["group"]


BatchMessage = Annotated[
    TrackMessage | IdentifyMessage | PageMessage | ScreenMessage | AliasMessage | GroupMessage,
    Field(discriminator="type"),
]


class BatchCall(BaseModel):
    """``POST /v1/batch`` (and ``/v1/import``): up to 2,500 messages, all or none stored."""

    model_config = ConfigDict(extra="allow")

    batch: list[BatchMessage] = Field(max_length=rules.MAX_BATCH_EVENTS)
    sentAt: Moment | None = None
    context: JsonObject | None = Field(None, description="Merged under each message's context")
    writeKey: str | None = None


class Accepted(BaseModel):
    """Every event of the call is on disk (journaled and synced)."""

    success: Literal[True]


BODIES: dict[str, type[BaseModel]] = {
    "track": TrackCall,
    "identify": IdentifyCall,
    "page": PageCall,
    "screen": ScreenCall,
    "alias": AliasCall,
    "group": GroupCall,
    "batch": BatchCall,
    "import": BatchCall,
}
LIMITS = (
    f"A body may not exceed {rules.MAX_BATCH_BYTES // 1024} KB (batch) after gzip "
    f"(`Content-Encoding: gzip`) is undone, an event {rules.MAX_EVENT_BYTES // 1024} KB as "
    "stored; properties, traits and context may nest 64 levels."
)


def components(ref_template: str = "#/components/schemas/{model}") -> dict[str, Any]:
    """The JSON Schemas of every tracking body, for ``components.schemas``."""
    _, top = models_json_schema(
        [(model, "validation") for model in {*BODIES.values()}], ref_template=ref_template
    )
    return dict(top.get("$defs", {}))
