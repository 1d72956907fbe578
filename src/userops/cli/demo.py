"""``userops demo``: a believable shop, imported through the real importers, then served."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import typer

from userops.cli import dispatch
from userops.cli.common import stop_while_waiting
from userops.cli.output import StepProgress, err, out, print_json
from userops.cli.serving import console_url, prepare_admin, run_server
from userops.core.errors import Conflict, UseropsError
from userops.warehouse import owner

if TYPE_CHECKING:
    from userops.config import Settings

ORDER = ("products", "customers", "orders", "order-items", "events", "spend")

EXAMPLE_SEGMENTS = (
    ("vip", {"tag": "rfm_cn", "value": "important_value"}, "重要价值客户 / important value"),
    (
        "winback-sms",
        {
            "all": [
                {"tag": "lifecycle", "value": "silent"},
                {"reachable": "sms"},
                {"rfm": "monetary_fen", "op": ">=", "value": 30000},
            ]
        },
        "silent, spent ≥ ¥300, reachable by SMS",
    ),
    (
        "at-risk-valuable",
        {
            "all": [
                {"score": "churn_risk", "value": "high"},
                {"score": "clv_fen", "op": ">=", "value": 20000},
            ]
        },
        "churn risk high and CLV ≥ ¥200",
    ),
    (
        "beauty-browsers",
        {
            "events": "product_view",
            "within_days": 30,
            "op": ">=",
            "value": 3,
            "where": [{"property": "category", "value": "美妆"}],
        },
        "viewed beauty products 3+ times in 30 days",
    ),
)


def make_room(settings: Settings, *, reset: bool, yes: bool) -> None:
    """Refuse to generate into a data dir (or ledger) that already holds a shop, unless
    ``reset``: then, once confirmed, remove that shop completely first. A second generated
    shop merged into the first would overwrite its profiles and mix two histories."""
    from userops import shop
    from userops.config import holds_shop

    counts = dispatch.run(settings, "stats", {}, lambda *_: None, holder="userops demo")
    data_dir = settings.resolved_data_dir
    in_dir = holds_shop(data_dir)
    if not any(counts.values()) and not (reset and in_dir):
        return
    where = str(data_dir) if in_dir else f"the ledger {shop.ledger_name(settings)}"
    if not reset:
        fresh = "a fresh --data-dir" if in_dir else "another ledger (USEROPS_LEDGER_URL)"
        raise Conflict(
            f"{where} already holds a shop ({shop.describe_counts(counts)}); "
            f"`userops demo --reset` replaces it (asks first; --yes does not), or use {fresh}",
            field="data_dir",
        )
    if not yes:
        if not sys.stdin.isatty():
            raise Conflict(
                "--reset deletes the shop; add --yes to confirm when not at a terminal",
                field="yes",
            )
        question = f"Delete the shop in {where} ({shop.describe_counts(counts)})?"
        if not typer.confirm(question, default=False, err=True):
            raise Conflict("nothing deleted", field="reset")
    shop.refuse_if_served(settings)
    with (
        stop_while_waiting() as waiter,
        owner.hold(data_dir, holder="userops demo --reset", on_wait=waiter),
    ):
        waiter.acquired()
        removed = shop.reset(settings)
    err.print(f"removed the old shop: {', '.join(removed)}")


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
    reset: bool = False,
    yes: bool = False,
) -> None:
    from userops.demo.generate import generate_shop, write_shop

    make_room(settings, reset=reset, yes=yes)
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
    for op, label in (
        ("predict.fit", "fitting CLV models"),
        ("recommend.train", "training recommendations"),
    ):
        if not as_json:
            err.print(f"{label}…")
        try:
            with StepProgress(enabled=not as_json) as progress:
                results[op] = dispatch.run(settings, op, {}, progress)
        except UseropsError as exc:  # e.g. a shop too small to fit; the demo goes on
            err.print(f"[yellow]skipped {op}:[/] {exc.message}")
            results[op] = {"skipped": exc.message}
    with StepProgress(enabled=not as_json) as progress:
        for name, rule, description in EXAMPLE_SEGMENTS:
            dispatch.run(
                settings,
                "segment.create",
                {"name": name, "rule": rule, "description": description, "replace": True},
                progress,
            )
        if not as_json:
            err.print("computing tags and segments…")
        results["tags"] = dispatch.run(settings, "tags.refresh", {}, progress)["counts"]
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
    say = err if as_json else out  # with --json, stdout carries only the JSON
    if generated:
        say.print(
            f"[bold]first admin created[/]: user [cyan]admin[/], password "
            f"[cyan]{generated}[/] (shown once; stored argon2-hashed)"
        )
    elif not settings.admin_password:
        say.print(
            "log in as [cyan]admin[/] with the password printed at first start "
            "(`userops admin password` sets a new one)"
        )
    if serve:
        run_server(settings, host=host, port=port)
