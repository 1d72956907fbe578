"""CLV and churn risk: fit BG/NBD + Gamma-Gamma on the warehouse's paid orders, score every
buyer into ``customer_scores``, evaluate on a holdout, and read the results.

>>> from userops.predict import service as predict
>>> report = predict.fit(hub.warehouse, data_dir=hub.settings.resolved_data_dir,
...                      timezone=hub.settings.timezone)
>>> predict.show(hub.warehouse, "c000042").clv_fen
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
from pydantic import ValidationError

from userops.core.clock import utcnow
from userops.core.errors import InvalidInput, UseropsError
from userops.predict import churn, queries, selection
from userops.predict.counting import TransactionModel
from userops.predict.errors import CustomerNotScored, InsufficientData, ModelNotFitted
from userops.predict.gamma_gamma import MODEL_VERSION as GG_VERSION
from userops.predict.gamma_gamma import GammaGammaFitter
from userops.predict.rfm import UNIT_DAYS, RFMSummary, TimeUnit, day_number, rfm_summary
from userops.predict.schemas import (
    BgNbdParams,
    ClvBucket,
    CustomerScore,
    Dashboard,
    Evaluation,
    FitReport,
    FrequencyRow,
    GammaGammaParams,
    MbgNbdParams,
    ParetoNbdParams,
    PredictSettings,
    RiskByStage,
    TrackingPoint,
)
from userops.tags.rules import TagSettings
from userops.warehouse import Warehouse
from userops.warehouse.erase import delete_customers
from userops.warehouse.tables import TABLES

__all__ = [
    "PredictSettings",
    "customer_score",
    "dashboard",
    "evaluate",
    "fit",
    "load_settings",
    "show",
]

Progress = Callable[[str, int, int | None], None]
_P = TypeVar("_P", MbgNbdParams, ParetoNbdParams)
FITTERS = selection.FITTERS
CLV_EDGES_FEN = [0, 10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000]
_EPOCH = date(1970, 1, 1)


def _quiet(_step: str, _done: int, _total: int | None) -> None:
    return None


def settings_path(data_dir: Path) -> Path:
    return data_dir / "settings" / "predict.json"


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def load_settings(data_dir: Path) -> PredictSettings:
    """``DATA_DIR/settings/predict.json`` if present, the defaults otherwise."""
    path = settings_path(data_dir)
    if not path.is_file():
        return PredictSettings()
    try:
        return PredictSettings.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(
            f"{path} is not valid predict settings: {exc}", field="settings"
        ) from exc


# --------------------------------------------------------------------------- data
def _transactions(
    warehouse: Warehouse, timezone: str, until: date | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(labels, customer codes, day numbers, amounts in fen) of daily paid transactions."""
    con = warehouse.ibis()
    try:
        table = queries.daily_transactions(con, timezone, until).to_pyarrow()
    finally:
        con.disconnect()
    encoded = table["customer_id"].combine_chunks().dictionary_encode()
    labels = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    codes = np.asarray(encoded.indices, dtype=np.int64)
    days = table["day"].combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)
    amounts = table["amount_fen"].to_numpy()
    return labels, codes, days.astype(np.int64), amounts.astype(np.int64)


def _last_paid_day(warehouse: Warehouse, timezone: str) -> date | None:
    con = warehouse.ibis()
    try:
        value = con.execute(queries.last_paid_day(con, timezone))
    finally:
        con.disconnect()
    if value is None or value != value:  # None or NaT
        return None
    return value if isinstance(value, date) and not isinstance(value, datetime) else value.date()


def _summary(
    warehouse: Warehouse,
    timezone: str,
    calibration_end: date,
    time_unit: TimeUnit,
    holdout_end: date | None = None,
) -> tuple[np.ndarray, RFMSummary, np.ndarray, np.ndarray, np.ndarray]:
    until = holdout_end or calibration_end
    labels, codes, days, amounts = _transactions(warehouse, timezone, until)
    summary = rfm_summary(
        codes,
        days,
        amounts,
        calibration_end=calibration_end,
        time_unit=time_unit,
        holdout_end=holdout_end,
    )
    return labels, summary, codes, days, amounts


# ---------------------------------------------------------------------------- fit
def _fit_models(summary: RFMSummary) -> tuple[selection.Fitted, GammaGammaFitter]:
    if summary.size == 0:
        raise InsufficientData("there are no paid orders to fit on", field="orders")
    fitted = selection.fit_all(summary)
    gamma_gamma = GammaGammaFitter().fit(summary.frequency, summary.monetary)
    return fitted, gamma_gamma


