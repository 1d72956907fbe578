"""Files that are not UTF-8 (what Excel writes in China): detected, named, and transcoded on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa

from userops.core.errors import InvalidInput
from userops.customers.models import Customer
from userops.hub import Hub
from userops.ingest import files
from userops.ingest.service import import_file

HEADER = "会员号,姓名,城市,会员等级\n"
ROWS = "c1,张三,深圳市,金卡\nc2,李四,北京市,银卡\nc3,𠀀𠀁,上海市,普通\n"
"""``𠀀𠀁`` (U+20000, U+20001) exist in GB18030 (four bytes each) but not in GBK."""
MAPPING = {"会员号": "customer_id", "姓名": "name", "城市": "city", "会员等级": "attr_会员等级"}
EXPECTED = {
    "c1": ("张三", "深圳市", {"会员等级": "金卡"}),
    "c2": ("李四", "北京市", {"会员等级": "银卡"}),
    "c3": ("𠀀𠀁", "上海市", {"会员等级": "普通"}),
}


def run(hub: Hub, path: Path, **kw):  # type: ignore[no-untyped-def]
    return import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity="customers",
        path=path,
        mapping=MAPPING,
        **kw,
    )


def customers(hub: Hub) -> dict[str, tuple[str | None, str | None, dict[str, str] | None]]:
    with hub.engine.connect() as con:
        rows = con.execute(
            sa.select(Customer.customer_id, Customer.name, Customer.city, Customer.attributes)
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_gb18030_file_is_named_and_imports_with_the_flag(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "会员.csv"
    path.write_bytes((HEADER + ROWS).encode("gb18030"))
    with pytest.raises(InvalidInput) as err:
        run(hub, path)
    assert err.value.field == "encoding"
    assert "GB18030" in err.value.message and "--encoding gb18030" in err.value.message
    assert customers(hub) == {}

    result = run(hub, path, encoding="gb18030")
    assert (result.imported, result.rejected) == (3, 0)
    assert customers(hub) == EXPECTED
    assert list(hub.warehouse.spool_dir.iterdir()) == []  # the UTF-8 copy is gone


def test_gbk_utf16_utf8_sig_and_big5(hub: Hub, tmp_path: Path) -> None:
    simple = HEADER + ROWS.split("c3")[0]  # GBK has no U+20000
    cases = [
        ("gbk", simple.encode("gbk"), "gbk"),
        ("utf-16", (HEADER + ROWS).encode("utf-16"), "utf-16"),  # with a BOM, as Excel saves
        ("utf-8-sig", (HEADER + ROWS).encode("utf-8-sig"), "utf-8-sig"),
    ]
    for name, data, flag in cases:
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        result = run(hub, path, encoding=flag)
        assert result.rejected == 0, name
    assert customers(hub) == EXPECTED
    big5 = tmp_path / "big5.csv"
    big5.write_bytes("會員號,姓名\nc1,張三\n".encode("big5"))
    result = import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity="customers",
        path=big5,
        mapping={"會員號": "customer_id", "姓名": "name"},
        encoding="big5",
    )
    assert result.updated == 1 and customers(hub)["c1"][0] == "張三"


def test_utf16_is_detected_and_utf8_bom_needs_no_flag(hub: Hub, tmp_path: Path) -> None:
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes((HEADER + ROWS).encode("utf-16"))
    with pytest.raises(InvalidInput) as err:
        run(hub, utf16)
    assert err.value.field == "encoding" and "--encoding utf-16" in err.value.message
    bom = tmp_path / "bom.csv"
    bom.write_bytes((HEADER + ROWS).encode("utf-8-sig"))
    assert run(hub, bom).imported == 3
    assert customers(hub) == EXPECTED


def test_jsonl_in_gb18030(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    message = {
        "type": "track",
        "event": "加购",
        "userId": "c1",
        "timestamp": "2025-01-01T00:00:00Z",
        "properties": {"品类": "美妆"},
    }
    path.write_bytes((json.dumps(message, ensure_ascii=False) + "\n").encode("gb18030"))
    with pytest.raises(InvalidInput) as err:
        import_file(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=hub.settings.rejects_dir,
            entity="events",
            path=path,
        )
    assert "--encoding gb18030" in err.value.message
    result = import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity="events",
        path=path,
        encoding="GB18030",
    )
    assert result.imported == 1
    cur = hub.warehouse.cursor()
    try:
        row = cur.execute("SELECT event, properties->>'$.品类' FROM events").fetchall()
    finally:
        cur.close()
    assert row == [("加购", "美妆")]


def test_bad_encoding_requests_are_refused(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes((HEADER + ROWS).encode("gb18030"))
    with pytest.raises(InvalidInput) as err:
        run(hub, path, encoding="ebcdic")
    assert err.value.field == "encoding" and "gb18030" in err.value.message
    broken = tmp_path / "broken.csv"
    broken.write_bytes(HEADER.encode("gbk") + b"c1,\x81\x20,x,y\n")  # \x81 needs a trail byte
    with pytest.raises(InvalidInput) as err:
        run(hub, broken, encoding="gbk")
    assert err.value.field == "encoding" and "line 2" in err.value.message
    parquet = tmp_path / "c.parquet"
    parquet.write_bytes(b"PAR1")
    with pytest.raises(InvalidInput) as err:
        run(hub, parquet, encoding="gb18030")
    assert err.value.field == "encoding"
    assert customers(hub) == {}


def test_transcoding_streams_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    line = "c000001,张三丰,深圳市南山区科技园,金卡会员\n".encode("gb18030")
    with open(source, "wb") as handle:
        block = line * 10_000
        while handle.tell() < 40 << 20:
            handle.write(block)
    spool = tmp_path / "spool"
    tracemalloc.start()
    try:
        with files.spooled(source, "csv", spool, "gb18030") as target:
            _, peak = tracemalloc.get_traced_memory()
            size = target.stat().st_size
    finally:
        tracemalloc.stop()
    assert size == source.stat().st_size // len(line) * len(line.decode("gb18030").encode())
    assert peak < 16 << 20, f"peak {peak / 2**20:.1f} MiB for a 40 MiB file"


def test_cli_takes_encoding(tmp_path: Path) -> None:
    path = tmp_path / "会员.csv"
    path.write_bytes((HEADER + ROWS).encode("gb18030"))
    maps = [arg for k, v in MAPPING.items() for arg in ("--map", f"{k}={v}")]
    base = [sys.executable, "-m", "userops", "import", "customers", str(path), *maps, "--json"]
    env = {**os.environ, "USEROPS_DATA_DIR": str(tmp_path / "data")}
    init = [sys.executable, "-m", "userops", "init"]
    subprocess.run(init, capture_output=True, env=env, timeout=300, check=True)
    refused = subprocess.run(base, capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["error"]["field"] == "encoding"
    done = subprocess.run(
        [*base, "--encoding", "gb18030"], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["customers"]["imported"] == 3
