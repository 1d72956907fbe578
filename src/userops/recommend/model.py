"""The "guess you like" models, in NumPy/SciPy and ``implicit`` (no IO).

* ALS (``implicit.als.AlternatingLeastSquares``) on confidence ``1 + alpha * log1p(weight)``;
* item-to-item co-occurrence: cosine similarity of the customer x item incidence matrix,
  scored as the customer's ``log1p(weight)`` row times the similarity matrix;
* popularity: ``log1p(weight)`` summed per province (half) and overall (half), boosted for the
  categories in the customer's declared interests — what customers without history get;
* the served blend: each part divided by its per-customer maximum, then
  ``als + cooccurrence_weight * cooc + popularity_weight * popularity``.

Already-bought items are left out unless their category is a repeat-purchase category.
Everything is batched over customers (matrix products), never a Python loop per customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from userops.recommend.schemas import RecommendSettings

METHODS = ("model", "als", "cooccurrence", "popularity_local", "popularity")
INTEREST_BOOST = 3.0
BATCH = 4096


@dataclass
class Shop:
    """The training inputs as codes: customers x items."""

    n_customers: int
    item_category: np.ndarray
    """Category code per item."""
    n_categories: int
    province: np.ndarray
    """Province code per customer (0 = unknown)."""
    n_provinces: int
    interests: sp.csr_matrix
    """customers x categories, 1 where the category is a declared interest."""
    behaviour: sp.csr_matrix
    """customers x items, summed decayed behaviour weights."""
    bought: sp.csr_matrix
    """customers x items, 1 where bought."""
    repeat_item: np.ndarray
    """True for items in a repeat-purchase category."""


class Recommender:
    """Fits the parts once; scores batches of customers by any method in ``METHODS``."""

    def __init__(self, settings: RecommendSettings) -> None:
        self.settings = settings

    def fit(self, shop: Shop) -> Recommender:
        from implicit.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        s = self.settings
        self.shop = shop
        self.log_weight = shop.behaviour.copy().astype(np.float32)
        self.log_weight.data = np.log1p(self.log_weight.data)
        n_items = shop.behaviour.shape[1]
        # ALS
        with threadpool_limits(1, "blas"):
            self.als = AlternatingLeastSquares(
                factors=s.factors,
                regularization=s.regularization,
                alpha=s.alpha,
                iterations=s.iterations,
                random_state=s.seed,
            )
            self.als.fit(self.log_weight, show_progress=False)
        self.user_factors = np.asarray(self.als.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(self.als.item_factors, dtype=np.float32)
        # co-occurrence (cosine)
        incidence = (self.log_weight > 0).astype(np.float32)
        co = (incidence.T @ incidence).tocsr()
        diag = np.sqrt(np.maximum(co.diagonal(), 1e-12))
        inv = sp.diags(1.0 / diag)
        sim = (inv @ co @ inv).tocsr()
        sim.setdiag(0.0)
        sim.eliminate_zeros()
        self.similarity = sim.astype(np.float32)
        # popularity: per province and overall
        per_customer_province = sp.csr_matrix(
            (
                np.ones(shop.n_customers, dtype=np.float32),
                (shop.province, np.arange(shop.n_customers)),
            ),
            shape=(shop.n_provinces, shop.n_customers),
        )
        by_province = np.asarray((per_customer_province @ self.log_weight).todense())
        overall = by_province.sum(axis=0)
        total = max(float(overall.sum()), 1e-12)
        sums = np.maximum(by_province.sum(axis=1, keepdims=True), 1e-12)
        self.popularity_global = (overall / total).astype(np.float32)
        self.popularity_province = (0.5 * by_province / sums + 0.5 * overall / total).astype(
            np.float32
        )
        self.n_items = n_items
        return self

    # ------------------------------------------------------------------ scores
    def scores(self, rows: np.ndarray, method: str) -> np.ndarray:
        """Scores (len(rows) x items) of ``method``; higher is better."""
        if method == "als":
            return self.user_factors[rows] @ self.item_factors.T
        if method == "cooccurrence":
            return np.asarray((self.log_weight[rows] @ self.similarity).todense())
        if method == "popularity":
            return np.broadcast_to(self.popularity_global, (rows.size, self.n_items)).copy()
        if method == "popularity_local":
            base = self.popularity_province[self.shop.province[rows]]
            liked = np.asarray(self.shop.interests[rows].todense()) > 0
            boost = 1.0 + INTEREST_BOOST * liked[:, self.shop.item_category]
            return base * boost
        if method == "model":
            s = self.settings
            return (
                _row_scaled(self.scores(rows, "als"))
                + s.cooccurrence_weight * _row_scaled(self.scores(rows, "cooccurrence"))
                + s.popularity_weight * _row_scaled(self.scores(rows, "popularity_local"))
            )
        raise ValueError(f"unknown method {method!r}")

    def top_k(
        self, rows: np.ndarray, method: str, k: int, *, exclude: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(items, scores), each len(rows) x k, best first; bought non-repeat items excluded."""
        scores = self.scores(rows, method).astype(np.float32)
        excluded = self.shop.bought if exclude is None else exclude
        mask = np.asarray(excluded[rows].todense()) > 0
        mask &= ~self.shop.repeat_item[None, :]
        scores[mask] = -np.inf
        k = min(k, self.n_items)
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, 1)


def _row_scaled(scores: np.ndarray) -> np.ndarray:
    top = scores.max(axis=1, keepdims=True)
    low = scores.min(axis=1, keepdims=True)
    span = np.where(top - low > 0, top - low, 1.0)
    return (scores - low) / span


def batches(rows: np.ndarray, size: int = BATCH) -> Iterator[np.ndarray]:
    for start in range(0, rows.size, size):  # a loop over batches of customers
        yield rows[start : start + size]


def recall_ndcg_at_k(
    recommended: np.ndarray, truth: sp.csr_matrix, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer recall@k and NDCG@k of ``recommended`` (n x >=k item codes) against the
    binary ``truth`` rows (n x items)."""
    rec = recommended[:, :k]
    hits = np.asarray(truth[np.arange(rec.shape[0])[:, None], rec].todense()) > 0
    n_true = np.asarray(truth.sum(axis=1)).ravel()
    recall = hits.sum(axis=1) / np.maximum(n_true, 1)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(n_true, k).astype(int) - 1]
    ndcg = dcg / np.where(n_true > 0, ideal, 1.0)
    return recall, ndcg