def churn_risk(p_alive: np.ndarray, settings: PredictSettings) -> np.ndarray:
    """Churn risk from the P(alive) thresholds alone (the recency rule is applied at scoring)."""
    return np.asarray(churn.LEVELS, dtype=object)[churn.model_risk(p_alive, settings)]


def churned_after_days(data_dir: Path, settings: PredictSettings) -> int:
    """``churn_silent_days``, or the customer system's ``silent_days`` (lifecycle churned)."""
    if settings.churn_silent_days is not None:
        return settings.churn_silent_days
    return TagSettings.load(data_dir).silent_days


def _to_fen(major: np.ndarray) -> np.ndarray:
    """Major units to whole fen, half up (NaN becomes 0)."""
    return np.floor(np.nan_to_num(major, nan=0.0) * 100.0 + 0.5).astype(np.int64)


def fit(
    warehouse: Warehouse,
    *,
    data_dir: Path,
    timezone: str,
    calibration_end: date | None = None,
    time_unit: TimeUnit | None = None,
    progress: Progress = _quiet,
    now: datetime | None = None,
) -> FitReport:
    """Fit the transaction models and Gamma-Gamma on paid orders up to ``calibration_end``
    (default: the last day with a paid order), choose the transaction model (holdout check,
    then log-likelihood), store the models as JSON and rewrite ``customer_scores`` in one
    transaction."""
    settings = load_settings(data_dir)
    unit: TimeUnit = time_unit or settings.time_unit
    if unit not in UNIT_DAYS:
        raise InvalidInput(f"time unit must be day or week, got {unit!r}", field="time_unit")
    end = calibration_end or _last_paid_day(warehouse, timezone)
    if end is None:
        raise InsufficientData("there are no paid orders to fit on", field="orders")
    progress("read", 0, None)
    labels, summary, *_ = _summary(warehouse, timezone, end, unit)
    progress("fit", 0, 2)
    fitted, gamma_gamma = _fit_models(summary)
    progress("fit", 1, 2)
    first_day = _EPOCH + timedelta(days=int(summary.first_day.min()))
    diagnostics = _diagnostics(warehouse, timezone, first_day, end, unit, settings.model)
    mae, predicted = _holdout_figures(diagnostics)
    chosen, reason, basis = selection.choose(fitted, mae, settings.model)
    progress("fit", 2, 2)
    model = fitted.models[chosen]
    bgnbd = fitted.models.get("bgnbd")
    computed_at = (now or utcnow()).astimezone(UTC)
    version = f"{FITTERS[chosen].version}+{GG_VERSION}@{end.isoformat()}/{unit}"
    churned_days = churned_after_days(data_dir, settings)
    scores, raised, gap = _score(summary, model, gamma_gamma, settings, churned_days)
    table = pa.table(
        {
            "customer_id": pa.array(labels[summary.customer], type=pa.string()),
            **{k: pa.array(v) for k, v in scores.items()},
            "model_version": pa.array([version] * summary.size, type=pa.string()),
            "computed_at": pa.array([computed_at] * summary.size, type=pa.timestamp("us", "UTC")),
        }
    )
    progress("write", 0, summary.size)
    with warehouse.write() as cur:
        cur.register("_scores", table)
        cur.execute("DELETE FROM customer_scores")
        cur.execute(
            "INSERT INTO customer_scores SELECT customer_id, expected_orders_30, "
            "expected_orders_90, expected_orders_365, p_alive, expected_aov_fen, clv_fen, "
            "churn_risk, model_version, computed_at FROM _scores"
        )
        cur.unregister("_scores")
    progress("write", summary.size, summary.size)
    window = {
        "first_transaction": first_day.isoformat(),
        "calibration_end": end.isoformat(),
        "time_unit": unit,
        "fitted_at": computed_at.isoformat(),
        "model_version": version,
    }
    for key, fitted_model in fitted.models.items():
        _save(data_dir, key, {**fitted_model.to_dict(), "data_window": window})
    _save(data_dir, "gamma_gamma", {**gamma_gamma.to_dict(), "data_window": window})
    rows = selection.candidates(fitted, mae, predicted)
    _save(
        data_dir,
        "selection",
        {
            "model": chosen,
            "selection": reason,
            "basis": basis,
            "candidates": [c.model_dump(mode="json") for c in rows],
            "shop_gap": gap,
            "churn_raised_by_recency": raised,
            "rule": {
                "churn_high_below": settings.churn_high_below,
                "churn_medium_below": settings.churn_medium_below,
                "churn_medium_silent_gaps": settings.churn_medium_silent_gaps,
                "churn_high_silent_gaps": settings.churn_high_silent_gaps,
                "churn_silent_days": churned_days,
            },
            "data_window": window,
        },
    )
    progress("diagnostics", 0, 1)
    _save(data_dir, "diagnostics", diagnostics)
    progress("diagnostics", 1, 1)
    risks, counts = np.unique(scores["churn_risk"], return_counts=True)
    return FitReport(
        bgnbd=_bgnbd_params(bgnbd),
        gamma_gamma=GammaGammaParams(
            **gamma_gamma.params_,
            loglik=gamma_gamma.loglik_,
            excluded_nonpositive=gamma_gamma.excluded_nonpositive_,
        ),
        customers=summary.size,
        repeat_customers=model.n_repeat_customers_,
        calibration_end=end,
        time_unit=unit,
        model_version=version,
        churn_risk={str(k): int(v) for k, v in zip(risks, counts, strict=True)},
        computed_at=computed_at,
        model=chosen,
        selection=reason,
        candidates=rows,
        mbgnbd=_params(MbgNbdParams, fitted.models.get("mbgnbd")),
        pareto_nbd=_params(ParetoNbdParams, fitted.models.get("pareto_nbd")),
        churn_raised_by_recency=raised,
        shop_gap=gap,
    )


