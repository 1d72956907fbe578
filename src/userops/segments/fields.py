"""What a condition may name: the field registry. Unknown names are refused with the known ones."""

from __future__ import annotations

from userops.tags.schemas import FAMILIES_WITH_MANUAL

ATTR_FIELDS: dict[str, str] = {
    "gender": "string",
    "province": "string",
    "city": "string",
    "occupation": "string",
    "industry": "string",
    "income_band": "string",
    "interests": "list",
    "signup_at": "timestamp",
    "signup_channel": "string",
    "referrer_id": "string",
    "timezone": "string",
    "birthday": "date",
    "placeholder": "boolean",
}
"""Profile attributes (the warehouse mirror). ``attributes.<key>`` names a custom attribute."""

VALUE_FIELDS: dict[str, str] = {
    "recency_days": "number",
    "frequency": "number",
    "monetary_fen": "number",
    "r_score": "number",
    "f_score": "number",
    "m_score": "number",
    "aov_fen": "number",
    "orders_in_window": "number",
    "referrals": "number",
    "attributed_orders": "number",
    "first_seen": "timestamp",
    "last_active_at": "timestamp",
}
"""Numbers behind the tags (``customer_tag_values``, as of the last refresh)."""

SCORE_FIELDS: dict[str, str] = {
    "expected_orders_30": "number",
    "expected_orders_90": "number",
    "expected_orders_365": "number",
    "p_alive": "number",
    "expected_aov_fen": "number",
    "clv_fen": "number",
    "churn_risk": "string",
}
"""Predictions (``customer_scores``, written by ``userops predict fit``)."""

RECOMMENDED_FIELDS: dict[str, str] = {
    "recommended_category": "category",
}
"""Also under ``score``: the top "guess you like" category (``userops recommend train``)."""

TAG_FAMILIES = FAMILIES_WITH_MANUAL

REACH_CHANNELS = ("sms", "email", "wechat", "push", "weibo")
