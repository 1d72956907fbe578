"""The house rules CI checks, also run by the suite so a local `pytest` catches them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _owner_check():
    spec = importlib.util.spec_from_file_location(
        "check_table_owners", ROOT / "tools" / "check_table_owners.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_warehouse_table_is_named_outside_its_owner_beyond_the_recorded_debt() -> None:
    assert _owner_check().check() == []


def test_the_debt_only_allows_what_it_lists() -> None:
    # with no recorded debt, today's remaining places are reported (the list shrinks to zero)
    checker = _owner_check()
    assert len(checker.check(allowed={})) == sum(checker.debt().values())


def test_the_checker_sees_a_foreign_table_name(tmp_path: Path) -> None:
    # given a module of the analytics package that reads the events table itself
    checker = _owner_check()
    package = tmp_path / "src" / "userops" / "analytics"
    package.mkdir(parents=True)
    rogue = package / "rogue.py"
    rogue.write_text(
        "def f(con, cur):\n"
        '    cur.execute("SELECT count(*) FROM events WHERE type = ?", ["track"])\n'
        '    return con.table("customer_tags")\n',
        encoding="utf-8",
    )
    checker.PACKAGE = tmp_path / "src" / "userops"
    # when / then: both the SQL text and the Ibis table call are reported
    found = checker.violations(rogue, checker.owners())
    assert [(line, table) for line, table, _ in found] == [(2, "events"), (3, "customer_tags")]


def test_import_layers_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
