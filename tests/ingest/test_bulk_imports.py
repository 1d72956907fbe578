"""The bulk import paths (docs/decisions/0019-bulk-imports.md), on both ledgers: customers in
several native-path batches with row-level rejects and an idempotent re-import; identify links
applied set-based, with alias chains; the import memory setting honoured by a child process."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import write

from userops.config import Settings, parse_size
from userops.customers import queries
from userops.customers.models import (
    Consent,
    ConsentEvent,
    ContactPoint,
    Customer,
    Identity,
    Merge,
)
from userops.hub import Hub
from userops.ingest.service import import_file
from userops.ledger import unit_of_work


def run(hub: Hub, entity: str, path: Path, **kw):  # type: ignore[no-untyped-def]
    return import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity=entity,
        path=path,
        **kw,
    )


HEADER = "customer_id,name,gender,birthday,city,interests,signup_at,phone,email,consent_sms\n"
ROWS = [
    "k1,甲,男,1990-01-02,深圳市,美妆|数码,2024-01-01 10:00,13800000001,a@x.com,granted",
    "k2,乙,female,1985-13-01,北京市,,2024-02-01,13800000002,,withdrawn",  # bad birthday
    "k3,丙,f,,上海市,,,13800000003,,",
    "k4,丁,,,,,,,,granted",
    "k5,戊,x,,,,,,,",  # bad gender
    "k6,己,m,2000-06-30,,书,2024-03-01T00:00:00Z,13800000006,f@x.com,withdrawn",
    "k7,庚,,,,,,13800000007,,granted",
]


def _counts(hub: Hub) -> dict[str, int]:
    with unit_of_work(hub.engine) as session:
        return {
            m.__tablename__: session.execute(sa.select(sa.func.count()).select_from(m)).scalar()
            or 0
            for m in (Customer, ContactPoint, Consent, ConsentEvent)
        }


def test_customers_in_batches_rejects_and_idempotent_reimport(hub: Hub, tmp_path: Path) -> None:
    path = write(tmp_path / "customers.csv", HEADER + "\n".join(ROWS) + "\n")
    first = run(hub, "customers", path, batch_rows=2)  # 5 good rows: three ledger batches
    assert (first.imported, first.updated, first.rejected) == (5, 0, 2)
    with open(first.rejects_file or "", encoding="utf-8") as handle:
        rejects = [(r["line"], r["reason"].split(":")[0]) for r in csv.DictReader(handle)]
    assert rejects == [("3", "birthday"), ("6", "gender")]  # file lines (header is line 1)
    # by hand: phones of k1 k3 k6 k7, emails of k1 k6; sms consent of k1 k4 k6 k7
    expected = {"customers": 5, "contact_points": 6, "consents": 4, "consent_events": 4}
    assert _counts(hub) == expected
    with unit_of_work(hub.engine) as session:
        k1 = session.get(Customer, "k1")
        assert k1 is not None and k1.interests == ["美妆", "数码"] and k1.gender == "male"
        assert k1.signup_at is not None and (k1.signup_at.hour, k1.signup_at.day) == (2, 1)
        k6 = session.get(Customer, "k6")
        assert k6 is not None and str(k6.birthday) == "2000-06-30"
    cur = hub.warehouse.cursor()
    try:
        mirrored = cur.execute(
            "SELECT customer_id, gender, city, interests, placeholder FROM customers "
            "ORDER BY customer_id"
        ).fetchall()
        reach = cur.execute(
            "SELECT customer_id, channel, has_contact, consent FROM customer_reach "
            "ORDER BY customer_id, channel"
        ).fetchall()
    finally:
        cur.close()
    assert mirrored == [
        ("k1", "male", "深圳市", ["美妆", "数码"], False),
        ("k3", "female", "上海市", None, False),
        ("k4", None, None, None, False),
        ("k6", "male", None, ["书"], False),
        ("k7", None, None, None, False),
    ]
    assert reach == [
        ("k1", "email", True, None),
        ("k1", "sms", True, "granted"),
        ("k3", "sms", True, None),
        ("k4", "sms", False, "granted"),
        ("k6", "email", True, None),
        ("k6", "sms", True, "withdrawn"),
        ("k7", "sms", True, "granted"),
    ]
    again = run(hub, "customers", path, batch_rows=3)
    assert (again.imported, again.updated, again.rejected) == (0, 0, 2)
    assert _counts(hub) == expected  # nothing written twice, no consent history added
    # one changed consent and one new email: two customers updated, one history row more
    changed = [
        r.replace("k7,庚,,,,,,13800000007,,granted", "k7,庚,,,,,,13800000007,g@x.com,")
        for r in ROWS
    ]
    changed[3] = "k4,丁,,,,,,,,withdrawn"
    third = run(hub, "customers", write(tmp_path / "c2.csv", HEADER + "\n".join(changed)))
    assert (third.imported, third.updated) == (0, 2)
    assert _counts(hub) == {**expected, "contact_points": 7, "consent_events": 5}
    cur = hub.warehouse.cursor()
    try:
        rows = cur.execute(
            "SELECT customer_id, channel, has_contact, consent FROM customer_reach WHERE "
            "customer_id IN ('k4', 'k7') ORDER BY customer_id, channel"
        ).fetchall()
    finally:
        cur.close()
    # k7's sms consent is kept although the new file leaves it empty (a file never clears one)
    assert rows == [
        ("k4", "sms", False, "withdrawn"),
        ("k7", "email", True, None),
        ("k7", "sms", True, "granted"),
    ]


def _events(*rows: dict[str, object]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"


def _ev(mid: str, kind: str, ts: str, **ids: str) -> dict[str, object]:
    row: dict[str, object] = {"type": kind, "messageId": mid, "timestamp": ts}
    names = {"user": "userId", "anon": "anonymousId", "previous": "previousId"}
    row.update({names[k]: v for k, v in ids.items()})
    if kind == "track":
        row["event"] = "Product Viewed"
    return row


def test_identify_links_with_alias_chains_give_the_same_people(hub: Hub, tmp_path: Path) -> None:
    # File 1: anon-a identifies twice (u1 first, then u2: the first identify wins), anon-b once
    # (u2, earliest of the file), old-u is aliased into mid-u. Links are applied before the
    # file's aliases, so anon-x joins old-u, then moves with old-u's identities to mid-u.
    one = _events(
        _ev("a1", "track", "2024-05-01T00:00:00Z", anon="anon-a"),
        _ev("a2", "identify", "2024-05-01T01:00:00Z", anon="anon-a", user="u1"),
        _ev("a3", "identify", "2024-05-01T02:00:00Z", anon="anon-a", user="u2"),
        _ev("b1", "identify", "2024-04-01T00:00:00Z", anon="anon-b", user="u2"),
        _ev("b2", "track", "2024-04-02T00:00:00Z", anon="anon-b"),
        _ev("x1", "track", "2024-04-03T00:00:00Z", anon="anon-x"),
        _ev("x2", "identify", "2024-04-04T00:00:00Z", anon="anon-x", user="old-u"),
        _ev("o1", "track", "2024-04-05T00:00:00Z", user="old-u"),
        _ev("al1", "alias", "2024-04-06T00:00:00Z", previous="old-u", user="mid-u"),
    )
    # File 2: identifies under ids merged away resolve to the survivor: anon-y (old-u → mid-u);
    # then mid-u is aliased into top-u, which carries old-u and mid-u's ids along.
    two = _events(
        _ev("y1", "track", "2024-06-01T00:00:00Z", anon="anon-y"),
        _ev("y2", "identify", "2024-06-02T00:00:00Z", anon="anon-y", user="old-u"),
        _ev("a4", "identify", "2024-06-03T00:00:00Z", anon="anon-a", user="top-u"),  # kept: u1
        _ev("al2", "alias", "2024-06-04T00:00:00Z", previous="mid-u", user="top-u"),
    )
    # File 3: an identify under old-u now lands on top-u (alias map, then merge chain).
    three = _events(
        _ev("z1", "track", "2024-07-01T00:00:00Z", anon="anon-z"),
        _ev("z2", "identify", "2024-07-02T00:00:00Z", anon="anon-z", user="old-u"),
        _ev("z3", "identify", "2024-07-03T00:00:00Z", anon="anon-z", user="u1"),  # later: no
    )
    for name, text in (("e1.jsonl", one), ("e2.jsonl", two), ("e3.jsonl", three)):
        assert run(hub, "events", write(tmp_path / name, text), batch_rows=2).rejected == 0
    # derived by hand from the rules in the comments above
    expected_links = {
        "anon-a": "u1",
        "anon-b": "u2",
        "anon-x": "top-u",
        "anon-y": "top-u",
        "anon-z": "top-u",
    }
    with unit_of_work(hub.engine) as session:
        links = dict(
            session.execute(
                sa.select(Identity.value, Identity.customer_id).where(
                    Identity.kind == "anonymous_id"
                )
            ).all()
        )
        merges = session.execute(
            sa.select(Merge.from_value, Merge.into_customer_id).where(Merge.reason == "identify")
        ).all()
    assert links == expected_links
    # one identify merge per link, recorded under the customer the id first joined
    assert sorted(merges) == [
        ("anon-a", "u1"),
        ("anon-b", "u2"),
        ("anon-x", "old-u"),
        ("anon-y", "mid-u"),
        ("anon-z", "top-u"),
    ]
    con = hub.warehouse.ibis()
    try:
        events = con.table("events")
        rows = queries.person_of_event(con, events).select("message_id", "person")
        people = {r["message_id"]: r["person"] for r in rows.to_pyarrow().to_pylist()}
    finally:
        con.disconnect()
    assert people == {
        "a1": "u1",
        "a2": "u1",
        "a3": "u2",  # a message's own user id decides, not its anonymous id
        "a4": "top-u",
        "b1": "u2",
        "b2": "u2",
        **{m: "top-u" for m in ("x1", "x2", "o1", "al1", "y1", "y2", "al2", "z1", "z2")},
        "z3": "u1",
    }
    # re-importing every file changes nothing
    for name in ("e1.jsonl", "e2.jsonl", "e3.jsonl"):
        again = run(hub, "events", tmp_path / name, batch_rows=2)
        assert (again.imported, again.updated) == (0, 0)
    with unit_of_work(hub.engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Merge)).scalar() == 7
        assert session.execute(sa.select(sa.func.count()).select_from(Identity)).scalar() == 7


def test_memory_settings() -> None:
    assert parse_size("4GB") == 4 << 30 and parse_size("512 MiB") == 512 << 20
    settings = Settings(import_memory_limit="1GB")
    assert settings.import_duckdb_memory_limit == "384MB"  # (1024 - 256) / 2
    assert settings.import_batch_rows == 25_600
    with pytest.raises(ValueError, match="memory size"):
        Settings(import_memory_limit="lots")
    with pytest.raises(ValueError, match="at least 64MB"):
        Settings(import_memory_limit="1MB")


_BIG_EVENTS = """
import json, sys
import numpy as np
rng = np.random.default_rng(7)
n = int(sys.argv[2])
with open(sys.argv[1], "w") as out:
    for i in range(n):
        row = {"type": "track", "event": "Product Viewed", "messageId": f"m{i:09d}",
               "anonymousId": f"a{int(rng.integers(0, n // 3)):08d}",
               "timestamp": f"2025-0{1 + i % 9}-1{i % 10}T0{i % 10}:00:00Z",
               "properties": {"sku": f"s{int(rng.integers(0, 5000))}", "pad": "x" * 200}}
        if i % 20 == 0:
            row.update(type="identify", userId=f"u{i % 5000:05d}", traits={"vip": "y"})
            del row["event"]
        out.write(json.dumps(row) + "\\n")
