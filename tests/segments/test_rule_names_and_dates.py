"""Names in rules, breakdowns and funnel filters answer 400, never 500 or SQL; typed dates are
shop-local days."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import write

from userops.auth import service as auth
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import Hub, connect
from userops.ingest.service import import_file
from userops.ledger import unit_of_work
from userops.segments import service as segments
from userops.segments.tree import parse_rule
from userops.server import create_app

BAD_NAMES = ["a\\", 'a"b', "it's", "a\\b", "*", "a.b", "$.x", "a[0]", "x" * 65, ""]
BAD_IDS = [
    "trailing-backslash",
    "dquote",
    "quote",
    "backslash",
    "star",
    "dot",
    "path",
    "bracket",
    "too-long",
    "empty",
]
GOOD_PROPERTIES = ["品类", "$current_url", "utm-source", "Product Name", "order_id"]


def load(hub: Hub, tmp_path: Path, entity: str, text: str) -> None:
    suffix = ".jsonl" if entity == "events" else ".csv"
    result = import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity=entity,
        path=write(tmp_path / f"{entity}{suffix}", text),
    )
    assert result.rejected == 0


def events_text(rows: list[tuple[str, str, dict[str, object]]]) -> str:
    return "".join(
        json.dumps(
            {
                "type": "track",
                "userId": u,
                "event": e,
                "properties": p,
                "timestamp": "2026-03-01T10:00:00+08:00",
                "messageId": f"m{i}",
            },
            ensure_ascii=False,
        )
        + "\n"
        for i, (u, e, p) in enumerate(rows)
    )


def who(hub: Hub, rule: dict) -> list[str]:  # type: ignore[type-arg]
    with unit_of_work(hub.engine) as session:
        found = segments.preview(
            session, hub.warehouse, rule, sample=100, now=datetime(2026, 4, 1, tzinfo=UTC)
        )
    return found.sample


@pytest.mark.parametrize("name", BAD_NAMES, ids=BAD_IDS)
def test_rule_names_outside_the_pattern_are_refused(name: str) -> None:
    rules = [
        ({"events": "view", "where": [{"property": name, "value": "x"}]}, "where[0]"),
        ({"all": [{"attr": f"attributes.{name}", "value": "x"}]}, "all[0]"),
    ]
    for rule, path in rules:
        with pytest.raises(InvalidInput) as err:
            parse_rule(rule)
        assert err.value.field == "rule"
        assert err.value.message.startswith(f"{path}: ") and repr(name) in err.value.message


def test_documented_names_match_exactly(hub: Hub, tmp_path: Path) -> None:
    load(
        hub,
        tmp_path,
        "customers",
        "customer_id,attr_会员等级,attr_tier\nc1,金卡,x\nc2,银卡,y\nc3,,z\n",
    )
    rows = [
        ("c1", "view", {p: "yes" for p in GOOD_PROPERTIES}),
        ("c2", "view", {"a": {"b": "yes"}, "a.b": "no", "$": "no"}),
    ]
    load(hub, tmp_path, "events", events_text(rows))
    assert who(hub, {"attr": "attributes.会员等级", "value": "金卡"}) == ["c1"]
    for prop in GOOD_PROPERTIES:
        rule = {"events": "view", "where": [{"property": prop, "value": "yes"}]}
        assert who(hub, rule) == ["c1"], prop
    # a name reads its own key, never a path into another one
    assert who(hub, {"events": "view", "where": [{"property": "a", "value": "yes"}]}) == []


DAY_EDGES = (
    "customer_id,signup_at\n"
    "c_before,2026-02-28T23:30:00+08:00\n"  # 15:30 UTC on the 28th
    "c_first,2026-03-01T00:30:00+08:00\n"  # 16:30 UTC on the 28th: already March 1st locally
    "c_last,2026-03-01T23:50:00+08:00\n"  # 15:50 UTC on March 1st
    "c_after,2026-03-02T00:10:00+08:00\n"  # 16:10 UTC on March 1st: March 2nd locally
)


def test_typed_dates_are_shop_local_days(hub: Hub, tmp_path: Path) -> None:
    assert hub.settings.timezone == "Asia/Shanghai"
    load(hub, tmp_path, "customers", DAY_EDGES)
    day = "2026-03-01"

    def signup(op: str, value: object) -> list[str]:
        return who(hub, {"attr": "signup_at", "op": op, "value": value})

    assert signup("eq", day) == ["c_first", "c_last"]
    assert signup("gte", day) == ["c_after", "c_first", "c_last"]
    assert signup("gt", day) == ["c_after"]
    assert signup("lt", day) == ["c_before"]
    assert signup("lte", day) == ["c_before", "c_first", "c_last"]
    assert signup("ne", day) == ["c_after", "c_before"]
    assert signup("between", [day, day]) == ["c_first", "c_last"]
    assert signup("between", ["2026-02-28", day]) == ["c_before", "c_first", "c_last"]
    assert signup("in", ["2026-02-28", "2026-03-02"]) == ["c_after", "c_before"]
    assert signup("not_in", [day]) == ["c_after", "c_before"]
    # a time without an offset is shop-local too; with one, it is that instant
    assert signup("gte", "2026-03-01T00:00:00") == ["c_after", "c_first", "c_last"]
    assert signup("gte", "2026-03-01T00:00:00Z") == ["c_after", "c_last"]
    assert signup("lt", "2026-03-01T00:30:00") == ["c_before"]
    with pytest.raises(InvalidInput) as err:
        signup("gte", "March 1st")
    assert err.value.field == "rule" and "YYYY-MM-DD" in err.value.message


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with connect(settings) as hub:
        load(hub, tmp_path, "customers", "customer_id,attr_tier\nc1,gold\n")
        load(
            hub,
            tmp_path,
            "events",
            events_text([("c1", "view", {"sku": "a"}), ("c1", "buy", {"sku": "a"})]),
        )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def read_key(client: TestClient) -> dict[str, str]:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with unit_of_work(hub.engine) as session:
        created = auth.create_key(session, scope="admin")
    return {"authorization": f"Bearer {created.key}"}


@pytest.mark.parametrize("name", ["a\\", 'a"b', "it's", "*"], ids=[*BAD_IDS[:3], "star"])
def test_api_answers_400_naming_the_field(client: TestClient, name: str) -> None:
    headers = read_key(client)
    rule = {"events": "view", "where": [{"property": name, "value": "a"}]}
    answers = {
        "rule": client.post("/api/v1/segments/preview", json={"rule": rule}, headers=headers),
        "step": client.get(
            "/api/v1/analytics/funnel",
            params=[
                ("step", f"view:{name}=a"),
                ("step", "buy"),
                ("date_from", "2026-02-01"),
                ("date_to", "2026-03-31"),
            ],
            headers=headers,
        ),
        "breakdown": client.get(
            "/api/v1/analytics/funnel",
            params=[
                ("step", "view"),
                ("step", "buy"),
                ("breakdown", f"attr:{name}"),
                ("date_from", "2026-02-01"),
                ("date_to", "2026-03-31"),
            ],
            headers=headers,
        ),
    }
    for field, answer in answers.items():
        assert answer.status_code == 400, (field, answer.text)
        error = answer.json()["error"]
        assert error["field"] == field and repr(name) in error["message"]
        assert "SELECT" not in error["message"] and "json_extract" not in error["message"]


def test_api_funnel_filter_with_a_documented_name_works(client: TestClient) -> None:
    answer = client.get(
        "/api/v1/analytics/funnel",
        params=[
            ("step", "view:sku=a"),
            ("step", "buy"),
            ("breakdown", "attr:tier"),
            ("date_from", "2026-02-01"),
            ("date_to", "2026-03-31"),
        ],
        headers=read_key(client),
    )
    assert answer.status_code == 200, answer.text
