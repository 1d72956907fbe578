"""The composition root: one data dir's settings, ledger engine and warehouse, opened together.

``connect`` is for code that runs in its own process (the CLI without a server, notebooks,
tests); the server opens one Hub at start and keeps it.

The ledger, the warehouse and the customers domain are imported when a Hub is opened, not when
this module is: the CLI imports ``connect`` on every command, and most commands never get here
(``--help``, a command handed to the running server, ``stats``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from userops.auth.keycache import KeyCache
from userops.core.files import private_umask, tighten
from userops.warehouse import owner as warehouse_owner

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from userops.config import Settings
    from userops.warehouse import Warehouse


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    warehouse: Warehouse
    _held: ExitStack = field(default_factory=ExitStack, repr=False)
    keys: KeyCache = field(default_factory=KeyCache, repr=False)
    """Verified API keys of this process (``auth.keycache``); revocations here forget them."""

    @classmethod
    def open(cls, settings: Settings) -> Hub:
        """Open both stores; the caller must hold the data dir's warehouse lock.

        While the hub is open the process umask is 077 (``core.files.private_umask``): DuckDB
        creates its WAL and spill files whenever it writes, and only the umask makes them
        owner-only. A data dir left with looser modes is tightened here (and logged)."""
        from userops.ledger import engine_from, migrate
        from userops.warehouse import Warehouse

        held = ExitStack()
        held.enter_context(private_umask())
        try:
            tighten(settings.ensure_data_dir())
            engine = engine_from(settings)
            migrate(engine)
            warehouse = Warehouse(
                settings.warehouse_path,
                timezone=settings.timezone,
                memory_limit=settings.warehouse_memory_limit,
            )
        except BaseException:
            held.close()
            raise
        return cls(settings=settings, engine=engine, warehouse=warehouse, _held=held)

    def stats(self) -> dict[str, int]:
        """Counts of what is stored; the same SQL as ``userops stats`` without a hub."""
        from userops import shop

        with self.engine.connect() as connection:
            counts = {"customers": shop.count_customers(connection)}
        cursor = self.warehouse.cursor()
        try:
            counts.update(shop.count_facts(cursor))
        finally:
            cursor.close()
        return counts

    def close(self) -> None:
        self.warehouse.close()
        self.engine.dispose()
        self._held.close()


@contextmanager
def connect(
    settings: Settings,
    *,
    holder: str = "userops",
    on_wait: Callable[[warehouse_owner.Holder | None], None] | None = None,
    defer: bool = False,
) -> Iterator[Hub]:
    """Open the data dir for this process, waiting while another process holds it.
    ``holder`` says who we are to a process that waits for us (see ``warehouse.owner.hold``)."""
    with warehouse_owner.hold(
        settings.ensure_data_dir(), holder=holder, on_wait=on_wait, defer=defer
    ):
        hub = Hub.open(settings)
        try:
            yield hub
        finally:
            hub.close()
