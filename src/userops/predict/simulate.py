"""Draw customer summaries from BG/NBD + Gamma-Gamma with known parameters (vectorised), to
check that fits recover them (tests, ``bench/predict.py``).

Per customer: lambda ~ Gamma(r, 1/alpha), p ~ Beta(a, b); repeat purchases are a Poisson
process; after each repeat purchase the customer drops out with probability p, so J, the repeat
purchases made while alive, is Geometric(p). With N ~ Poisson(lambda T) arrivals in (0, T],
x = min(N, J) and, given N, the x-th arrival time is T x Beta(x, N - x + 1) (order statistics of
uniforms). Spend: nu ~ Gamma(q, 1/gamma); the mean of x values is Gamma(p x, 1/(nu x)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Simulated:
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary: np.ndarray


def simulate(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    p: float,
    q: float,
    gamma: float,
    T_max: float = 39.0,
    cohort_span: float = 12.0,
    resolution: float = 1.0 / 7.0,
    seed: int = 0,
) -> Simulated:
    """``n`` customers whose first purchase is uniform in the first ``cohort_span`` time
    units, observed until ``T_max``; times are rounded to ``resolution`` (a day in weeks)."""
    rng = np.random.default_rng(seed)
    first = np.floor(rng.uniform(0.0, cohort_span, n) / resolution) * resolution
    big_t = np.round((T_max - first) / resolution) * resolution
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * big_t)
    alive_for = rng.geometric(np.clip(drop, 1e-12, 1.0))
    x = np.minimum(arrivals, alive_for)
    has = x > 0
    t_x = np.zeros(n)
    t_x[has] = big_t[has] * rng.beta(x[has], arrivals[has] - x[has] + 1)
    t_x = np.minimum(np.round(t_x / resolution) * resolution, big_t)
    nu = rng.gamma(q, 1.0 / gamma, n)
    monetary = np.full(n, np.nan)
    monetary[has] = rng.gamma(p * x[has], 1.0 / (nu[has] * x[has]))
    return Simulated(x.astype(np.float64), t_x, big_t, monetary)
