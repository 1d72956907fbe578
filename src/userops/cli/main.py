"""``userops`` commands. Each takes ``--data-dir``; report-like commands take ``--json``.

Start-up is part of the interface: ``userops --help`` must not import Ibis, SQLAlchemy, SciPy,
DuckDB or FastAPI (tests/cli/test_startup.py). Command groups in their own module are listed in
``SUB_APPS`` and imported only when used; command bodies import what they need.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from userops.cli import dispatch
from userops.cli.common import DataDir, Json, fail, settings_for, stop_on_sigterm
from userops.cli.lazy import LazyGroup
from userops.cli.output import StepProgress, out, print_json
from userops.core.errors import UseropsError

SUB_APPS = {
    "report": (
        "userops.cli.report:report_app",
        "Measurement: retention, funnels, AARRR, channel ROI, the magic number.",
    ),
    "predict": (
        "userops.cli.predict:predict_app",
        "Customer lifetime value (CLV), P(alive) and churn risk.",
    ),
    "recommend": (
        "userops.cli.recommend:recommend_app",
        '"Guess you like" (猜你喜欢): ranked products per customer.',
    ),
    "tags": (
        "userops.cli.tags:tags_app",
        "The customer system (客户体系): computed and manual tags.",
    ),
    "segment": ("userops.cli.tags:segment_app", "Segments (分群): saved rules over customers."),
    "customers": (
        "userops.cli.customers:customers_app",
        "Customers: erasure of a person.",
    ),
    "users": ("userops.cli.users:users_app", "Console users and their roles."),
    "audit": ("userops.cli.users:audit_app", "The audit log: who changed what, when."),
}


class UseropsGroup(LazyGroup):
    sub_apps = SUB_APPS


app = typer.Typer(
    name="userops",
    cls=UseropsGroup,
    help="User operations (用户运营) for e-commerce shops: data in, customer system, actions, "
    "measurement.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="API keys (stored hashed; a key is shown once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

ENTITY_NAMES = ("customers", "orders", "order-items", "events", "spend", "products", "cdnow")


@app.command("import")
def import_(
    entity: Annotated[
        str,
        typer.Argument(help="customers | orders | order-items | events | spend | products | cdnow"),
    ],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSONL file")],
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a column of the file: SOURCE=TARGET (repeatable)."),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv | parquet | jsonl")] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="Text encoding of a CSV/JSONL file: gb18030, gbk, big5, utf-16, utf-8-sig "
            "(default: UTF-8, checked).",
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Import a file; bad rows go to a rejects file with their line and reason."""
    settings = settings_for(data_dir, as_json=as_json)
    try:
        if entity not in ENTITY_NAMES:
            raise UseropsError(
                f"unknown entity {entity!r}; known: {', '.join(ENTITY_NAMES)}", field="entity"
            )
        pairs: dict[str, str] = {}
        for item in mapping or []:
            source, sep, target = item.partition("=")
            if not sep or not source or not target:
                raise UseropsError(f"--map needs SOURCE=TARGET, got {item!r}", field="map")
            pairs[source] = target
        params: dict[str, Any] = {
            "entity": entity,
            "path": str(file.expanduser().resolve()),
            "format": fmt,
            "mapping": pairs,
            "encoding": encoding,
        }
        with StepProgress(enabled=sys.stderr.isatty() or not as_json) as progress:
            result = dispatch.run(settings, "import", params, progress)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        print_json(result)
        return
    for name, summary in result.items():
        out.print(
            f"[bold]{name}[/]: {summary['imported']} imported, {summary['updated']} updated, "
            f"{summary['rejected']} rejected, {summary['duplicates']} duplicates in file"
        )
        if summary.get("customers_created"):
            out.print(f"  {summary['customers_created']} customers created from their ids")
        if summary.get("rejects_file"):
            out.print(f"  rejected rows and reasons: {summary['rejects_file']}")


