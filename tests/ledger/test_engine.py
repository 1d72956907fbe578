"""The ledger engine never puts bound values (personal data) into an error's text."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from userops.config import Settings
from userops.customers.models import ContactPoint, Customer
from userops.ledger import engine_from, migrate, unit_of_work

PHONE = "13912345678"
NAME = "张三丰"
WHEN = datetime(2025, 1, 1, tzinfo=UTC)


def _error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_failing_statement_error_has_no_parameter_values(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_from(settings)
    migrate(engine)
    caplog.set_level(logging.DEBUG)
    with unit_of_work(engine) as session:
        session.add(Customer(customer_id="c1", name=NAME, created_at=WHEN, updated_at=WHEN))
    # a contact point for a person who does not exist: a foreign-key violation
    with pytest.raises(sa.exc.IntegrityError) as orphan, unit_of_work(engine) as session:
        session.add(ContactPoint(customer_id="nobody", kind="phone", value=PHONE, updated_at=WHEN))
    # the same person twice: a primary-key violation
    with pytest.raises(sa.exc.IntegrityError) as twice, unit_of_work(engine) as session:
        session.add(Customer(customer_id="c1", name=NAME, created_at=WHEN, updated_at=WHEN))
    # a hand-written statement with a bound value
    with pytest.raises(sa.exc.DBAPIError) as text, engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO no_such_table (phone) VALUES (:phone)"), {"phone": PHONE})
    engine.dispose()
    for raised in (orphan.value, twice.value, text.value):
        message = _error_text(raised)
        assert "INSERT INTO" in message  # the statement is still named
        assert "parameters hidden" in message
        assert PHONE not in message
        assert NAME not in message
    # (PostgreSQL's own DETAIL line names the violated key, e.g. "Key (customer_id)=(nobody)":
    # that is the server's text, not a bound parameter, and hide_parameters does not touch it.)
    assert PHONE not in caplog.text
    assert NAME not in caplog.text
