"""Ibis expressions over the warehouse for the overview (built here, run by ``overview``).

Shop-local calendar days come from :func:`local_day`, which converts explicitly instead of
relying on the connection's TimeZone setting (Ibis sets its DuckDB connections to UTC).

Analytics owns no warehouse table: events, orders and spend come from ``ingest.queries``, people
and "whose is it after identity links and merges" from ``customers.queries``, tags from
``tags.queries`` and predictions from ``predict.queries``.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis import _

from userops.analytics import rules
from userops.customers import queries as customers
from userops.ingest import queries as facts
from userops.predict import queries as predictions
from userops.tags import queries as tags

_UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
_WALL_CLOCK = dt.Timestamp(scale=6)


@ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, _UTC_TIMESTAMP), _WALL_CLOCK))
def _wall_clock(zone: str, ts: datetime) -> datetime:  # type: ignore[empty-body]
    """DuckDB's ``timezone(zone, timestamptz)``: the wall-clock time in ``zone`` (no offset).
    On Spark the same builtin is ``from_utc_timestamp(ts, zone)``."""


@ibis.udf.agg.builtin(name="arg_min")
def _first_by(value: int, key: datetime) -> int:  # type: ignore[empty-body]
    """DuckDB's ``arg_min(value, key)``: ``value`` of the row with the smallest ``key`` (Ibis'
    ``argmin`` compiles to an ordered ``FIRST``, which sorts each group)."""


@ibis.udf.agg.builtin(name="arg_min")
def _first_text(value: str, key: datetime) -> str:  # type: ignore[empty-body]
    """``arg_min`` for text values."""


@ibis.udf.agg.builtin(name="arg_max")
def _last_text(value: str, key: datetime) -> str:  # type: ignore[empty-body]
    """DuckDB's ``arg_max(value, key)`` for text values."""


def local_day(ts: ir.TimestampValue, timezone: str) -> ir.DateValue:
    """The calendar day of an instant in ``timezone`` (an IANA name)."""
    return _wall_clock(timezone, ts).date()


def live_customers(con: ibis.BaseBackend) -> ir.Table:
    """Customers that were not merged into another one."""
    return customers.people(con)


def paid_orders(con: ibis.BaseBackend) -> ir.Table:
    """Orders that count as GMV: paid, not refunded or cancelled (the importers require a
    payment time on a paid order)."""
    return facts.paid_orders(con)


def totals(con: ibis.BaseBackend) -> ir.Table:
    """One row: customers, paying_customers, paid_orders, gmv_fen."""
    people = live_customers(con).aggregate(customers=_.count())
    # An order under a merged id belongs to the customer it was merged into.
    owned = customers.owned(con, paid_orders(con))
    sales = owned.aggregate(
        paying_customers=_.customer_id.nunique(),
        paid_orders=_.count(),
        gmv_fen=_.amount_fen.sum().fill_null(0),
    )
    return people.cross_join(sales)


def latest_days(con: ibis.BaseBackend, timezone: str) -> ir.Table:
    """One row: the shop-local day of the latest paid order and of the latest signup."""
    paid = paid_orders(con)
    signups = live_customers(con)
    last_paid = paid.aggregate(last_paid_day=local_day(paid.paid_at.max(), timezone))
    last_signup = signups.aggregate(last_signup_day=local_day(signups.signup_at.max(), timezone))
    return last_paid.cross_join(last_signup)


def new_customers_by_day(
    con: ibis.BaseBackend, timezone: str, since: datetime, until: datetime
) -> ir.Table:
    """(day, new_customers) for signups in [since, until), by shop-local signup day."""
    customers = live_customers(con)
    window = customers.filter(customers.signup_at >= since, customers.signup_at < until)
    return (
        window.mutate(day=local_day(window.signup_at, timezone))
        .group_by("day")
        .aggregate(new_customers=_.count())
    )


