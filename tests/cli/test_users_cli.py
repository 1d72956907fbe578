"""``userops users …`` and ``userops audit list`` as a user runs them (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-m", "userops", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=120,
    )


def test_users_commands_and_their_audit(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    assert run(data, "init").returncode == 0
    added = run(data, "users", "add", "lin", "--role", "service_agent", "--json")
    assert added.returncode == 0, added.stderr
    body = json.loads(added.stdout)
    assert body["user"]["role"] == "service_agent" and len(body["password"]) >= 12
    given = run(
        data,
        "users",
        "add",
        "mei",
        "--role",
        "analyst",
        "--password-stdin",
        stdin="long-password\n",
    )
    assert given.returncode == 0 and "one-time" not in given.stdout
    bad = run(data, "users", "add", "zed", "--role", "king", "--json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["field"] == "role"
    assert run(data, "users", "set-role", "mei", "operator").returncode == 0
    assert run(data, "users", "disable", "lin").returncode == 0
    listed = json.loads(run(data, "users", "list", "--json").stdout)
    assert {u["username"]: (u["role"], u["disabled_at"] is not None) for u in listed} == {
        "lin": ("service_agent", True),
        "mei": ("operator", False),
    }
    log = json.loads(run(data, "audit", "list", "--json").stdout)
    assert [(e["action"], e["target"]) for e in log["entries"]] == [
        ("user.disable", "lin"),
        ("user.set_role", "mei"),
        ("user.create", "mei"),
        ("user.create", "lin"),
    ]
    assert all(e["actor_kind"] == "cli" and e["actor"].startswith("cli@") for e in log["entries"])
    assert "long-password" not in json.dumps(log) and body["password"] not in json.dumps(log)
