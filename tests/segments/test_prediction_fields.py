"""Segment conditions on what predict and recommend write: "churn risk high and CLV ≥ ¥5"
and the recommended category."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.predict.test_predict_service import cdnow_data_dir  # noqa: F401  (fixture)

from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import connect
from userops.ledger import unit_of_work
from userops.predict import service as predict
from userops.segments import service as segments


def test_score_conditions_match_the_scores_table(cdnow_data_dir: Path) -> None:  # noqa: F811
    settings = Settings(data_dir=cdnow_data_dir)
    with connect(settings) as hub:
        predict.fit(hub.warehouse, data_dir=settings.resolved_data_dir, timezone=settings.timezone)
        cur = hub.warehouse.cursor()
        expected = cur.execute(
            "SELECT count(*) FROM customer_scores WHERE churn_risk = 'high' AND clv_fen >= 500"
        ).fetchall()[0][0]
        alive = cur.execute("SELECT count(*) FROM customer_scores WHERE p_alive < 0.5").fetchall()
        cur.close()
        rule = {
            "all": [
                {"score": "churn_risk", "value": "high"},
                {"score": "clv_fen", "op": ">=", "value": 500},
            ]
        }
        with unit_of_work(hub.engine) as session:
            assert segments.preview(session, hub.warehouse, rule).count == expected
            low = segments.preview(
                session, hub.warehouse, {"score": "p_alive", "op": "<", "value": 0.5}
            )
            assert low.count == alive[0][0] > 0
            with pytest.raises(InvalidInput, match="recommended_category"):
                segments.preview(session, hub.warehouse, {"score": "clv", "value": 1})


def test_recommended_category_condition(tmp_path: Path) -> None:
    with connect(Settings(data_dir=tmp_path / "d")) as hub:
        with hub.warehouse.write() as cur:
            cur.execute(
                "INSERT INTO customers (customer_id, placeholder) VALUES ('a', false), "
                "('b', false), ('c', false)"
            )
            cur.execute(
                "INSERT INTO customer_recommended_category VALUES ('a', '美妆', now()), "
                "('b', '数码', now())"
            )
        with unit_of_work(hub.engine) as session:
            found = segments.preview(
                session, hub.warehouse, {"score": "recommended_category", "value": "美妆"}
            )
            other = segments.preview(
                session, hub.warehouse, {"not": {"score": "recommended_category", "value": "美妆"}}
            )
    assert found.sample == ["a"] and other.sample == ["b", "c"]
