"""Guess you like (猜你喜欢): train on behaviour, evaluate on a time split, store every
customer's ranked list in the warehouse and serve it from an in-memory index.

>>> from userops.recommend import service as recommend
>>> recommend.train(hub.warehouse, data_dir=hub.settings.resolved_data_dir)
>>> recommend.recommendations(hub.warehouse, "c000042", k=10).items[0].sku
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from pydantic import ValidationError

from userops.core.clock import utcnow
from userops.core.errors import InvalidInput
from userops.recommend import queries
from userops.recommend.errors import NotEnoughBehaviour, NotTrained, UnknownCustomer
from userops.recommend.model import METHODS, Recommender, Shop, batches, recall_ndcg_at_k
from userops.recommend.schemas import (
    CustomerRecommendations,
    EvaluationReport,
    MethodScore,
    RecommendedItem,
    RecommendSettings,
    TrainReport,
)
from userops.warehouse import Warehouse
from userops.warehouse.erase import delete_customers

__all__ = [
    "RecommendSettings",
    "evaluate",
    "load_settings",
    "peek",
    "recommendations",
    "recommended_category",
    "train",
]

Progress = Callable[[str, int, int | None], None]
MAX_K = 100


def _quiet(_step: str, _done: int, _total: int | None) -> None:
    return None


def load_settings(data_dir: Path) -> RecommendSettings:
    """``DATA_DIR/settings/recommend.json`` if present, the defaults otherwise."""
    path = data_dir / "settings" / "recommend.json"
    if not path.is_file():
        return RecommendSettings()
    try:
        return RecommendSettings.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(
            f"{path} is not valid recommend settings: {exc}", field="settings"
        ) from exc


# ------------------------------------------------------------------------ inputs
@dataclass
class _Labels:
    customers: pa.Array
    items: pa.Array
    categories: pa.Array
    item_category: np.ndarray


def _codes(values: pa.Array | pa.ChunkedArray, labels: pa.Array) -> np.ndarray:
    """Position of each value in ``labels`` (-1 when absent)."""
    found = pc.index_in(values, value_set=labels)
    return np.asarray(found.fill_null(-1), dtype=np.int64)


def _shop(
    warehouse: Warehouse,
    settings: RecommendSettings,
    *,
    reference: datetime,
    until: datetime | None = None,
) -> tuple[Shop, _Labels]:
    weights = {
        "product_view": settings.weight_view,
        "add_to_cart": settings.weight_cart,
        "favorite": settings.weight_favorite,
        "purchase": settings.weight_purchase,
    }
    con = warehouse.ibis()
    try:
        behaviour = queries.interactions(
            con,
            weights=weights,
            half_life_days=settings.half_life_days,
            reference=reference,
            until=until,
        ).to_pyarrow()
        bought = queries.purchases(con, until=until).to_pyarrow()
        catalogue = queries.catalogue(con).to_pyarrow()
        people = queries.live_customers(con).to_pyarrow()
    finally:
        con.disconnect()
    customers = people["customer_id"].combine_chunks()
    items = catalogue["sku"].combine_chunks()
    interests_flat = pc.list_flatten(people["interests"])
    categories = pc.unique(
        pa.chunked_array(
            [
                catalogue["category"].combine_chunks().cast(pa.string()),
                interests_flat.combine_chunks()
                if isinstance(interests_flat, pa.ChunkedArray)
                else interests_flat,
            ]
        ).drop_null()
    )
    if categories.null_count or len(categories) == 0:
        categories = pa.array(["?"])
    item_category = np.maximum(_codes(catalogue["category"], categories), 0)
    n_c, n_i = len(customers), len(items)

    def matrix(table: pa.Table, values: np.ndarray) -> sp.csr_matrix:
        rows = _codes(table["customer_id"], customers)
        cols = _codes(table["sku"], items)
        ok = (rows >= 0) & (cols >= 0)
        return sp.csr_matrix(
            (values[ok].astype(np.float32), (rows[ok], cols[ok])), shape=(n_c, n_i)
        )

    behaviour_m = matrix(behaviour, behaviour["weight"].to_numpy())
    bought_m = matrix(bought, np.ones(bought.num_rows))
    bought_m.data[:] = 1.0
    province = people["province"].combine_chunks().dictionary_encode()
    province_code = np.asarray(province.indices.fill_null(-1), dtype=np.int64) + 1
    parents = np.asarray(pc.list_parent_indices(people["interests"]), dtype=np.int64)
    cats = _codes(interests_flat, categories)
    keep = cats >= 0
    interests = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (parents[keep], cats[keep])),
        shape=(n_c, len(categories)),
    )
    repeat = np.isin(
        np.asarray(categories.to_pylist(), dtype=object)[item_category],
        settings.repeat_categories,
    )
    shop = Shop(
        n_customers=n_c,
        item_category=item_category,
        n_categories=len(categories),
        province=province_code,
        n_provinces=len(province.dictionary) + 1,
        interests=interests,
        behaviour=behaviour_m,
        bought=bought_m,
        repeat_item=repeat,
    )
    return shop, _Labels(customers, items, categories, item_category)


def _reference(warehouse: Warehouse) -> datetime | None:
    con = warehouse.ibis()
    try:
        row = queries.latest_behaviour(con).to_pyarrow().to_pylist()[0]
    finally:
        con.disconnect()
    found = [v for v in (row["last"], row["last_paid"]) if v is not None]
    return max(found) if found else None


# ------------------------------------------------------------------------- train
def train(
    warehouse: Warehouse,
    *,
    data_dir: Path,
    progress: Progress = _quiet,
    now: datetime | None = None,
) -> TrainReport:
    """Fit on all behaviour, store every live customer's list and recommended category (one
    transaction) and load the serving index."""
    started = time.perf_counter()
    settings = load_settings(data_dir)
    reference = _reference(warehouse)
    if reference is None:
        raise NotEnoughBehaviour(
            "no product views, carts, favourites or purchases to learn from", field="events"
        )
    progress("read", 0, None)
    shop, labels = _shop(warehouse, settings, reference=reference)
    if shop.behaviour.nnz == 0 or shop.n_customers == 0:
        raise NotEnoughBehaviour("no behaviour of known customers to learn from", field="events")
    progress("fit", 0, 1)
    model = Recommender(settings).fit(shop)
    progress("fit", 1, 1)
    k = min(settings.top_k, len(labels.items))
    history = np.diff(shop.behaviour.indptr) > 0
    items = np.zeros((shop.n_customers, k), dtype=np.int64)
    scores = np.zeros((shop.n_customers, k), dtype=np.float32)
    everyone = np.arange(shop.n_customers)
    for done, rows in enumerate(batches(everyone)):
        warm, cold = rows[history[rows]], rows[~history[rows]]
        if warm.size:
            items[warm], scores[warm] = model.top_k(warm, "model", k)
        if cold.size:
            items[cold], scores[cold] = model.top_k(cold, "popularity_local", k)
        progress("score", min((done + 1) * rows.size, shop.n_customers), shop.n_customers)
    computed_at = (now or utcnow()).astimezone(UTC)
    index = _Index.build(
        labels,
        items,
        scores,
        history,
        computed_at,
        popular=model.top_k(np.array([0]), "popularity", k)[0][0],
    )
    _write(warehouse, index)
    _save(data_dir, settings, index, shop)
    _INDEXES.put(warehouse, index)
    return TrainReport(
        customers=shop.n_customers,
        with_history=int(history.sum()),
        items=len(labels.items),
        interactions=int(shop.behaviour.nnz),
        seconds=round(time.perf_counter() - started, 2),
        computed_at=computed_at,
    )


def _write(warehouse: Warehouse, index: _Index) -> None:
    n, k = index.items.shape
    flat_items = index.items.ravel()
    customers = pa.array(index.customer_ids, type=pa.string())
    table = pa.table(
        {
            "customer_id": pc.take(customers, pa.array(np.repeat(np.arange(n), k))),
            "rank": pa.array(np.tile(np.arange(1, k + 1, dtype=np.int32), n)),
            "sku": pc.take(pa.array(index.skus, type=pa.string()), pa.array(flat_items)),
            "category": pc.take(
                pa.array(index.item_categories, type=pa.string()), pa.array(flat_items)
            ),
            "score": pa.array(index.scores.ravel().astype(np.float64)),
            "source": pa.array(np.repeat(np.where(index.history, "model", "popular"), k)),
            "computed_at": pa.array([index.computed_at] * (n * k), type=pa.timestamp("us", "UTC")),
        }
    )
    categories = pa.table(
        {
            "customer_id": customers,
            "category": pa.array(index.recommended, type=pa.string()),
            "computed_at": pa.array([index.computed_at] * n, type=pa.timestamp("us", "UTC")),
        }
    )
    with warehouse.write() as cur:
        cur.register("_recs", table)
        cur.register("_cats", categories)
        cur.execute("DELETE FROM recommendations")
        cur.execute(
            "INSERT INTO recommendations SELECT customer_id, rank, sku, category, score, "
            "source, computed_at FROM _recs"
        )
        cur.execute("DELETE FROM customer_recommended_category")
        cur.execute(
            "INSERT INTO customer_recommended_category SELECT customer_id, category, "
            "computed_at FROM _cats"
        )
        cur.unregister("_recs")
        cur.unregister("_cats")


def _saved_popular(warehouse: Warehouse, skus: list[str]) -> np.ndarray | None:
    """The overall popular list the last training saved beside the model (the data dir is the
    warehouse file's folder); None when it is missing or names none of the stored items."""
    try:
        saved = json.loads((warehouse.path.parent / "models" / "recommend.json").read_text())
    except (OSError, ValueError):
        return None
    code_of = {sku: i for i, sku in enumerate(skus)}
    codes = [code_of[s] for s in saved.get("popular", []) if s in code_of]
    return np.asarray(codes, dtype=np.int64) if codes else None


def _save(data_dir: Path, settings: RecommendSettings, index: _Index, shop: Shop) -> None:
    folder = data_dir / "models"
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": "recommend",
        "version": "recommend/1",
        "trained_at": index.computed_at.isoformat(),
        "settings": settings.model_dump(),
        "customers": shop.n_customers,
        "items": int(shop.behaviour.shape[1]),
        "interactions": int(shop.behaviour.nnz),
        "popular": [index.skus[i] for i in index.popular.tolist()],
    }
    tmp = folder / ".recommend.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / "recommend.json")


