"""How values look in the console: money, counts, local times, masked personal data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from userops.core.money import format_fen


def money(fen: int | None, currency: str = "CNY") -> str:
    return "—" if fen is None else format_fen(int(fen), currency)


def count(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def local_time(value: datetime | date | None, tz: ZoneInfo, *, seconds: bool = False) -> str:
    """An instant in the shop timezone (naive values are UTC, as everywhere inside)."""
    if value is None:
        return "—"
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def mask_phone(value: str) -> str:
    """13800000001 → 138****0001; +8613800000001 → +86 138****0001."""
    text = value.strip()
    prefix = ""
    if text.startswith("+86") and len(text) > 11:
        prefix, text = "+86 ", text[3:].lstrip(" -")
    if len(text) >= 8:
        return f"{prefix}{text[:3]}****{text[-4:]}"
    if len(text) > 2:
        return f"{prefix}{text[0]}{'*' * (len(text) - 2)}{text[-1]}"
    return prefix + "*" * len(text)


def mask_email(value: str) -> str:
    """zhang.san@example.com → zh***@example.com."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return mask_other(value)
    shown = local[:2] if len(local) > 2 else local[:1]
    return f"{shown}***@{domain}"


def mask_other(value: str) -> str:
    """Long identifiers keep their first and last four characters."""
    text = value.strip()
    if len(text) <= 8:
        return text[:1] + "*" * max(len(text) - 1, 0)
    return f"{text[:4]}…{text[-4:]}"


def mask_contact(kind: str, value: str) -> str:
    if kind == "phone":
        return mask_phone(value)
    if kind == "email":
        return mask_email(value)
    return mask_other(value)


def compact_json(value: Any, limit: int = 160) -> str:
    """JSON (text or a value) on one line, cut at ``limit`` characters."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value[:limit]
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
