"""The per-customer summary buy-till-you-die models need, from daily paid transactions.

Pure NumPy, no IO. Definitions (as ``summary_data_from_transaction_data`` in lifetimes and
``dc.ElogToCbsCbt`` in BTYD):

* orders on the same shop-local day are one transaction (their values are added);
* ``frequency`` x: transactions after the first one up to the calibration end (inclusive);
* ``recency`` t_x: from the first to the last of those transactions;
* ``T``: from the first transaction to the calibration end;
* ``monetary``: the mean value of the repeat transactions (major currency units; NaN when x=0);
* holdout (optional): transactions in ``(calibration_end, holdout_end]``.

Durations are in days or weeks (days / 7). Customers whose first transaction is after the
calibration end are not in the summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

from userops.core.errors import InvalidInput

TimeUnit = Literal["day", "week"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0}
_EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the integer a DuckDB/Arrow ``date32`` holds)."""
    return (day - _EPOCH).days


@dataclass(frozen=True)
class RFMSummary:
    customer: np.ndarray
    """Customer codes (the ``customer`` values passed in), ascending."""
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary: np.ndarray
    first_day: np.ndarray
    """Day number (see :func:`day_number`) of the first transaction."""
    holdout_frequency: np.ndarray | None
    calibration_end: date
    holdout_end: date | None
    time_unit: TimeUnit

    @property
    def size(self) -> int:
        return int(self.customer.size)

    @property
    def holdout_length(self) -> float:
        """Length of the holdout period in the summary's time unit (0 without a holdout)."""
        if self.holdout_end is None:
            return 0.0
        return (self.holdout_end - self.calibration_end).days / UNIT_DAYS[self.time_unit]


def rfm_summary(
    customer: np.ndarray,
    day: np.ndarray,
    amount_fen: np.ndarray,
    *,
    calibration_end: date,
    time_unit: TimeUnit = "day",
    holdout_end: date | None = None,
    minor_per_major: int = 100,
) -> RFMSummary:
    """Summarise paid orders (``customer`` integer codes, ``day`` day numbers, values in fen).

    The rows need not be sorted or aggregated by day.
    """
    if time_unit not in UNIT_DAYS:
        raise InvalidInput(f"time unit must be day or week, got {time_unit!r}", field="time_unit")
    if holdout_end is not None and holdout_end <= calibration_end:
        raise InvalidInput("the holdout end must be after the calibration end", field="holdout_end")
    customer = np.asarray(customer, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    amount = np.asarray(amount_fen, dtype=np.float64)
    if not customer.size == day.size == amount.size:
        raise InvalidInput("customer, day and amount must have the same length", field="orders")
    if customer.size and customer.min() < 0:
        raise InvalidInput("customer codes must be non-negative", field="customer")
    unit = UNIT_DAYS[time_unit]
    cal_end = day_number(calibration_end)

    cal = day <= cal_end
    span = np.int64(day.max() - day.min() + 1) if day.size else np.int64(1)
    offset = day.min() if day.size else 0
    # one row per (customer, day), sorted by customer then day
    key = customer[cal] * span + (day[cal] - offset)
    daily_key, inverse = np.unique(key, return_inverse=True)
    daily_amount = np.bincount(inverse, weights=amount[cal], minlength=daily_key.size)
    daily_customer = daily_key // span
    daily_day = daily_key % span + offset

    codes, first, counts = np.unique(daily_customer, return_index=True, return_counts=True)
    last = first + counts - 1
    first_day = daily_day[first]
    frequency = (counts - 1).astype(np.float64)
    recency = (daily_day[last] - first_day) / unit
    T = (cal_end - first_day) / unit
    if daily_amount.size:
        total = np.add.reduceat(daily_amount, first) if first.size else np.zeros(0)
    else:
        total = np.zeros(0)
    repeat_value = total - daily_amount[first] if first.size else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / frequency / minor_per_major, np.nan)

    holdout: np.ndarray | None = None
    if holdout_end is not None:
        hold = (day > cal_end) & (day <= day_number(holdout_end))
        hold_key = np.unique(customer[hold] * span + (day[hold] - offset))
        hold_customer = hold_key // span
        pos = np.searchsorted(codes, hold_customer)
        pos = np.clip(pos, 0, max(codes.size - 1, 0))
        known = codes.size > 0
        match = (codes[pos] == hold_customer) if known else np.zeros(0, dtype=bool)
        holdout = np.bincount(pos[match], minlength=codes.size).astype(np.float64)

    return RFMSummary(
        customer=codes,
        frequency=frequency,
        recency=recency,
        T=T,
        monetary=monetary,
        first_day=first_day,
        holdout_frequency=holdout,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        time_unit=time_unit,
    )
