"""The customer system (/tags), segments (/segments) and tags on the customer 360 page, through
the whole server app (TestClient, no browser)."""

from __future__ import annotations

import html as htmllib
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.console.conftest import PASSWORD, csrf_of, prepare_data_dir

from userops.config import Settings
from userops.console import i18n
from userops.core.clock import local_midnight_utc
from userops.hub import Hub, connect
from userops.ingest.service import import_file
from userops.ledger import unit_of_work
from userops.segments import service as segments
from userops.server import create_app
from userops.tags import rules
from userops.tags import service as tags
from userops.tags.rules import TagSettings

MORE_CUSTOMERS = """\
customer_id,name,phone,signup_at,province,city,gender,birthday
c4,赵六,13700000004,2024-01-10T10:00:00+08:00,广东省,广州市,female,1995-05-05
c5,钱七,,2024-06-20T10:00:00+08:00,广东省,深圳市,male,2001-08-01
c6,孙八,,2023-05-01T10:00:00+08:00,北京市,北京市,male,1980-01-01
c7,周九,,2024-02-01T10:00:00+08:00,浙江省,宁波市,female,1990-12-12
"""
MORE_ORDERS = """\
order_id,customer_id,created_at,paid_at,status,amount_fen
o-4001,c4,2024-06-20T10:00:00+08:00,2024-06-20T10:05:00+08:00,paid,30000
o-4002,c4,2024-06-25T10:00:00+08:00,2024-06-25T10:05:00+08:00,paid,50000
o-6001,c6,2023-06-01T10:00:00+08:00,2023-06-01T10:05:00+08:00,paid,20000
o-7001,c7,2024-05-15T10:00:00+08:00,2024-05-15T10:05:00+08:00,paid,15000
"""
ALL_IDS = ("c1", "c2", "c3", "c4", "c5", "c6", "c7")
PROVINCE = {
    "c1": "广东省",
    "c2": "浙江省",
    "c3": "上海市",
    "c4": "广东省",
    "c5": "广东省",
    "c6": "北京市",
    "c7": "浙江省",
}
PAID = {"c1": (1, 10000), "c2": (1, 25050), "c4": (2, 80000), "c6": (1, 20000), "c7": (1, 15000)}


def build_shop(data_dir: Path) -> Settings:
    """The console's three customers plus four, and two tag refreshes (June 1 and July 1)."""
    settings = prepare_data_dir(data_dir)
    with connect(settings) as hub:
        for entity, text in (("customers", MORE_CUSTOMERS), ("orders", MORE_ORDERS)):
            path = data_dir / f"more-{entity}.csv"
            path.write_text(text, encoding="utf-8")
            summary = import_file(
                engine=hub.engine,
                warehouse=hub.warehouse,
                rejects_dir=settings.rejects_dir,
                entity=entity,
                path=path,
            )
            assert summary.rejected == 0
        for day in (date(2024, 6, 1), date(2024, 7, 1)):
            tags.refresh(
                hub.warehouse,
                as_of=local_midnight_utc(day, hub.settings.tz),
                settings=TagSettings(),
            )
    return settings


@pytest.fixture(scope="module")
def console_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Overrides the console conftest's data dir for this module."""
    return build_shop(tmp_path_factory.mktemp("customer-system") / "data")


def hub_of(client: TestClient) -> Hub:
    found: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return found


def sign_in(client: TestClient) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def embedded(html: str, element_id: str) -> Any:
    found = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert found, f"no #{element_id}"
    return json.loads(found.group(1))


def tag_of(hub: Hub, customer_id: str, family: str) -> list[str]:
    return tags.show(hub.warehouse, customer_id).tags.get(family, [])


