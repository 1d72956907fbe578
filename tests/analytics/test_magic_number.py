"""The magic number finds the demo shop's planted favourite effect, and agrees with pandas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from userops.analytics.magic import MagicQuery, best_threshold, magic_number
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.demo.generate import PLANTED_FAVORITE_THRESHOLD, PLANTED_WINDOW_DAYS
from userops.hub import Hub, connect


@pytest.fixture(scope="module")
def demo(demo_settings: Settings) -> Iterator[Hub]:
    with connect(demo_settings) as hub:
        yield hub


def test_finds_the_planted_favourite_effect(demo: Hub) -> None:
    result = magic_number(
        demo.warehouse, timezone="Asia/Shanghai", query=MagicQuery(within_days=7, retained_day=30)
    )
    top = result.behaviours[0]
    assert (top.event, top.threshold) == ("favorite", PLANTED_FAVORITE_THRESHOLD)
    # the generator's docstring: ~50% of the 3+ favourites group against ~13% of the others
    assert 0.40 <= top.retention_above <= 0.60
    assert 0.08 <= top.retention_below <= 0.20
    assert top.lift and top.lift > 2.5
    assert 0.10 <= top.share_above <= 0.30
    assert "favorite ≥ 3" in top.sentence and "correlation" in result.note.lower()
    assert [b.youden_j for b in result.behaviours] == sorted(
        (b.youden_j for b in result.behaviours), reverse=True
    )


def test_agrees_with_pandas_on_the_definition(demo: Hub) -> None:
    cur = demo.warehouse.cursor()
    cust = cur.execute(
        "SELECT customer_id, signup_at FROM customers WHERE merged_into IS NULL "
        "AND signup_at IS NOT NULL"
    ).df()
    ev = cur.execute(
        "SELECT user_id, anonymous_id, event, timestamp FROM events "
        "WHERE type IN ('track', 'page', 'screen')"
    ).df()
    ids = cur.execute("SELECT value, customer_id FROM identities WHERE kind = 'anonymous_id'").df()
    orders = cur.execute("SELECT customer_id, paid_at FROM orders WHERE status = 'paid'").df()
    last = max(ev.timestamp.max(), orders.paid_at.max())
    cur.close()
    anon = dict(zip(ids.value, ids.customer_id, strict=True))
    ev["person"] = ev.user_id.where(ev.user_id.notna(), ev.anonymous_id.map(anon))
    end = last.tz_convert("Asia/Shanghai").normalize() + timedelta(days=1)
    cohort = cust[cust.signup_at < end - timedelta(days=60)].set_index("customer_id").signup_at
    activity = pd.concat(
        [
            ev[["person", "timestamp"]],
            orders.rename(columns={"customer_id": "person", "paid_at": "timestamp"}),
        ]
    )
    a = activity.join(cohort, on="person", how="inner")
    age = a.timestamp - a.signup_at
    kept = set(a[(age >= timedelta(days=30)) & (age < timedelta(days=60))].person)
    fav = ev[ev.event == "favorite"].join(cohort, on="person", how="inner")
    fage = fav.timestamp - fav.signup_at
    n_fav = (
        fav[(fage >= timedelta(0)) & (fage < timedelta(days=PLANTED_WINDOW_DAYS))]
        .groupby("person")
        .size()
        .reindex(cohort.index, fill_value=0)
    )
    above = n_fav >= PLANTED_FAVORITE_THRESHOLD
    retained = pd.Series(cohort.index.isin(list(kept)), index=cohort.index)
    result = magic_number(demo.warehouse, timezone="Asia/Shanghai", query=MagicQuery())
    top = next(b for b in result.behaviours if b.event == "favorite")
    assert result.customers == len(cohort)
    assert result.retained == int(retained.sum())
    assert top.people_above == int(above.sum())
    assert top.retention_above == round(float(retained[above].mean()), 4)
    assert top.retention_below == round(float(retained[~above].mean()), 4)


def test_best_threshold_maximises_youden_j() -> None:
    # counts 0..3: retained people mostly at 2+, others at 0-1
    pos = np.array([5, 5, 40, 50])
    neg = np.array([60, 30, 8, 2])
    t, j = best_threshold(pos, neg, 0.0)
    assert t == 2
    assert j == pytest.approx(90 / 100 - 10 / 100)
    assert best_threshold(np.array([0, 0]), np.array([3, 4]), 0.0) is None
    # a threshold above which fewer than min_share of people fall is not considered
    assert best_threshold(np.array([90, 0, 1]), np.array([99, 0, 0]), 0.05) is None


@pytest.mark.parametrize(
    ("query", "field"),
    [({"within_days": 0}, "within_days"), ({"within_days": 10, "retained_day": 5}, "retained_day")],
)
def test_bad_input(demo: Hub, query: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        magic_number(demo.warehouse, timezone="Asia/Shanghai", query=MagicQuery(**query))
    assert info.value.field == field
