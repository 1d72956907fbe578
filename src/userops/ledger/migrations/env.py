"""Alembic environment. Migrations run inside ``userops.ledger.migrate`` on a given connection;
``alembic -c src/userops/ledger/alembic.ini revision --autogenerate`` uses USEROPS_LEDGER_URL."""

from __future__ import annotations

from alembic import context

from userops.audit import models as _audit  # noqa: F401  (register tables for autogenerate)
from userops.auth import models as _auth  # noqa: F401
from userops.customers import models as _customers  # noqa: F401
from userops.ingest import models as _ingest  # noqa: F401
from userops.ledger.engine import LedgerBase
from userops.segments import models as _segments  # noqa: F401

target_metadata = LedgerBase.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from userops.config import Settings
        from userops.ledger.engine import engine_from

        with engine_from(Settings()).begin() as conn:
            _run_on(conn)
    else:
        _run_on(connection)


def _run_on(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
