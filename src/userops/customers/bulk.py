"""Set-based writes of many profiles at once: a batch goes into a temporary table of the ledger,
then one INSERT … SELECT and one UPDATE … FROM per table do the work in the database. The same
SQL runs on SQLite and PostgreSQL. RETURNING tells which customers really changed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from userops.customers.models import Consent, ConsentEvent, ContactPoint, Customer, Identity, Merge
from userops.customers.schemas import CONSENT_CHANNELS, CONTACT_KINDS, PROFILE_FIELDS
from userops.ledger import unit_of_work

_TEMP_SEQ = iter(range(1, 1 << 62))


def _temp_table(session: Session, columns: Sequence[sa.Column[Any]]) -> sa.Table:
    table = sa.Table(f"_in_{next(_TEMP_SEQ)}", sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(session.connection())
    return table


def _fill(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Load rows into a temporary table with the driver's own executemany: the ORM's per-row
    bookkeeping costs more than the database here. Values go through the column types'
    bind processors (UTC datetimes, JSON) so they are stored as the ORM would store them."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = list(table.columns)
    processors = [c.type._cached_bind_processor(dialect) for c in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.quote(table.name)} "
        f"({', '.join(dialect.identifier_preparer.quote(c.name) for c in columns)}) "
        f"VALUES ({', '.join(marker for _ in columns)})"
    )
    names = [c.name for c in columns]
    params = [
        tuple(
            proc(row.get(name)) if proc is not None else row.get(name)
            for name, proc in zip(names, processors, strict=True)
        )
        for row in rows
    ]
    connection.exec_driver_sql(sql, params)


def _drop(session: Session, table: sa.Table) -> None:
    table.drop(session.connection())


def _customer_column(name: str) -> sa.Column[Any]:
    source = Customer.__table__.c[name]
    return sa.Column(name, source.type)


def upsert_profiles(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    fields: Sequence[str],
    partial: bool,
    now: datetime,
) -> tuple[set[str], set[str]]:
    """Insert new customers and update changed ones. ``fields`` are the profile fields the rows
    carry; with ``partial`` a missing (None) value keeps the stored one. Returns (new, updated)."""
    fields = [f for f in PROFILE_FIELDS if f in fields]
    temp = _temp_table(
        session,
        [sa.Column("customer_id", sa.String(128), primary_key=True)]
        + [_customer_column(f) for f in fields],
    )
    try:
        _fill(session, temp, rows)  # _fill reads only the temporary table's columns
        return _apply_profiles(session, temp, fields, partial=partial, now=now)
    finally:
        _drop(session, temp)


def _apply_profiles(
    session: Session, temp: sa.Table, fields: Sequence[str], *, partial: bool, now: datetime
) -> tuple[set[str], set[str]]:
    """The set-based profile upsert from a filled temporary table (``customer_id`` + fields)."""
    customers = Customer.__table__
    src = temp.c
    inserted = (
        session.execute(
            sa.insert(customers)
            .from_select(
                ["customer_id", *fields, "placeholder", "created_at", "updated_at"],
                sa.select(
                    src.customer_id,
                    *(src[f] for f in fields),
                    sa.false(),
                    sa.literal(now, Customer.__table__.c.created_at.type),
                    sa.literal(now, Customer.__table__.c.updated_at.type),
                ).where(~sa.exists().where(customers.c.customer_id == src.customer_id)),
            )
            .returning(customers.c.customer_id)
        )
        .scalars()
        .all()
    )
    new_ids = set(inserted)
    changed: list[Any] = [customers.c.placeholder.is_(True)]
    values: dict[str, Any] = {"placeholder": False, "updated_at": now}
    for f in fields:
        value = sa.func.coalesce(src[f], customers.c[f]) if partial else src[f]
        values[f] = value
        changed.append(customers.c[f].is_distinct_from(value))
    updated = (
        session.execute(
            sa.update(customers)
            .where(customers.c.customer_id == src.customer_id)
            .where(sa.or_(*changed))
            .values(values)
            .returning(customers.c.customer_id)
        )
        .scalars()
        .all()
    )
    return new_ids, set(updated) - new_ids


def upsert_contacts(
    session: Session, rows: Iterable[tuple[str, str, str]], *, now: datetime
) -> set[str]:
    """(customer_id, kind, value) rows; one contact point per kind. Returns changed customers."""
    payload = [{"customer_id": c, "kind": k, "value": v} for c, k, v in rows if v]
    if not payload:
        return set()
    temp = _temp_table(
        session,
        [
            sa.Column("customer_id", sa.String(128)),
            sa.Column("kind", sa.String(32)),
            sa.Column("value", sa.String(256)),
        ],
    )
    try:
        _fill(session, temp, payload)
        return _apply_contacts(session, temp, now=now)
    finally:
        _drop(session, temp)


def _apply_contacts(session: Session, temp: sa.Table, *, now: datetime) -> set[str]:
    contacts = ContactPoint.__table__
    src = temp.c
    match = sa.and_(contacts.c.customer_id == src.customer_id, contacts.c.kind == src.kind)
    updated = (
        session.execute(
            sa.update(contacts)
            .where(match, contacts.c.value != src.value)
            .values(value=src.value, updated_at=now)
            .returning(contacts.c.customer_id)
        )
        .scalars()
        .all()
    )
    inserted = (
        session.execute(
            sa.insert(contacts)
            .from_select(
                ["customer_id", "kind", "value", "updated_at"],
                sa.select(
                    src.customer_id,
                    src.kind,
                    src.value,
                    sa.literal(now, contacts.c.updated_at.type),
                ).where(~sa.exists().where(match)),
            )
            .returning(contacts.c.customer_id)
        )
        .scalars()
        .all()
    )
    return set(updated) | set(inserted)


def record_consents(
    session: Session,
    rows: Iterable[tuple[str, str, str]],
    *,
    source: str,
    now: datetime,
) -> set[str]:
    """(customer_id, channel, status) rows. Only a change of status is recorded, with its source
    and time, in the history and as the current state. Returns the customers whose consent moved."""
    payload = [{"customer_id": c, "channel": ch, "status": s} for c, ch, s in rows if s]
    if not payload:
        return set()
    temp = _temp_table(
        session,
        [
            sa.Column("customer_id", sa.String(128)),
            sa.Column("channel", sa.String(32)),
            sa.Column("status", sa.String(16)),
        ],
    )
    try:
        _fill(session, temp, payload)
        return _apply_consents(session, temp, source=source, now=now)
    finally:
        _drop(session, temp)


def _apply_consents(session: Session, temp: sa.Table, *, source: str, now: datetime) -> set[str]:
    consents, history = Consent.__table__, ConsentEvent.__table__
    src = temp.c
    match = sa.and_(consents.c.customer_id == src.customer_id, consents.c.channel == src.channel)
    moved = (
        sa.select(src.customer_id, src.channel, src.status)
        .where(~sa.exists().where(match, consents.c.status == src.status))
        .subquery()
    )
    changed = (
        session.execute(
            sa.insert(history)
            .from_select(
                ["customer_id", "channel", "status", "source", "recorded_at"],
                sa.select(
                    moved.c.customer_id,
                    moved.c.channel,
                    moved.c.status,
                    sa.literal(source, history.c.source.type),
                    sa.literal(now, history.c.recorded_at.type),
                ),
            )
            .returning(history.c.customer_id)
        )
        .scalars()
        .all()
    )
    session.execute(
        sa.update(consents)
        .where(match, consents.c.status != src.status)
        .values(status=src.status, source=source, recorded_at=now)
    )
    session.execute(
        sa.insert(consents).from_select(
            ["customer_id", "channel", "status", "source", "recorded_at"],
            sa.select(
                src.customer_id,
                src.channel,
                src.status,
                sa.literal(source, consents.c.source.type),
                sa.literal(now, consents.c.recorded_at.type),
            ).where(~sa.exists().where(match)),
        )
    )
    return set(changed)


def ensure_exist(session: Session, customer_ids: Sequence[str], *, now: datetime) -> set[str]:
    """Create a placeholder for every id not known yet; returns the ids created."""
    if not customer_ids:
        return set()
    customers = Customer.__table__
    temp = _temp_table(session, [sa.Column("customer_id", sa.String(128), primary_key=True)])
    try:
        ids = [(c,) for c in dict.fromkeys(customer_ids)]
        load_native(session, temp, ["customer_id"], ids)
        src = temp.c
        created = (
            session.execute(
                sa.insert(customers)
                .from_select(
                    ["customer_id", "placeholder", "created_at", "updated_at"],
                    sa.select(
                        src.customer_id,
                        sa.true(),
                        sa.literal(now, customers.c.created_at.type),
                        sa.literal(now, customers.c.updated_at.type),
                    ).where(~sa.exists().where(customers.c.customer_id == src.customer_id)),
                )
                .returning(customers.c.customer_id)
            )
            .scalars()
            .all()
        )
    finally:
        _drop(session, temp)
    return set(created)


def split_contacts_and_consents(
    rows: list[dict[str, Any]],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    contacts = [
        (r["customer_id"], kind, r[kind]) for r in rows for kind in CONTACT_KINDS if r.get(kind)
    ]
    consents = [
        (r["customer_id"], channel, r[f"consent_{channel}"])
        for r in rows
        for channel in CONSENT_CHANNELS
        if r.get(f"consent_{channel}")
    ]
    return contacts, consents


# --- Whole files (the customers import, issue 10 item 4) -------------------------------------
# A file's profiles go to the ledger in batches: each batch is loaded by the driver's native
# bulk path (COPY on PostgreSQL, executemany on SQLite) into one typed temporary table, then the
# same set-based statements as above write profiles, contact points and consent. The warehouse
# mirror is then written from the staged file in DuckDB, set-based (see ``mirror_staged``).


def _duck_text(name: str, kind: str, dialect: str) -> str:
    """DuckDB expression giving column ``name`` of the staged profiles as the text the ledger
    stores (SQLite) or parses (PostgreSQL COPY): what the ORM's bind processors would write."""
    col = f'"{name}"'
    if kind == "date":
        return f"strftime({col}, '%Y-%m-%d')"
    if kind == "datetime":
        utc = f"strftime(timezone('UTC', {col}), '%Y-%m-%d %H:%M:%S.%f')"
        return utc if dialect == "sqlite" else f"{utc} || '+00'"
    return f"{col}::JSON::VARCHAR" if kind == "json" else col


