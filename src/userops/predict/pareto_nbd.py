"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987, "Counting your customers"; likelihood and
expressions from Fader & Hardie 2005, "A note on deriving the Pareto/NBD model and related
expressions").

Purchases of an alive customer are Poisson(lambda), lambda ~ Gamma(r, alpha); the lifetime is
exponential(mu), mu ~ Gamma(s, beta), so a customer can drop out at any moment, also before a
repeat purchase: P(alive) of a one-time buyer falls with silence.

Per customer (Fader & Hardie 2005, eq. 22-23), with a = r+s+x, m = max(alpha, beta) and
A0 = F(t_x) - F(T), F(t) = 2F1(a, c; a+1; |alpha-beta|/(m+t)) / (m+t)^a, c = s+1 when
alpha >= beta and r+x otherwise:

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0 ]

The Gauss function is evaluated after Pfaff's transformation, 2F1(a, c; a+1; z) =
(1-z)^-c 2F1(1, c; a+1; z/(z-1)), whose value lies in (0, 1], in log space, and once per
distinct (x, t) pair. The gradient is taken by central differences (the derivatives of 2F1 in
its parameters have no closed form); a fit on CDNOW takes well under a second.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import gammaln, hyp2f1

from userops.core.errors import InvalidInput
from userops.predict.counting import CountingModel, as_arrays
from userops.predict.fitting import Objective, numeric_objective, typical_age

MODEL_VERSION = "pareto_nbd/1"


class ParetoNBDFitter(CountingModel):
    """Pareto/NBD with the same API as :class:`~userops.predict.bgnbd.BetaGeoFitter`."""

    key: ClassVar[str] = "pareto_nbd"
    title: ClassVar[str] = "Pareto/NBD"
    version: ClassVar[str] = MODEL_VERSION
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    r_: float
    alpha_: float
    s_: float
    beta_: float

    def _objective(
        self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray
    ) -> Objective:
        pairs = _Pairs.of(x, t_x, big_t)
        return numeric_objective(
            lambda params: float(np.dot(w, _per_row_ll(params, x, t_x, big_t, pairs))), w
        )

    def _starts(self, big_t: np.ndarray, w: np.ndarray) -> list[tuple[float, ...]]:
        scale = typical_age(big_t, w)
        return [(1.0, 1.0, 1.0, 1.0), (0.5, scale / 2, 0.5, scale / 2), (1.0, scale, 1.0, scale)]

    @staticmethod
    def _per_customer_ll(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
    ) -> np.ndarray:
        x, t_x, big_t = np.broadcast_arrays(x, t_x, big_t)
        return _per_row_ll(params, x, t_x, big_t, _Pairs.of(x, t_x, big_t))

    # -------------------------------------------------------------- predictions
    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) (Fader & Hardie 2005, eq. 18)."""
        self._check()
        x, t_x, big_t = np.broadcast_arrays(*as_arrays(frequency, recency, T))
        alive, dropped = _terms(self._values(), x, t_x, big_t, _Pairs.of(x, t_x, big_t))
        return (1.0 / (1.0 + np.exp(np.minimum(dropped - alive, 700.0)))).reshape(x.shape)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[transactions in (T, T + t] | x, t_x, T] (Fader & Hardie 2005, eq. 24)."""
        self._check()
        x, t_x, big_t = as_arrays(frequency, recency, T)
        t = np.asarray(t, dtype=np.float64)
        if np.any(t <= 0):
            raise InvalidInput("the prediction horizon t must be positive", field="t")
        r, alpha, s, beta = self._values()
        p_alive = self.probability_alive(x, t_x, big_t)
        growth = _power_integral(s, np.log(beta + big_t + t) - np.log(beta + big_t))
        return (r + x) * (beta + big_t) / (alpha + big_t) * growth * p_alive

    def expected_purchases_population(self, t: Any) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (unconditional)."""
        self._check()
        t = np.asarray(t, dtype=np.float64)
        r, alpha, s, beta = self._values()
        value = r * beta / alpha * _power_integral(s, np.log1p(np.maximum(t, 0.0) / beta))
        return np.where(t > 0, value, 0.0)


def _power_integral(s: float, u: np.ndarray) -> np.ndarray:
    """(1 - exp(-(s-1) u)) / (s-1), and its limit u at s = 1."""
    if abs(s - 1.0) < 1e-9:
        return u
    return -np.expm1(-(s - 1.0) * u) / (s - 1.0)


class _Pairs:
    """The distinct (x, t) pairs of t_x and T, so the Gauss function runs once per pair."""

    def __init__(self, x: np.ndarray, t: np.ndarray, index: np.ndarray, n: int) -> None:
        self.x, self.t, self.index, self.n = x, t, index, n

    @classmethod
    def of(cls, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> _Pairs:
        xs = np.concatenate([x.ravel(), x.ravel()])
        ts = np.concatenate([t_x.ravel(), big_t.ravel()])
        stacked = np.stack([xs, ts], axis=1)
        unique, index = np.unique(stacked, axis=0, return_inverse=True)
        return cls(unique[:, 0], unique[:, 1], index.ravel(), x.size)


def _log_f(params: np.ndarray, pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    """log F(t_x) and log F(T) per row (see the module docstring)."""
    r, alpha, s, beta = params
    x, t = pairs.x, pairs.t
    a = r + s + x
    big, small = max(alpha, beta), min(alpha, beta)
    c = np.full(x.shape, s + 1.0) if alpha >= beta else r + x
    gap = abs(alpha - beta)
    # 2F1(a, c; a+1; z) with z = gap/(big+t); 1 - z = (small+t)/(big+t)
    log_hyp = c * (np.log(big + t) - np.log(small + t)) + np.log(
        hyp2f1(1.0, c, a + 1.0, -gap / (small + t))
    )
    log_f = log_hyp - a * np.log(big + t)
    per_row = log_f[pairs.index]
    return per_row[: pairs.n], per_row[pairs.n :]


def _terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, pairs: _Pairs
) -> tuple[np.ndarray, np.ndarray]:
    """The two parts of the likelihood's bracket, in logs: alive at T, dropped out in
    (t_x, T]."""
    r, alpha, s, beta = params
    x, t_x, big_t = x.ravel(), t_x.ravel(), big_t.ravel()
    alive = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    log_f_tx, log_f_t = _log_f(params, pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.minimum(log_f_t - log_f_tx, 0.0)
        log_a0 = log_f_tx + np.log(-np.expm1(diff))
    dropped = np.log(s) - np.log(r + s + x) + log_a0
    return alive, dropped


def _per_row_ll(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, pairs: _Pairs
) -> np.ndarray:
    r, alpha, s, beta = params
    alive, dropped = _terms(params, x, t_x, big_t, pairs)
    head = gammaln(r + x.ravel()) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return head + np.logaddexp(alive, dropped)
