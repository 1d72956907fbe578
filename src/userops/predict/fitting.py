"""Maximum likelihood in log-parameter space: L-BFGS-B with analytic gradients from several
starting points, then Nelder-Mead; every attempt is reported when none converges."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from userops.predict.errors import FitFailed

# negative mean log-likelihood and its gradient, both with respect to log-parameters
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

_LOG_BOUND = 20.0
_STEP = 1e-6
"""Central-difference step in log-parameter space."""

# weighted log-likelihood and its gradient with respect to the (positive) parameters
LoglikAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]
# weighted log-likelihood alone
Loglik = Callable[[np.ndarray], float]


def analytic_objective(loglik_and_grad: LoglikAndGrad, w: np.ndarray) -> Objective:
    """The objective :func:`maximise` takes, from a model's weighted log-likelihood and its
    analytic gradient in the parameters (chain rule: d/d log p = p * d/dp)."""
    total = float(w.sum())

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, grad = loglik_and_grad(params)
        return -ll / total, -grad * params / total

    return objective


def numeric_objective(loglik: Loglik, w: np.ndarray) -> Objective:
    """The same, for a model whose gradient has no closed form: central differences in
    log-parameter space."""
    total = float(w.sum())

    def value(log_params: np.ndarray) -> float:
        return -loglik(np.exp(log_params)) / total

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        grad = np.empty(log_params.size)
        for i in range(log_params.size):
            h = np.zeros(log_params.size)
            h[i] = _STEP
            grad[i] = (value(log_params + h) - value(log_params - h)) / (2 * _STEP)
        return value(log_params), grad

    return objective


def typical_age(big_t: np.ndarray, w: np.ndarray) -> float:
    """The customers' mean age T (weighted), 1 when it is 0: the scale of a rate parameter's
    starting point."""
    return float(np.average(big_t, weights=w)) or 1.0


@dataclass
class Attempt:
    method: str
    start: list[float]
    converged: bool
    message: str
    neg_mean_ll: float
    iterations: int

    def public(self) -> dict[str, object]:
        return {
            "method": self.method,
            "start": [round(v, 6) for v in self.start],
            "converged": self.converged,
            "message": self.message,
            "iterations": self.iterations,
        }


@dataclass
class FitResult:
    params: np.ndarray
    neg_mean_ll: float
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def method(self) -> str:
        best = [a for a in self.attempts if a.converged]
        return best[0].method if best else ""


def maximise(
    objective: Objective, starts: Sequence[Sequence[float]], *, names: Sequence[str], model: str
) -> FitResult:
    """Find the maximum-likelihood parameters (positive values, optimised as logs)."""
    attempts: list[Attempt] = []
    best: tuple[float, np.ndarray] | None = None
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(names)
    for start in starts:
        x0 = np.log(np.asarray(start, dtype=np.float64))
        with np.errstate(all="ignore"):
            res = minimize(
                objective,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10},
            )
        ok = bool(np.isfinite(res.fun)) and _converged(res.message, res.jac)
        at_bound = bool(np.any(np.abs(res.x) >= _LOG_BOUND - 1e-6))
        attempts.append(
            Attempt(
                "L-BFGS-B",
                list(np.exp(x0)),
                ok and not at_bound,
                str(res.message) + (" (a parameter hit its bound)" if at_bound else ""),
                float(res.fun),
                int(res.nit),
            )
        )
        if ok and not at_bound:
            best = (float(res.fun), np.asarray(res.x))
            break  # the other starting points are fallbacks
    if best is None:
        x0 = np.log(np.asarray(starts[0], dtype=np.float64))
        with np.errstate(all="ignore"):
            res = minimize(
                lambda x: objective(x)[0],
                x0,
                method="Nelder-Mead",
                options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-14},
            )
        ok = bool(res.success) and bool(np.isfinite(res.fun))
        attempts.append(
            Attempt(
                "Nelder-Mead", list(np.exp(x0)), ok, str(res.message), float(res.fun), int(res.nit)
            )
        )
        if ok:
            best = (float(res.fun), np.asarray(res.x))
    if best is None:
        tried = "; ".join(
            f"{a.method} from {dict(zip(names, np.round(a.start, 4), strict=True))}: {a.message}"
            for a in attempts
        )
        raise FitFailed(f"the {model} fit did not converge. Tried: {tried}", field="model")
    return FitResult(params=np.exp(best[1]), neg_mean_ll=best[0], attempts=attempts)


def _converged(message: object, jac: np.ndarray) -> bool:
    text = str(message).upper()
    if "CONVERGENCE" in text:
        return True
    # L-BFGS-B stops on "ABNORMAL" line searches at the optimum when the gradient is tiny
    return bool(np.all(np.isfinite(jac))) and float(np.max(np.abs(jac))) < 1e-5


def compress(
    *columns: np.ndarray, weights: np.ndarray | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Identical rows merged into one with a weight (the likelihood is a weighted sum)."""
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    n = cols[0].size
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n == 0:
        return [np.zeros(0) for _ in cols], np.zeros(0)
    order = np.lexsort(cols[::-1])
    sorted_cols = [c[order] for c in cols]
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for c in sorted_cols:
        change[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(change)
    counts = np.add.reduceat(w[order], starts)
    return [c[starts] for c in sorted_cols], counts
