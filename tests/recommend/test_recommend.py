""" "Guess you like": training, the stored lists, exclusions, cold start, evaluation, API, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from userops.auth import service as auth
from userops.cli.main import app
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import connect
from userops.ingest.service import import_file
from userops.ledger import unit_of_work
from userops.recommend import service as recommend
from userops.recommend.errors import UnknownCustomer
from userops.server import create_app

runner = CliRunner()


def _cli(*args: str) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_train_stores_a_list_for_every_customer(shop_settings: Settings) -> None:
    # given a cold customer (no behaviour) who likes books
    extra = shop_settings.resolved_data_dir / "cold.csv"
    extra.write_text("customer_id,province,interests\ncold-1,广东省,图书\n", encoding="utf-8")
    with connect(shop_settings) as hub:
        import_file(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=shop_settings.rejects_dir,
            entity="customers",
            path=extra,
        )
    # when
    report = _cli("recommend", "train", "--json", "--data-dir", str(shop_settings.data_dir))
    # then
    assert report["customers"] == 3001
    assert 0 < report["with_history"] < 3001
    with connect(shop_settings) as hub:
        cur = hub.warehouse.cursor()
        n, customers, max_rank = cur.execute(
            "SELECT count(*), count(DISTINCT customer_id), max(rank) FROM recommendations"
        ).fetchall()[0]
        cats = cur.execute(
            "SELECT count(*), count(category) FROM customer_recommended_category"
        ).fetchall()[0]
        # bought items of non-repeat categories are never recommended again
        again = cur.execute(
            "SELECT count(*) FROM recommendations r JOIN order_items i ON i.sku = r.sku "
            "JOIN orders o ON o.order_id = i.order_id AND o.customer_id = r.customer_id "
            "WHERE o.status = 'paid' AND r.category NOT IN ('食品', '母婴')"
        ).fetchall()[0][0]
        repeat = cur.execute(
            "SELECT count(*) FROM recommendations r JOIN order_items i ON i.sku = r.sku "
            "JOIN orders o ON o.order_id = i.order_id AND o.customer_id = r.customer_id "
            "WHERE o.status = 'paid' AND r.category IN ('食品', '母婴')"
        ).fetchall()[0][0]
        cur.close()
        assert (customers, max_rank, n) == (3001, 20, 3001 * 20)
        assert cats == (3001, 3001)
        assert again == 0
        assert repeat > 0  # repeat-purchase categories stay recommendable
        cold = recommend.recommendations(hub.warehouse, "cold-1", k=10)
        assert {i.source for i in cold.items} == {"popular"}
        # popularity in the province, boosted for declared interests
        plain = recommend._INDEXES.get(hub.warehouse)
        assert plain is not None
        popular = [plain.item_categories[c] for c in plain.popular[:10].tolist()]
        books = sum(i.category == "图书" for i in cold.items)
        assert books >= 3 and books > popular.count("图书")


def test_served_lists_and_the_index(shop_settings: Settings) -> None:
    with connect(shop_settings) as hub:
        recommend.train(hub.warehouse, data_dir=shop_settings.resolved_data_dir)
        cur = hub.warehouse.cursor()
        someone = cur.execute(
            "SELECT customer_id FROM recommendations WHERE source = 'model' LIMIT 1"
        ).fetchall()[0][0]
        cur.close()
        top = recommend.recommendations(hub.warehouse, someone, k=5)
        assert [i.rank for i in top.items] == [1, 2, 3, 4, 5]
        assert [i.score for i in top.items] == sorted((i.score for i in top.items), reverse=True)
        assert top.items[0].source == "model"
        # the index reloaded from the warehouse gives the same answer
        hub.warehouse.derived.clear()
        again = recommend.recommendations(hub.warehouse, someone, k=5)
        assert [i.sku for i in again.items] == [i.sku for i in top.items]
        assert again.recommended_category == top.recommended_category
        with pytest.raises(UnknownCustomer):
            recommend.recommendations(hub.warehouse, "nobody-at-all", k=5)
        with pytest.raises(InvalidInput):
            recommend.recommendations(hub.warehouse, someone, k=0)


def test_evaluation_model_beats_popularity(shop_settings: Settings) -> None:
    result = _cli("recommend", "evaluate", "--json", "--data-dir", str(shop_settings.data_dir))
    by = {m["method"]: m for m in result["methods"]}
    assert set(by) == {"model", "als", "cooccurrence", "popularity_local", "popularity"}
    assert result["test_customers"] > 100
    assert by["model"]["recall_at_10"] > 2 * by["popularity"]["recall_at_10"]
    assert by["model"]["ndcg_at_10"] > by["popularity"]["ndcg_at_10"]
    assert by["model"]["recall_at_10"] > by["popularity_local"]["recall_at_10"]
    assert by["cooccurrence"]["recall_at_10"] > by["popularity"]["recall_at_10"]
    assert result["model_vs_popularity"] == pytest.approx(
        by["model"]["recall_at_10"] / by["popularity"]["recall_at_10"]
    )


def test_settings_change_what_is_learned(shop_settings: Settings) -> None:
    folder = shop_settings.resolved_data_dir / "settings"
    folder.mkdir(exist_ok=True)
    (folder / "recommend.json").write_text(json.dumps({"top_k": 5, "repeat_categories": []}))
    try:
        with connect(shop_settings) as hub:
            recommend.train(hub.warehouse, data_dir=shop_settings.resolved_data_dir)
            cur = hub.warehouse.cursor()
            max_rank, again = cur.execute(
                "SELECT max(rank), (SELECT count(*) FROM recommendations r JOIN order_items i "
                "ON i.sku = r.sku JOIN orders o ON o.order_id = i.order_id AND "
                "o.customer_id = r.customer_id WHERE o.status = 'paid') FROM recommendations"
            ).fetchall()[0]
            cur.close()
        assert max_rank == 5 and again == 0
        (folder / "recommend.json").write_text(json.dumps({"top_k": 0}))
        with pytest.raises(InvalidInput, match="top_k"):
            recommend.load_settings(shop_settings.resolved_data_dir)
    finally:
        (folder / "recommend.json").unlink()


@pytest.fixture
def api(shop_settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(shop_settings)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with unit_of_work(hub.engine) as session:
            created = auth.create_key(session, scope="read")
        recommend.train(hub.warehouse, data_dir=shop_settings.resolved_data_dir)
        yield client, {"authorization": f"Bearer {created.key}"}


def test_api_recommendations(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    hub = client.app.state.hub  # type: ignore[attr-defined]
    cur = hub.warehouse.cursor()
    someone = cur.execute("SELECT min(customer_id) FROM recommendations").fetchall()[0][0]
    cur.close()
    found = client.get(f"/api/v1/customers/{someone}/recommendations?k=3", headers=headers)
    assert found.status_code == 200
    body = found.json()
    assert body["customer_id"] == someone and len(body["items"]) == 3
    assert {"rank", "sku", "category", "score", "source"} <= set(body["items"][0])
    assert (
        client.get(f"/api/v1/customers/{someone}/recommendations", headers=headers).json()["items"][
            9
        ]["rank"]
        == 10
    )
    missing = client.get("/api/v1/customers/nobody/recommendations", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "recommend.customer_not_found"
    bad = client.get(f"/api/v1/customers/{someone}/recommendations?k=0", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "k"
    assert client.get(f"/api/v1/customers/{someone}/recommendations").status_code == 401


def test_cli_show(shop_settings: Settings) -> None:
    _cli("recommend", "train", "--json", "--data-dir", str(shop_settings.data_dir))
    shown = _cli(
        "recommend",
        "show",
        "c000042",
        "--k",
        "4",
        "--json",
        "--data-dir",
        str(shop_settings.data_dir),
    )
    assert shown["customer_id"] == "c000042" and len(shown["items"]) == 4
    missing = runner.invoke(
        app, ["recommend", "show", "nobody", "--json", "--data-dir", str(shop_settings.data_dir)]
    )
    assert missing.exit_code == 2
    assert json.loads(missing.stdout)["error"]["code"] == "recommend.customer_not_found"


def test_customer_360_shows_the_list(shop_settings: Settings) -> None:
    import re

    from userops.auth.service import ensure_first_admin

    with TestClient(create_app(shop_settings)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with unit_of_work(hub.engine) as session:
            ensure_first_admin(session, password="rec-console-pass")
        recommend.train(hub.warehouse, data_dir=shop_settings.resolved_data_dir)
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        client.post(
            "/login",
            data={"username": "admin", "password": "rec-console-pass", "csrf": csrf.group(1)},
        )
        html = client.get("/customers/c000042", headers={"accept-language": "en"}).text
        block = html[html.index('id="customer-recommendations"') :]
        expected = recommend.recommendations(hub.warehouse, "c000042", k=10)
        assert all(item.sku in block for item in expected.items)
        assert f"<strong>{expected.recommended_category}</strong>" in block
