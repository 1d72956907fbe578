"""The tag definitions as data and pure functions: windows, thresholds and class names.

Every number here is a default; ``TagSettings`` (``DATA_DIR/settings/tags.json``) overrides them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

LIFECYCLE = ("new", "active", "returning", "silent", "churned")
RFM_CN = (
    "important_value",
    "important_development",
    "important_retention",
    "important_winback",
    "general_value",
    "general_development",
    "general_retention",
    "general_winback",
)
RFM_CN_LABELS = {
    "important_value": "重要价值",
    "important_development": "重要发展",
    "important_retention": "重要保持",
    "important_winback": "重要挽留",
    "general_value": "一般价值",
    "general_development": "一般发展",
    "general_retention": "一般保持",
    "general_winback": "一般挽留",
}
RFM_SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)
AOV_TIERS = ("high", "mid", "low")
ORDER_FREQUENCY = ("0", "1", "2-5", "6+")
VALUE = ("kol", "ordinary")
AGE_BANDS = ("<18", "18-24", "25-29", "30-34", "35-39", "40-49", "50+")
CITY_TIERS = ("一线", "新一线", "二线", "三线", "四线", "五线")

FAMILIES = (
    "lifecycle",
    "rfm_cn",
    "rfm_segment",
    "aov_tier",
    "order_frequency",
    "value",
    "age_band",
    "gender",
    "province",
    "city_tier",
    "birthday_month",
    "interest",
)
"""Computed tag families written by a refresh. ``manual`` tags are kept apart."""

COUNTED_FAMILIES = ("lifecycle", "rfm_cn", "rfm_segment", "aov_tier", "order_frequency", "value")
"""Families reported by ``tags refresh --json`` and kept in the dated snapshots."""


class TagSettings(BaseModel):
    """Windows (days) and thresholds of the customer system."""

    new_days: int = Field(30, ge=1)
    active_days: int = Field(30, ge=1)
    returning_gap_days: int = Field(90, ge=1)
    silent_days: int = Field(180, ge=1)
    rfm_reference: Literal["mean", "median"] = "mean"
    aov_high_yuan: int = Field(300, ge=0)
    aov_low_yuan: int = Field(100, ge=0)
    frequency_window_days: int = Field(180, ge=1)
    kol_min_referrals: int = Field(3, ge=1)
    kol_min_attributed_orders: int = Field(5, ge=1)
    kol_window_days: int = Field(365, ge=1)

    @classmethod
    def load(cls, data_dir: Path) -> TagSettings:
        path = data_dir / "settings" / "tags.json"
        if path.exists():
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        return cls()

    def save(self, data_dir: Path) -> Path:
        path = data_dir / "settings" / "tags.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        return path


# The 11-segment scheme on R and FM = the rounded mean of the F and M scores. The first rule
# that matches wins; see docs/tags.md.
RFM_SEGMENT_RULES: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (4, 5), (4, 5)),
    ("loyal", (3, 5), (3, 5)),
    ("cannot_lose", (1, 1), (4, 5)),
    ("at_risk", (1, 2), (3, 5)),
    ("new_customers", (5, 5), (1, 1)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("promising", (3, 4), (1, 1)),
    ("need_attention", (3, 3), (2, 3)),
    ("about_to_sleep", (2, 2), (1, 2)),
    ("hibernating", (1, 2), (2, 2)),
    ("lost", (1, 2), (1, 1)),
)


def rfm_segment(r_score: int, f_score: int, m_score: int) -> str:
    """Reference implementation (used by tests; the refresh computes the same in SQL)."""
    fm = (f_score + m_score + 1) // 2
    for name, (r_lo, r_hi), (fm_lo, fm_hi) in RFM_SEGMENT_RULES:
        if r_lo <= r_score <= r_hi and fm_lo <= fm <= fm_hi:
            return name
    return "need_attention"


def rfm_cn(r_high: bool, f_high: bool, m_high: bool) -> str:
    prefix = "important" if m_high else "general"
    kind = {
        (True, True): "value",
        (True, False): "development",
        (False, True): "retention",
        (False, False): "winback",
    }[(r_high, f_high)]
    return f"{prefix}_{kind}"


def city_tiers() -> dict[str, str]:
    """City (without 市) → tier, from the table shipped with the package."""
    text = (Path(__file__).parent / "data" / "city_tiers.csv").read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:] if line.strip()]
    return {city.strip(): tier.strip() for city, tier in rows}