def _params(kind: type[_P], model: TransactionModel | None) -> _P | None:
    return None if model is None else kind(**model.params_, loglik=model.loglik_)


def _bgnbd_params(model: TransactionModel | None) -> BgNbdParams:
    """BG/NBD is always reported (the field predates the other models); NaN if it failed."""
    if model is None:
        nan = float("nan")
        return BgNbdParams(r=nan, alpha=nan, a=nan, b=nan, loglik=nan)
    return BgNbdParams(**model.params_, loglik=model.loglik_)


def _holdout_figures(
    diagnostics: dict[str, Any],
) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """Per model: holdout MAE and predicted holdout transactions of the stored check."""
    if "error" in diagnostics:
        return None, None
    found = diagnostics.get("candidates", [])
    mae = {c["model"]: c["holdout_mae"] for c in found if c.get("holdout_mae") is not None}
    predicted = {
        c["model"]: c["holdout_predicted"] for c in found if c.get("holdout_predicted") is not None
    }
    return mae, predicted


def _score(
    s: RFMSummary,
    model: TransactionModel,
    gg: GammaGammaFitter,
    settings: PredictSettings,
    churned_days: float,
) -> tuple[dict[str, np.ndarray], int, float]:
    """(the columns of ``customer_scores``, customers raised by the recency rule, shop gap)."""
    unit = UNIT_DAYS[s.time_unit]
    expected = {
        f"expected_orders_{days}": model.expected_purchases(
            days / unit, s.frequency, s.recency, s.T
        )
        for days in (30, 90, 365)
    }
    p_alive = model.probability_alive(s.frequency, s.recency, s.T)
    aov = gg.expected_average_order_value(s.frequency, s.monetary)
    steps = max(1, round(settings.clv_horizon_days / (365 / 12)))
    step_days = settings.clv_horizon_days / steps
    clv = gg.customer_lifetime_value(
        model,
        s.frequency,
        s.recency,
        s.T,
        s.monetary,
        horizon=settings.clv_horizon_days / unit,
        steps=steps,
        discount_per_step=(1 + settings.annual_discount_rate) ** (step_days / 365) - 1,
        margin=settings.margin,
    )
    gaps = churn.silent_gaps(s.frequency, s.recency, s.T)
    silent_days = (s.T - s.recency) * unit
    levels, raised = churn.churn_levels(p_alive, gaps, silent_days, churned_days, settings)
    columns = {
        **expected,
        "p_alive": p_alive,
        "expected_aov_fen": _to_fen(aov),
        "clv_fen": _to_fen(clv),
        "churn_risk": levels.astype(str),
    }
    return columns, int(raised.sum()), churn.shop_gap(s.frequency, s.recency)


