"""Pure rules of the reports (no IO): proportions, z-tests, Holm's correction, and which
names a report may read from JSON (event properties, custom attributes)."""

from __future__ import annotations

import math

from userops.core import names

Z95 = 1.959963984540054


def two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (95% by default)."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The pooled two-proportion z statistic of x1/n1 against x2/n2 (None if undefined)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    return (x1 / n1 - x2 / n2) / se


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (family-wise error), None entries left out."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def flag(diff: float | None, p_adjusted: float | None, alpha: float = 0.05) -> str:
    if diff is None or p_adjusted is None or p_adjusted >= alpha:
        return "same"
    return "better" if diff > 0 else "worse"


def ratio_ci(
    total: float, sum_sq: float, n: int, spend: float, z: float = Z95
) -> tuple[float, float, float] | None:
    """ROI = total / spend − 1 with its normal-approximation standard error, treating the
    per-customer revenues (sum ``total``, sum of squares ``sum_sq``, ``n`` customers) as i.i.d.
    and the spend as fixed. Returns (roi, low, high) or None."""
    if n < 2 or spend <= 0:
        return None
    mean = total / n
    var = max(0.0, (sum_sq - n * mean * mean) / (n - 1))
    se = math.sqrt(n * var) / spend
    roi = total / spend - 1
    return roi, roi - z * se, roi + z * se


# --------------------------------------------------------------------------------------
# Names in report queries: funnel step filters and ``attr:KEY`` breakdowns
# --------------------------------------------------------------------------------------


def property_path(name: str, *, field: str) -> str:
    """The JSON path of an event property named in a report (a funnel step's ``key=value``);
    a name outside the documented pattern (``core.names``) is a 400 naming ``field``, never a
    JSON path error from the engine."""
    names.check_property_name(name, field=field, where=f"{field} property")
    return names.json_path(name)


def attribute_path(name: str, *, field: str) -> str:
    """The JSON path of a custom attribute named in a report (an ``attr:KEY`` breakdown)."""
    names.check_attribute_name(name, field=field, where=f"{field} attribute")
    return names.json_path(name)
