"""`userops import products`: good rows, row-level rejects with reasons, hostile headers,
idempotent re-import, GBK files, and the category tree derived from the products. Expected
values are written out by hand; the stored rows are read back with plain DuckDB SQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.conftest import write

from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import import_file


def run(hub: Hub, path: Path, **kw):  # type: ignore[no-untyped-def]
    return import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity="products",
        path=path,
        **kw,
    )


def stored(hub: Hub, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    cur = hub.warehouse.cursor()
    try:
        return cur.execute(sql).fetchall()
    finally:
        cur.close()


def rejects(summary) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with open(summary.rejects_file or "", encoding="utf-8") as handle:
        return [(r["line"], r["sku"], r["reason"]) for r in csv.DictReader(handle)]


GOOD = """
sku,name,category,category_en,brand,price,list_price_fen,image_url,stock,status,tags
BEA-1,补水面膜 10片,美妆>面膜,Beauty > Face masks,花漾,"1,299.90",159900,https://img.example.com/a.jpg,10,在售,新品|热卖
BEA-2,睡眠面膜,美妆 › 面膜 › 睡眠面膜,,花漾,59,,https://img.example.com/b.jpg?w=80,0,sold_out,
DIG-1,蓝牙耳机,数码 › 耳机,Electronics › Headphones,,199.9,29900,,5,下架,
"""


def test_good_rows_are_stored_in_fen_with_normalised_paths(hub: Hub, tmp_path: Path) -> None:
    summary = run(hub, write(tmp_path / "products.csv", GOOD))
    assert (summary.imported, summary.updated, summary.rejected) == (3, 0, 0)
    rows = stored(
        hub,
        "SELECT sku, name, category, category_en, brand, price_fen, list_price_fen, image_url, "
        "stock, status, tags FROM products ORDER BY sku",
    )
    assert rows == [
        (
            "BEA-1",
            "补水面膜 10片",
            "美妆 › 面膜",
            "Beauty › Face masks",
            "花漾",
            129990,  # ¥1,299.90
            159900,
            "https://img.example.com/a.jpg",
            10,
            "on_sale",  # 在售
            ["新品", "热卖"],
        ),
        (
            "BEA-2",
            "睡眠面膜",
            "美妆 › 面膜 › 睡眠面膜",
            None,
            "花漾",
            5900,
            None,
            "https://img.example.com/b.jpg?w=80",
            0,
            "sold_out",
            None,
        ),
        (
            "DIG-1",
            "蓝牙耳机",
            "数码 › 耳机",
            "Electronics › Headphones",
            None,
            19990,
            29900,
            None,
            5,
            "off_shelf",  # 下架
            None,
        ),
    ]
    tree = stored(
        hub,
        "SELECT path, parent, name, name_en, depth, products FROM product_categories ORDER BY path",
    )
    assert tree == [
        ("数码", None, "数码", "Electronics", 1, 1),
        ("数码 › 耳机", "数码", "耳机", "Headphones", 2, 1),
        ("美妆", None, "美妆", "Beauty", 1, 2),
        ("美妆 › 面膜", "美妆", "面膜", "Face masks", 2, 2),
        ("美妆 › 面膜 › 睡眠面膜", "美妆 › 面膜", "睡眠面膜", None, 3, 1),
    ]


BAD = """
sku,name,category,category_en,price,price_fen,list_price,image_url,stock,status
OK-1,好的,美妆,Beauty,10,,,https://img.example.com/ok.png,1,on_sale
R-1,,美妆,,10,,,,,
R-2,x,美妆>>面膜,,10,,,,,
R-3,x,美妆,,10,,,javascript:alert(1),,
R-4,x,美妆,,10,,,http://user:pw@img.example.com/a.jpg,,
R-5,x,美妆,,10.123,,,,,
R-6,x,美妆,,-5,,,,,
R-7,x,美妆,,,,,,,
R-8,x,美妆,,10,999,,,,
R-9,x,美妆,,10,,,,-1,
R-10,x,美妆,,10,,,,,gone
R-11,x,美妆 › 面膜,Beauty,10,,,,,
R-12,x,,Beauty,10,,,,,
R-13,x,a>b>c>d>e>f>g,,10,,,,,
R-14,x,美妆,,10,,,https://img.example.com/a b.jpg,,
R-15,x,美妆,,10,,abc,,,
"""


def test_bad_rows_are_rejected_one_by_one_with_reasons(hub: Hub, tmp_path: Path) -> None:
    summary = run(hub, write(tmp_path / "products.csv", BAD))
    assert (summary.imported, summary.rejected) == (1, 15)
    reasons = {sku: reason for _, sku, reason in rejects(summary)}
    expected_start = {
        "R-1": "name: required",
        "R-2": "category: an empty level",
        "R-3": "image_url: not an http(s) URL",
        "R-4": "image_url: not an http(s) URL",
        "R-5": "price: not an amount in yuan",
        "R-6": "price: not an amount in yuan",
        "R-7": "price_fen: required",
        "R-8": "price: the yuan amount and price_fen disagree",
        "R-9": "stock: must be ≥ 0",
        "R-10": "status: must be one of on_sale/off_shelf/sold_out/presale",
        "R-11": "category_en: needs as many levels as category",
        "R-12": "category_en: given without category",
        "R-13": "category: more than 6 levels",
        "R-14": "image_url: not an http(s) URL",
        "R-15": "list_price: not an amount in yuan",
    }
    assert set(reasons) == set(expected_start)
    for sku, start in expected_start.items():
        assert reasons[sku].startswith(start), (sku, reasons[sku])
    assert [line for line, _, _ in rejects(summary)] == [str(n) for n in range(3, 18)]
    assert stored(hub, "SELECT sku, price_fen FROM products") == [("OK-1", 1000)]


def test_lengths_are_bounded(hub: Hub, tmp_path: Path) -> None:
    long_sku = "S" * 65
    long_name = "名" * 201
    long_url = "https://img.example.com/" + "a" * 2030
    text = (
        "sku,name,price_fen,image_url\n"
        f"{long_sku},x,100,\n"
        f"S-2,{long_name},100,\n"
        f"S-3,x,100,{long_url}\n"
        f"{'S' * 64},{'名' * 200},100,\n"
    )
    summary = run(hub, write(tmp_path / "p.csv", text))
    assert (summary.imported, summary.rejected) == (1, 3)
    assert [r for _, _, r in rejects(summary)] == [
        "sku: longer than 64 characters",
        "name: longer than 200 characters",
        "image_url: longer than 2048 characters",
    ]


def test_reimport_changes_nothing_and_updates_count_changes(hub: Hub, tmp_path: Path) -> None:
    path = write(tmp_path / "products.csv", GOOD)
    run(hub, path)
    again = run(hub, path)
    assert (again.imported, again.updated, again.rejected, again.duplicates) == (0, 0, 0, 0)
    changed = GOOD.replace('"1,299.90"', "1199").replace("蓝牙耳机,数码 › 耳机", "蓝牙耳机,数码")
    changed = changed.replace("Electronics › Headphones", "Electronics")
    changed += "BEA-2,睡眠面膜 新版,美妆 › 面膜,,花漾,69,,,,,\n"  # last row of a SKU wins
    result = run(hub, write(tmp_path / "changed.csv", changed))
    assert (result.imported, result.updated, result.duplicates) == (0, 3, 1)
    assert stored(hub, "SELECT sku, name, price_fen, category FROM products ORDER BY sku") == [
        ("BEA-1", "补水面膜 10片", 119900, "美妆 › 面膜"),
        ("BEA-2", "睡眠面膜 新版", 6900, "美妆 › 面膜"),
        ("DIG-1", "蓝牙耳机", 19990, "数码"),
    ]
    # the tree is rebuilt: the node nobody is in any more is gone
    assert stored(hub, "SELECT path, products FROM product_categories ORDER BY path") == [
        ("数码", 1),
        ("美妆", 2),
        ("美妆 › 面膜", 2),
    ]


def test_hostile_headers_are_only_ever_quoted(hub: Hub, tmp_path: Path) -> None:
    hostile = 'x"); DROP TABLE products; --'
    text = f'sku,"{hostile.replace(chr(34), chr(34) * 2)}",price_fen\nH-1,名字,100\n'
    path = write(tmp_path / "hostile.csv", text)
    with pytest.raises(InvalidInput) as refused:
        run(hub, path)
    assert "unknown column" in refused.value.message and refused.value.field == "columns"
    summary = run(hub, path, mapping={hostile: "name"})
    assert summary.imported == 1
    assert stored(hub, "SELECT sku, name, price_fen FROM products") == [("H-1", "名字", 100)]
    with pytest.raises(InvalidInput) as bad_map:
        run(hub, path, mapping={hostile: "attr_x"})  # products take no custom attributes
    assert bad_map.value.field == "map"


def test_gbk_file_with_encoding_and_chinese_headers_mapped(hub: Hub, tmp_path: Path) -> None:
    text = "商品编码,商品名称,类目,售价\r\nG-1,羊绒大衣,服饰>外套,899.00\r\n"
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gbk"))
    mapping = {"商品编码": "sku", "商品名称": "name", "类目": "category", "售价": "price"}
    with pytest.raises(InvalidInput) as refused:
        run(hub, path, mapping=mapping)
    assert refused.value.field == "encoding"
    summary = run(hub, path, mapping=mapping, encoding="gbk")
    assert summary.imported == 1
    assert stored(hub, "SELECT sku, name, category, price_fen FROM products") == [
        ("G-1", "羊绒大衣", "服饰 › 外套", 89900)
    ]


def test_a_file_without_sku_is_refused_whole(hub: Hub, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as refused:
        run(hub, write(tmp_path / "p.csv", "name,price_fen\nx,1\n"))
    assert refused.value.field == "sku"
    assert stored(hub, "SELECT count(*) FROM products") == [(0,)]