# ----------------------------------------------------------------------- serving
@dataclass
class _Index:
    customer_ids: list[str]
    position: dict[str, int]
    skus: list[str]
    item_categories: list[str | None]
    items: np.ndarray
    """customers x k item codes."""
    scores: np.ndarray
    history: np.ndarray
    recommended: list[str | None]
    popular: np.ndarray
    computed_at: datetime

    @classmethod
    def build(
        cls,
        labels: _Labels,
        items: np.ndarray,
        scores: np.ndarray,
        history: np.ndarray,
        computed_at: datetime,
        popular: np.ndarray,
    ) -> _Index:
        categories = labels.categories.to_pylist()
        item_categories = [categories[c] for c in labels.item_category.tolist()]
        # recommended category: the one with the most score mass in the top 10
        top = min(10, items.shape[1])
        cat_of = labels.item_category[items[:, :top]]
        mass = np.zeros((items.shape[0], len(categories)))
        weight = np.maximum(scores[:, :top], 0) + 1e-6
        np.add.at(mass, (np.arange(items.shape[0])[:, None], cat_of), weight)
        best = mass.argmax(axis=1)
        ids = labels.customers.to_pylist()
        return cls(
            customer_ids=ids,
            position=dict(zip(ids, range(len(ids)), strict=True)),
            skus=labels.items.to_pylist(),
            item_categories=item_categories,
            items=items,
            scores=scores,
            history=history,
            recommended=[categories[c] for c in best.tolist()],
            popular=popular,
            computed_at=computed_at,
        )

    @classmethod
    def load(cls, warehouse: Warehouse) -> _Index | None:
        con = warehouse.ibis()
        try:
            recs = queries.stored(con).to_pyarrow()
            cats = queries.recommended_categories(con).to_pyarrow()
        finally:
            con.disconnect()
        if recs.num_rows == 0:
            return None
        customer = recs["customer_id"].combine_chunks()
        ranks = np.asarray(recs["rank"].to_numpy())
        k = int(ranks.max())
        n = recs.num_rows // k
        if n * k != recs.num_rows:
            raise NotTrained("stored recommendations are incomplete: train again", field="model")
        sku = recs["sku"].combine_chunks().dictionary_encode()
        ids = pc.take(customer, pa.array(np.arange(n) * k)).to_pylist()
        category_of = dict(
            zip(cats["customer_id"].to_pylist(), cats["category"].to_pylist(), strict=True)
        )
        sku_cat = dict(zip(recs["sku"].to_pylist(), recs["category"].to_pylist(), strict=False))
        skus = sku.dictionary.to_pylist()
        source = recs["source"].combine_chunks()
        history = np.asarray(pc.equal(pc.take(source, pa.array(np.arange(n) * k)), "model"))
        popular_rows = np.flatnonzero(~history)
        codes = np.asarray(sku.indices, dtype=np.int64).reshape(n, k)
        popular = _saved_popular(warehouse, skus)
        if popular is None:  # no saved model file: a cold customer's list is the best guess
            popular = codes[popular_rows[0]] if popular_rows.size else codes[0]
        return cls(
            customer_ids=ids,
            position=dict(zip(ids, range(n), strict=True)),
            skus=skus,
            item_categories=[sku_cat.get(s) for s in skus],
            items=codes,
            scores=np.asarray(recs["score"].to_numpy(), dtype=np.float32).reshape(n, k),
            history=history,
            recommended=[category_of.get(c) for c in ids],
            popular=popular,
            computed_at=recs["computed_at"][0].as_py(),
        )

    def answer(self, customer_id: str, row: int | None, k: int) -> CustomerRecommendations:
        if row is None:
            codes, scores, source, category = self.popular[:k], None, "popular", None
        else:
            codes, scores = self.items[row, :k], self.scores[row, :k]
            source = "model" if self.history[row] else "popular"
            category = self.recommended[row]
        return CustomerRecommendations(
            customer_id=customer_id,
            items=[
                RecommendedItem(
                    rank=i + 1,
                    sku=self.skus[c],
                    category=self.item_categories[c],
                    score=float(scores[i]) if scores is not None else 0.0,
                    source=source,
                )
                for i, c in enumerate(codes.tolist())
            ],
            recommended_category=category,
            computed_at=self.computed_at,
        )


