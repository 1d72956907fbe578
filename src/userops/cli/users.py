"""``userops users …`` (console users and their roles) and ``userops audit list``.

These write the ledger directly (as ``keys revoke`` and ``admin password`` do) and record each
change in the audit log in the same transaction, as ``cli@host:osuser``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from userops.cli.common import DataDir, Json, fail, settings_for
from userops.cli.dispatch import cli_actor
from userops.cli.output import out, print_json
from userops.core.errors import InvalidInput, UseropsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from userops.audit.service import Actor

users_app = typer.Typer(help="Console users and their roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: who changed what, when.", no_args_is_help=True)
ROLE_HELP = "owner | admin | operator | analyst | service_agent"


@contextmanager
def _ledger(data_dir: Any, *, as_json: bool) -> Iterator[tuple[Session, Actor]]:
    from userops.audit.service import Actor
    from userops.ledger import engine_from, migrate, unit_of_work

    engine = engine_from(settings_for(data_dir, as_json=as_json))
    migrate(engine)
    try:
        with unit_of_work(engine) as session:
            yield session, Actor("cli", cli_actor())
    finally:
        engine.dispose()


def _run(data_dir: Any, as_json: bool, work: Callable[[Session, Actor], Any]) -> Any:
    """``work`` in one ledger transaction; a refusal exits 2 with the error."""
    try:
        with _ledger(data_dir, as_json=as_json) as (session, actor):
            return work(session, actor)
    except UseropsError as exc:
        fail(exc, as_json=as_json)


def _read_password_stdin() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidInput("no password on standard input", field="password")
    return password


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The user name they sign in with")],
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Invite a console user; prints a one-time password (unless --password-stdin)."""
    from userops.audit import service as audit
    from userops.auth import service as auth

    def work(session: Session, actor: Actor) -> tuple[Any, str | None]:
        password = _read_password_stdin() if password_stdin else None
        account, generated = auth.add_user(session, username=username, role=role, password=password)
        audit.record(session, actor, "user.create", target=account.username, after={"role": role})
        return account, generated

    account, generated = _run(data_dir, as_json, work)
    if as_json:
        print_json({"user": account.model_dump(mode="json"), "password": generated})
    elif generated:
        out.print(f"{account.username} ({account.role}) added; one-time password: {generated}")
    else:
        out.print(f"{account.username} ({account.role}) added")


@users_app.command("list")
def users_list(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Console users, their roles and states."""
    from userops.auth import service as auth

    users = _run(data_dir, as_json, lambda session, _actor: auth.list_users(session))
    if as_json:
        print_json([u.model_dump(mode="json") for u in users])
        return
    for u in users:
        state = "disabled" if u.disabled_at else "active"
        last = u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never"
        out.print(f"{u.username:24} {u.role:14} {state:9} last sign-in {last}")


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument()], data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Disable a user: their sessions end and their API keys stop working."""
    from userops.audit import service as audit
    from userops.auth import service as auth

    def work(session: Session, actor: Actor) -> Any:
        before = auth.account(session, username)
        after = auth.disable_user(session, username)
        audit.record(
            session,
            actor,
            "user.disable",
            target=after.username,
            before={"disabled": before.disabled_at is not None},
            after={"disabled": True},
        )
        return after

    account = _run(data_dir, as_json, work)
    if as_json:
        print_json(account.model_dump(mode="json"))
    else:
        out.print(f"{account.username} disabled; their sessions ended")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input")
    ] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """A new (one-time, printed) password for a user; their sessions end."""
    from userops.audit import service as audit
    from userops.auth import service as auth

    def work(session: Session, actor: Actor) -> str | None:
        password = _read_password_stdin() if password_stdin else None
        generated = auth.reset_password(session, username, password=password)
        audit.record(session, actor, "user.reset_password", target=username)
        return generated

    generated = _run(data_dir, as_json, work)
    if as_json:
        print_json({"username": username, "password": generated})
    else:
        tail = f"; one-time password: {generated}" if generated else ""
        out.print(f"password of {username} reset, their sessions ended{tail}")


@users_app.command("set-role")
def users_set_role(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help=ROLE_HELP)],
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Change a user's role (the last active owner stays an owner)."""
    from userops.audit import service as audit
    from userops.auth import service as auth

    def work(session: Session, actor: Actor) -> Any:
        account, before = auth.set_role(session, username, role)
        audit.record(
            session,
            actor,
            "user.set_role",
            target=username,
            before={"role": before},
            after={"role": role},
        )
        return account

    account = _run(data_dir, as_json, work)
    if as_json:
        print_json(account.model_dump(mode="json"))
    else:
        out.print(f"{account.username} is now {account.role}")


def _query(
    actor: str | None,
    action: str | None,
    target: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> Any:
    from pydantic import ValidationError

    from userops.audit.schemas import AuditQuery

    try:
        return AuditQuery(
            actor=actor,
            action=action,
            target=target,
            since=datetime.fromisoformat(since) if since else None,
            until=datetime.fromisoformat(until) if until else None,
            limit=limit,
        )
    except (ValueError, ValidationError) as exc:
        fail(InvalidInput(f"bad filter: {exc}", field="since"), as_json=as_json)


ActorOpt = Annotated[str | None, typer.Option(help="A user, key prefix or cli@host:user")]
ActionOpt = Annotated[str | None, typer.Option(help="An action code, or a prefix like user.*")]
TargetOpt = Annotated[str | None, typer.Option(help="What was acted on")]
SinceOpt = Annotated[
    str | None, typer.Option(help="From this instant (ISO 8601; UTC if no offset)")
]
UntilOpt = Annotated[str | None, typer.Option(help="Before this instant")]


@audit_app.command("export")
def audit_export(
    actor: ActorOpt = None,
    action: ActionOpt = None,
    target: TargetOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Every matching entry as CSV on standard output (up to 100,000, newest first)."""
    from userops.audit import service as audit

    query = _query(actor, action, target, since, until, 1000, False)
    sys.stdout.write(_run(data_dir, False, lambda session, _a: audit.export(session, query)))


@audit_app.command("list")
def audit_list(
    actor: Annotated[str | None, typer.Option(help="A user, key prefix or cli@host:user")] = None,
    action: Annotated[
        str | None, typer.Option(help="An action code, or a prefix like user.*")
    ] = None,
    target: Annotated[str | None, typer.Option(help="What was acted on")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this instant (ISO 8601; UTC if no offset)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this instant")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 100,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Search the audit log, newest first."""
    from userops.audit import service as audit

    query = _query(actor, action, target, since, until, limit, as_json)
    page = _run(data_dir, as_json, lambda session, _actor: audit.search(session, query))
    if as_json:
        print_json(page.model_dump(mode="json"))
        return
    for e in page.entries:
        out.print(
            f"{e.at.isoformat(timespec='seconds')}  {e.actor_kind}:{e.actor}  {e.action}  "
            f"{e.target or ''}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    out.print(f"[dim]{len(page.entries)} of {page.total}[/]")
