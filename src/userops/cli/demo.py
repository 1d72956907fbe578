"""``userops demo``: a believable shop, imported through the real importers, then served."""

from __future__ import annotations

import time
from typing import Any

from userops.cli import dispatch
from userops.cli.output import StepProgress, err, out, print_json
from userops.cli.serving import console_url, prepare_admin, run_server
from userops.config import Settings

ORDER = ("customers", "orders", "order-items", "events", "spend")


def run_demo(
    settings: Settings,
    *,
    customers: int,
    days: int,
    seed: int,
    serve: bool,
    host: str,
    port: int,
    as_json: bool,
) -> None:
    from userops.demo.generate import generate_shop, write_shop

    started = time.perf_counter()
    with err.status(f"generating a shop of {customers:,} customers over {days} days…"):
        shop = generate_shop(customers=customers, days=days, seed=seed, timezone=settings.timezone)
        files = write_shop(shop, settings.ensure_data_dir() / "demo")
    results: dict[str, Any] = {}
    for entity in ORDER:
        with StepProgress(enabled=not as_json) as progress:
            err.print(f"importing {entity}…") if not as_json else None
            results.update(
                dispatch.run(
                    settings, "import", {"entity": entity, "path": str(files[entity])}, progress
                )
            )
    stats = dispatch.run(settings, "stats", {}, lambda *_: None)
    generated = prepare_admin(settings)
    url = console_url(host, port)
    elapsed = round(time.perf_counter() - started, 1)
    if as_json:
        print_json(
            {
                "imports": results,
                "stats": stats,
                "seconds": elapsed,
                "console": url if serve else None,
            }
        )
    else:
        out.print(
            f"[bold]demo shop ready[/] in {elapsed}s: "
            + ", ".join(f"{v:,} {k}" for k, v in stats.items())
        )
    if generated:
        out.print(
            f"[bold]first admin created[/]: user [cyan]admin[/], password "
            f"[cyan]{generated}[/] (shown once; stored argon2-hashed)"
        )
    elif not settings.admin_password:
        out.print(
            "log in as [cyan]admin[/] with the password printed at first start "
            "(`userops admin password` sets a new one)"
        )
    if serve:
        run_server(settings, host=host, port=port)
