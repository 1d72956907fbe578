"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Transactions of an alive customer are Poisson(lambda), lambda ~ Gamma(r, alpha); after each
transaction the customer drops out with probability p, p ~ Beta(a, b). Fitted by maximum
likelihood on (frequency x, recency t_x, age T), vectorised, in log space, with the analytic
gradient; identical rows are merged and weighted.

>>> m = BetaGeoFitter().fit(s.frequency, s.recency, s.T)
>>> m.r_, m.alpha_, m.a_, m.b_, m.loglik_
>>> m.expected_purchases(4.3, s.frequency, s.recency, s.T)   # next 4.3 time units
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from userops.core.errors import InvalidInput
from userops.predict.counting import MIN_REPEAT_CUSTOMERS, checked_summary
from userops.predict.counting import as_arrays as _arrays
from userops.predict.errors import ModelNotFitted
from userops.predict.fitting import Attempt, analytic_objective, maximise, typical_age

MODEL_VERSION = "bgnbd/1"


class BetaGeoFitter:
    """BG/NBD with an sklearn-like API; fitted values end in ``_``."""

    key: ClassVar[str] = "bgnbd"
    title: ClassVar[str] = "BG/NBD"
    version: ClassVar[str] = MODEL_VERSION

    def __init__(self, *, min_repeat_customers: int = MIN_REPEAT_CUSTOMERS) -> None:
        self.min_repeat_customers = min_repeat_customers
        self.r_: float
        self.alpha_: float
        self.a_: float
        self.b_: float
        self.loglik_: float
        self.n_customers_: int
        self.n_repeat_customers_: int
        self.attempts_: list[Attempt] = []

    # ------------------------------------------------------------------ fitting
    def fit(
        self, frequency: Any, recency: Any, T: Any, *, weights: Any | None = None
    ) -> BetaGeoFitter:
        (x, t_x, big_t), w, repeaters = checked_summary(
            frequency,
            recency,
            T,
            weights,
            model=self.title,
            min_repeat_customers=self.min_repeat_customers,
        )
        total = w.sum()
        prepared = _prepare(x, t_x, big_t, w)
        objective = analytic_objective(lambda params: _evaluate(params, prepared), w)
        scale = typical_age(big_t, w)
        starts = [(1.0, scale, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0), (0.2, scale / 10, 0.5, 3.0)]
        result = maximise(objective, starts, names=("r", "alpha", "a", "b"), model=self.title)
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in result.params)
        self.loglik_ = float(-result.neg_mean_ll * total)
        self.n_customers_ = int(total)
        self.n_repeat_customers_ = int(repeaters)
        self.attempts_ = result.attempts
        return self

    @property
    def params_(self) -> dict[str, float]:
        self._check()
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    def _check(self) -> None:
        if not hasattr(self, "r_"):
            raise ModelNotFitted("the BG/NBD model is not fitted yet", field="model")

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters."""
        self._check()
        x, t_x, big_t = _arrays(frequency, recency, T)
        return _per_customer_ll(np.array(list(self.params_.values())), x, t_x, big_t)

    # -------------------------------------------------------------- predictions
    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T). Customers without a repeat purchase get 1 (BG/NBD)."""
        self._check()
        x, t_x, big_t = _arrays(frequency, recency, T)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = (
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            )
        odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700.0)), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[transactions in (T, T + t] | x, t_x, T] (``t`` > 0; arrays broadcast)."""
        self._check()
        x, t_x, big_t = _arrays(frequency, recency, T)
        t = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        if np.any(t <= 0):
            raise InvalidInput("the prediction horizon t must be positive", field="t")
        z = t / (alpha + big_t + t)
        log_base = (r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))
        bracket = 1.0 - np.exp(log_base) * hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        head = (a + b + x - 1.0) / (a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = (
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            )
        odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700.0)), 0.0)
        return np.maximum(head * bracket / (1.0 + odds), 0.0)

    def expected_purchases_population(self, t: Any) -> np.ndarray:
        """E[X(t)]: repeat transactions of a new customer in (0, t] (unconditional)."""
        self._check()
        t = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = t / (alpha + t)
        value = (
            (a + b - 1.0)
            / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1.0, z))
        )
        return np.where(t > 0, value, 0.0)

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "model": "bgnbd",
            "version": MODEL_VERSION,
            "params": self.params_,
            "loglik": self.loglik_,
            "n_customers": self.n_customers_,
            "n_repeat_customers": self.n_repeat_customers_,
            "optimizer": [a.public() for a in self.attempts_],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BetaGeoFitter:
        if data.get("model") != "bgnbd":
            raise ModelNotFitted("not a BG/NBD model file", field="model")
        model = cls()
        params = data["params"]
        model.r_, model.alpha_ = float(params["r"]), float(params["alpha"])
        model.a_, model.b_ = float(params["a"]), float(params["b"])
        model.loglik_ = float(data["loglik"])
        model.n_customers_ = int(data.get("n_customers", 0))
        model.n_repeat_customers_ = int(data.get("n_repeat_customers", 0))
        return model


def _per_customer_ll(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


@dataclass(frozen=True)
class _Prepared:
    """The data with the per-frequency parts grouped: special functions are evaluated once per
    distinct frequency, the rest row by row."""

    x: np.ndarray
    t_x: np.ndarray
    big_t: np.ndarray
    w: np.ndarray
    rep: np.ndarray
    x_unique: np.ndarray
    x_weight: np.ndarray
    """Summed weights per distinct frequency."""
    bx1_index: np.ndarray
    """Position of each row's frequency in ``x_unique``."""
    total: float