def sales_by_day(
    con: ibis.BaseBackend, timezone: str, since: datetime, until: datetime
) -> ir.Table:
    """(day, paid_orders, gmv_fen) for orders paid in [since, until), by shop-local paid day."""
    paid = paid_orders(con)
    window = paid.filter(paid.paid_at >= since, paid.paid_at < until)
    return (
        window.mutate(day=local_day(window.paid_at, timezone))
        .group_by("day")
        .aggregate(paid_orders=_.count(), gmv_fen=_.amount_fen.sum())
    )


# --------------------------------------------------------------------------------------
# People, event streams and periods (retention, funnels, AARRR, channels, magic number)
# --------------------------------------------------------------------------------------

BEHAVIOUR_TYPES = facts.BEHAVIOUR_TYPES
"""Message types that are behaviour; identify / alias / group messages are not events here."""
ORDER_EVENT = "order"
"""The pseudo event of a paid order, at ``paid_at`` (from the ``orders`` table)."""

_EPOCH = ibis.date(1970, 1, 1)


def event_people(con: ibis.BaseBackend, names: tuple[str, ...] | None = None) -> ir.Table:
    """Behaviour events with the ``person`` they belong to: (person, name, ts, properties, context).

    The person is ``customers.queries.person_of_event``'s (identity links, then merges); an
    anonymous id linked to nobody stays its own person, ``anon:<id>`` (a visitor who never
    identified). ``names`` keeps only those event names (filtered before the identity joins)."""
    ev = facts.behaviour(con, names)
    j = customers.person_of_event(con, ev, keep_anonymous=True)
    return j.select(
        person=j.person, name=j.name, ts=j.timestamp, properties=j.properties, context=j.context
    )


def order_people(con: ibis.BaseBackend) -> ir.Table:
    """Paid orders with their person (merged ids follow ``merged_into``): (person, ts, amount_fen,
    channel, order_id)."""
    j = customers.owned(con, paid_orders(con))
    return j.select(
        person=j.customer_id,
        ts=j.paid_at,
        amount_fen=j.amount_fen,
        channel=j.channel,
        order_id=j.order_id,
    ).filter(_.ts.notnull())


def signups(con: ibis.BaseBackend) -> ir.Table:
    """Live customers with a signup time: (person, ts, signup_channel, referrer_id)."""
    c = live_customers(con)
    return c.filter(c.signup_at.notnull()).select(
        person=c.customer_id,
        ts=c.signup_at,
        signup_channel=c.signup_channel,
        referrer_id=c.referrer_id,
    )


def stream(con: ibis.BaseBackend, name: str) -> ir.Table:
    """(person, ts) of one kind of occurrence: an event name, ``order``, ``signup``,
    ``first_order`` or ``any`` (every behaviour event and every paid order)."""
    if name == "signup":
        return signups(con).select("person", "ts")
    if name == ORDER_EVENT:
        return order_people(con).select("person", "ts")
    if name == "first_order":
        return order_people(con).group_by("person").aggregate(ts=_.ts.min())
    if name == "any":
        events = event_people(con)
        return events.select("person", "ts").union(order_people(con).select("person", "ts"))
    return event_people(con, (name,)).select("person", "ts")


def event_names(con: ibis.BaseBackend) -> ir.Table:
    """(name, n): behaviour event names and how often each occurs."""
    ev = facts.behaviour(con)
    return ev.group_by("name").aggregate(n=_.count())


def event_named(con: ibis.BaseBackend, name: str) -> ir.Table:
    """At most one behaviour event called ``name`` (an existence check that stops early)."""
    ev = facts.events(con)
    if name.startswith("$"):
        found = ev.filter(ev.event.isnull(), ("$" + ev.type) == name)
    else:
        found = ev.filter(ev.event == name)
    return found.filter(ev.type.isin(BEHAVIOUR_TYPES)).select("message_id").limit(1)


def epoch_day(day: ir.DateValue) -> ir.IntegerValue:
    """Days since 1970-01-01 (a Thursday)."""
    return day.delta(_EPOCH, unit="day")


