"""The magic number (魔法数字 / aha moment): the early behaviour that separates customers who stay.

For every event type (and ``order``), count what each customer did in the first
``within_days`` days after signup; "retained" means activity (any behaviour event or paid
order) in days [retained_day, retained_day + window) after signup. For each behaviour the
threshold t (count ≥ t) that maximises Youden's J = TPR − FPR (share of retained customers at
or above t minus share of non-retained customers at or above t) is reported, with retention
above and below it, the lift and the share of customers above. Behaviours are ranked by J.
Only customers who signed up at least ``retained_day + window`` days before the end of the data
are counted. It is a correlation, not a cause.

>>> from userops.analytics.magic import MagicQuery, magic_number
>>> magic_number(hub.warehouse, timezone="Asia/Shanghai", query=MagicQuery())
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import ibis
import numpy as np
from pydantic import BaseModel, Field

from userops.analytics import common, queries
from userops.analytics.schemas import MagicBehaviour, MagicNumber
from userops.core.clock import local_midnight_utc
from userops.core.errors import InvalidInput
from userops.warehouse import Warehouse

__all__ = ["CAP", "MagicQuery", "best_threshold", "magic_number"]

CAP = 30
"""Counts are cut at this value (thresholds above it are not tried)."""
NOTE = (
    "Correlation, not causation: customers who do this early are retained more often; pushing "
    "others to do it may or may not retain them. Test it (an A/B test) before acting on it."
)


class MagicQuery(BaseModel):
    within_days: int = 7
    retained_day: int = 30
    retained_window_days: int | None = None
    """Length of the retention window (default: ``retained_day`` days, i.e. [30, 60))."""
    min_share: float = Field(0.01, gt=0, le=1)
    """Thresholds that put fewer customers than this share above them are not considered (a
    share of 0 would admit a threshold nobody reaches, whose rate is undefined)."""
    top: int = 20


def best_threshold(pos: np.ndarray, neg: np.ndarray, min_share: float) -> tuple[int, float] | None:
    """``pos[c]`` / ``neg[c]``: retained / not retained customers with count c (0..CAP).
    Returns (threshold ≥ 1, J) maximising Youden's J = TPR − FPR, the smallest such threshold on
    ties, or None when no threshold puts at least ``min_share`` of customers above it."""
    p_total, n_total = pos.sum(), neg.sum()
    if p_total == 0 or n_total == 0:
        return None
    above_pos = np.cumsum(pos[::-1])[::-1]  # above_pos[t] = customers with count >= t
    above_neg = np.cumsum(neg[::-1])[::-1]
    j = above_pos / p_total - above_neg / n_total
    share = (above_pos + above_neg) / (p_total + n_total)
    j[0] = -np.inf  # t = 0 puts everybody above
    j[share < min_share] = -np.inf
    t = int(np.argmax(j))
    if not np.isfinite(j[t]):
        return None
    return t, float(j[t])


def magic_number(warehouse: Warehouse, *, timezone: str, query: MagicQuery) -> MagicNumber:
    q = query
    if not 1 <= q.within_days <= 90:
        raise InvalidInput("within_days must be between 1 and 90", field="within_days")
    if not q.within_days <= q.retained_day <= 365:
        raise InvalidInput("retained_day must be between within_days and 365", field="retained_day")
    window = q.retained_window_days or q.retained_day
    if not 1 <= window <= 365:
        raise InvalidInput("retained_window_days must be between 1 and 365", field="window")
    if not 0 <= q.min_share < 1:
        raise InvalidInput("min_share must be in [0, 1)", field="min_share")
    with common.opened(warehouse) as con:
        last = common.latest_day(con, timezone)
        result = MagicNumber(
            within_days=q.within_days,
            retained_day=q.retained_day,
            retained_window_days=window,
            customers=0,
            retained=0,
            base_retention=None,
            behaviours=[],
            note=NOTE,
        )
        if last is None:
            return result
        end = local_midnight_utc(last + timedelta(days=1), ZoneInfo(timezone))
        cutoff = end - timedelta(days=q.retained_day + window)
        people = queries.signups(con)
        cohort = people.filter(people.ts < cutoff).select(person=people.person, t0=people.ts)
        activity = queries.stream(con, "any")
        retained = queries.retained_people(
            cohort, activity, q.retained_day, q.retained_day + window
        )
        events = queries.event_people(con).select("person", "name", "ts")
        orders = queries.order_people(con)
        events = events.union(
            orders.select("person", name=ibis.literal(queries.ORDER_EVENT), ts=orders.ts)
        )
        counts = queries.early_counts(cohort, events, q.within_days, CAP)
        flagged = counts.left_join(retained, counts.person == retained.person).mutate(
            kept=retained.person.notnull()
        )
        hist = common.rows(flagged.group_by(["name", "cnt", "kept"]).aggregate(n=flagged.count()))
        totals = cohort.left_join(retained, cohort.person == retained.person)
        total_rows = common.rows(
            totals.group_by(kept=retained.person.notnull()).aggregate(n=totals.count())
        )
    kept_total = sum(int(r["n"]) for r in total_rows if r["kept"])
    lost_total = sum(int(r["n"]) for r in total_rows if not r["kept"])
    result.customers = kept_total + lost_total
    result.retained = kept_total
    result.base_retention = common.safe_div(kept_total, result.customers)
    names = sorted({r["name"] for r in hist})
    index = {name: i for i, name in enumerate(names)}
    pos = np.zeros((len(names), CAP + 1), dtype=np.int64)
    neg = np.zeros_like(pos)
    for r in hist:  # one row per (event name, count, retained): an aggregate, not per customer
        (pos if r["kept"] else neg)[index[r["name"]], int(r["cnt"])] += int(r["n"])
    pos[:, 0] = kept_total - pos[:, 1:].sum(axis=1)
    neg[:, 0] = lost_total - neg[:, 1:].sum(axis=1)
    behaviours = []
    for name, i in index.items():
        best = best_threshold(pos[i], neg[i], q.min_share)
        if best is None:
            continue
        t, j = best
        ap, an = int(pos[i, t:].sum()), int(neg[i, t:].sum())
        bp, bn = int(pos[i, :t].sum()), int(neg[i, :t].sum())
        above = ap / (ap + an)
        below = bp / (bp + bn) if bp + bn else None
        share = (ap + an) / result.customers
        behaviours.append(
            MagicBehaviour(
                event=name,
                threshold=t,
                youden_j=round(j, 4),
                retention_above=round(above, 4),
                retention_below=round(below, 4) if below is not None else None,
                lift=round(above / below, 3) if below else None,
                share_above=round(share, 4),
                people_above=ap + an,
                sentence=(
                    f"customers who do {name} ≥ {t} times in their first {q.within_days} days "
                    f"are retained at day {q.retained_day} at {above:.0%}"
                    + (f" against {below:.0%}" if below is not None else "")
                ),
            )
        )
    behaviours.sort(key=lambda b: (-b.youden_j, b.event))
    result.behaviours = behaviours[: q.top]
    return result
