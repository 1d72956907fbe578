"""How the console shows money, times and personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from userops.console import formatting


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("13800000001", "138****0001"),
        ("+8613800000001", "+86 138****0001"),
        ("5551234", "5*****4"),
        ("12", "**"),
    ],
)
def test_phones_are_masked(value: str, shown: str) -> None:
    assert formatting.mask_phone(value) == shown


def test_other_contact_points_are_masked() -> None:
    assert formatting.mask_contact("email", "zhang.san@example.com") == "zh***@example.com"
    assert formatting.mask_contact("email", "ab@example.com") == "a***@example.com"
    assert formatting.mask_contact("wechat_openid", "oABCDEFGHIJKLMN123") == "oABC…N123"
    assert formatting.mask_contact("weibo_id", "12345") == "1****"


def test_times_are_shown_in_the_shop_timezone() -> None:
    at = datetime(2024, 3, 1, 16, 30, tzinfo=UTC)
    assert formatting.local_time(at, ZoneInfo("Asia/Shanghai")) == "2024-03-02 00:30"
    assert formatting.local_time(at.replace(tzinfo=None), ZoneInfo("UTC")) == "2024-03-01 16:30"
    assert formatting.local_time(None, ZoneInfo("UTC")) == "—"


def test_money_and_counts() -> None:
    assert formatting.money(123456) == "¥1,234.56"
    assert formatting.money(None) == "—"
    assert formatting.count(1234567) == "1,234,567"


def test_compact_json() -> None:
    assert formatting.compact_json('{"sku": "A1", "qty": 2}') == '{"sku": "A1", "qty": 2}'
    assert formatting.compact_json("x" * 10, limit=5) == "xxxxx"
    assert formatting.compact_json({"a": "é" * 300}, limit=20).endswith("…")
