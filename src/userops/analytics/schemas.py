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
    partial: bool = False
    """The day is not over (today) or past the end of the data: drawn dashed, never like a
    full day."""


class Overview(BaseModel):
    timezone: str
    """The shop timezone whose calendar days the series uses."""
    start: date
    end: date
    totals: OverviewTotals
    series: list[DayPoint]
    """One point per day from ``start`` to ``end`` (inclusive), days without data as zeros."""
    covered_until: date | None = None
    """The first shop-local day the data does not cover (days from it on are partial)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def window_new_customers(self) -> int:
        return sum(p.new_customers for p in self.series)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def window_gmv_fen(self) -> int:
        return sum(p.gmv_fen for p in self.series)


# --------------------------------------------------------------------------------------
# Retention, funnels, AARRR, channels, magic number
# --------------------------------------------------------------------------------------


class RetentionCohort(BaseModel):
    start: date
    """First calendar day of the cohort's period (shop timezone)."""
    size: int
    counts: list[int]
    """``counts[0]`` is the size; ``counts[k]`` the members who returned in period start + k."""
    rates: list[float]
    partial: bool = False
    """True when at least one of this cohort's periods had not ended by ``covered_until``: its
    counts can still grow (drawn hatched in the console)."""
    partial_cells: list[bool] = []
    """Per cell, whether its period (cohort period + k) is partial."""


class RetentionGroup(BaseModel):
    value: str
    cohorts: list[RetentionCohort]


class Retention(BaseModel):
    period: str
    mode: str
    start_event: str
    return_event: str
    cumulative: bool
    week_start: str
    date_to: date
    timezone: str
    cohorts: list[RetentionCohort]
    breakdown: str | None = None
    groups: list[RetentionGroup] | None = None
    """One matrix per breakdown value (largest first) when a breakdown was asked for."""
    min_occurrences: int = 1
    definition: str = ""
    """What a cell counts, in words (the same sentence the console shows)."""
    covered_until: date | None = None
    """The first shop-local day the data does not cover (periods ending after it are partial)."""


class FunnelStepResult(BaseModel):
    step: str
    people: int
    conversion_from_previous: float | None
    conversion_from_first: float | None
    median_seconds_to_convert: float | None
    """From the previous step, over the people who reached this step (on the attempt that
    counts for them); None for the first step."""
    average_seconds_to_convert: float | None
    dropped: int
    """People who reached the previous step but not this one (0 for the first step)."""


class FunnelGroup(BaseModel):
    value: str
    steps: list[FunnelStepResult]


class Funnel(BaseModel):
    steps: list[FunnelStepResult]
    window_seconds: int
    date_from: date
    date_to: date
    timezone: str
    breakdown: str | None = None
    groups: list[FunnelGroup] | None = None
    entry: str = "any"
    """``any``: the deepest attempt of each person counts (PostHog); ``first``: only the first
    step-1 event in the range was tried."""
    warnings: list[str] = []
    """E.g. a step whose event nobody has done yet (it counts 0), with close matches."""


class AarrrPeriod(BaseModel):
    start: date
    new_customers: int
    new_by_channel: dict[str, int]
    activated: int
    activation_rate: float | None
    week1_retention: float | None
    """Share of the period's new customers active (any event or paid order) in days 7-13 after
    their own signup (None when not all of them have reached day 14 yet). Not the retention
    report's +1 cell: see ``retention_next_period``."""
    week4_retention: float | None
    """The same for days 28-34."""
    retention_next_period: float | None = None
    """Share of the period's new customers active in the next calendar period: the retention
    report's +1 cell for start ``signup``, return ``any`` (None before that period starts)."""
    retention_next_period_partial: bool = False
    """The next period is not over yet: ``retention_next_period`` can still grow."""
    partial: bool = False
    """This period is not over yet (its counts can still grow)."""
    active_people: int
    paying_customers: int
    paid_orders: int
    gmv_fen: int
    arpu_fen: int | None
    aov_fen: int | None
    repurchase_rate: float | None
    invitations: int
    accepted_invitations: int
    k_factor: float | None


class Aarrr(BaseModel):
    period: str
    activation_event: str
    activation_days: int
    invite_event: str
    timezone: str
    periods: list[AarrrPeriod]
    covered_until: date | None = None
    """The first shop-local day the data does not cover (periods ending after it are partial)."""
    definitions: dict[str, str] = {}
    """What each retention figure measures, in words."""
    warnings: list[str] = []


class ChannelPeriod(BaseModel):
    channel: str
    start: date
    spend_fen: int
    new_customers: int
    cac_fen: int | None
    first_order_revenue_fen: int
    revenue_fen: dict[str, int | None]
    """Revenue of the cohort's paid orders within 30/90/180 days of signup (None until the
    whole cohort has reached that age)."""
    roi: dict[str, float | None]
    payback_days: int | None
    ltv_cac: float | None


class ChannelSummary(BaseModel):
    channel: str
    spend_fen: int
    new_customers: int
    cac_fen: int | None
    converted_30d: int
    conversion_30d: float | None
    conversion_ci: tuple[float, float] | None
    conversion_p_adjusted: float | None
    conversion_flag: str
    """``better`` / ``worse`` than the other channels at family-wise 5% (Holm), else ``same``."""
    revenue_90d_fen: int
    roi_90d: float | None
    roi_90d_ci: tuple[float, float] | None
    roi_p_adjusted: float | None
    roi_flag: str
    ltv_cac: float | None


class Channels(BaseModel):
    model: str
    period: str
    timezone: str
    date_from: date
    date_to: date
    data_to: date
    periods: list[ChannelPeriod]
    channels: list[ChannelSummary]
    average_conversion_30d: float | None
    average_roi_90d: float | None
    method: str


class MagicBehaviour(BaseModel):
    event: str
    threshold: int
    youden_j: float
    retention_above: float
    retention_below: float | None
    lift: float | None
    share_above: float
    people_above: int
    sentence: str


class MagicNumber(BaseModel):
    within_days: int
    retained_day: int
    retained_window_days: int
    customers: int
    retained: int
    base_retention: float | None
    behaviours: list[MagicBehaviour]
    note: str
