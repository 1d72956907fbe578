"""The AARRR board (海盗模型): acquisition, activation, retention, revenue, referral per period.

Per calendar period (shop timezone) of the customers' signup or of the activity:

* acquisition: new customers (live customers by ``signup_at``), in total and per signup channel;
* activation: new customers who did ``activation_event`` within ``activation_days`` of signup;
* retention: share of the period's new customers active (any behaviour event or paid order) in
  days [7, 14) after signup (week 1) and [28, 35) (week 4); None until all of them are that old;
* revenue: GMV of paid orders in the period, paying customers, orders, ARPU = GMV / active
  people of the period, AOV = GMV / orders, repurchase rate (复购率) = paying customers with two
  or more paid orders in the period / paying customers;
* referral: invitations (``invite_event`` events), accepted invitations (new customers with a
  ``referrer_id``) and K-factor = accepted invitations / active people of the period (invites
  per active person × acceptance per invite).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis.expr.types as ir
from pydantic import BaseModel

from userops.analytics import common, queries
from userops.analytics.schemas import Aarrr, AarrrPeriod
from userops.core.clock import local_midnight_utc
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
        common.check_event(con, q.invite_event, special=(), field="invite_event")
        data_to = common.latest_day(con, timezone) or date.today()
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

        def reached(stream: ir.Table, lo: int, hi: int) -> dict[int, dict[str, Any]]:
            kept = queries.retained_people(cohort, stream, lo, hi)
            j = cohort.join(kept, cohort.person == kept.person)
            return _per(j.group_by("c").aggregate(n=j.count()))

        activated = reached(activation, 0, q.activation_days)
        week1 = reached(activity, 7, 14)
        week4 = reached(activity, 28, 35)

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
            if end + timedelta(days=age) > data_to + timedelta(days=1):
                return None
            return common.safe_div(int(found.get(c, {}).get("n", 0)), n_new)

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
                week1_retention=rate(week1, 14),
                week4_retention=rate(week4, 35),
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
    )