def preview(client: TestClient, rule: Any, csrf: str) -> str:
    text = rule if isinstance(rule, str) else json.dumps(rule, ensure_ascii=False)
    response = client.post(
        "/segments/preview", data={"rule": text, "csrf": csrf}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200, response.text
    assert "<html" not in response.text
    return response.text


def count_of(partial: str) -> int:
    found = re.search(r'data-count="(\d+)"', partial)
    assert found, partial
    return int(found.group(1))


# /tags


def test_tags_page_shows_the_counts_of_every_family(signed_in: TestClient) -> None:
    # given
    counts = tags.counts(hub_of(signed_in).warehouse)
    # when
    html = signed_in.get("/tags").text
    # then: the embedded chart data is the service's counts, with labels
    charts = {c["family"]: c for c in embedded(html, "tags-data")["charts"]}
    assert set(charts) == set(rules.FAMILIES)
    for family, values in counts.items():
        shown = {i["value"]: i["customers"] for i in charts[family]["items"]}
        assert shown == values, family
        assert f'id="chart-tag-{family}"' in html or not values
    assert sum(counts["lifecycle"].values()) == 7
    lifecycle = charts["lifecycle"]["items"]
    assert [i["value"] for i in lifecycle] == [
        v for v in rules.LIFECYCLE if v in counts["lifecycle"]
    ]
    assert {i["label"] for i in lifecycle} <= {"新客", "活跃", "回流", "沉默", "流失"}
    # and the numbers are on the page for readers without charts
    for value, n in counts["lifecycle"].items():
        assert re.search(rf'<tr data-value="{value}"><td>[^<]+</td><td class="num">{n}</td>', html)
    assert 'id="as-of"' in html and "2024-07-01 00:00" in html
    assert "/static/tags.js" in html and "/static/vendor/echarts.min.js" in html


def test_tags_page_rfm_grid_numbers(signed_in: TestClient) -> None:
    # given: the members of each class, from each customer's own tags
    hub = hub_of(signed_in)
    expected = {cls: [0, 0, 0] for cls in rules.RFM_CN}  # customers, revenue, orders
    for customer_id in ALL_IDS:
        for cls in tag_of(hub, customer_id, "rfm_cn"):
            orders, revenue = PAID[customer_id]
            expected[cls][0] += 1
            expected[cls][1] += revenue
            expected[cls][2] += orders
    assert sum(v[0] for v in expected.values()) == len(PAID)
    # when
    html = signed_in.get("/tags").text
    # then
    for cls, (customers, revenue, orders) in expected.items():
        cell = re.search(rf'id="rfm-{cls}">(.*?)</td>', html, re.S)
        assert cell, cls
        text = cell.group(1)
        assert rules.RFM_CN_LABELS[cls] in text
        assert f'class="rfm-customers">{customers}<' in text, cls
        assert f'class="rfm-revenue">¥{revenue / 100:,.2f}<' in text, cls
        aov = f"¥{revenue // orders / 100:,.2f}" if orders else "—"
        assert f'class="rfm-aov">{aov}<' in text, cls


def test_tags_page_in_english(signed_in: TestClient) -> None:
    signed_in.get("/lang/en")
    try:
        html = signed_in.get("/tags").text
    finally:
        signed_in.get("/lang/zh-CN")
    assert "Customer system" in html
    assert "Important value" in html and "General win-back" in html
    assert "重要价值" not in html
    labels = {i["label"] for i in embedded(html, "tags-data")["charts"][0]["items"]}
    assert labels <= {"New", "Active", "Returning", "Silent", "Churned"}


def test_tags_page_shows_lifecycle_transitions(signed_in: TestClient) -> None:
    moves = tags.transitions(hub_of(signed_in).warehouse).moves
    assert moves, "the two refreshes should move somebody"
    html = signed_in.get("/tags").text
    table = re.search(r'id="transition-table">(.*?)</table>', html, re.S)
    assert table
    rows = re.findall(
        r"<tr><td>([^<]*)</td><td>→ ([^<]*)</td><td class=\"num\">(\d+)</td>", table.group(1)
    )
    labels = {
        "new": "新客",
        "active": "活跃",
        "returning": "回流",
        "silent": "沉默",
        "churned": "流失",
        None: "（非客户）",
    }
    assert sorted(rows) == sorted(
        (labels[m["from"]], labels[m["to"]], str(m["customers"])) for m in moves
    )
    data = embedded(html, "tags-data")
    assert [m["customers"] for m in data["moves"]] == [m["customers"] for m in moves]
    assert 'id="chart-transitions"' in html


def test_settings_form_saves_valid_values(
    signed_in: TestClient, console_settings: Settings
) -> None:
    page = signed_in.get("/tags").text
    form = {name: str(value) for name, value in TagSettings().model_dump().items()}
    form |= {
        "active_days": "45",
        "rfm_reference": "median",
        "aov_high_yuan": "500",
        "csrf": csrf_of(page),
    }
    try:
        response = signed_in.post("/tags/settings", data=form, follow_redirects=False)
        assert response.status_code == 303
        saved = TagSettings.load(console_settings.data_dir)
        assert (saved.active_days, saved.rfm_reference, saved.aov_high_yuan) == (45, "median", 500)
        html = signed_in.get(response.headers["location"]).text
        assert (
            'id="setting-active_days" name="active_days" type="text" inputmode="numeric" '
            'value="45"' in html
        )
        assert "设置已保存" in html
    finally:
        TagSettings().save(console_settings.data_dir)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"active_days": "abc"}, "active_days", "请输入整数。"),
        ({"new_days": "0"}, "new_days", "不能小于 1。"),
        ({"silent_days": "2.5"}, "silent_days", "请输入整数。"),
        ({"rfm_reference": "mode"}, "rfm_reference", "请选择列表中的一项。"),
        ({"aov_low_yuan": "900"}, "aov_low_yuan", "低客单价上限不能高于高客单价下限。"),
    ],
)
def test_settings_form_rejects_bad_values(
    signed_in: TestClient,
    console_settings: Settings,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    path = console_settings.data_dir / "settings" / "tags.json"
    before = path.read_text() if path.exists() else None
    form = {name: str(value) for name, value in TagSettings().model_dump().items()}
    form |= changes | {"csrf": csrf_of(signed_in.get("/tags").text)}
    response = signed_in.post("/tags/settings", data=form)
    assert response.status_code == 422
    error = re.search(rf'id="error-{field}">([^<]*)<', response.text)
    assert error and error.group(1) == message
    assert f'value="{htmllib.escape(changes[field])}"' in response.text or field == "rfm_reference"
    assert (path.read_text() if path.exists() else None) == before  # nothing saved


def test_settings_and_refresh_need_the_form_token(signed_in: TestClient) -> None:
    hub = hub_of(signed_in)
    before = tags.last_refresh(hub.warehouse)
    assert signed_in.post("/tags/refresh", data={"csrf": "forged"}).status_code == 403
    assert signed_in.post("/tags/settings", data={"active_days": "5"}).status_code == 403
    assert tags.last_refresh(hub.warehouse) == before


def test_refresh_now_runs_the_refresh_job_steps(
    tmp_path: Path, make_data_dir: Callable[[Path], Settings]
) -> None:
    settings = make_data_dir(tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        hub = hub_of(client)
        assert tags.last_refresh(hub.warehouse) is None
        page = client.get("/tags").text
        assert 'id="never-refreshed"' in page
        csrf = csrf_of(page)
        response = client.post(
            "/segments",
            data={"name": "sms-ok", "rule": '{"reachable": "sms"}', "csrf": csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303
        # when
        response = client.post("/tags/refresh", data={"csrf": csrf}, follow_redirects=False)
        # then
        assert response.status_code == 303
        assert response.headers["location"] == "/tags?done=refreshed"
        last = tags.last_refresh(hub.warehouse)
        assert last is not None and last["customers"] == 3
        # reachability was mirrored (c1 has a phone and granted SMS) and segments recorded
        points = segments.history(hub.warehouse, "sms-ok")
        assert [p.size for p in points] == [1]
        html = client.get("/tags?done=refreshed").text
        assert "标签已刷新" in html and 'id="tagged-customers">3<' in html


# /segments: preview


def test_preview_counts_a_two_condition_rule(signed_in: TestClient) -> None:
    hub = hub_of(signed_in)
    csrf = csrf_of(signed_in.get("/segments/new").text)
    rule = {
        "all": [
            {"tag": "lifecycle", "op": "in", "value": ["active", "new"]},
            {"attr": "province", "op": "eq", "value": "广东省"},
        ]
    }
    expected = sorted(
        c
        for c in ALL_IDS
        if PROVINCE[c] == "广东省" and set(tag_of(hub, c, "lifecycle")) & {"active", "new"}
    )
    assert expected  # the data has some
    partial = preview(signed_in, rule, csrf)
    assert count_of(partial) == len(expected)
    assert re.findall(r'<a href="/customers/([^"]+)">', partial) == expected
    # a negated group and order metrics
    rule = {
        "all": [
            {"not": {"attr": "province", "op": "eq", "value": "广东省"}},
            {"orders": "sum_fen", "op": "gte", "value": 15000},
        ]
    }
    expected = [c for c in PAID if PROVINCE[c] != "广东省" and PAID[c][1] >= 15000]
    assert count_of(preview(signed_in, rule, csrf)) == len(expected) == 3


def test_preview_errors_name_the_bad_node(signed_in: TestClient) -> None:
    csrf = csrf_of(signed_in.get("/segments/new").text)
    rule = {
        "all": [
            {"tag": "lifecycle", "op": "eq", "value": "active"},
            {
                "any": [
                    {"attr": "province", "op": "eq", "value": "x"},
                    {"attr": "no_such_field", "op": "eq", "value": 1},
                ]
            },
        ]
    }
    partial = preview(signed_in, rule, csrf)
    assert 'data-error-path="all[1].any[1]"' in partial
    assert "unknown attribute &#39;no_such_field&#39;" in partial
    partial = preview(signed_in, {"all": [{"rfm": "frequency", "op": "gt", "value": "x"}]}, csrf)
    assert 'data-error-path="all[0]"' in partial and "needs a number" in partial
    partial = preview(signed_in, "{not json", csrf)
    assert "not valid JSON" in partial
    response = signed_in.post("/segments/preview", data={"rule": "{}", "csrf": "forged"})
    assert response.status_code == 403


# /segments: save, list, edit, delete


def test_save_list_edit_and_delete_a_segment(signed_in: TestClient) -> None:
    hub = hub_of(signed_in)
    csrf = csrf_of(signed_in.get("/segments/new").text)
    rule = {"all": [{"attr": "province", "op": "eq", "value": "广东省"}]}
    data = {
        "name": "gd-customers",
        "description": "广东的客户",
        "rule": json.dumps(rule, ensure_ascii=False),
        "csrf": csrf,
    }
    # when: saved
    response = signed_in.post("/segments", data=data, follow_redirects=False)
    # then
    assert response.status_code == 303
    assert response.headers["location"] == "/segments?saved=gd-customers"
    listing = signed_in.get(response.headers["location"]).text
    row = re.search(r'<tr data-segment="gd-customers">(.*?)</tr>', listing, re.S)
    assert row and "广东的客户" in row.group(1)
    assert re.search(r'class="num segment-size">\s*3 <small', row.group(1))  # live count
    # the builder loads the saved rule
    page = signed_in.get("/segments/gd-customers").text
    loaded = re.search(r'id="rule-input" value="([^"]*)"', page)
    assert loaded and json.loads(htmllib.unescape(loaded.group(1))) == rule
    assert 'name="original" value="gd-customers"' in page
    # saving a new segment under a taken name is refused next to the name
    response = signed_in.post("/segments", data=data)
    assert response.status_code == 409
    assert 'id="name-error"' in response.text and "exists" in response.text
    # editing replaces the rule
    rule2 = {"any": [rule, {"attr": "province", "op": "eq", "value": "浙江省"}]}
    response = signed_in.post(
        "/segments",
        data=data | {"rule": json.dumps(rule2, ensure_ascii=False), "original": "gd-customers"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with unit_of_work(hub.engine) as session:
        assert segments.get(session, "gd-customers").rule == rule2
    # a bad rule is shown with the node path and nothing is saved
    response = signed_in.post(
        "/segments",
        data=data
        | {"name": "broken", "rule": '{"all": [{"tag": "lifecycle", "op": "bogus", "value": 1}]}'},
    )
    assert response.status_code == 422
    assert 'data-error-path="all[0]"' in response.text
    assert "unknown operator" in response.text
    # deleting needs the form token
    assert signed_in.post("/segments/delete", data={"name": "gd-customers"}).status_code == 403
    assert 'data-segment="gd-customers"' in signed_in.get("/segments").text
    response = signed_in.post(
        "/segments/delete", data={"name": "gd-customers", "csrf": csrf}, follow_redirects=False
    )
    assert response.headers["location"] == "/segments?deleted=gd-customers"
    assert 'data-segment="gd-customers"' not in signed_in.get("/segments").text
    with unit_of_work(hub.engine) as session:
        assert [s.name for s in segments.list_all(session)] == []
    assert signed_in.get("/segments/gd-customers").status_code == 404


def test_segment_list_shows_the_recorded_sizes(signed_in: TestClient) -> None:
    hub = hub_of(signed_in)
    rule = {"tag": "lifecycle", "op": "eq", "value": "active"}
    with unit_of_work(hub.engine) as session:
        segments.create(session, hub.warehouse, name="active-now", rule=rule)
    try:
        for day in (date(2024, 6, 1), date(2024, 7, 1)):
            with unit_of_work(hub.engine) as session:
                segments.record_all(
                    session, hub.warehouse, as_of=local_midnight_utc(day, hub.settings.tz)
                )
        sizes = [p.size for p in segments.history(hub.warehouse, "active-now")]
        html = signed_in.get("/segments").text
        row = re.search(r'<tr data-segment="active-now">(.*?)</tr>', html, re.S)
        assert row
        assert re.search(rf'class="num segment-size">\s*{sizes[-1]}\s*</td>', row.group(1))
        spark = re.search(r'class="spark-data" data-target="[^"]+">(.*?)</script>', row.group(1))
        assert spark and [p[1] for p in json.loads(spark.group(1))] == sizes
        # the builder's dropdowns offer the other segments and the known tag values
        registry = embedded(signed_in.get("/segments/new").text, "builder-registry")
        assert [s["name"] for s in registry["segment"]] == ["active-now"]
        lifecycle = next(f for f in registry["tag"] if f["name"] == "lifecycle")
        counts = tags.counts(hub.warehouse)["lifecycle"]
        assert {v["value"]: v["customers"] for v in lifecycle["values"]} == counts
    finally:
        with unit_of_work(hub.engine) as session:
            segments.delete(session, hub.warehouse, "active-now")


# Customer 360


def test_customer_360_shows_the_tags(signed_in: TestClient) -> None:
    hub = hub_of(signed_in)
    html = signed_in.get("/customers/c4").text
    chips = dict(re.findall(r'data-family="([a-z_]+)" data-value="([^"]*)"', html))
    shown = tags.show(hub.warehouse, "c4").tags
    assert chips["lifecycle"] == shown["lifecycle"][0]
    assert chips["rfm_cn"] == shown["rfm_cn"][0]
    assert chips["gender"] == "female"
    label = rules.RFM_CN_LABELS[shown["rfm_cn"][0]]
    assert label in html
    # a customer with no computed tags yet still has the section
    html = signed_in.get("/customers/c3").text
    assert 'id="tags"' in html and 'id="manual-tag-form"' in html


def test_manual_tags_can_be_added_and_removed(signed_in: TestClient) -> None:
    hub = hub_of(signed_in)
    csrf = csrf_of(signed_in.get("/customers/c2").text)
    # forged: nothing changes
    response = signed_in.post("/tags/manual", data={"customer_id": "c2", "tag": "vip"})
    assert response.status_code == 403
    assert tag_of(hub, "c2", "manual") == []
    # add
    response = signed_in.post(
        "/tags/manual",
        data={"customer_id": "c2", "tag": "高潜力", "csrf": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/customers/c2#tags"
    assert tag_of(hub, "c2", "manual") == ["高潜力"]
    html = signed_in.get("/customers/c2").text
    assert re.search(r'<li class="chip manual" data-value="高潜力">', html)
    # an empty tag is refused with a message
    response = signed_in.post("/tags/manual", data={"customer_id": "c2", "tag": " ", "csrf": csrf})
    assert "标签需要 1 到 64 个字符" in response.text
    # remove
    signed_in.post(
        "/tags/manual",
        data={"customer_id": "c2", "tag": "高潜力", "action": "remove", "csrf": csrf},
    )
    assert tag_of(hub, "c2", "manual") == []
    assert 'data-value="高潜力"' not in signed_in.get("/customers/c2").text


# Navigation and labels


def test_nav_links_to_the_new_pages(signed_in: TestClient) -> None:
    html = signed_in.get("/segments").text
    assert '<a class="nav-item" href="/tags">客户体系</a>' in html
    assert '<a class="nav-item active" href="/segments" aria-current="page">分群</a>' in html


def test_every_tag_value_and_builder_label_exists_in_both_languages() -> None:
    from userops.console.views import segments as segment_views
    from userops.segments import fields
    from userops.segments.tree import OPERATORS, ORDER_METRICS

    keys = {f"tag.family.{f}" for f in fields.TAG_FAMILIES}
    for family, values in (
        ("lifecycle", rules.LIFECYCLE),
        ("rfm_cn", rules.RFM_CN),
        ("rfm_segment", rules.RFM_SEGMENTS),
        ("aov_tier", rules.AOV_TIERS),
        ("order_frequency", rules.ORDER_FREQUENCY),
        ("value", rules.VALUE),
        ("city_tier", rules.CITY_TIERS),
        ("birthday_month", [str(m) for m in range(1, 13)]),
    ):
        keys |= {f"tag.{family}.{v}" for v in values}
    keys |= {
        f"seg.field.{n}" for n in (*fields.ATTR_FIELDS, *fields.VALUE_FIELDS, *fields.SCORE_FIELDS)
    }
    keys |= {f"seg.op.{op}" for op in OPERATORS} | {f"seg.orders.{m}" for m in ORDER_METRICS}
    keys |= {f"seg.ui.{k}" for k in segment_views.LABEL_KEYS}
    keys |= {f"seg.type.{k}" for k in segment_views.TYPES}
    keys |= {f"tags.settings.{n}" for n in TagSettings.model_fields}
    for lang in i18n.LANGUAGES:
        missing = sorted(keys - set(i18n.catalog(lang)))
        assert not missing, f"{lang} lacks {missing}"
    zh, en = i18n.catalog("zh-CN"), i18n.catalog("en")
    for cls, label in rules.RFM_CN_LABELS.items():
        assert zh[f"tag.rfm_cn.{cls}"] == label
    assert en["tag.rfm_cn.important_value"] == "Important value"


def test_the_new_pages_load_only_local_assets(signed_in: TestClient) -> None:
    for path in ("/tags", "/segments", "/segments/new", "/customers/c4"):
        html = signed_in.get(path).text
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", html), path
        scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
        assert scripts and all(s.startswith("/static/") for s in scripts), path
    for name in ("tags.js", "segments.js"):
        response = signed_in.get(f"/static/{name}")
        assert response.status_code == 200 and "javascript" in response.headers["content-type"]
