"""The AARRR board (海盗模型): acquisition, activation, retention, revenue, referral per period.

Per calendar period (shop timezone) of the customers' signup or of the activity:

* acquisition: new customers (live customers by ``signup_at``), in total and per signup channel;
* activation: new customers who did ``activation_event`` within ``activation_days`` of signup;
* retention, two definitions (both in :mod:`userops.analytics.definitions`): week 1 / week 4 =
  share of the period's new customers active (any behaviour event or paid order) in days 7-13 /
  28-34 after their own signup, None until all of them are that old; next period = share active
  in the next calendar period, exactly the retention report's +1 cell for start ``signup`` and
  return ``any`` (flagged partial while that period is not over);
* revenue: GMV of paid orders in the period, paying customers, orders, ARPU = GMV / active
  people of the period, AOV = GMV / orders, repurchase rate (复购率) = paying customers with two
  or more paid orders in the period / paying customers;
* referral: invitations (``invite_event`` events), accepted invitations (new customers with a
  ``referrer_id``) and K-factor = accepted invitations / active people of the period (invites
  per active person × acceptance per invite).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel

from userops.analytics import common, definitions, queries
from userops.analytics.schemas import Aarrr, AarrrPeriod
from userops.core.clock import local_midnight_utc, local_today
from userops.core.errors import InvalidInput
from userops.warehouse import Warehouse

__all__ = ["AarrrQuery", "aarrr"]

AARRR_PERIODS = ("day", "week", "month")


class AarrrQuery(BaseModel):
    period: str = "week"
    intervals: int = 8
    date_to: date | None = None
    week_start: str = "monday"
    activation_event: str = "order"
    activation_days: int = 7
    invite_event: str = "share"


def _per(expr: ir.Table, key: str = "c") -> dict[int, dict[str, Any]]:
    return {r[key]: r for r in common.rows(expr)}


def aarrr(warehouse: Warehouse, *, timezone: str, query: AarrrQuery) -> Aarrr:
    q = query
    common.check_period(q.period)
    common.check_intervals(q.period, q.intervals)
    common.check_week_start(q.week_start)
    if not 1 <= q.activation_days <= 90:
        raise InvalidInput("activation_days must be between 1 and 90", field="activation_days")
    tz = ZoneInfo(timezone)
    with common.opened(warehouse) as con:
        common.check_event(
            con, q.activation_event, special=(queries.ORDER_EVENT, "any"), field="activation_event"
        )
        warnings = []
        if not common.is_known_event(con, q.invite_event, special=()):
            # a shop without invitations yet still gets its board: 0 invitations, said so
            close = common.close_matches(con, q.invite_event, special=())
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            warnings.append(
                f"invite_event {q.invite_event!r}: nobody has done this event yet, "
                f"invitations count 0{hint}"
            )
        latest = common.latest_day(con, timezone)
        data_to = latest or local_today(timezone)
        covered = definitions.covered_until(timezone, latest)
        date_to = q.date_to or data_to
        last = common.index_of(date_to, q.period, q.week_start)
        first = last - q.intervals + 1
        since = local_midnight_utc(common.start_of(first, q.period, q.week_start), tz)
        until = local_midnight_utc(common.start_of(last + 1, q.period, q.week_start), tz)

        def periodic(t: ir.Table, col: str = "c") -> ir.Table:
            return queries.with_period(
                queries.in_window(t, since, until), timezone, q.period, q.week_start, col
            )

        people = periodic(queries.signups(con))
        new = common.rows(
            people.group_by(["c", people.signup_channel.fill_null("(none)").name("ch")]).aggregate(
                n=people.count(), referred=people.referrer_id.count()
            )
        )
        cohort = people.select(person=people.person, t0=people.ts, c=people.c)
        activation = queries.stream(con, q.activation_event)
        activity = queries.stream(con, "any")

        def reached(stream: ir.Table, window: definitions.DaysAfter) -> dict[int, dict[str, Any]]:
            kept = definitions.returned_days_after(cohort, stream, window)
            j = cohort.join(kept, cohort.person == kept.person)
            return _per(j.group_by("c").aggregate(n=j.count()))

        activated = reached(activation, definitions.DaysAfter(0, q.activation_days - 1))
        week1 = reached(activity, definitions.WEEK1)
        week4 = reached(activity, definitions.WEEK4)
        next_period = _next_period_returns(people, activity, since, timezone, q, last)

        active = periodic(activity, "c").select("person", "c").distinct()
        active_n = _per(active.group_by("c").aggregate(n=active.count()))
        orders = periodic(queries.order_people(con))
        per_buyer = orders.group_by(["c", "person"]).aggregate(k=orders.count())
        revenue = _per(
            orders.group_by("c").aggregate(orders=orders.count(), gmv=orders.amount_fen.sum())
        )
        buyers = _per(
            per_buyer.group_by("c").aggregate(
                paying=per_buyer.count(), repeat=(per_buyer.k >= 2).cast("int64").sum()
            )
        )
        invites = periodic(queries.stream(con, q.invite_event))
        invited = _per(invites.group_by("c").aggregate(n=invites.count()))
    by_channel: dict[int, dict[str, int]] = defaultdict(dict)
    new_total: dict[int, int] = defaultdict(int)
    referred: dict[int, int] = defaultdict(int)
    for r in new:
        by_channel[r["c"]][r["ch"]] = int(r["n"])
        new_total[r["c"]] += int(r["n"])
        referred[r["c"]] += int(r["referred"])
    out = []
    for c in range(first, last + 1):
        end = common.start_of(c + 1, q.period, q.week_start)
        n_new = new_total.get(c, 0)

        def rate(
            found: dict[int, dict[str, Any]],
            age: int,
            c: int = c,
            end: date = end,
            n_new: int = n_new,
        ) -> float | None:
            if end + timedelta(days=age) > covered:
                return None
            return common.safe_div(int(found.get(c, {}).get("n", 0)), n_new)

        next_start = common.start_of(c + 1, q.period, q.week_start)
        next_end = common.start_of(c + 2, q.period, q.week_start)
        next_rate = common.safe_div(next_period.get(c, 0), n_new) if next_start < covered else None

        gmv = int(revenue.get(c, {}).get("gmv") or 0)
        n_orders = int(revenue.get(c, {}).get("orders") or 0)
        paying = int(buyers.get(c, {}).get("paying") or 0)
        n_active = int(active_n.get(c, {}).get("n") or 0)
        n_act = int(activated.get(c, {}).get("n", 0))
        out.append(
            AarrrPeriod(
                start=common.start_of(c, q.period, q.week_start),
                new_customers=n_new,
                new_by_channel=dict(sorted(by_channel.get(c, {}).items(), key=lambda kv: -kv[1])),
                activated=n_act,
                activation_rate=common.safe_div(n_act, n_new),
                week1_retention=rate(week1, definitions.WEEK1.end),
                week4_retention=rate(week4, definitions.WEEK4.end),
                retention_next_period=next_rate,
                retention_next_period_partial=next_rate is not None
                and definitions.is_partial(next_end, covered),
                partial=definitions.is_partial(end, covered),
                active_people=n_active,
                paying_customers=paying,
                paid_orders=n_orders,
                gmv_fen=gmv,
                arpu_fen=gmv // n_active if n_active else None,
                aov_fen=gmv // n_orders if n_orders else None,
                repurchase_rate=common.safe_div(int(buyers.get(c, {}).get("repeat") or 0), paying),
                invitations=int(invited.get(c, {}).get("n") or 0),
                accepted_invitations=referred.get(c, 0),
                k_factor=common.safe_div(referred.get(c, 0), n_active),
            )
        )
    return Aarrr(
        period=q.period,
        activation_event=q.activation_event,
        activation_days=q.activation_days,
        invite_event=q.invite_event,
        timezone=timezone,
        periods=out,
        covered_until=covered,
        warnings=warnings,
        definitions={
            "week1_retention": definitions.WEEK1.label("signup", "any"),
            "week4_retention": definitions.WEEK4.label("signup", "any"),
            "retention_next_period": definitions.calendar_label(q.period, "signup", "any")
            + "; for k = 1 this is the retention report's +1 cell (start signup, return any)",
        },
    )


def _next_period_returns(
    people: ir.Table,
    activity: ir.Table,
    since: datetime,
    timezone: str,
    q: AarrrQuery,
    last: int,
) -> dict[int, int]:
    """Per signup period c: new customers active in period c + 1, counted by the retention
    report's own functions (so the two agree by construction, and a test checks it)."""
    tz = ZoneInfo(timezone)
    until = local_midnight_utc(common.start_of(last + 2, q.period, q.week_start), tz)
    returns = definitions.period_returns(
        activity,
        since=since,
        until=until,
        timezone=timezone,
        period=q.period,
        week_start=q.week_start,
    )
    starts = people.select("person", "c").distinct().mutate(group=ibis.literal(""))
    cells = queries.retention_cells(starts, returns, cumulative=False)
    cells = cells.filter(cells.k == 1)
    return {int(r["c"]): int(r["n"]) for r in common.rows(cells)}
