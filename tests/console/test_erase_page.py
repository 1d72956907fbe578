"""The customer 360 page's erase action: typed confirmation, CSRF, then the person is gone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from tests.console.conftest import PASSWORD, csrf_of

from userops.config import Settings
from userops.server import create_app


def test_erase_from_the_console(make_data_dir: Callable[[Path], Settings], tmp_path: Path) -> None:
    settings = make_data_dir(tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        login = client.get("/login")
        client.post(
            "/login",
            data={"username": "admin", "password": PASSWORD, "csrf": csrf_of(login.text)},
        )
        page = client.get("/customers/c1")
        assert page.status_code == 200 and 'id="erase-form"' in page.text
        token = csrf_of(page.text)
        form = {"customer_id": "c1", "confirm": "c2", "csrf": token}
        wrong = client.post("/customers/erase", data=form, follow_redirects=False)
        assert wrong.status_code == 303 and "erase_error=confirm" in wrong.headers["location"]
        assert client.get("/customers/c1").status_code == 200  # nothing erased
        stale = client.post("/customers/erase", data={**form, "confirm": "c1", "csrf": "x"})
        assert stale.status_code == 403
        done = client.post("/customers/erase", data={**form, "confirm": "c1"})
        assert done.status_code == 200 and 'id="erased"' in done.text
        assert "13800000001" not in done.text
        assert client.get("/customers/c1").status_code == 404
        assert client.get("/customers", params={"query": "13800000001"}).text.count("c1") == 0
        assert client.get("/customers/c2").status_code == 200
