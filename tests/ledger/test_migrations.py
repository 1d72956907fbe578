"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from userops.auth import models as _auth  # noqa: F401  (register every table)
from userops.config import Settings
from userops.customers import models as _customers  # noqa: F401
from userops.ingest import models as _ingest  # noqa: F401
from userops.ledger import LedgerBase, engine_from, migrate
from userops.segments import models as _segments  # noqa: F401


def test_migrations_match_models(settings: Settings) -> None:
    engine = engine_from(settings)
    migrate(engine)
    migrate(engine)  # running again is a no-op
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, LedgerBase.metadata)
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert version is not None
    engine.dispose()
