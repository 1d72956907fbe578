"""predict on a data dir: the CLI (through operations), the stored scores, settings, the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from userops.auth import service as auth
from userops.cli.main import app
from userops.config import Settings
from userops.hub import connect
from userops.ingest.cdnow import import_cdnow
from userops.ledger import unit_of_work
from userops.predict import service as predict
from userops.server import create_app

runner = CliRunner()


@pytest.fixture(scope="module")
def cdnow_data_dir(cdnow_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("predict") / "data"
    settings = Settings(data_dir=data_dir)
    with connect(settings) as hub:
        import_cdnow(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=settings.rejects_dir,
            path=cdnow_dir / "CDNOW_sample.txt",
        )
    return data_dir


def _cli(*args: str) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_fit_show_evaluate(cdnow_data_dir: Path) -> None:
    # when: the documented command on the imported CDNOW sample
    out = _cli(
        "predict",
        "fit",
        "--calibration-end",
        "1997-09-30",
        "--time-unit",
        "week",
        "--json",
        "--data-dir",
        str(cdnow_data_dir),
    )
    # then: the published parameters, and every customer scored
    assert set(out["bgnbd"]) == {"r", "alpha", "a", "b", "loglik"}
    assert {"p", "q", "gamma", "loglik"} <= set(out["gamma_gamma"])
    assert out["customers"] == 2357
    assert out["bgnbd"]["r"] == pytest.approx(0.243, rel=0.01)
    assert out["bgnbd"]["loglik"] == pytest.approx(-9582.4, abs=0.1)
    assert out["gamma_gamma"]["gamma"] == pytest.approx(15.44, rel=0.01)
    assert sum(out["churn_risk"].values()) == 2357
    # the chosen churn model and every candidate's fit (Pareto/NBD on CDNOW: Fader & Hardie)
    assert out["model"] == "pareto_nbd" and "holdout" in out["selection"]
    assert out["pareto_nbd"]["r"] == pytest.approx(0.553, rel=0.01)
    assert out["pareto_nbd"]["s"] == pytest.approx(0.606, rel=0.01)
    assert out["mbgnbd"]["b"] == pytest.approx(1.614, rel=0.01)
    assert out["model_version"] == "pareto_nbd/1+gamma_gamma/1@1997-09-30/week"
    by_model = {c["model"]: c for c in out["candidates"]}
    assert set(by_model) == {"pareto_nbd", "mbgnbd", "bgnbd"}
    assert by_model["pareto_nbd"]["loglik"] == pytest.approx(-9594.98, abs=0.05)
    assert not by_model["bgnbd"]["eligible"]
    assert (cdnow_data_dir / "models" / "pareto_nbd.json").is_file()
    models = json.loads((cdnow_data_dir / "models" / "bgnbd.json").read_text())
    assert models["params"]["a"] == pytest.approx(0.793, rel=0.01)
    assert models["data_window"]["calibration_end"] == "1997-09-30"
    assert (cdnow_data_dir / "models" / "gamma_gamma.json").is_file()

    shown = _cli("predict", "show", "00004", "--json", "--data-dir", str(cdnow_data_dir))
    assert shown["customer_id"] == "00004"
    assert (
        0 < shown["expected_orders_30"] < shown["expected_orders_90"] < shown["expected_orders_365"]
    )
    assert 0 < shown["p_alive"] <= 1 and shown["churn_risk"] in {"high", "medium", "low"}
    assert shown["clv_fen"] > 0 and shown["expected_aov_fen"] > 0

    missing = runner.invoke(
        app, ["predict", "show", "nobody", "--json", "--data-dir", str(cdnow_data_dir)]
    )
    assert missing.exit_code == 2
    assert json.loads(missing.stdout)["error"]["code"] == "predict.customer_not_found"

    ev = _cli(
        "predict",
        "evaluate",
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--json",
        "--data-dir",
        str(cdnow_data_dir),
    )
    assert ev["actual_holdout_transactions"] == 1882
    # the figures are the chosen model's; each candidate's holdout error is listed
    assert ev["model"] == "pareto_nbd"
    assert ev["predicted_holdout_transactions"] == pytest.approx(1665.5, abs=0.5)
    holdout = {c["model"]: c for c in ev["candidates"]}
    assert holdout["bgnbd"]["holdout_predicted"] == pytest.approx(1653.4, abs=0.5)
    assert holdout["pareto_nbd"]["holdout_mae"] == pytest.approx(ev["mean_absolute_error"])
    assert holdout["pareto_nbd"]["holdout_mae"] < holdout["mbgnbd"]["holdout_mae"]
    assert [r["frequency"] for r in ev["by_frequency"]][-1] == "7+"
    assert sum(r["customers"] for r in ev["by_frequency"]) == 2357
    assert 0 < ev["mean_absolute_error"] < 1.5
    assert len(ev["cumulative"]) == 78
    assert ev["cumulative"][38]["actual"] == 2457
    assert ev["cumulative"][-1]["actual"] == 2457 + 1882

    bad = runner.invoke(
        app,
        [
            "predict",
            "evaluate",
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1999-06-30",
            "--json",
            "--data-dir",
            str(cdnow_data_dir),
        ],
    )
    assert json.loads(bad.stdout)["error"]["field"] == "holdout_end"


def test_scores_table_and_settings(cdnow_data_dir: Path) -> None:
    settings = Settings(data_dir=cdnow_data_dir)
    folder = cdnow_data_dir / "settings"
    folder.mkdir(exist_ok=True)
    with connect(settings) as hub:
        base = predict.fit(
            hub.warehouse, data_dir=settings.resolved_data_dir, timezone=settings.timezone
        )
        # the default calibration end is the last paid day; every buyer is scored
        assert str(base.calibration_end) == "1998-06-30"
        cur = hub.warehouse.cursor()
        rows = cur.execute(
            "SELECT count(*), count(DISTINCT customer_id), min(p_alive), max(p_alive), "
            "sum(CASE WHEN churn_risk = 'high' AND clv_fen >= 500 THEN 1 ELSE 0 END) "
            "FROM customer_scores"
        ).fetchall()[0]
        cur.close()
        assert rows[0] == rows[1] == 2357
        assert 0 <= rows[2] < rows[3] <= 1
        # stricter thresholds and a higher margin move customers and CLV
        (folder / "predict.json").write_text(
            json.dumps({"churn_high_below": 0.6, "churn_medium_below": 0.9, "margin": 0.6})
        )
        strict = predict.fit(
            hub.warehouse, data_dir=settings.resolved_data_dir, timezone=settings.timezone
        )
        assert strict.churn_risk["high"] > base.churn_risk.get("high", 0)
        one = predict.show(hub.warehouse, "00004")
        (folder / "predict.json").write_text(json.dumps({"margin": 0.3}))
        predict.fit(hub.warehouse, data_dir=settings.resolved_data_dir, timezone=settings.timezone)
        assert predict.show(hub.warehouse, "00004").clv_fen == pytest.approx(one.clv_fen / 2, abs=1)
        (folder / "predict.json").write_text(json.dumps({"margin": 3}))
        with pytest.raises(Exception, match="margin"):
            predict.load_settings(settings.resolved_data_dir)
        (folder / "predict.json").unlink()
        board = predict.dashboard(hub.warehouse, data_dir=settings.resolved_data_dir)
        assert board.fitted and board.customers == 2357
        assert sum(b.customers for b in board.clv_buckets) == 2357
        assert board.top[0].clv_fen >= board.top[-1].clv_fen
        assert sum(r.high + r.medium + r.low for r in board.risk_by_stage) == 2357


def test_too_little_data_says_so(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,created_at,paid_at,status,amount_fen\n"
        + "".join(
            f"o{i},c{i % 30},2025-01-{1 + i % 28:02d},2025-01-{1 + i % 28:02d},paid,1000\n"
            for i in range(60)
        ),
        encoding="utf-8",
    )
    from userops.ingest.service import import_file

    with connect(settings) as hub:
        import_file(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=settings.rejects_dir,
            entity="orders",
            path=orders,
        )
    result = runner.invoke(app, ["predict", "fit", "--json", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "predict.insufficient_data"
    assert "30" in error["message"]  # how many repeat customers there are


@pytest.fixture
def api(cdnow_data_dir: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(data_dir=cdnow_data_dir)
    with TestClient(create_app(settings)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with unit_of_work(hub.engine) as session:
            created = auth.create_key(session, scope="read")
        predict.fit(hub.warehouse, data_dir=settings.resolved_data_dir, timezone=settings.timezone)
        yield client, {"authorization": f"Bearer {created.key}"}


def test_api_scores(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    found = client.get("/api/v1/customers/00004/scores", headers=headers)
    assert found.status_code == 200
    assert found.json()["customer_id"] == "00004"
    assert found.json()["churn_risk"] in {"high", "medium", "low"}
    missing = client.get("/api/v1/customers/nobody/scores", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "predict.customer_not_found"
    assert client.get("/api/v1/customers/00004/scores").status_code == 401