_INDEX_KEY = "recommend.index"


class _Indexes:
    """The loaded index of a warehouse, kept in that warehouse's ``derived`` store (so it lives
    and dies with the open warehouse, never outlives a reset data dir, and two data dirs opened
    in one process never share one); built after training or at the first request."""

    def get(self, warehouse: Warehouse) -> _Index | None:
        found = warehouse.derived.get(_INDEX_KEY)
        if found is not None:
            return found  # type: ignore[no-any-return]
        with warehouse.derived_lock:
            found = warehouse.derived.get(_INDEX_KEY)
            if found is None:
                found = _Index.load(warehouse)
                if found is not None:
                    warehouse.derived[_INDEX_KEY] = found
                    _settle()
        return found  # type: ignore[no-any-return]

    def put(self, warehouse: Warehouse, index: _Index) -> None:
        with warehouse.derived_lock:
            warehouse.derived[_INDEX_KEY] = index
            _settle()

    def forget(self, warehouse: Warehouse) -> None:
        """Drop the loaded index (after an erasure): the next request loads it again."""
        with warehouse.derived_lock:
            warehouse.derived.pop(_INDEX_KEY, None)


_INDEXES = _Indexes()


def _settle() -> None:
    """Collect once, then move every live object (the index, the loaded libraries) out of the
    garbage collector's reach. Without this each full collection in the server rescans them:
    ~180 ms on the demo shop, which was the API's p99 at 200 requests/s (bench/recommend.py)."""
    gc.collect()
    gc.freeze()


