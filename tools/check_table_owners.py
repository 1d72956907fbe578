"""Fail when code outside a warehouse table's owning package names that table.

Every warehouse table has one owner (``userops.warehouse.tables.OWNERS``): the only package whose
code may read or write it by name. Other packages compose the owner's published functions and
Ibis expressions (``userops.customers.queries.people()``, …). This check reads the source with
``ast`` (no import of the code under test) and reports, per file and line, every place that names
a table it does not own:

- a string constant or f-string part with the table in an SQL position
  (``FROM t``, ``JOIN t``, ``INTO t``, ``UPDATE t``, ``TABLE t``, ``EXISTS t``);
- a call such as ``con.table("t")`` or ``warehouse.count("t")`` whose first argument is the name.

Docstrings are skipped. ``warehouse/tables.py`` (the DDL catalogue) is exempt.
Known debt: ``tools/table_owner_debt.txt`` lists, per file and table, how many such places are
still allowed while they are moved to the owners' functions (issue 9, item 21). The check fails on
any place beyond that list, so the debt can only shrink; delete a line when its file is clean.

Run: ``python tools/check_table_owners.py`` (exit 1 on a violation); also run by the test suite.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "userops"
EXEMPT = {PACKAGE / "warehouse" / "tables.py"}
EXEMPT_DIRS = (PACKAGE / "ledger" / "migrations",)  # ledger tables, some of the same names
NAMING_CALLS = {"table", "count", "read_table", "drop_table", "truncate_table", "insert"}
SQL_POSITION = r"\b(?:from|join|into|update|table|exists)\s+\"?({names})\"?(?![\w.\"(])"


def owners() -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "src"))
    from userops.warehouse.tables import OWNERS, TABLES

    missing = sorted(set(TABLES) - set(OWNERS))
    if missing:
        raise SystemExit(f"tables without an owner in warehouse/tables.py OWNERS: {missing}")
    return dict(OWNERS)


def _module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def violations(path: Path, owner_of: dict[str, str]) -> list[tuple[int, str, str]]:
    module = _module_of(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstrings(tree)
    sql = re.compile(SQL_POSITION.format(names="|".join(map(re.escape, owner_of))), re.I)

    def foreign(table: str) -> bool:
        owner = owner_of[table]
        return not (module == owner or module.startswith(owner + "."))

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            for match in sql.finditer(node.value):
                table = match.group(1).lower()
                if table in owner_of and foreign(table):
                    found.append((node.lineno, table, "SQL text"))
        elif isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            first = node.args[0]
            if (
                name in NAMING_CALLS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value in owner_of
                and foreign(first.value)
            ):
                found.append((node.lineno, first.value, f"{name}(...)"))
    return sorted(set(found))


DEBT = ROOT / "tools" / "table_owner_debt.txt"


def debt() -> dict[tuple[str, str], int]:
    """(file, table) → places still allowed, from ``table_owner_debt.txt``."""
    allowed: dict[tuple[str, str], int] = {}
    if DEBT.exists():
        for raw in DEBT.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                path, table, count = line.split()
                allowed[(path, table)] = int(count)
    return allowed


def check(allowed: dict[tuple[str, str], int] | None = None) -> list[str]:
    owner_of = owners()
    allowed = debt() if allowed is None else allowed
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in EXEMPT or any(d in path.parents for d in EXEMPT_DIRS):
            continue
        rel = path.relative_to(ROOT).as_posix()
        found = violations(path, owner_of)
        per_table: dict[str, int] = {}
        for _, table, _ in found:
            per_table[table] = per_table.get(table, 0) + 1
        for line, table, how in found:
            if per_table[table] > allowed.get((rel, table), 0):
                problems.append(
                    f"{rel}:{line}: names {table!r} ({how}); owner is {owner_of[table]}"
                )
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} place(s) name a warehouse table they do not own", file=sys.stderr)
        return 1
    left = sum(debt().values())
    print(f"no warehouse table named outside its owner beyond the recorded debt ({left} places)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
