"""``userops customers erase ID --json`` without a server (the command opens the data dir)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import write
from typer.testing import CliRunner

from userops.cli.main import app


def test_cli_erase_json(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runner = CliRunner()
    customers = write(tmp_path / "c.csv", "customer_id,phone\nc1,13800000001\nc2,13900000002\n")
    assert runner.invoke(app, ["init", "--data-dir", str(data_dir)]).exit_code == 0
    imported = runner.invoke(
        app, ["import", "customers", str(customers), "--data-dir", str(data_dir), "--json"]
    )
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(app, ["customers", "erase", "c1", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["erased"] is True and body["removed"]["profiles"] == 1
    assert "13800000001" not in result.stdout and '"c1"' not in result.stdout
    missing = runner.invoke(
        app, ["customers", "erase", "c1", "--data-dir", str(data_dir), "--json"]
    )
    assert missing.exit_code == 2
    assert json.loads(missing.stdout.splitlines()[0])["error"]["field"] == "customer_id"