def recommendations(
    warehouse: Warehouse, customer_id: str, *, k: int = 10
) -> CustomerRecommendations:
    """The customer's top ``k`` (a new customer, not yet in the store: the overall popular
    list); unknown customers raise ``UnknownCustomer`` (404)."""
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}, got {k}", field="k")
    index = _INDEXES.get(warehouse)
    if index is None:
        raise NotTrained("no recommendations yet: run `userops recommend train`", field="model")
    row = index.position.get(customer_id)
    if row is None and not _customer_exists(warehouse, customer_id):
        raise UnknownCustomer(f"there is no customer {customer_id!r}", field="customer_id")
    return index.answer(customer_id, row, k)


def peek(warehouse: Warehouse, customer_id: str, *, k: int = 10) -> CustomerRecommendations | None:
    """The stored list of a customer, or None (not trained yet, or not in the store)."""
    index = _INDEXES.get(warehouse)
    row = index.position.get(customer_id) if index is not None else None
    if index is None or row is None:
        return None
    return index.answer(customer_id, row, k)


def recommended_category(warehouse: Warehouse, customer_id: str) -> str | None:
    index = _INDEXES.get(warehouse)
    if index is None:
        return None
    row = index.position.get(customer_id)
    return index.recommended[row] if row is not None else None


