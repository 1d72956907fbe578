"""Ibis expressions of the customer system. Built here, compiled to SQL and run by the service.

``T`` is the as-of instant (UTC); only data strictly before it counts.

``userops.tags`` owns the tag tables; other domains read them through :func:`current_tags`,
:func:`stored_tags`, :func:`current_values` and :func:`manual_tags` instead of naming them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from userops.customers.queries import paid_orders, people, resolved_events
from userops.tags.rules import RFM_SEGMENT_RULES, TagSettings

DAY_SECONDS = 86_400


def current_tags(con: ibis.BaseBackend) -> ir.Table:
    """(customer_id, family, value): every customer's tags as of the last refresh, manual tags
    (family ``manual``) included; a multi-valued family (``interest``) has one row per value."""
    return con.table("customer_tags")


def stored_tags(con: ibis.BaseBackend) -> ir.Table | None:
    """:func:`current_tags`, or None in a warehouse that has no tag table yet."""
    try:
        return current_tags(con)
    except Exception:  # ibis raises TableNotFound (its class moved between versions)
        return None


def current_values(con: ibis.BaseBackend) -> ir.Table:
    """One row per customer with the numbers behind the tags (``lifecycle``, RFM, …) as of the
    last refresh: the columns of :func:`tag_values`."""
    return con.table("customer_tag_values")


def manual_tags(con: ibis.BaseBackend) -> ir.Table:
    """(customer_id, tag, added_at, source): tags given by hand (lists saved from a funnel
    step, console actions)."""
    return con.table("manual_tags")


def activity(con: ibis.BaseBackend, until: datetime) -> ir.Table:
    """(customer_id, at): paid orders and events before ``until``."""
    orders = paid_orders(con, until).select("customer_id", at=ibis._.paid_at)
    events = resolved_events(con, until).select("customer_id", at=ibis._.timestamp)
    return orders.union(events, distinct=False)


def lifecycle(con: ibis.BaseBackend, as_of: datetime, s: TagSettings) -> ir.Table:
    """customer_id, first_seen, last_active_at, lifecycle for every customer seen before T."""
    act = activity(con, as_of)
    window_start = as_of - timedelta(days=s.active_days)
    per = act.group_by("customer_id").aggregate(
        first_act=act.at.min(),
        last_act=act.at.max(),
        first_recent=act.at.min(where=act.at >= window_start),
    )
    before = act.join(per.select("customer_id", "first_recent"), "customer_id")
    prior = (
        before.filter(before.at < before.first_recent)
        .group_by("customer_id")
        .aggregate(prior_act=ibis._.at.max())
    )
    base = people(con).select("customer_id", "signup_at")
    base = base.filter(base.signup_at.isnull() | (base.signup_at < as_of))
    t = base.left_join(per, "customer_id").left_join(prior, "customer_id")
    t = t.select(
        "customer_id",
        first_seen=ibis.least(t.signup_at, t.first_act),
        last_active_at=t.last_act,
        first_recent=t.first_recent,
        prior_act=t.prior_act,
    ).filter(ibis._.first_seen.notnull())
    gap = timedelta(days=s.returning_gap_days)
    gap_iv = ibis.interval(days=gap.days)
    returning = (t.prior_act.notnull() & (t.first_recent >= t.prior_act + gap_iv)) | (
        t.prior_act.isnull() & (t.first_recent >= t.first_seen + gap_iv)
    )
    stage = ibis.cases(
        (t.first_seen >= as_of - timedelta(days=s.new_days), "new"),
        (t.last_active_at >= window_start, ibis.ifelse(returning, "returning", "active")),
        (
            ibis.coalesce(t.last_active_at, t.first_seen) >= as_of - timedelta(days=s.silent_days),
            "silent",
        ),
        else_="churned",
    )
    return t.select("customer_id", "first_seen", "last_active_at", lifecycle=stage)


def rfm(con: ibis.BaseBackend, as_of: datetime, s: TagSettings) -> ir.Table:
    """RFM values, quintile scores and both segment schemes, for customers with a paid order."""
    paid = paid_orders(con, as_of)
    t_epoch = int(as_of.timestamp())
    per = paid.group_by("customer_id").aggregate(
        last_paid=paid.paid_at.max(),
        frequency=paid.count(),
        monetary_fen=paid.amount_fen.sum(),
    )
    per = per.join(people(con).select("customer_id"), "customer_id")
    per = per.mutate(
        recency_days=((t_epoch - per.last_paid.epoch_seconds()) // DAY_SECONDS).cast("int64")
    )
    stats = per.aggregate(
        **{
            f"{col}_c{i}": per[col].cast("float64").quantile(q)
            for col in ("recency_days", "frequency", "monetary_fen")
            for i, q in enumerate((0.2, 0.4, 0.6, 0.8), start=1)
        },
        **{
            f"{col}_ref": (
                per[col].cast("float64").mean()
                if s.rfm_reference == "mean"
                else per[col].cast("float64").median()
            )
            for col in ("recency_days", "frequency", "monetary_fen")
        },
    )
    t = per.cross_join(stats)

    def above(col: str) -> ir.IntegerValue:
        return sum((t[col] > t[f"{col}_c{i}"]).cast("int32") for i in range(1, 5))  # type: ignore[return-value]

    r_score = 5 - above("recency_days")
    f_score = 1 + above("frequency")
    m_score = 1 + above("monetary_fen")
    r_high = t.recency_days < t.recency_days_ref
    f_high = t.frequency > t.frequency_ref
    m_high = t.monetary_fen > t.monetary_fen_ref
    cn = ibis.cases(
        (r_high & f_high & m_high, "important_value"),
        (r_high & ~f_high & m_high, "important_development"),
        (~r_high & f_high & m_high, "important_retention"),
        (~r_high & ~f_high & m_high, "important_winback"),
        (r_high & f_high & ~m_high, "general_value"),
        (r_high & ~f_high & ~m_high, "general_development"),
        (~r_high & f_high & ~m_high, "general_retention"),
        else_="general_winback",
    )
    scored = t.select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary_fen",
        r_score=r_score.cast("int32"),
        f_score=f_score.cast("int32"),
        m_score=m_score.cast("int32"),
        rfm_cn=cn,
    )
    fm = ((scored.f_score + scored.m_score + 1) // 2).cast("int32")
    segment = ibis.cases(
        *(
            (
                scored.r_score.between(r_lo, r_hi) & fm.between(fm_lo, fm_hi),
                name,
            )
            for name, (r_lo, r_hi), (fm_lo, fm_hi) in RFM_SEGMENT_RULES
        ),
        else_="need_attention",
    )
    aov_fen = (scored.monetary_fen // scored.frequency).cast("int64")
    tier = ibis.cases(
        (scored.monetary_fen >= scored.frequency * s.aov_high_yuan * 100, "high"),
        (scored.monetary_fen < scored.frequency * s.aov_low_yuan * 100, "low"),
        else_="mid",
    )
    return scored.mutate(rfm_segment=segment, aov_fen=aov_fen, aov_tier=tier)


def order_frequency(con: ibis.BaseBackend, as_of: datetime, s: TagSettings) -> ir.Table:
    paid = paid_orders(con, as_of)
    recent = paid.filter(paid.paid_at >= as_of - timedelta(days=s.frequency_window_days))
    return recent.group_by("customer_id").aggregate(orders_in_window=recent.count())


def value(con: ibis.BaseBackend, as_of: datetime, s: TagSettings) -> ir.Table:
    """Referrals within the window (customers naming this one as referrer, signed up in it) and
    the paid orders those referred customers placed in it ("attributed orders")."""
    since = as_of - timedelta(days=s.kol_window_days)
    customers = people(con)
    referred = customers.filter(
        customers.referrer_id.notnull(),
        customers.signup_at >= since,
        customers.signup_at < as_of,
    ).select(referee=ibis._.customer_id, referrer=ibis._.referrer_id)
    referrals = referred.group_by("referrer").aggregate(referrals=referred.count())
    paid = paid_orders(con, as_of)
    paid = paid.filter(paid.paid_at >= since)
    attributed = (
        paid.join(referred, paid.customer_id == referred.referee)
        .group_by("referrer")
        .aggregate(attributed_orders=ibis._.count())
    )
    return referrals.outer_join(attributed, "referrer").select(
        customer_id=ibis.coalesce(ibis._.referrer, ibis._.referrer_right),
        referrals=ibis.coalesce(ibis._.referrals, 0),
        attributed_orders=ibis.coalesce(ibis._.attributed_orders, 0),
    )


def tag_values(
    con: ibis.BaseBackend,
    as_of: datetime,
    s: TagSettings,
    city_tiers: ir.Table,
    *,
    timezone: str,
) -> ir.Table:
    """One row per customer seen before T with every computed tag and the numbers behind them.
    Ages are counted on the shop-local date of T (``timezone``), as a customer's birthday is."""
    life = lifecycle(con, as_of, s)
    scores = rfm(con, as_of, s)
    freq = order_frequency(con, as_of, s)
    val = value(con, as_of, s)
    prof = people(con).select("customer_id", "gender", "province", "city", "birthday", "interests")
    t = (
        life.left_join(scores, "customer_id")
        .left_join(freq, "customer_id")
        .left_join(val, "customer_id")
        .left_join(prof, "customer_id")
    )
    t = t.left_join(city_tiers, t.city.re_replace("市$", "") == city_tiers.tier_city)
    orders_in_window = ibis.coalesce(t.orders_in_window, 0)
    referrals = ibis.coalesce(t.referrals, 0)
    attributed = ibis.coalesce(t.attributed_orders, 0)
    as_of_date = as_of.astimezone(ZoneInfo(timezone)).date()
    age = (
        as_of_date.year
        - t.birthday.year()
        - ibis.ifelse(
            (t.birthday.month() > as_of_date.month)
            | ((t.birthday.month() == as_of_date.month) & (t.birthday.day() > as_of_date.day)),
            1,
            0,
        )
    )
    age_band = ibis.cases(
        (t.birthday.isnull(), ibis.null("string")),
        (age < 18, "<18"),
        (age < 25, "18-24"),
        (age < 30, "25-29"),
        (age < 35, "30-34"),
        (age < 40, "35-39"),
        (age < 50, "40-49"),
        else_="50+",
    )
    return t.select(
        "customer_id",
        as_of=ibis.literal(as_of, "timestamp('UTC')"),
        first_seen=t.first_seen,
        last_active_at=t.last_active_at,
        lifecycle=t.lifecycle,
        recency_days=t.recency_days,
        frequency=t.frequency,
        monetary_fen=t.monetary_fen,
        r_score=t.r_score,
        f_score=t.f_score,
        m_score=t.m_score,
        rfm_cn=t.rfm_cn,
        rfm_segment=t.rfm_segment,
        aov_fen=t.aov_fen,
        aov_tier=t.aov_tier,
        orders_in_window=orders_in_window,
        order_frequency=ibis.cases(
            (orders_in_window == 0, "0"),
            (orders_in_window == 1, "1"),
            (orders_in_window <= 5, "2-5"),
            else_="6+",
        ),
        referrals=referrals,
        attributed_orders=attributed,
        value=ibis.ifelse(
            (referrals >= s.kol_min_referrals) | (attributed >= s.kol_min_attributed_orders),
            "kol",
            "ordinary",
        ),
        age_band=age_band,
        gender=t.gender,
        province=t.province,
        city_tier=t.tier,
        birthday_month=t.birthday.month().cast("int32"),
        interests=t.interests,
    )