def _ledger_kind(column: sa.Column[Any]) -> str:
    python = getattr(column.type, "impl", column.type)
    if isinstance(python, sa.DateTime):
        return "datetime"
    if isinstance(python, sa.Date):
        return "date"
    if isinstance(python, sa.JSON) or column.name in ("interests", "attributes"):
        return "json"
    return "text"


def import_staged(
    cur: Any,
    relation: str,
    engine: sa.Engine,
    *,
    fields: Sequence[str],
    source: str,
    now: datetime,
    batch_rows: int,
    progress: Any = None,
) -> tuple[int, int]:
    """Write the profiles of DuckDB ``relation`` (columns ``customer_id``, ``fields``, every
    contact kind, ``consent_<channel>`` for every channel; one row per customer) to the ledger,
    one committed transaction per ``batch_rows`` rows (each batch idempotent: a re-run finds
    nothing to change). Returns (new customers, updated customers)."""
    fields = [f for f in PROFILE_FIELDS if f in fields]
    dialect = engine.dialect.name
    kinds = {f: _ledger_kind(Customer.__table__.c[f]) for f in fields}
    extra = [*CONTACT_KINDS, *(f"consent_{ch}" for ch in CONSENT_CHANNELS)]
    names = ["customer_id", *fields, *extra]
    selects = ", ".join(f'{_duck_text(n, kinds.get(n, "text"), dialect)} AS "{n}"' for n in names)
    reader = cur.sql(f"SELECT {selects} FROM {relation}").to_arrow_reader(batch_rows)
    json_cols = [i for i, n in enumerate(names) if kinds.get(n) == "json"]
    new_total = updated_total = done = 0
    try:
        for batch in reader:
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for i in json_cols:
                # the JSON text the ORM writes (json.dumps), so values compare equal on SQLite
                columns[i] = [None if v is None else json.dumps(json.loads(v)) for v in columns[i]]
            rows = list(zip(*columns, strict=True))
            with unit_of_work(engine) as session:
                bulk_session(session, batch_rows)
                new, updated = _import_batch(session, rows, names, fields, source=source, now=now)
            new_total += len(new)
            updated_total += len(updated)
            done += len(rows)
            if progress is not None:
                progress("write", done, None)
    finally:
        reader.close()
    return new_total, updated_total


