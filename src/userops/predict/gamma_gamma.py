"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, nu), nu ~ Gamma(q, gamma) across customers,
independent of the transaction process. Fitted on customers with at least one repeat
transaction, from x (frequency) and m_x (mean repeat transaction value, major units).

>>> gg = GammaGammaFitter().fit(s.frequency, s.monetary)
>>> gg.p_, gg.q_, gg.gamma_
>>> gg.expected_average_order_value(s.frequency, s.monetary)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from userops.predict.counting import TransactionModel
from userops.predict.errors import InsufficientData, ModelNotFitted
from userops.predict.fitting import Attempt, maximise

MODEL_VERSION = "gamma_gamma/1"
MIN_CUSTOMERS = 100


class GammaGammaFitter:
    """Gamma-Gamma with an sklearn-like API; fitted values end in ``_``."""

    def __init__(self, *, min_customers: int = MIN_CUSTOMERS) -> None:
        self.min_customers = min_customers
        self.p_: float
        self.q_: float
        self.gamma_: float
        self.loglik_: float
        self.n_customers_: int
        self.excluded_nonpositive_: int = 0
        self.attempts_: list[Attempt] = []

    def fit(self, frequency: Any, monetary: Any) -> GammaGammaFitter:
        """Fit on the customers with x > 0; those whose mean value is zero or negative are left
        out and counted in ``excluded_nonpositive_``."""
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary, dtype=np.float64)
        repeat = x > 0
        nonpositive = repeat & ~(m > 0)
        self.excluded_nonpositive_ = int(nonpositive.sum())
        keep = repeat & (m > 0) & np.isfinite(m)
        if int(keep.sum()) < self.min_customers:
            raise InsufficientData(
                f"Gamma-Gamma needs at least {self.min_customers} customers with a repeat "
                f"purchase of positive value; the data has {int(keep.sum())}"
                + (
                    f" ({self.excluded_nonpositive_} left out for values <= 0)"
                    if self.excluded_nonpositive_
                    else ""
                ),
                field="orders",
            )
        xs, ms = x[keep], m[keep]
        w = np.ones(xs.size)
        total = w.sum()
        prepared = _prepare(xs, ms, w)

        def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = _evaluate(np.exp(log_params), prepared)
            return -ll / total, -grad * np.exp(log_params) / total

        mean_m = float(np.average(ms, weights=w))
        starts = [(1.0, 1.0, mean_m), (2.0, 2.0, 1.0), (5.0, 3.0, mean_m / 2)]
        result = maximise(objective, starts, names=("p", "q", "gamma"), model="Gamma-Gamma")
        self.p_, self.q_, self.gamma_ = (float(v) for v in result.params)
        self.loglik_ = float(-result.neg_mean_ll * total)
        self.n_customers_ = int(total)
        self.attempts_ = result.attempts
        return self

    @property
    def params_(self) -> dict[str, float]:
        self._check()
        return {"p": self.p_, "q": self.q_, "gamma": self.gamma_}

    def _check(self) -> None:
        if not hasattr(self, "p_"):
            raise ModelNotFitted("the Gamma-Gamma model is not fitted yet", field="model")

    def expected_average_order_value(self, frequency: Any, monetary: Any) -> np.ndarray:
        """E[M | x, m_x]: a weighted mean of the population mean and the customer's own mean.
        Customers without repeat purchases (or a non-positive mean) get the population mean."""
        self._check()
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary, dtype=np.float64)
        p, q, g = self.p_, self.q_, self.gamma_
        population = p * g / (q - 1.0) if q > 1 else np.nan
        usable = (x > 0) & (m > 0) & np.isfinite(m)
        own = np.where(usable, m, 0.0)
        xs = np.where(usable, x, 0.0)
        value = (p * g + p * xs * own) / (p * xs + q - 1.0)
        return np.where(usable, value, population)

    def customer_lifetime_value(
        self,
        transactions: TransactionModel,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary: Any,
        *,
        horizon: float,
        steps: int,
        discount_per_step: float,
        margin: float,
    ) -> np.ndarray:
        """Discounted margin over ``horizon`` time units in ``steps`` equal steps:
        sum_i margin * E[M] * (E[Y(t_i)] - E[Y(t_{i-1})]) / (1 + d)^i."""
        aov = self.expected_average_order_value(frequency, monetary)
        x = np.asarray(frequency, dtype=np.float64)
        value = np.zeros(x.shape)
        previous = np.zeros(x.shape)
        for i in range(1, steps + 1):  # a loop over time steps, not over customers
            cumulative = transactions.expected_purchases(horizon * i / steps, x, recency, T)
            value += (cumulative - previous) / (1.0 + discount_per_step) ** i
            previous = cumulative
        return margin * aov * value

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "model": "gamma_gamma",
            "version": MODEL_VERSION,
            "params": self.params_,
            "loglik": self.loglik_,
            "n_customers": self.n_customers_,
            "excluded_nonpositive": self.excluded_nonpositive_,
            "optimizer": [a.public() for a in self.attempts_],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GammaGammaFitter:
        if data.get("model") != "gamma_gamma":
            raise ModelNotFitted("not a Gamma-Gamma model file", field="model")
        model = cls()
        params = data["params"]
        model.p_, model.q_, model.gamma_ = (float(params[k]) for k in ("p", "q", "gamma"))
        model.loglik_ = float(data["loglik"])
        model.n_customers_ = int(data.get("n_customers", 0))
        model.excluded_nonpositive_ = int(data.get("excluded_nonpositive", 0))
        return model


