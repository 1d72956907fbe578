"""The 360 page and "guess you like" show products (name, image, price), not SKU codes; an
unknown SKU falls back to its code; the builder offers the category tree. On a small demo shop
with its catalogue, rendered by the real app; expected names and prices read with plain SQL."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.predict.test_clv_console import sign_in

from userops.auth.service import ensure_first_admin
from userops.config import Settings
from userops.demo.generate import generate_shop, write_shop
from userops.ingest.service import import_file
from userops.ledger import unit_of_work
from userops.recommend import service as recommend
from userops.server import create_app

PASSWORD = "clv-console-pass"  # sign_in's


def yuan(fen: int) -> str:
    """¥ with thousands separators, written independently of the console's filter."""
    return "¥" + f"{fen // 100:,}" + f".{fen % 100:02d}"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("catalog-console")
    settings = Settings(data_dir=root / "data", admin_password=PASSWORD)
    shop = generate_shop(customers=800, days=120, seed=4, end=dt.date(2025, 12, 1))
    files = write_shop(shop, root / "files")
    with TestClient(create_app(settings)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with unit_of_work(hub.engine) as session:
            ensure_first_admin(session, password=PASSWORD)
        for entity in ("products", "customers", "orders", "order-items", "events"):
            summary = import_file(
                engine=hub.engine,
                warehouse=hub.warehouse,
                rejects_dir=settings.rejects_dir,
                entity=entity,
                path=files[entity],
            )
            assert summary.rejected == 0, entity  # the demo's catalogue imports whole
        recommend.train(hub.warehouse, data_dir=settings.resolved_data_dir)
        sign_in(client)
        yield client


def sql(client: TestClient, text: str, params: list[object] | None = None) -> list[tuple]:  # type: ignore[type-arg]
    cur = client.app.state.hub.warehouse.cursor()  # type: ignore[attr-defined]
    try:
        return cur.execute(text, params or []).fetchall()
    finally:
        cur.close()


def test_guess_you_like_shows_names_and_prices(console: TestClient) -> None:
    (customer,) = sql(
        console,
        "SELECT customer_id FROM recommendations WHERE source = 'model' ORDER BY customer_id "
        "LIMIT 1",
    )[0]
    recs = sql(
        console,
        "SELECT r.sku, p.name, p.price_fen FROM recommendations r JOIN products p USING (sku) "
        "WHERE r.customer_id = ? AND r.rank <= 10 ORDER BY r.rank",
        [customer],
    )
    assert recs
    page = console.get(f"/customers/{customer}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    block = page.text.split('id="customer-recommendations"', 1)[1].split("</section>", 1)[0]
    text = html.unescape(block)
    for sku, name, price_fen in recs:
        assert f'data-sku="{sku}"' in block
        assert name in text and yuan(price_fen) in text
    assert "<code>" not in block  # every recommended SKU is in the catalogue: no raw codes
    assert "商品" in block  # the column is "product", not "商品编码"


def test_orders_on_the_360_page_list_their_products(console: TestClient) -> None:
    customer, order_id = sql(
        console,
        "SELECT o.customer_id, o.order_id FROM orders o WHERE o.status = 'paid' "
        "ORDER BY o.paid_at DESC LIMIT 1",
    )[0]
    lines = sql(
        console,
        "SELECT i.sku, p.name, i.quantity, i.price_fen FROM order_items i JOIN products p "
        "USING (sku) WHERE i.order_id = ? ORDER BY i.sku",
        [order_id],
    )
    page = console.get(f"/customers/{customer}")
    orders = html.unescape(page.text.split('id="recent-orders"', 1)[1].split("</section>", 1)[0])
    for _sku, name, quantity, price_fen in lines:
        assert name in orders
        assert f"× {quantity} · {yuan(price_fen)}" in orders


def test_images_are_lazy_and_sized_unknown_skus_fall_back_to_the_code(
    console: TestClient, tmp_path: Path
) -> None:
    hub = console.app.state.hub  # type: ignore[attr-defined]
    customer, order_id, sku = sql(
        console,
        "SELECT o.customer_id, o.order_id, min(i.sku) FROM orders o JOIN order_items i "
        "USING (order_id) WHERE o.status = 'paid' GROUP BY ALL ORDER BY o.order_id LIMIT 1",
    )[0]
    name, price_fen = sql(console, "SELECT name, price_fen FROM products WHERE sku = ?", [sku])[0]
    url = f"https://img.example.com/p/{sku}.jpg?size=80&v=2"
    products = tmp_path / "images.csv"
    products.write_text(
        f"sku,name,price_fen,image_url\n{sku},{name},{price_fen},{url}\n", encoding="utf-8"
    )
    items = tmp_path / "items.csv"
    items.write_text(
        f"order_id,sku,quantity,price_fen\n{order_id},ZZ-UNKNOWN,2,1234567\n", encoding="utf-8"
    )
    for entity, path in (("products", products), ("order-items", items)):
        import_file(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=hub.settings.rejects_dir,
            entity=entity,
            path=path,
        )
    page = console.get(f"/customers/{customer}").text
    img = re.search(r'<img class="product-img" src="([^"]+)"[^>]*>', page)
    assert img, "no product image on the page"
    assert html.unescape(img.group(1)) == url
    assert 'loading="lazy"' in img.group(0)
    assert 'width="40"' in img.group(0) and 'height="40"' in img.group(0)
    assert "<code>ZZ-UNKNOWN</code>" in page  # not in the catalogue: the code
    assert "× 2 · ¥12,345.67" in page


def registry(page: str, which: str = "registry") -> dict:  # type: ignore[type-arg]
    found = re.search(rf'id="builder-{which}">(.*?)</script>', page, flags=re.S)
    assert found
    return json.loads(found.group(1))


def test_builder_offers_the_category_tree_in_both_languages(console: TestClient) -> None:
    nodes = sql(console, "SELECT path, name_en, products FROM product_categories ORDER BY path")
    zh_page = console.get("/segments/new", headers={"Accept-Language": "zh-CN"}).text
    offered = registry(zh_page)["bought"]
    assert [o["name"] for o in offered] == [path for path, _, _ in nodes]
    mask = next(o for o in offered if o["name"] == "美妆 › 面膜")
    count = next(n for path, _, n in nodes if path == "美妆 › 面膜")
    assert mask["label"] == f"\u3000面膜 ({count} 件商品)"
    assert registry(zh_page, "labels")["types"]["bought"] == "购买过品类"
    console.get("/lang/en", follow_redirects=False)
    try:
        en_page = console.get("/segments/new").text
        mask_en = next(o for o in registry(en_page)["bought"] if o["name"] == "美妆 › 面膜")
        assert mask_en["label"] == f"\u3000Face masks ({count} products)"
        assert mask_en["path"] == "Beauty › Face masks"
        assert registry(en_page, "labels")["types"]["bought"] == "Bought from category"
    finally:
        console.get("/lang/zh-CN", follow_redirects=False)
