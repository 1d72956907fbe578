"""What the transaction ("buy till you die") models share: the contract the service, CLV and
the holdout check rely on, input checks, and JSON persistence.

BG/NBD (``bgnbd.py``), MBG/NBD (``mbgnbd.py``) and Pareto/NBD (``pareto_nbd.py``) all take the
same summary (frequency x, recency t_x, age T) and answer the same questions, so the service can
fit them side by side and keep the one that fits and predicts best.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Self

import numpy as np

from userops.predict.errors import InsufficientData, ModelNotFitted
from userops.predict.fitting import Attempt, FitResult, Objective, compress, maximise

MIN_REPEAT_CUSTOMERS = 100
"""Fewer customers with a repeat purchase than this and a fit is refused."""


class TransactionModel(Protocol):
    """What a fitted transaction model answers (all arrays broadcast)."""

    loglik_: float
    n_repeat_customers_: int

    @property
    def params_(self) -> dict[str, float]: ...

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray: ...

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray: ...

    def expected_purchases_population(self, t: Any) -> np.ndarray: ...

    def to_dict(self) -> dict[str, Any]: ...


def as_arrays(frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.asarray(frequency, dtype=np.float64),
        np.asarray(recency, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
    )


def checked_summary(
    frequency: Any,
    recency: Any,
    T: Any,
    weights: Any | None,
    *,
    model: str,
    min_repeat_customers: int,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, float]:
    """The summary compressed to distinct rows with weights, after the checks every model
    makes (same lengths, possible values, enough repeat buyers); also the repeat buyers."""
    x, t_x, big_t = as_arrays(frequency, recency, T)
    if not (x.size == t_x.size == big_t.size):
        raise InsufficientData("frequency, recency and T differ in length", field="summary")
    w = np.ones(x.size) if weights is None else np.asarray(weights, dtype=np.float64)
    bad = (x < 0) | (t_x < 0) | (big_t < t_x) | ~np.isfinite(x + t_x + big_t)
    if bad.any():
        raise InsufficientData(
            f"{int(bad.sum())} customers have an impossible summary "
            "(negative values or recency after T)",
            field="summary",
        )
    repeaters = float(w[x > 0].sum())
    if repeaters < min_repeat_customers:
        raise InsufficientData(
            f"{model} needs at least {min_repeat_customers} customers with a repeat "
            f"purchase; the data has {int(repeaters)} (of {int(w.sum())} customers)",
            field="orders",
        )
    (x, t_x, big_t), w = compress(x, t_x, big_t, weights=w)
    return (x, t_x, big_t), w, repeaters


class CountingModel:
    """Fitting, persistence and the fitted-or-not check of a four-parameter transaction model.

    Subclasses name the model and its parameters and provide the objective and starting points;
    fitted values end in ``_`` (``loglik_``, ``n_customers_``, and one attribute per parameter
    named ``<name>_``).
    """

    key: ClassVar[str]
    """Short name used in files and JSON (``mbgnbd``, ``pareto_nbd``)."""
    title: ClassVar[str]
    version: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    def __init__(self, *, min_repeat_customers: int = MIN_REPEAT_CUSTOMERS) -> None:
        self.min_repeat_customers = min_repeat_customers
        self.loglik_: float
        self.n_customers_: int
        self.n_repeat_customers_: int
        self.attempts_: list[Attempt] = []

    # subclasses ----------------------------------------------------------------
    def _objective(
        self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray
    ) -> Objective:
        raise NotImplementedError

    def _starts(self, big_t: np.ndarray, w: np.ndarray) -> list[tuple[float, ...]]:
        raise NotImplementedError

    @staticmethod
    def _per_customer_ll(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
    ) -> np.ndarray:
        raise NotImplementedError

    # shared --------------------------------------------------------------------
    def fit(self, frequency: Any, recency: Any, T: Any, *, weights: Any | None = None) -> Self:
        (x, t_x, big_t), w, repeaters = checked_summary(
            frequency,
            recency,
            T,
            weights,
            model=self.title,
            min_repeat_customers=self.min_repeat_customers,
        )
        result: FitResult = maximise(
            self._objective(x, t_x, big_t, w),
            self._starts(big_t, w),
            names=self.param_names,
            model=self.title,
        )
        for name, value in zip(self.param_names, result.params, strict=True):
            setattr(self, f"{name}_", float(value))
        total = float(w.sum())
        self.loglik_ = float(-result.neg_mean_ll * total)
        self.n_customers_ = int(total)
        self.n_repeat_customers_ = int(repeaters)
        self.attempts_ = result.attempts
        return self

    @property
    def params_(self) -> dict[str, float]:
        self._check()
        return {name: float(getattr(self, f"{name}_")) for name in self.param_names}

    def _values(self) -> np.ndarray:
        return np.array(list(self.params_.values()))

    def _check(self) -> None:
        if not hasattr(self, f"{self.param_names[0]}_"):
            raise ModelNotFitted(f"the {self.title} model is not fitted yet", field="model")

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters."""
        self._check()
        return self._per_customer_ll(self._values(), *as_arrays(frequency, recency, T))

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "model": self.key,
            "version": self.version,
            "params": self.params_,
            "loglik": self.loglik_,
            "n_customers": self.n_customers_,
            "n_repeat_customers": self.n_repeat_customers_,
            "optimizer": [a.public() for a in self.attempts_],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        if data.get("model") != cls.key:
            raise ModelNotFitted(f"not a {cls.title} model file", field="model")
        model = cls()
        for name in cls.param_names:
            setattr(model, f"{name}_", float(data["params"][name]))
        model.loglik_ = float(data["loglik"])
        model.n_customers_ = int(data.get("n_customers", 0))
        model.n_repeat_customers_ = int(data.get("n_repeat_customers", 0))
        return model
