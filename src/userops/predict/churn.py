"""Churn risk: the model's P(alive), floored by a recency rule.

P(alive) alone can call a long-silent customer "low risk" (BG/NBD does so for every one-time
buyer; any model does when its fit is poor for a part of the base). The recency rule is a
model-free guard an operator can check by hand: a customer silent for several times their usual
gap between purchases is at risk, whatever the model says.

- usual gap g: the customer's mean gap between transactions, t_x / x, when x >= 1; for one-time
  buyers (x = 0) the shop's gap: the median of t_x / x over the customers with x >= 1;
- silence: T - t_x (from the last transaction to the calibration end);
- silence >= ``churn_medium_silent_gaps`` x g (default 3): at least ``medium``;
- silence >= ``churn_high_silent_gaps`` x g (default 6): ``high``;
- silence >= ``churn_silent_days`` days (default: the customer system's ``silent_days``, 180,
  the boundary of lifecycle ``churned``): at least ``medium``, so a customer the lifecycle calls
  churned is never ``low``, even one whose usual gap is long.

Why 3 and 6: for a customer still buying at their usual rate (exponential gaps of mean g) the
chance of a silence of 3 g is e^-3 = 5%, of 6 g e^-6 = 0.25%.
"""

from __future__ import annotations

import numpy as np

from userops.predict.schemas import PredictSettings

LEVELS = ("low", "medium", "high")


def shop_gap(frequency: np.ndarray, recency: np.ndarray) -> float:
    """The median over repeat customers of their mean gap t_x / x (NaN without any)."""
    repeat = frequency > 0
    if not repeat.any():
        return float("nan")
    return float(np.median(recency[repeat] / frequency[repeat]))


def usual_gap(frequency: np.ndarray, recency: np.ndarray, shop: float) -> np.ndarray:
    """Each customer's mean gap t_x / x; ``shop`` for one-time buyers."""
    with np.errstate(divide="ignore", invalid="ignore"):
        own = recency / frequency
    return np.where(frequency > 0, own, shop)


def silent_gaps(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Silence (T - t_x) in units of the customer's usual gap."""
    gap = usual_gap(frequency, recency, shop_gap(frequency, recency))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (T - recency) / gap
    return np.nan_to_num(ratio, nan=0.0, posinf=0.0)


def model_risk(p_alive: np.ndarray, settings: PredictSettings) -> np.ndarray:
    """0 (low), 1 (medium) or 2 (high) from the P(alive) thresholds alone."""
    medium = np.where(p_alive < settings.churn_medium_below, 1, 0)
    return np.where(p_alive < settings.churn_high_below, 2, medium)


def recency_floor(
    gaps: np.ndarray, silent_days: np.ndarray, churned_after_days: float, settings: PredictSettings
) -> np.ndarray:
    """The lowest level the recency rule allows: 0, 1 (>= medium gaps, or silent at least
    ``churned_after_days``) or 2 (>= high gaps)."""
    medium = (gaps >= settings.churn_medium_silent_gaps) | (silent_days >= churned_after_days)
    return np.where(gaps >= settings.churn_high_silent_gaps, 2, np.where(medium, 1, 0))


def churn_levels(
    p_alive: np.ndarray,
    gaps: np.ndarray,
    silent_days: np.ndarray,
    churned_after_days: float,
    settings: PredictSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """(level names, whether the recency rule raised the level) per customer."""
    by_model = model_risk(p_alive, settings)
    level = np.maximum(by_model, recency_floor(gaps, silent_days, churned_after_days, settings))
    return np.asarray(LEVELS, dtype=object)[level], level > by_model