def _prepare(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray) -> _Prepared:
    x_unique, index = np.unique(x, return_inverse=True)
    return _Prepared(
        x=x,
        t_x=t_x,
        big_t=big_t,
        w=w,
        rep=x > 0,
        x_unique=x_unique,
        x_weight=np.bincount(index.ravel(), weights=w, minlength=x_unique.size),
        bx1_index=index.ravel(),
        total=float(w.sum()),
    )


def _evaluate(params: np.ndarray, d: _Prepared) -> tuple[float, np.ndarray]:
    r, alpha, a, b = params
    xu, wu = d.x_unique, d.x_weight
    # per distinct frequency
    per_x_ll = gammaln(r + xu) + gammaln(b + xu) - gammaln(a + b + xu)
    psi_abx = digamma(a + b + xu)
    ll = float(
        np.dot(wu, per_x_ll)
        + d.total * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
    )
    g_r = float(np.dot(wu, digamma(r + xu))) + d.total * (np.log(alpha) - digamma(r))
    g_a = d.total * digamma(a + b) - float(np.dot(wu, psi_abx))
    g_b = float(np.dot(wu, digamma(b + xu) - psi_abx)) + d.total * (digamma(a + b) - digamma(b))
    log_bx1 = np.log(np.where(xu > 0, b + xu - 1.0, 1.0))[d.bx1_index]
    # per row
    rx = r + d.x
    log_at = np.log(alpha + d.big_t)
    log_atx = np.log(alpha + d.t_x)
    a3 = -rx * log_at
    a4 = np.where(d.rep, np.log(a) - log_bx1 - rx * log_atx, -np.inf)
    lse = np.logaddexp(a3, a4)
    w4 = np.exp(a4 - lse)
    w3 = 1.0 - w4
    ww4 = d.w * w4
    ll += float(np.dot(d.w, lse))
    g_r -= float(np.dot(d.w, w3 * log_at + w4 * log_atx))
    g_alpha = d.total * r / alpha - float(
        np.dot(d.w, rx * (w3 / (alpha + d.big_t) + w4 / (alpha + d.t_x)))
    )
    g_a += float(ww4.sum()) / a
    g_b -= float(np.dot(ww4, np.exp(-log_bx1)))
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def _loglik_and_grad(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Log-likelihood and its gradient with respect to (r, alpha, a, b)."""
    return _evaluate(params, _prepare(x, t_x, big_t, w))