def _import_batch(
    session: Session,
    rows: list[tuple[Any, ...]],
    names: list[str],
    fields: list[str],
    *,
    source: str,
    now: datetime,
) -> tuple[set[str], set[str]]:
    columns = [sa.Column("customer_id", sa.String(128), primary_key=True)]
    columns += [_customer_column(f) for f in fields]
    columns += [sa.Column(kind, sa.String(256)) for kind in CONTACT_KINDS]
    columns += [sa.Column(f"consent_{ch}", sa.String(16)) for ch in CONSENT_CHANNELS]
    wide = _temp_table(session, columns)
    contacts = _temp_table(
        session,
        [
            sa.Column("customer_id", sa.String(128)),
            sa.Column("kind", sa.String(32)),
            sa.Column("value", sa.String(256)),
        ],
    )
    consents = _temp_table(
        session,
        [
            sa.Column("customer_id", sa.String(128)),
            sa.Column("channel", sa.String(32)),
            sa.Column("status", sa.String(16)),
        ],
    )
    try:
        load_native(session, wide, names, rows)
        w = wide.c
        session.execute(
            sa.insert(contacts).from_select(
                ["customer_id", "kind", "value"],
                sa.union_all(
                    *(
                        sa.select(w.customer_id, sa.literal(kind, sa.String(32)), w[kind]).where(
                            w[kind].is_not(None), w[kind] != ""
                        )
                        for kind in CONTACT_KINDS
                    )
                ),
            )
        )
        session.execute(
            sa.insert(consents).from_select(
                ["customer_id", "channel", "status"],
                sa.union_all(
                    *(
                        sa.select(
                            w.customer_id, sa.literal(ch, sa.String(32)), w[f"consent_{ch}"]
                        ).where(w[f"consent_{ch}"].is_not(None), w[f"consent_{ch}"] != "")
                        for ch in CONSENT_CHANNELS
                    )
                ),
            )
        )
        new, updated = _apply_profiles(session, wide, fields, partial=False, now=now)
        touched = set(updated)
        touched |= _apply_contacts(session, contacts, now=now)
        touched |= _apply_consents(session, consents, source=source, now=now)
    finally:
        for table in (wide, contacts, consents):
            _drop(session, table)
    return new, touched - new