@app.command()
def stats(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Counts of what is stored."""
    settings = settings_for(data_dir, as_json=as_json)
    try:
        result = dispatch.run(settings, "stats", {}, lambda *_: None)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        print_json(result)
    else:
        for name, value in result.items():
            out.print(f"{name:12} {value:>12,}")


@app.command()
def init(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Create an empty shop in the data dir (other commands never create one)."""
    from userops import shop
    from userops.config import holds_shop

    settings = settings_for(data_dir, as_json=as_json, create=True)
    existed = holds_shop(settings.resolved_data_dir)
    try:
        path = shop.initialise(settings)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        print_json({"data_dir": str(path), "created": not existed})
    elif existed:
        out.print(f"a shop is already here: {path} (nothing changed)")
    else:
        out.print(f"empty shop created in {path}")


@keys_app.command("create")
def keys_create(
    scope: Annotated[str, typer.Option("--scope", help="read | write | admin")],
    name: Annotated[
        str | None, typer.Option("--name", help="The service the key is for (or a label)")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="The console user it belongs to (it may do no more)"),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Create an API key and print it once."""
    # Through the running server if there is one: the key is stored in the ledger it reads.
    settings = settings_for(data_dir, as_json=as_json)
    try:
        created = dispatch.run(
            settings, "keys.create", {"scope": scope, "name": name, "user": user}, lambda *_: None
        )
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        print_json({"key": created["key"], "scope": created["scope"]})
    else:
        out.print(f"{created['key']}\n[dim]scope {created['scope']}; shown once, stored hashed[/]")


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, as_json: Json = False) -> None:
    """List keys (prefixes only)."""
    from userops.auth import service as auth
    from userops.ledger import engine_from, migrate, unit_of_work

    engine = engine_from(settings_for(data_dir, as_json=as_json))
    migrate(engine)
    with unit_of_work(engine) as session:
        keys = auth.list_keys(session)
    if as_json:
        print_json([k.model_dump(mode="json") for k in keys])
    else:
        for k in keys:
            state = "revoked" if k.revoked_at else "active"
            owner = f"user {k.user}" if k.user else f"service {k.name or '-'}"
            used = k.last_used_at.isoformat(timespec="minutes") if k.last_used_at else "never"
            out.print(
                f"{k.prefix}  {k.scope:6} {state:8} {owner:24} created by "
                f"{k.created_by or '-'}  last used {used}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` shows it")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: it then gets 403 (at once from a running server: the revocation is
    handed to it, and it forgets the key it had verified)."""
    settings = settings_for(data_dir)
    try:
        dispatch.run(settings, "keys.revoke", {"prefix": prefix}, lambda *_: None)
    except UseropsError as exc:
        fail(exc, as_json=False)
        return
    out.print(f"revoked {prefix}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run the HTTP API and the web console (creates the data dir if needed)."""
    from userops.cli.serving import run_server

    try:
        run_server(settings_for(data_dir, create=True), host=host, port=port)
    except UseropsError as exc:
        fail(exc, as_json=False)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="How many customers")] = 20_000,
    days: Annotated[int, typer.Option(help="Days of history, ending yesterday")] = 365,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same shop")] = 7,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop before serving")] = False,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset", help="Delete the shop already in the data dir first (asks to confirm)"
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before --reset deletes")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Generate a believable demo shop, import it, and open the console (see --reset)."""
    from userops.cli.demo import run_demo

    settings = settings_for(data_dir, as_json=as_json, create=True)
    try:
        run_demo(
            settings,
            customers=customers,
            days=days,
            seed=seed,
            serve=not no_serve,
            host=host,
            port=port,
            as_json=as_json,
            reset=reset,
            yes=yes,
        )
    except UseropsError as exc:
        fail(exc, as_json=as_json)


admin_app = typer.Typer(help="Console administrators.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("password")
def admin_password(
    username: Annotated[str, typer.Option(help="Admin user name")] = "admin",
    data_dir: DataDir = None,
) -> None:
    """Set a new console password (asked twice, not echoed)."""
    from userops.auth import service as auth
    from userops.ledger import engine_from, migrate, unit_of_work

    settings = settings_for(data_dir)
    password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    engine = engine_from(settings)
    migrate(engine)
    try:
        from userops.audit import service as audit
        from userops.audit.service import Actor

        with unit_of_work(engine) as session:
            auth.set_password(session, username=username, password=password)
            actor = Actor("cli", dispatch.cli_actor())
            audit.record(session, actor, "user.reset_password", target=username)
    except UseropsError as exc:
        fail(exc, as_json=False)
    out.print(f"password of {username} changed")


def main() -> None:
    stop_on_sigterm()
    app()
