"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from userops.audit import models as _audit  # noqa: F401  (register every table)
from userops.auth import models as _auth  # noqa: F401
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


def _alembic(engine: sa.Engine, verb: str, revision: str) -> None:
    from alembic import command

    from userops.ledger.engine import _alembic_config

    cfg = _alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        getattr(command, verb)(cfg, revision)


def test_roles_audit_upgrade_makes_the_admin_an_owner_and_downgrades(settings: Settings) -> None:
    """0005_roles_audit on a ledger with an admin from before roles: the admin becomes an owner;
    downgrading removes the audit log and the new columns, and upgrading again works."""
    engine = engine_from(settings)
    _alembic(engine, "upgrade", "0003_people")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO admin_users (username, password_hash, created_at) "
                "VALUES ('admin', 'x', '2026-01-01 00:00:00')"
            )
        )
    _alembic(engine, "upgrade", "0005_roles_audit")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT role FROM admin_users")).scalar() == "owner"
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 0
    _alembic(engine, "downgrade", "0003_people")
    inspector = sa.inspect(engine)
    assert "audit_log" not in inspector.get_table_names()
    assert "role" not in {c["name"] for c in inspector.get_columns("admin_users")}
    assert "last_used_at" not in {c["name"] for c in inspector.get_columns("api_keys")}
    _alembic(engine, "upgrade", "head")
    assert "audit_log" in sa.inspect(engine).get_table_names()
    engine.dispose()
