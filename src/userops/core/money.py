"""Money is integer minor units (fen). These helpers convert at the edges only."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def yuan_to_fen(value: str | int | Decimal) -> int:
    """'12.34' → 1234, rounding half up at the fen. Never goes through float."""
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_fen(fen: int, currency: str = "CNY") -> str:
    """1234 → '¥12.34' (CNY) or '12.34 USD'."""
    sign = "-" if fen < 0 else ""
    major, minor = divmod(abs(int(fen)), 100)
    text = f"{major:,}.{minor:02d}"
    return f"{sign}¥{text}" if currency == "CNY" else f"{sign}{text} {currency}"
