"""What the recommend domain hands out, and its settings (``DATA_DIR/settings/recommend.json``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RecommendSettings(BaseModel):
    """Guess-you-like settings; any field may be set in ``DATA_DIR/settings/recommend.json``."""

    model_config = {"extra": "forbid"}

    weight_view: float = Field(default=1.0, ge=0)
    """Weight of a ``product_view`` event."""
    weight_cart: float = Field(default=3.0, ge=0)
    """Weight of an ``add_to_cart`` event."""
    weight_favorite: float = Field(default=4.0, ge=0)
    """Weight of a ``favorite`` event."""
    weight_purchase: float = Field(default=8.0, ge=0)
    """Weight of a paid order item."""
    half_life_days: float = Field(default=30.0, gt=0)
    """Recent behaviour weighs more: a weight halves every this many days."""
    repeat_categories: list[str] = Field(default_factory=lambda: ["食品", "母婴"])
    """Categories bought again and again: bought items stay recommendable (others are left out)."""
    top_k: int = Field(default=20, ge=1, le=100)
    """Items stored per customer (the API's largest ``k``)."""
    factors: int = Field(default=16, ge=2, le=512)
    """ALS latent factors."""
    iterations: int = Field(default=15, ge=1, le=200)
    regularization: float = Field(default=1.0, ge=0)
    alpha: float = Field(default=8.0, gt=0)
    """ALS confidence scale: c = 1 + alpha * log1p(weight)."""
    cooccurrence_weight: float = Field(default=0.0, ge=0)
    """Share of item co-occurrence in the served blend (ALS gets 1). 0 by default: on the demo
    shop every positive share lowered recall@10 (docs/recommend.md)."""
    popularity_weight: float = Field(default=0.0, ge=0)
    """Share of province/interest popularity in the served blend (0 by default, as above)."""
    holdout_days: int = Field(default=30, ge=1, le=365)
    """``recommend evaluate``: the last this many days are the test period."""
    seed: int = 7


class RecommendedItem(BaseModel):
    rank: int
    sku: str
    category: str | None
    score: float
    source: str
    """``model`` (ALS + co-occurrence + popularity blend) or ``popular`` (no history)."""


class CustomerRecommendations(BaseModel):
    customer_id: str
    items: list[RecommendedItem]
    recommended_category: str | None
    computed_at: datetime | None


class TrainReport(BaseModel):
    customers: int
    """Customers with a stored list."""
    with_history: int
    """Of which personalised (the others get popularity by province and interests)."""
    items: int
    interactions: int
    seconds: float
    computed_at: datetime


class MethodScore(BaseModel):
    method: str
    recall_at_10: float
    ndcg_at_10: float


class EvaluationReport(BaseModel):
    split_at: datetime
    """Training uses behaviour before this instant; the test is what was bought after it."""
    test_customers: int
    methods: list[MethodScore]
    model_vs_popularity: float
    """recall@10 of the served model / recall@10 of the popularity baseline."""