def _customer_exists(warehouse: Warehouse, customer_id: str) -> bool:
    con = warehouse.ibis()
    try:
        return queries.customer_exists(con, customer_id).to_pyarrow().num_rows > 0
    finally:
        con.disconnect()


# ---------------------------------------------------------------------- evaluate
def evaluate(warehouse: Warehouse, *, data_dir: Path, k: int = 10) -> EvaluationReport:
    """Train on behaviour before the last ``holdout_days``; score what customers bought after,
    for the served model, ALS, co-occurrence and two popularity baselines."""
    settings = load_settings(data_dir)
    latest = _reference(warehouse)
    if latest is None:
        raise NotEnoughBehaviour("no behaviour to evaluate on", field="events")
    split = latest - timedelta(days=settings.holdout_days)
    shop, labels = _shop(warehouse, settings, reference=split, until=split)
    con = warehouse.ibis()
    try:
        after = queries.purchases(con, since=split).to_pyarrow()
    finally:
        con.disconnect()
    rows = _codes(after["customer_id"], labels.customers)
    cols = _codes(after["sku"], labels.items)
    ok = (rows >= 0) & (cols >= 0)
    truth = sp.csr_matrix(
        (np.ones(int(ok.sum()), dtype=np.float32), (rows[ok], cols[ok])),
        shape=shop.behaviour.shape,
    )
    truth.data[:] = 1.0
    # a bought non-repeat item cannot be recommended again, so it is not a target either
    known = (shop.bought.multiply(~shop.repeat_item[None, :])).tocsr()
    truth = (truth - truth.multiply(known)).tocsr()
    truth.eliminate_zeros()
    history = np.diff(shop.behaviour.indptr) > 0
    tested = np.flatnonzero((np.diff(truth.indptr) > 0) & history)
    if tested.size < 20 or shop.behaviour.nnz == 0:
        raise NotEnoughBehaviour(
            f"only {tested.size} customers with earlier behaviour bought in the last "
            f"{settings.holdout_days} days; an evaluation needs at least 20",
            field="holdout_days",
        )
    model = Recommender(settings).fit(shop)
    results = []
    for method in METHODS:
        recall_parts, ndcg_parts = [], []
        for part in batches(tested):
            recs, _ = model.top_k(part, method, k)
            recall, ndcg = recall_ndcg_at_k(recs, truth[part], k)
            recall_parts.append(recall)
            ndcg_parts.append(ndcg)
        results.append(
            MethodScore(
                method=method,
                recall_at_10=float(np.concatenate(recall_parts).mean()),
                ndcg_at_10=float(np.concatenate(ndcg_parts).mean()),
            )
        )
    by = {r.method: r for r in results}
    return EvaluationReport(
        split_at=split,
        test_customers=int(tested.size),
        methods=results,
        model_vs_popularity=by["model"].recall_at_10 / max(by["popularity"].recall_at_10, 1e-12),
    )


_ERASED_TABLES = ("recommendations", "customer_recommended_category")


def erase_customer(
    cur: duckdb.DuckDBPyConnection, warehouse: Warehouse, customer_ids: list[str]
) -> dict[str, int]:
    """Delete these customers' stored lists (an erasure, inside the caller's warehouse
    transaction ``cur``); call :func:`forget_index` after the commit. Returns rows removed per
    table."""
    return delete_customers(cur, _ERASED_TABLES, customer_ids)


def forget_index(warehouse: Warehouse) -> None:
    """Drop the in-memory index; the next request reloads it from the table (after an
    erasure, so the served lists match what is stored)."""
    _INDEXES.forget(warehouse)