def period_index(day: ir.DateValue, period: str, week_start: str = "monday") -> ir.IntegerValue:
    """An integer per calendar period: epoch days, weeks (Monday or Sunday first) or months."""
    if period == "day":
        return epoch_day(day)
    if period == "week":
        # epoch day 4 (1970-01-05) is a Monday and epoch day 3 a Sunday
        shift = 3 if week_start == "monday" else 4
        return ((epoch_day(day) + shift) / 7).floor().cast("int64")
    return day.year() * 12 + day.month() - 1


def in_window(t: ir.Table, since: datetime, until: datetime) -> ir.Table:
    return t.filter(t.ts >= since, t.ts < until)


def with_period(t: ir.Table, timezone: str, period: str, week_start: str, col: str) -> ir.Table:
    return t.mutate(**{col: period_index(local_day(t.ts, timezone), period, week_start)})


def retention_cells(starts: ir.Table, returns: ir.Table, *, cumulative: bool) -> ir.Table:
    """(group, c, k, n) for k >= 1 from ``starts`` (person, c, group) and ``returns`` (person, p).

    ``n`` counts the cohort members who returned in period c + k (or, cumulative, whose last
    return is in c + k: the caller sums them from the right)."""
    j = starts.join(returns, [starts.person == returns.person, returns.p > starts.c])
    pairs = j.select(group=j.group, c=j.c, person=j.person, k=j.p - j.c)
    if cumulative:
        pairs = pairs.group_by(["group", "c", "person"]).aggregate(k=_.k.max())
    return pairs.group_by(["group", "c", "k"]).aggregate(n=_.count())


def profile_values(con: ibis.BaseBackend, column: str) -> ir.Table:
    """(person, value) for a customers column or a key of ``customers.attributes``."""
    c = live_customers(con)
    if column in c.columns:
        value = c[column].cast("string")
    else:
        value = c.attributes[rules.attribute_path(column, field="breakdown")].str
    return c.select(person=c.customer_id, value=value)


def tag_values(con: ibis.BaseBackend, family: str) -> ir.Table:
    """(person, value) from ``customer_tags`` for one tag family (several values are joined)."""
    t = tags.current_tags(con)
    t = t.filter(t.family == family)
    return t.group_by(person=t.customer_id).aggregate(
        value=t.value.cast("string").group_concat(",", order_by=t.value)
    )


def step_stream(con: ibis.BaseBackend, name: str, filters: dict[str, str]) -> ir.Table:
    """(person, ts) of a funnel step: an event name with property equality filters, or ``order``
    (filters then compare ``orders`` columns, e.g. ``channel``)."""
    if name == ORDER_EVENT:
        orders = order_people(con)
        for key, value in filters.items():
            orders = orders.filter(orders[key].cast("string") == value)
        return orders.select("person", "ts")
    events = event_people(con, (name,))
    for key, value in filters.items():
        events = events.filter(
            events.properties[rules.property_path(key, field="step")].str == value
        )
    return events.select("person", "ts")


FUNNEL_ENTRIES = ("any", "first")
"""``any``: every step-1 event in the range starts an attempt and the person counts at the
deepest step an attempt reaches (PostHog's ordered funnel). ``first``: only the person's first
step-1 event in the range is tried (the greedy funnel of userops 0.x; one attempt per person)."""


def funnel_reach(
    steps: list[ir.Table],
    same_as_previous: list[bool],
    since: datetime,
    until: datetime,
    window_seconds: int,
    entry: str = "any",
) -> ir.Table:
    """One row per person who entered the funnel: (person, t0, t1, …), ``t_k`` the time of
    their step-k event on the attempt that counts (NULL past the step they reached).

    An attempt starts at a step-0 event in [since, until); within it step k is the earliest
    step-k event at or after step k-1 (strictly after when both steps are the same event) and
    no later than ``window_seconds`` after the attempt started (the bound is inclusive). The
    earliest match is the best one for a given start, so an attempt's depth is that of its
    greedy chain. With ``entry="any"`` the attempt that counts is the deepest one; among equally
    deep ones, the one that got there first, and of attempts sharing those events the latest
    start (the shortest path), which is how PostHog's funnel picks its conversion times."""
    first = in_window(steps[0], since, until)
    if entry == "first":
        reach = first.group_by("person").aggregate(t0=first.ts.min())
    else:
        reach = first.select(person=first.person, t0=first.ts).distinct()
    window = ibis.interval(seconds=window_seconds)
    for k, step in enumerate(steps[1:], start=1):
        prev = reach[f"t{k - 1}"]
        after = step.ts > prev if same_as_previous[k] else step.ts >= prev
        j = reach.left_join(
            step,
            [reach.person == step.person, prev.notnull(), after, step.ts <= reach.t0 + window],
        )
        keep = [c for c in reach.columns]
        reach = j.group_by(keep).aggregate(**{f"t{k}": j.ts.min()})
    if entry == "first" or len(steps) < 2:
        return reach
    return _deepest_attempt(reach, len(steps))


