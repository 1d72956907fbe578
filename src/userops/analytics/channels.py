"""Channels and ROI (渠道与 ROI): cohorts of new customers per channel and period.

A customer belongs to the channel of the selected attribution model (``signup`` channel,
``first_touch`` or ``last_touch`` utm source) and to the period of their signup. Per channel
and period: spend (``channel_spend``), new customers, CAC, first-order revenue, revenue within
30/90/180 days of signup, ROI = revenue / spend − 1 at each horizon (None until every customer
of the period is that old), payback days and LTV:CAC.

"Test small, then scale" (see docs/analytics.md, "Statistics"): over the mature customers of
the whole range, each channel's 30-day conversion (share of new customers who paid within 30
days) is compared with all other channels by a pooled two-proportion z-test, and each paid
channel's 90-day ROI with the other paid channels' by a z-test on the ROI's normal
approximation; p-values are Holm-adjusted across channels and a channel is flagged
``better``/``worse`` at family-wise α = 0.05.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import ibis
from pydantic import BaseModel

from userops.analytics import common, queries, rules
from userops.analytics.schemas import ChannelPeriod, Channels, ChannelSummary
from userops.core.clock import local_midnight_utc, local_today
from userops.warehouse import Warehouse

__all__ = ["HORIZONS", "MODELS", "ChannelsQuery", "channels"]

MODELS = ("signup", "first_touch", "last_touch")
HORIZONS = (30, 90, 180)
METHOD = (
    "conversion: pooled two-proportion z-test of each channel against all others (30-day "
    "paid conversion, customers at least 30 days old); ROI: z-test of each paid channel's 90-day "
    "ROI against the other paid channels' (normal approximation, per-customer revenue i.i.d., "
    "spend fixed; customers of periods at least 90 days old); p-values Holm-adjusted across "
    "channels; flags at family-wise alpha 0.05; 95% intervals (Wilson for conversion)."
)


class ChannelsQuery(BaseModel):
    model: str = "signup"
    period: str = "month"
    intervals: int = 6
    date_to: date | None = None
    week_start: str = "monday"


def channels(warehouse: Warehouse, *, timezone: str, query: ChannelsQuery) -> Channels:
    q = query
    common.choose(q.model, MODELS, "model")
    common.check_period(q.period)
    common.check_intervals(q.period, q.intervals)
    common.check_week_start(q.week_start)
    tz = ZoneInfo(timezone)
    with common.opened(warehouse) as con:
        data_to = common.latest_day(con, timezone) or local_today(timezone)
        date_to = q.date_to or data_to
        last = common.index_of(date_to, q.period, q.week_start)
        first = last - q.intervals + 1
        first_day = common.start_of(first, q.period, q.week_start)
        end_day = common.start_of(last + 1, q.period, q.week_start)
        data_end = local_midnight_utc(data_to + timedelta(days=1), tz)
        cohort = queries.attributed_signups(con, q.model)
        cohort = queries.in_window(
            cohort.mutate(ts=cohort.t0),
            local_midnight_utc(first_day, tz),
            local_midnight_utc(end_day, tz),
        ).drop("ts")
        cohort = queries.with_period(
            cohort.mutate(ts=cohort.t0), timezone, q.period, q.week_start, "c"
        ).drop("ts")
        per = queries.cohort_revenue(con, cohort, HORIZONS)
        per = per.mutate(
            mature30=per.t0 + ibis.interval(days=30) <= data_end,
            conv30=(per.r30 > 0).cast("int64"),
            r90f=per.r90.cast("float64"),
            ltv=(per.total_fen + per.clv_fen.fill_null(0)).cast("float64"),
        )
        cells_t = per.group_by(["channel", "c"]).aggregate(
            new=per.count(),
            first_fen=per.first_fen.sum(),
            r30=per.r30.sum(),
            r90=per.r90.sum(),
            r180=per.r180.sum(),
            ltv=per.ltv.sum(),
            n30=per.mature30.cast("int64").sum(),
            x30=(per.conv30 * per.mature30.cast("int64")).sum(),
            r90_sq=(per.r90f * per.r90f).sum(),
        )
        spend_t = queries.spend_by_period(con, q.period, q.week_start, first_day, end_day)
        pay_t = queries.payback(queries.revenue_by_age(con, cohort), spend_t)
        # one statement: DuckDB plans the shared cohort ⋈ orders once
        cells = common.rows(queries.channel_cells(cells_t, spend_t, pay_t))
    spend = {(r["channel"], r["c"]): int(r["spend_fen"] or 0) for r in cells}
    pay = {
        (r["channel"], r["c"]): int(r["payback_days"])
        for r in cells
        if r["payback_days"] is not None
    }
    by_cell = {(r["channel"], r["c"]): r for r in cells if r["new"] is not None}
    keys = sorted(set(by_cell) | set(spend), key=lambda k: (k[0], k[1]))

    def period_end(c: int) -> date:
        return common.start_of(c + 1, q.period, q.week_start)

    periods: list[ChannelPeriod] = []
    for channel, c in keys:
        r = by_cell.get((channel, c), {})
        new = int(r.get("new") or 0)
        s = spend.get((channel, c), 0)
        revenue: dict[str, int | None] = {}
        roi: dict[str, float | None] = {}
        for h in HORIZONS:
            mature = period_end(c) + timedelta(days=h) <= data_to + timedelta(days=1)
            value = int(r.get(f"r{h}") or 0)
            revenue[f"{h}d"] = value if mature else None
            roi[f"{h}d"] = round(value / s - 1, 4) if mature and s > 0 else None
        ltv = float(r.get("ltv") or 0)
        periods.append(
            ChannelPeriod(
                channel=channel,
                start=common.start_of(c, q.period, q.week_start),
                spend_fen=s,
                new_customers=new,
                cac_fen=s // new if new and s else None,
                first_order_revenue_fen=int(r.get("first_fen") or 0),
                revenue_fen=revenue,
                roi=roi,
                payback_days=pay.get((channel, c)),
                ltv_cac=round(ltv / s, 3) if s > 0 and new else None,
            )
        )
    summaries, avg_conv, avg_roi = _summaries(keys, by_cell, spend, period_end, data_to)
    return Channels(
        model=q.model,
        period=q.period,
        timezone=timezone,
        date_from=first_day,
        date_to=end_day - timedelta(days=1),
        data_to=data_to,
        periods=periods,
        channels=summaries,
        average_conversion_30d=avg_conv,
        average_roi_90d=avg_roi,
        method=METHOD,
    )


def _summaries(
    keys: list[tuple[str, int]],
    by_cell: dict[tuple[str, int], dict[str, object]],
    spend: dict[tuple[str, int], int],
    period_end: object,
    data_to: date,
) -> tuple[list[ChannelSummary], float | None, float | None]:
    """Per channel over all periods, with the significance tests."""
    acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for channel, c in keys:
        r = by_cell.get((channel, c), {})
        a = acc[channel]
        s = spend.get((channel, c), 0)
        new = float(r.get("new") or 0)  # type: ignore[arg-type]
        a["spend"] += s
        a["new"] += new
        a["ltv"] += float(r.get("ltv") or 0)  # type: ignore[arg-type]
        a["n30"] += float(r.get("n30") or 0)  # type: ignore[arg-type]
        a["x30"] += float(r.get("x30") or 0)  # type: ignore[arg-type]
        mature90 = period_end(c) + timedelta(days=90) <= data_to + timedelta(days=1)  # type: ignore[operator]
        if mature90:
            a["m_spend"] += s
            a["m_new"] += new
            a["m_r90"] += float(r.get("r90") or 0)  # type: ignore[arg-type]
            a["m_sq"] += float(r.get("r90_sq") or 0)  # type: ignore[arg-type]
    names = sorted(acc)
    tot = {k: sum(acc[n][k] for n in names) for k in ("n30", "x30")}
    conv_p: list[float | None] = []
    conv_diff: list[float | None] = []
    for n in names:
        a = acc[n]
        z = rules.two_proportion_z(
            int(a["x30"]), int(a["n30"]), int(tot["x30"] - a["x30"]), int(tot["n30"] - a["n30"])
        )
        conv_p.append(rules.two_sided_p(z) if z is not None else None)
        conv_diff.append(z)
    paid = [n for n in names if acc[n]["m_spend"] > 0]
    roi_p: list[float | None] = []
    roi_diff: list[float | None] = []
    roi_ci: dict[str, tuple[float, float, float] | None] = {}
    for n in names:
        a = acc[n]
        mine = rules.ratio_ci(a["m_r90"], a["m_sq"], int(a["m_new"]), a["m_spend"])
        roi_ci[n] = mine
        others = [o for o in paid if o != n]
        rest = rules.ratio_ci(
            sum(acc[o]["m_r90"] for o in others),
            sum(acc[o]["m_sq"] for o in others),
            int(sum(acc[o]["m_new"] for o in others)),
            sum(acc[o]["m_spend"] for o in others),
        )
        if n not in paid or mine is None or rest is None:
            roi_p.append(None)
            roi_diff.append(None)
            continue
        se = math.hypot(
            (mine[2] - mine[1]) / (2 * rules.Z95), (rest[2] - rest[1]) / (2 * rules.Z95)
        )
        z = (mine[0] - rest[0]) / se if se > 0 else None
        roi_p.append(rules.two_sided_p(z) if z is not None else None)
        roi_diff.append(z)
    conv_adj = rules.holm(conv_p)
    roi_adj = rules.holm(roi_p)
    out = []
    for i, n in enumerate(names):
        a = acc[n]
        ci = roi_ci[n] if n in paid else None
        out.append(
            ChannelSummary(
                channel=n,
                spend_fen=int(a["spend"]),
                new_customers=int(a["new"]),
                cac_fen=int(a["spend"] // a["new"]) if a["new"] and a["spend"] else None,
                converted_30d=int(a["x30"]),
                conversion_30d=common.safe_div(a["x30"], a["n30"]),
                conversion_ci=_round2(rules.wilson(int(a["x30"]), int(a["n30"]))),
                conversion_p_adjusted=_round(conv_adj[i]),
                conversion_flag=rules.flag(conv_diff[i], conv_adj[i]),
                revenue_90d_fen=int(a["m_r90"]),
                roi_90d=round(ci[0], 4) if ci else None,
                roi_90d_ci=(round(ci[1], 4), round(ci[2], 4)) if ci else None,
                roi_p_adjusted=_round(roi_adj[i]),
                roi_flag=rules.flag(roi_diff[i], roi_adj[i]),
                ltv_cac=round(a["ltv"] / a["spend"], 3) if a["spend"] else None,
            )
        )
    avg_conv = common.safe_div(tot["x30"], tot["n30"])
    m_spend = sum(acc[n]["m_spend"] for n in paid)
    avg_roi = round(sum(acc[n]["m_r90"] for n in paid) / m_spend - 1, 4) if m_spend else None
    return out, avg_conv, avg_roi


def _round(x: float | None) -> float | None:
    return round(x, 6) if x is not None else None


def _round2(ci: tuple[float, float] | None) -> tuple[float, float] | None:
    return (round(ci[0], 4), round(ci[1], 4)) if ci else None
