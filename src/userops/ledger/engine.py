"""Engine, sessions and migrations of the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from userops.config import Settings
from userops.core.files import create_private_file

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class LedgerBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets the server read while a CLI command writes; busy_timeout turns lock
    # contention into a short wait instead of "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def engine_for_url(url: str) -> Engine:
    """The ledger engine. ``hide_parameters``: a failing statement's error (logged, or shown in
    a traceback) names the SQL but never its bound values, which are phone numbers, emails and
    ids."""
    if url.startswith("sqlite"):
        _create_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _create_sqlite_file(url: str) -> None:
    """Create the ledger file 0600 before SQLite does (it would use 0644): an empty file is a
    valid empty database, and SQLite gives its -wal and -shm files the database file's mode."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        create_private_file(Path(database))


def engine_from(settings: Settings) -> Engine:
    settings.ensure_data_dir()
    return engine_for_url(settings.resolved_ledger_url)


def _alembic_config():  # type: ignore[no-untyped-def]
    # Alembic is imported here, not at the top: it costs more to import than most commands run.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the ledger schema to the newest Alembic revision."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def drop_all(engine: Engine) -> None:
    """Remove every ledger table: the migrations' downgrades to base, then any table a model
    declares that a downgrade left behind. Used by ``userops demo --reset``; works the same on
    SQLite and PostgreSQL (tables are dropped, no file is deleted)."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
        # env.py (run by the downgrade) imported every model, so the metadata is complete
        LedgerBase.metadata.drop_all(connection, checkfirst=True)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: services flush, this commits (or rolls back on any error)."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