def bulk_session(session: Session, batch_rows: int) -> None:
    """Let SQLite keep a bulk write's index pages in memory: its default page cache (2 MB)
    makes every index insert of a large table a read through the OS. About 1 KB per batch
    row (100 MB at 100,000 rows), counted in the import's memory budget. No-op on
    PostgreSQL (its buffers are the server's)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        kib = max(8_192, min(262_144, batch_rows))
        connection.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
        connection.exec_driver_sql("PRAGMA temp_store = MEMORY")


def load_native(
    session: Session, table: sa.Table, names: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Rows of text (or None) into ``table``'s columns ``names`` through the driver's bulk path:
    ``COPY … FROM STDIN`` on PostgreSQL (the server parses dates, timestamps and JSON), one
    ``executemany`` on SQLite (the text is what SQLite stores). Inside the session's
    transaction."""
    if not rows:
        return
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    cols = ", ".join(quote(n) for n in names)
    raw = connection.connection.driver_connection
    dbapi_error = connection.dialect.loaded_dbapi.Error
    if connection.dialect.name == "postgresql":
        sql = f"COPY {quote(table.name)} ({cols}) FROM STDIN"
    else:
        marks = ", ".join("?" for _ in names)
        sql = f"INSERT INTO {quote(table.name)} ({cols}) VALUES ({marks})"
    try:
        if connection.dialect.name == "postgresql":
            with raw.cursor() as pg, pg.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            raw.executemany(sql, rows)
    except dbapi_error as exc:
        # the driver's error as SQLAlchemy's (DataError, IntegrityError…), as the ORM path
        # raises it: callers tell a refused value from a failed ledger by that class
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi_error) from exc


