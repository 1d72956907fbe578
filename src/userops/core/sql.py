"""The one place where a name or a value is spliced into SQL text.

Prefer Ibis expressions or bound parameters. Where DuckDB or a DDL statement needs a name or a
constant inside the text (a column list of a staging table, a file path of ``read_csv``), wrap it
here: ``ident`` for identifiers, ``literal`` for string constants. Both escape by doubling the
quote character, which is the SQL standard's only escape inside quotes (no backslash escapes in
DuckDB, PostgreSQL or SQLite string literals), and refuse NUL, which no driver passes intact.
"""

from __future__ import annotations


def ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (``a"b`` → ``"a""b"``)."""
    if "\x00" in name:
        raise ValueError("an SQL identifier cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal (``it's`` → ``'it''s'``)."""
    if "\x00" in value:
        raise ValueError("an SQL string literal cannot contain NUL")
    return "'" + value.replace("'", "''") + "'"


def json_pointer(key: str) -> str:
    """The JSON pointer (RFC 6901) of the top-level key ``key``: ``/`` + the key with ``~`` and
    ``/`` escaped. DuckDB reads a pointer key by key, so any key a file holds (dots, quotes,
    brackets, ``$``) names exactly itself; pass the result through :func:`literal` or bind it."""
    return "/" + key.replace("~", "~0").replace("/", "~1")
