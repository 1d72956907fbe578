"""A data dir with an admin, three customers and a few orders, and a way to sign in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from userops.auth.service import ensure_first_admin
from userops.config import Settings
from userops.hub import connect
from userops.ingest.service import import_file
from userops.ledger import engine_from, migrate, unit_of_work
from userops.server import create_app

PASSWORD = "console-test-pass"

CUSTOMERS = """\
customer_id,name,phone,email,signup_at,signup_channel,province,city,consent_sms,consent_email
c1,张三,13800000001,zhang.san@example.com,2024-02-28T10:00:00+08:00,search,广东省,深圳市,granted,withdrawn
c2,李四,13900000002,,2024-03-01 23:30:00+08:00,douyin,浙江省,杭州市,,
c3,Wang Wu,,wang@example.com,2024-03-01T16:30:00Z,app_store,上海市,上海市,,
"""

ORDERS = """\
order_id,customer_id,created_at,paid_at,status,amount_fen
o-1001,c1,2024-03-01T23:00:00+08:00,2024-03-01T23:30:00+08:00,paid,10000
o-1002,c2,2024-03-01T16:20:00Z,2024-03-01T16:30:00Z,paid,25050
o-1003,c1,2024-03-01T11:00:00+08:00,2024-03-01T12:00:00+08:00,refunded,99900
o-1004,c3,2024-03-01T11:00:00+08:00,,cancelled,5000
"""


def prepare_data_dir(data_dir: Path) -> Settings:
    """Admin, customers and orders in ``data_dir``; every store is closed again afterwards."""
    settings = Settings(data_dir=data_dir, admin_password=PASSWORD)
    engine = engine_from(settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        ensure_first_admin(session, password=PASSWORD)
    engine.dispose()
    with connect(settings) as hub:
        for entity, text in (("customers", CUSTOMERS), ("orders", ORDERS)):
            path = data_dir / f"{entity}.csv"
            path.write_text(text, encoding="utf-8")
            import_file(
                engine=hub.engine,
                warehouse=hub.warehouse,
                rejects_dir=settings.rejects_dir,
                entity=entity,
                path=path,
            )
    return settings


@pytest.fixture(scope="module")
def console_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return prepare_data_dir(tmp_path_factory.mktemp("console") / "data")


@pytest.fixture
def make_data_dir() -> Callable[[Path], Settings]:
    """For tests that start their own server on a prepared data dir."""
    return prepare_data_dir


@pytest.fixture
def client(console_settings: Settings) -> Iterator[TestClient]:
    """The whole server app on the prepared data dir, signed out."""
    with TestClient(create_app(console_settings)) as opened:
        yield opened


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
def csrf() -> Callable[[str], str]:
    return csrf_of


@pytest.fixture
def signed_in(client: TestClient) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def admin_password() -> str:
    return PASSWORD
