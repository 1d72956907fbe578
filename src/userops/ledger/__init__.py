"""The ledger: state that changes and needs transactions (SQLite, or PostgreSQL in production)."""

from userops.ledger.engine import LedgerBase, engine_from, migrate, unit_of_work

__all__ = ["LedgerBase", "engine_from", "migrate", "unit_of_work"]