def _deepest_attempt(reach: ir.Table, n: int) -> ir.Table:
    """Keep one attempt per person: deepest, then first to get there, then latest start."""
    times = [reach[f"t{k}"] for k in range(n)]
    depth = sum((t.notnull().cast("int64") for t in times[1:]), ibis.literal(0))
    deepest = ibis.coalesce(*reversed(times))
    ranked = reach.mutate(_depth=depth, _at=deepest)
    w = ibis.window(
        group_by=ranked.person,
        order_by=[ibis.desc(ranked._depth), ranked._at, ibis.desc(ranked.t0)],
    )
    ranked = ranked.mutate(_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._rank == 0).drop("_depth", "_at", "_rank")


def early_counts(cohort: ir.Table, events: ir.Table, within_days: int, cap: int) -> ir.Table:
    """(name, cnt, person) — per person of ``cohort`` (person, t0) and event name, how often they
    did it in [t0, t0 + within_days); counts above ``cap`` are cut to ``cap``."""
    j = cohort.join(
        events,
        [
            cohort.person == events.person,
            events.ts >= cohort.t0,
            events.ts < cohort.t0 + ibis.interval(days=within_days),
        ],
    )
    per = j.group_by([j.person, j.name]).aggregate(cnt=_.count())
    return per.mutate(cnt=ibis.least(per.cnt, cap))


def retained_people(cohort: ir.Table, activity: ir.Table, from_day: int, to_day: int) -> ir.Table:
    """(person) of ``cohort`` (person, t0) with activity in [t0 + from_day, t0 + to_day) days."""
    j = cohort.join(
        activity,
        [
            cohort.person == activity.person,
            activity.ts >= cohort.t0 + ibis.interval(days=from_day),
            activity.ts < cohort.t0 + ibis.interval(days=to_day),
        ],
    )
    return j.select(person=j.person).distinct()


def campaign_touches(con: ibis.BaseBackend) -> ir.Table:
    """(person, ts, source): events carrying a utm source in ``context.campaign.source``."""
    events = event_people(con)
    touches = events.mutate(source=events.context["campaign"]["source"].str)
    return touches.filter(touches.source.notnull()).select("person", "ts", "source")


def attributed_signups(con: ibis.BaseBackend, model: str) -> ir.Table:
    """(person, t0, channel): live customers with their signup time and the channel they are
    attributed to: ``signup`` (signup channel), ``first_touch`` (the source of their first utm
    touch) or ``last_touch`` (the last touch before their first paid order, or the last touch at
    all when they never ordered). Customers without one get '(none)'."""
    people = signups(con)
    if model == "signup":
        return people.select(
            person=people.person,
            t0=people.ts,
            channel=ibis.coalesce(people.signup_channel, "(none)"),
        )
    touches = campaign_touches(con)
    if model == "first_touch":
        chosen = touches.group_by("person").aggregate(src=_first_text(touches.source, touches.ts))
    else:
        first = order_people(con).group_by("person").aggregate(first_order=_.ts.min())
        j = touches.left_join(first, touches.person == first.person)
        j = j.filter(j.first_order.isnull() | (j.ts <= j.first_order))
        chosen = j.group_by(person=j.person).aggregate(src=_last_text(j.source, j.ts))
    a = people.left_join(chosen, people.person == chosen.person)
    return a.select(person=a.person, t0=a.ts, channel=ibis.coalesce(a.src, "(none)"))