def mirror_staged(cur: Any, relation: str, *, fields: Sequence[str]) -> None:
    """Mirror the customers of DuckDB ``relation`` (as given to :func:`import_staged`, after
    their ledger batches committed) to the warehouse's ``customers`` and ``customer_reach``
    rows, set-based, in one warehouse transaction, without reading the ledger back: a profile
    field the file carries is what the ledger now holds; one it lacks, ``merged_into`` and
    reachability keep the mirrored values (contact points are only added by an import, and a
    consent only moves to a status the file gives). Rewriting an unchanged row is a no-op."""
    from userops.warehouse.tables import TABLES

    given = set(fields)
    cols = []
    for name in TABLES["customers"]:
        if name == "customer_id":
            cols.append("p.customer_id")
        elif name == "placeholder":
            cols.append("false")
        elif name == "attributes" and name in given:
            cols.append("p.attributes::JSON")
        elif name in given:
            cols.append(f'p."{name}"')
        else:
            cols.append(f'o."{name}"')
    contacts = " UNION ALL ".join(
        f"SELECT customer_id, '{channel}' AS channel FROM {relation} "
        f"WHERE nullif(\"{kind}\", '') IS NOT NULL"
        for channel, kind in CONSENT_CHANNELS.items()
    )
    statuses = " UNION ALL ".join(
        f"SELECT customer_id, '{channel}' AS channel, \"consent_{channel}\" AS status FROM "
        f"{relation} WHERE nullif(\"consent_{channel}\", '') IS NOT NULL"
        for channel in CONSENT_CHANNELS
    )
    cur.execute("BEGIN TRANSACTION")
    try:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _mirror_rows AS SELECT {', '.join(cols)} "
            f"FROM {relation} p LEFT JOIN customers o ON o.customer_id = p.customer_id"
        )
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _reach_rows AS "
            "WITH o AS (SELECT * FROM customer_reach r WHERE r.customer_id IN "
            f"(SELECT customer_id FROM {relation})), k AS ({contacts}), s AS ({statuses}) "
            "SELECT customer_id, channel, coalesce(o.has_contact, false) OR k.customer_id IS "
            "NOT NULL AS has_contact, coalesce(s.status, o.consent) AS consent "
            "FROM o FULL JOIN k USING (customer_id, channel) FULL JOIN s USING (customer_id, "
            "channel)"
        )
        cur.execute(
            "DELETE FROM customers WHERE customer_id IN (SELECT customer_id FROM _mirror_rows)"
        )
        cur.execute("INSERT INTO customers SELECT * FROM _mirror_rows")
        cur.execute(
            f"DELETE FROM customer_reach WHERE customer_id IN (SELECT customer_id FROM {relation})"
        )
        cur.execute(
            "INSERT INTO customer_reach SELECT customer_id, channel, has_contact, consent "
            "FROM _reach_rows"
        )
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.execute("DROP TABLE IF EXISTS _mirror_rows")
        cur.execute("DROP TABLE IF EXISTS _reach_rows")


# --- Who is who, for ingest's staged files (DuckDB temp tables on the import's cursor) --------
# ``userops.customers`` owns the warehouse's ``customers`` and ``identities``; the importer asks
# these functions instead of naming them.


def unknown_customer_ids(cur: Any, ids_sql: str) -> list[str]:
    """Ids from DuckDB query ``ids_sql`` (one column ``customer_id``) that the customer system
    knows neither as a customer nor as an alias (a user id merged into another)."""
    return [
        row[0]
        for row in cur.execute(
            f"SELECT customer_id FROM ({ids_sql}) n WHERE customer_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM customers c WHERE c.customer_id = n.customer_id) AND NOT EXISTS "
            "(SELECT 1 FROM identities i WHERE i.kind = 'user_id' AND i.value = n.customer_id)"
        ).fetchall()
    ]


def attach_event_customer(cur: Any, source: str, into: str) -> None:
    """DuckDB temp table ``into``: the rows of ``source`` (with ``user_id`` and
    ``anonymous_id``) and ``_customer``, the customer the message names: its user id (or the
    customer that id is an alias of), else the customer its anonymous id is linked to."""
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT e.*, "
        "coalesce(u.customer_id, e.user_id, a.customer_id) AS _customer FROM "
        f"{source} e LEFT JOIN identities u ON u.kind = 'user_id' AND u.value = e.user_id "
        "LEFT JOIN identities a ON a.kind = 'anonymous_id' AND a.value = e.anonymous_id"
    )


def attach_stored_attributes(cur: Any, source: str, into: str, column: str) -> None:
    """DuckDB temp table ``into``: the rows of ``source`` and ``_stored_attributes``, the
    mirrored custom attributes (JSON text) of the customer in ``column``."""
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT s.*, c.attributes::VARCHAR AS "
        f'_stored_attributes FROM {source} s LEFT JOIN customers c ON c.customer_id = s."{column}"'
    )


