"""What the analytics domain hands out."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, computed_field


class OverviewTotals(BaseModel):
    """All-time figures. Money is integer fen; refunded and cancelled orders are not GMV."""

    customers: int
    """Customers in the warehouse mirror that were not merged into another one."""
    paying_customers: int
    """Customers (after merges) with at least one paid order."""
    paid_orders: int
    gmv_fen: int
    aov_fen: int
    """客单价: GMV // paid orders (0 when there are none)."""


class DayPoint(BaseModel):
    """One shop-local calendar day."""

    day: date
    new_customers: int
    paid_orders: int
    gmv_fen: int


class Overview(BaseModel):
    timezone: str
    """The shop timezone whose calendar days the series uses."""
    start: date
    end: date
    totals: OverviewTotals
    series: list[DayPoint]
    """One point per day from ``start`` to ``end`` (inclusive), days without data as zeros."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def window_new_customers(self) -> int:
        return sum(p.new_customers for p in self.series)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def window_gmv_fen(self) -> int:
        return sum(p.gmv_fen for p in self.series)