def cohort_revenue(con: ibis.BaseBackend, cohort: ir.Table, horizons: tuple[int, ...]) -> ir.Table:
    """Per person of ``cohort`` (person, t0, …): ``first_fen`` (their first paid order),
    ``r<H>`` revenue of paid orders within H days of t0, ``total_fen`` all their revenue and
    ``clv_fen`` (the predicted future value from ``customer_scores``, NULL without it)."""
    orders = order_people(con)
    j = cohort.join(orders, [cohort.person == orders.person, orders.ts >= cohort.t0])
    sums = {
        f"r{h}": (j.amount_fen * (j.ts < j.t0 + ibis.interval(days=h)).cast("int64")).sum()
        for h in horizons
    }
    per = j.group_by(person=j.person).aggregate(
        first_fen=_first_by(j.amount_fen, j.ts), total_fen=j.amount_fen.sum(), **sums
    )
    out = cohort.left_join(per, cohort.person == per.person)
    fill = {c: out[c].fill_null(0) for c in ["first_fen", "total_fen", *sums]}
    out = out.mutate(**fill).drop("person_right")
    try:
        scores = predictions.scores(con).select(sid=_.customer_id, clv_fen=_.clv_fen)
    except Exception:  # no predictions stored yet
        return out.mutate(clv_fen=ibis.null("int64"))
    s = out.left_join(scores, out.person == scores.sid)
    return s.drop("sid")


def revenue_by_age(con: ibis.BaseBackend, cohort: ir.Table) -> ir.Table:
    """(channel, c, age, revenue_fen): revenue of each (channel, period) cohort's paid orders by
    whole days since each customer's signup."""
    orders = order_people(con)
    j = cohort.join(orders, [cohort.person == orders.person, orders.ts >= cohort.t0])
    age = ((j.ts.epoch_seconds() - j.t0.epoch_seconds()) / 86400).floor().cast("int64")
    return (
        j.mutate(age=age)
        .group_by(["channel", "c", "age"])
        .aggregate(revenue_fen=_.amount_fen.sum())
    )


def payback(by_age: ir.Table, spend: ir.Table) -> ir.Table:
    """(channel, c, payback_days): the first age at which a cohort's cumulative revenue reaches
    its spend (``spend``: channel, c, spend_fen > 0)."""
    w = ibis.cumulative_window(group_by=[by_age.channel, by_age.c], order_by=by_age.age)
    cum = by_age.mutate(cum=by_age.revenue_fen.sum().over(w))
    j = cum.join(spend, [cum.channel == spend.channel, cum.c == spend.c])
    j = j.filter(spend.spend_fen > 0, j.cum >= j.spend_fen)
    return j.group_by([j.channel, j.c]).aggregate(payback_days=j.age.min())


def spend_by_period(
    con: ibis.BaseBackend, period: str, week_start: str, since_day: object, until_day: object
) -> ir.Table:
    """(channel, c, spend_fen) from ``channel_spend`` (its dates are shop-local days)."""
    s = facts.channel_spend(con)
    s = s.filter(s.date >= since_day, s.date < until_day)
    return (
        s.mutate(c=period_index(s.date, period, week_start))
        .group_by(["channel", "c"])
        .aggregate(spend_fen=_.spend_fen.sum())
    )


def channel_cells(cells: ir.Table, spend: ir.Table, pay: ir.Table) -> ir.Table:
    """Cohort cells (channel, c, …) with their spend and payback days, including the periods
    with spend but no new customers."""
    spend, pay = spend.view(), pay.view()  # both also feed ``pay``: distinct relations here
    j = cells.outer_join(spend, [cells.channel == spend.channel, cells.c == spend.c])
    j = j.select(
        channel=ibis.coalesce(cells.channel, spend.channel),
        c=ibis.coalesce(cells.c, spend.c),
        spend_fen=spend.spend_fen,
        **{k: cells[k] for k in cells.columns if k not in ("channel", "c")},
    )
    out = j.view().left_join(pay, ["channel", "c"])
    return out.drop("channel_right", "c_right")