"""


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_import_memory_limit_bounds_a_child_process(tmp_path: Path, settings: Settings) -> None:
    """A 400,000-event file (≈ 120 MB of JSON) imported by `userops import` with
    USEROPS_IMPORT_MEMORY_LIMIT=600MB: the child's peak RSS (ru_maxrss, measured by the
    kernel) stays under 600 MB."""
    events = tmp_path / "big.jsonl"
    subprocess.run([sys.executable, "-c", _BIG_EVENTS, str(events), "400000"], check=True)
    data = tmp_path / "shop"
    env = {**os.environ, "USEROPS_IMPORT_MEMORY_LIMIT": "600MB", "USEROPS_DATA_DIR": str(data)}
    env.pop("USEROPS_WAREHOUSE_MEMORY_LIMIT", None)
    subprocess.run(
        [sys.executable, "-m", "userops", "init"], env=env, check=True, capture_output=True
    )
    measure = (
        "import resource, subprocess, sys, json\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': p.returncode, 'rss_kb': rss, 'out': p.stdout[-2000:], "
        "'err': p.stderr[-2000:]}))\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            measure,
            sys.executable,
            "-m",
            "userops",
            "import",
            "events",
            str(events),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout)
    assert result["rc"] == 0, result["err"]
    summary = json.loads(result["out"].strip().splitlines()[-1])["events"]
    assert summary["imported"] == 400_000 and summary["rejected"] == 0
    assert result["rss_kb"] * 1024 < parse_size("600MB"), result["rss_kb"]
