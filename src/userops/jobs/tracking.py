"""The tracking loader as the server's background job, and an operation to drain the journal.

``running(hub)`` opens the :class:`~userops.ingest.tracking.service.Tracker` of a data dir,
loads what an earlier run left in its journal, and keeps loading in a background thread until
the server stops (then loads what is left). ``tracking-load`` imports what the journal holds now:
in the server it waits for the loader; without a server (the journal of a stopped server) the
CLI runs it itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from userops.hub import Hub
from userops.ingest.service import Progress
from userops.ingest.tracking.service import Tracker, TrackingSettings
from userops.jobs.registry import operation

log = logging.getLogger("userops.tracking")


def open_tracker(hub: Hub, settings: TrackingSettings | None = None) -> Tracker:
    return Tracker(
        engine=hub.engine,
        warehouse=hub.warehouse,
        data_dir=hub.settings.resolved_data_dir,
        settings=settings,
    )


@contextmanager
def running(hub: Hub, settings: TrackingSettings | None = None) -> Iterator[Tracker]:
    tracker = open_tracker(hub, settings)
    hub.tracker = tracker  # type: ignore[attr-defined]  # for the tracking-load operation
    tracker.retry_set_aside()
    try:
        tracker.load_pending()  # replay what the last run acknowledged but did not load
    except Exception:  # kept in the journal; the loader thread retries
        log.exception("loading the journal at start failed; retrying in the background")
    tracker.start()
    try:
        yield tracker
    finally:
        tracker.stop()
        hub.tracker = None  # type: ignore[attr-defined]


@operation("tracking-load")
def tracking_load(hub: Hub, _params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    tracker: Tracker | None = getattr(hub, "tracker", None)
    if tracker is not None:
        loaded = tracker.load_pending()
        return {"loaded": loaded, **tracker.status()}
    tracker = open_tracker(hub, TrackingSettings(rate_limit=0))
    try:
        progress("load", 0, None)
        loaded = tracker.load_pending()
        progress("load", loaded, loaded)
    finally:
        tracker.stop()
    return {"loaded": loaded, "loaded_duplicates": tracker.loaded_duplicates}