@dataclass(frozen=True)
class _Prepared:
    x: np.ndarray
    m: np.ndarray
    w: np.ndarray
    x_unique: np.ndarray
    x_weight: np.ndarray
    total: float
    sum_wx_log_mx: float
    """sum of w * x * (ln m + ln x)"""
    sum_w_log_m: float


def _prepare(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> _Prepared:
    x_unique, index = np.unique(x, return_inverse=True)
    return _Prepared(
        x=x,
        m=m,
        w=w,
        x_unique=x_unique,
        x_weight=np.bincount(index.ravel(), weights=w, minlength=x_unique.size),
        total=float(w.sum()),
        sum_wx_log_mx=float(np.dot(w * x, np.log(m) + np.log(x))),
        sum_w_log_m=float(np.dot(w, np.log(m))),
    )


def _evaluate(params: np.ndarray, d: _Prepared) -> tuple[float, np.ndarray]:
    p, q, g = params
    xu, wu = d.x_unique, d.x_weight
    pxu = p * xu
    psi_pxq = digamma(pxu + q)
    gmx = g + d.m * d.x
    log_gmx = np.log(gmx)
    pxq = p * d.x + q
    ll = (
        float(np.dot(wu, gammaln(pxu + q) - gammaln(pxu)))
        + d.total * (q * np.log(g) - gammaln(q))
        + p * d.sum_wx_log_mx
        - d.sum_w_log_m
        - float(np.dot(d.w, pxq * log_gmx))
    )
    wx_log_gmx = float(np.dot(d.w * d.x, log_gmx))
    w_log_gmx = float(np.dot(d.w, log_gmx))
    d_p = float(np.dot(wu * xu, psi_pxq - digamma(pxu))) + d.sum_wx_log_mx - wx_log_gmx
    d_q = float(np.dot(wu, psi_pxq)) + d.total * (np.log(g) - digamma(q)) - w_log_gmx
    d_g = d.total * q / g - float(np.dot(d.w, pxq / gmx))
    return float(ll), np.array([d_p, d_q, d_g])


def _loglik_and_grad(
    params: np.ndarray, x: np.ndarray, m: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Log-likelihood and its gradient with respect to (p, q, gamma)."""
    return _evaluate(params, _prepare(x, m, w))
