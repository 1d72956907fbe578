"""How many customers the ledger holds, as plain SQL for the fast paths (``userops stats``).

``userops.customers`` owns the ``customers`` table in the ledger as in the warehouse; the shop's
counting (``userops.shop``) runs this text on a SQLAlchemy connection or on the standard
library's ``sqlite3`` without importing SQLAlchemy models or Ibis, so this module imports
nothing.
"""

from __future__ import annotations

LIVE_CUSTOMERS_SQL = "SELECT count(*) FROM customers WHERE merged_into IS NULL"
"""Customers as the rest of userops counts them: merged-away profiles excluded."""
