"""The composition root: one data dir's settings, ledger engine and warehouse, opened together.

``connect`` is for code that runs in its own process (the CLI without a server, notebooks,
tests); the server opens one Hub at start and keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine

from userops.config import Settings
from userops.core.files import private_umask, tighten
from userops.customers import service as customers
from userops.ledger import engine_from, migrate, unit_of_work
from userops.warehouse import Warehouse
from userops.warehouse import owner as warehouse_owner


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    warehouse: Warehouse
    _held: ExitStack = field(default_factory=ExitStack, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Hub:
        """Open both stores; the caller must hold the data dir's warehouse lock.

        While the hub is open the process umask is 077 (``core.files.private_umask``): DuckDB
        creates its WAL and spill files whenever it writes, and only the umask makes them
        owner-only. A data dir left with looser modes is tightened here (and logged)."""
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
        with unit_of_work(self.engine) as session:
            n_customers = customers.count(session)
        return {
            "customers": n_customers,
            "orders": self.warehouse.count("orders"),
            "order_items": self.warehouse.count("order_items"),
            "events": self.warehouse.count("events"),
            "spend": self.warehouse.count("channel_spend"),
        }

    def close(self) -> None:
        self.warehouse.close()
        self.engine.dispose()
        self._held.close()


@contextmanager
def connect(settings: Settings, *, on_wait: Callable[[], None] | None = None) -> Iterator[Hub]:
    """Open the data dir for this process, waiting while another process holds it."""
    with warehouse_owner.hold(settings.ensure_data_dir(), on_wait=on_wait):
        hub = Hub.open(settings)
        try:
            yield hub
        finally:
            hub.close()
