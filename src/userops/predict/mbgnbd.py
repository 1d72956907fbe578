"""MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of models
for customer base analysis"; the "MBG/NBD" of Hoppe & Wagner 2007 and BTYDplus).

As BG/NBD — purchases of an alive customer are Poisson(lambda), lambda ~ Gamma(r, alpha), and
the customer drops out with probability p, p ~ Beta(a, b) — except that the drop-out chance is
also taken right after the *first* purchase. So a one-time buyer is not certainly alive: their
P(alive) falls as their silence grows, which is the flaw of BG/NBD this model removes.

Per customer, with B the beta function,

    L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x+1) / B(a, b)
        * [ (alpha+T)^-(r+x) + a/(b+x) * (alpha+t_x)^-(r+x) ]

    P(alive) = 1 / (1 + a/(b+x) * ((alpha+T)/(alpha+t_x))^(r+x))

Fitted by maximum likelihood in log space with the analytic gradient, identical rows merged.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from userops.core.errors import InvalidInput
from userops.predict.counting import CountingModel, as_arrays
from userops.predict.fitting import Objective, analytic_objective, typical_age

MODEL_VERSION = "mbgnbd/1"


class ModifiedBetaGeoFitter(CountingModel):
    """MBG/NBD with the same API as :class:`~userops.predict.bgnbd.BetaGeoFitter`."""

    key: ClassVar[str] = "mbgnbd"
    title: ClassVar[str] = "MBG/NBD"
    version: ClassVar[str] = MODEL_VERSION
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    r_: float
    alpha_: float
    a_: float
    b_: float

    def _objective(
        self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray
    ) -> Objective:
        return analytic_objective(lambda params: _loglik_and_grad(params, x, t_x, big_t, w), w)

    def _starts(self, big_t: np.ndarray, w: np.ndarray) -> list[tuple[float, ...]]:
        scale = typical_age(big_t, w)
        return [(1.0, scale, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0), (0.2, scale / 10, 0.5, 3.0)]

    @staticmethod
    def _per_customer_ll(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
    ) -> np.ndarray:
        r, alpha, a, b = params
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        beta = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
        alive = -(r + x) * np.log(alpha + big_t)
        dropped = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x)
        return head + beta + np.logaddexp(alive, dropped)

    # -------------------------------------------------------------- predictions
    def _odds_dropped(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._values()
        log_odds = (
            np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        )
        return np.exp(np.minimum(log_odds, 700.0))

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T); below 1 for one-time buyers too, falling with T."""
        self._check()
        return 1.0 / (1.0 + self._odds_dropped(*as_arrays(frequency, recency, T)))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[transactions in (T, T + t] | x, t_x, T] (``t`` > 0; arrays broadcast)."""
        self._check()
        x, t_x, big_t = as_arrays(frequency, recency, T)
        t = np.asarray(t, dtype=np.float64)
        if np.any(t <= 0):
            raise InvalidInput("the prediction horizon t must be positive", field="t")
        r, alpha, a, b = self._values()
        z = t / (alpha + big_t + t)
        log_base = (r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))
        bracket = 1.0 - np.exp(log_base) * hyp2f1(r + x, b + x + 1.0, a + b + x, z)
        head = (a + b + x) / (a - 1.0)
        return np.maximum(head * bracket / (1.0 + self._odds_dropped(x, t_x, big_t)), 0.0)

    def expected_purchases_population(self, t: Any) -> np.ndarray:
        """E[X(t)]: repeat transactions of a new customer in (0, t] (unconditional)."""
        self._check()
        t = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self._values()
        z = t / (alpha + t)
        value = b / (a - 1.0) * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1.0, a + b, z))
        return np.where(t > 0, value, 0.0)


def _loglik_and_grad(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Weighted log-likelihood and its gradient with respect to (r, alpha, a, b); the special
    functions are evaluated once per distinct frequency."""
    r, alpha, a, b = params
    xu, index = np.unique(x, return_inverse=True)
    index = index.ravel()
    wu = np.bincount(index, weights=w, minlength=xu.size)
    total = float(w.sum())
    ll = float(
        np.dot(wu, gammaln(r + xu) + gammaln(b + xu + 1) - gammaln(a + b + xu + 1))
        + total * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
    )
    psi_abx = digamma(a + b + xu + 1)
    g_r = float(np.dot(wu, digamma(r + xu))) + total * (np.log(alpha) - digamma(r))
    g_a = total * digamma(a + b) - float(np.dot(wu, psi_abx))
    g_b = float(np.dot(wu, digamma(b + xu + 1) - psi_abx)) + total * (digamma(a + b) - digamma(b))
    # per row: the mixture of "still alive at T" and "dropped out at t_x"
    rx = r + x
    log_at, log_atx = np.log(alpha + big_t), np.log(alpha + t_x)
    alive = -rx * log_at
    dropped = np.log(a) - np.log(b + x) - rx * log_atx
    lse = np.logaddexp(alive, dropped)
    w_drop = np.exp(dropped - lse)
    w_alive = 1.0 - w_drop
    ll += float(np.dot(w, lse))
    g_r -= float(np.dot(w, w_alive * log_at + w_drop * log_atx))
    g_alpha = total * r / alpha - float(
        np.dot(w, rx * (w_alive / (alpha + big_t) + w_drop / (alpha + t_x)))
    )
    ww = w * w_drop
    g_a += float(ww.sum()) / a
    g_b -= float(np.dot(ww, 1.0 / (b + x)))
    return ll, np.array([g_r, g_alpha, g_a, g_b])