_RESOLVE_SQL = """
WITH RECURSIVE chain(user_id, cid, depth) AS (
    SELECT u.user_id, coalesce((SELECT i.customer_id FROM identities i
                                WHERE i.kind = 'user_id' AND i.value = u.user_id), u.user_id), 0
    FROM (SELECT DISTINCT user_id FROM {links}) u
    UNION ALL
    SELECT chain.user_id, c.merged_into, chain.depth + 1
    FROM chain JOIN customers c ON c.customer_id = chain.cid
    WHERE c.merged_into IS NOT NULL AND chain.depth < 16
)
INSERT INTO {targets} (user_id, target)
SELECT chain.user_id, chain.cid FROM chain
WHERE chain.depth = 16 OR NOT EXISTS (
    SELECT 1 FROM customers c WHERE c.customer_id = chain.cid AND c.merged_into IS NOT NULL)
"""


def link_identified(
    session: Session,
    cur: Any,
    relation: str,
    *,
    source: str,
    batch_rows: int,
) -> set[str]:
    """Identify messages of DuckDB ``relation`` (an import's valid events) linking anonymous
    ids, as set-based statements in the caller's ledger transaction (not one round trip per
    link): an anonymous id joins the customer of the *first* identify that names it (by
    timestamp, then message id) unless it is linked already; the customer is the user id's
    survivor (through aliases and merge chains, as :func:`service.resolve`); each new link is
    recorded as an identity and a merge. Returns the customers that gained a link."""
    dialect = session.connection().dialect.name
    at = _duck_text("timestamp", "datetime", dialect)
    reader = cur.sql(
        f"SELECT anonymous_id, user_id, message_id, {at} AS at FROM {relation} g "
        "WHERE type = 'identify' AND user_id IS NOT NULL AND anonymous_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.kind = 'anonymous_id' "
        "AND i.value = g.anonymous_id) QUALIFY row_number() OVER (PARTITION BY anonymous_id "
        'ORDER BY "timestamp", message_id) = 1'
    ).to_arrow_reader(batch_rows)
    links = _temp_table(
        session,
        [
            sa.Column("anonymous_id", sa.String(256), primary_key=True),
            sa.Column("user_id", sa.String(128)),
            sa.Column("message_id", sa.String(200)),
            sa.Column("at", Identity.__table__.c.linked_at.type),
        ],
    )
    targets = _temp_table(
        session,
        [
            sa.Column("user_id", sa.String(128), primary_key=True),
            sa.Column("target", sa.String(128)),
        ],
    )
    names = ["anonymous_id", "user_id", "message_id", "at"]
    try:
        loaded = 0
        try:
            for batch in reader:
                cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                load_native(session, links, names, list(zip(*cols, strict=True)))
                loaded += batch.num_rows
        finally:
            reader.close()  # a refused row must not leave DuckDB's cursor with an open result
        if not loaded:
            return set()
        connection = session.connection()
        quote = connection.dialect.identifier_preparer.quote
        connection.exec_driver_sql(
            _RESOLVE_SQL.format(links=quote(links.name), targets=quote(targets.name))
        )
        identities, merges = Identity.__table__, Merge.__table__
        fresh = (
            sa.select(
                links.c.anonymous_id,
                targets.c.target,
                links.c.message_id,
                links.c.at,
            )
            .join(targets, targets.c.user_id == links.c.user_id)
            .where(
                ~sa.exists().where(
                    identities.c.kind == "anonymous_id",
                    identities.c.value == links.c.anonymous_id,
                )
            )
        )
        new = fresh.subquery()
        session.execute(
            sa.insert(merges).from_select(
                [
                    *("from_value", "into_customer_id", "message_id", "merged_at"),
                    *("from_kind", "reason"),
                ],
                sa.select(
                    *new.c,
                    sa.literal("anonymous_id", merges.c.from_kind.type),
                    sa.literal("identify", merges.c.reason.type),
                ),
            )
        )
        new = fresh.subquery()  # evaluated again: the identities are not written yet
        linked = (
            session.execute(
                sa.insert(identities)
                .from_select(
                    ["value", "customer_id", "linked_at", "kind", "source"],
                    sa.select(
                        new.c.anonymous_id,
                        new.c.target,
                        new.c.at,
                        sa.literal("anonymous_id", identities.c.kind.type),
                        sa.literal(source, identities.c.source.type),
                    ),
                )
                .returning(identities.c.customer_id)
            )
            .scalars()
            .all()
        )
    finally:
        _drop(session, links)
        _drop(session, targets)
    return set(linked)