def _diagnostics(
    warehouse: Warehouse, timezone: str, first_day: date, end: date, unit: TimeUnit, model: str
) -> dict[str, Any]:
    """The console's model check: refit on the first half of the data window and predict the
    second half (or say why that is not possible)."""
    split = first_day + timedelta(days=(end - first_day).days // 2)
    if split <= first_day or split >= end:
        return {"error": "the data window is too short for a holdout check"}
    try:
        result = evaluate(
            warehouse,
            timezone=timezone,
            calibration_end=split,
            holdout_end=end,
            time_unit=unit,
            model=model,
        )
    except UseropsError as exc:
        return {"error": exc.message}
    return result.model_dump(mode="json")


def _load(data_dir: Path, name: str) -> dict[str, Any] | None:
    path = models_dir(data_dir) / f"{name}.json"
    if not path.is_file():
        return None
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


def load_diagnostics(data_dir: Path) -> dict[str, Any] | None:
    return _load(data_dir, "diagnostics")


def _save(data_dir: Path, name: str, payload: dict[str, Any]) -> None:
    folder = models_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / f"{name}.json")


def load_models(data_dir: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The stored model files (BG/NBD, Gamma-Gamma), or None before the first fit."""
    folder = models_dir(data_dir)
    try:
        bg = json.loads((folder / "bgnbd.json").read_text(encoding="utf-8"))
        gg = json.loads((folder / "gamma_gamma.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return bg, gg


# --------------------------------------------------------------------------- read
def customer_score(warehouse: Warehouse, customer_id: str) -> CustomerScore | None:
    con = warehouse.ibis()
    try:
        table = queries.scores(con)
        rows = table.filter(table.customer_id == customer_id).to_pyarrow().to_pylist()
    finally:
        con.disconnect()
    return CustomerScore.model_validate(rows[0]) if rows else None


def show(warehouse: Warehouse, customer_id: str) -> CustomerScore:
    found = customer_score(warehouse, customer_id)
    if found is None:
        if warehouse.count("customer_scores") == 0:
            raise ModelNotFitted("no predictions yet: run `userops predict fit`", field="model")
        raise CustomerNotScored(
            f"no prediction for customer {customer_id!r} (unknown, or no paid order before the "
            "calibration end)",
            field="customer_id",
        )
    return found


# ----------------------------------------------------------------------- evaluate
def evaluate(
    warehouse: Warehouse,
    *,
    timezone: str,
    calibration_end: date,
    holdout_end: date,
    time_unit: TimeUnit = "week",
    model: str = "auto",
) -> Evaluation:
    """Fit every transaction model on the calibration period, predict the holdout, compare
    with what happened; the figures shown are the chosen model's (``model``: auto or a key)."""
    if holdout_end <= calibration_end:
        raise InvalidInput("the holdout end must be after the calibration end", field="holdout_end")
    last = _last_paid_day(warehouse, timezone)
    if last is None:
        raise InsufficientData("there are no paid orders to evaluate on", field="orders")
    if holdout_end > last:
        raise InvalidInput(
            f"the holdout ends {holdout_end} but the last paid order is on {last}",
            field="holdout_end",
        )
    _labels, s, codes, days, _amounts = _summary(
        warehouse, timezone, calibration_end, time_unit, holdout_end
    )
    if s.size == 0:
        raise InsufficientData("there are no paid orders to fit on", field="orders")
    fitted = selection.fit_all(s)
    actual = s.holdout_frequency if s.holdout_frequency is not None else np.zeros(s.size)
    predictions = {
        key: m.expected_purchases(s.holdout_length, s.frequency, s.recency, s.T)
        for key, m in fitted.models.items()
    }
    mae = {key: float(np.abs(p - actual).mean()) for key, p in predictions.items()}
    totals = {key: float(p.sum()) for key, p in predictions.items()}
    chosen, reason, _basis = selection.choose(fitted, mae, model)
    predicted = predictions[chosen]
    rows = []
    for label, mask in _frequency_bins(s.frequency):
        n = int(mask.sum())
        rows.append(
            FrequencyRow(
                frequency=label,
                customers=n,
                actual=float(actual[mask].mean()) if n else 0.0,
                predicted=float(predicted[mask].mean()) if n else 0.0,
            )
        )
    return Evaluation(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        time_unit=time_unit,
        customers=s.size,
        bgnbd=_bgnbd_params(fitted.models.get("bgnbd")),
        actual_holdout_transactions=float(actual.sum()),
        predicted_holdout_transactions=totals[chosen],
        mean_absolute_error=mae[chosen],
        by_frequency=rows,
        cumulative=_tracking(s, fitted.models[chosen], codes, days, holdout_end),
        model=chosen,
        selection=reason,
        candidates=selection.candidates(fitted, mae, totals),
    )


def _frequency_bins(x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    bins = [(str(k), x == k) for k in range(7)]
    return [*bins, ("7+", x >= 7)]


def _tracking(
    s: RFMSummary, model: TransactionModel, codes: np.ndarray, days: np.ndarray, holdout_end: date
) -> list[TrackingPoint]:
    unit = UNIT_DAYS[s.time_unit]
    start = int(s.first_day.min())
    last = day_number(holdout_end)
    periods = int(np.ceil((last - start + 1) / unit))
    ends = np.minimum(start + np.arange(1, periods + 1) * unit - 1, last).astype(np.int64)
    # actual: repeat transaction days (each customer's first day excluded) of scored customers
    in_summary = np.isin(codes, s.customer)
    key = np.unique(codes[in_summary] * 1_000_000 + days[in_summary])
    cust, day = key // 1_000_000, key % 1_000_000
    first = s.first_day[np.searchsorted(s.customer, cust)]
    repeat_days = np.sort(day[(day > first) & (day <= last)])
    actual = np.searchsorted(repeat_days, ends, side="right").astype(np.float64)
    # expected: sum over cohorts of first-purchase day of n x E[X(elapsed)]
    cohort_day, cohort_n = np.unique(s.first_day, return_counts=True)
    elapsed = np.maximum(ends[None, :] - cohort_day[:, None], 0) / unit
    expected = (cohort_n[:, None] * model.expected_purchases_population(elapsed)).sum(axis=0)
    return [
        TrackingPoint(
            period=i + 1,
            end=_EPOCH + timedelta(days=int(e)),
            actual=float(a),
            predicted=float(p),
        )
        for i, (e, a, p) in enumerate(zip(ends, actual, expected, strict=True))
    ]


# ---------------------------------------------------------------------- dashboard
def dashboard(warehouse: Warehouse, *, data_dir: Path, top: int = 20) -> Dashboard:
    """What the console shows: CLV distribution, top customers, churn risk by lifecycle."""
    models = load_models(data_dir)
    con = warehouse.ibis()
    try:
        totals = queries.clv_totals(con).to_pyarrow().to_pylist()[0]
        hist = {
            r["bucket"]: r["customers"]
            for r in queries.clv_histogram(con, CLV_EDGES_FEN).to_pyarrow().to_pylist()
        }
        best = (
            queries.scores(con)
            .order_by([queries.scores(con).clv_fen.desc()])
            .limit(top)
            .to_pyarrow()
            .to_pylist()
        )
        stages: dict[str, dict[str, int]] = {}
        if "customer_tag_values" in TABLES:  # written by the customer system (tags)
            for r in queries.risk_by_stage(con).to_pyarrow().to_pylist():
                stages.setdefault(r["stage"], {})[r["churn_risk"]] = int(r["customers"])
    finally:
        con.disconnect()
    buckets = [
        ClvBucket(
            lower_fen=edge,
            upper_fen=CLV_EDGES_FEN[i + 1] if i + 1 < len(CLV_EDGES_FEN) else None,
            customers=int(hist.get(i, 0)),
        )
        for i, edge in enumerate(CLV_EDGES_FEN)
    ]
    report = None
    if models is not None:
        bg, gg = models
        chosen = _load(data_dir, "selection") or {}
        report = {
            "bgnbd": bg["params"] | {"loglik": bg["loglik"]},
            "gamma_gamma": gg["params"] | {"loglik": gg["loglik"]},
            "data_window": bg.get("data_window", {}),
            "model": chosen.get("model", "bgnbd"),
            "selection": chosen.get("selection", ""),
            "basis": chosen.get("basis", ""),
            "candidates": chosen.get("candidates", []),
            "shop_gap": chosen.get("shop_gap"),
            "churn_raised_by_recency": chosen.get("churn_raised_by_recency", 0),
            "rule": chosen.get("rule", {}),
        }
    return Dashboard(
        fitted=models is not None and int(totals["customers"] or 0) > 0,
        report=report,
        customers=int(totals["customers"] or 0),
        total_clv_fen=int(totals["total_clv_fen"] or 0),
        clv_buckets=buckets,
        top=[CustomerScore.model_validate(r) for r in best],
        risk_by_stage=[
            RiskByStage(lifecycle=stage, **{k: v.get(k, 0) for k in ("high", "medium", "low")})
            for stage, v in sorted(stages.items())
        ],
        diagnostics=load_diagnostics(data_dir),
    )


_ERASED_TABLES = ("customer_scores",)


def erase_customer(cur: duckdb.DuckDBPyConnection, customer_ids: list[str]) -> dict[str, int]:
    """Delete these customers' CLV and churn scores (an erasure, inside the caller's warehouse
    transaction ``cur``); returns rows removed per table."""
    return delete_customers(cur, _ERASED_TABLES, customer_ids)
