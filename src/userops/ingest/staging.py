"""Reading a file into DuckDB and checking each row there: the SQL of the importers.

A file is staged as text columns plus ``_rec`` (its record number); each column then gets a typed
expression and a reason expression, so that one pass over the data types every row and says why
a row is refused. Nothing here loops over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from userops.catalog import paths
from userops.core.errors import InvalidInput
from userops.core.names import ATTRIBUTE_RULE, is_attribute_name
from userops.core.sql import ident, json_pointer, literal
from userops.ingest.specs import Column, EntitySpec

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in {"csv", "parquet", "jsonl"}:
            raise InvalidInput(
                f"unknown format {given!r}; known: csv, parquet, jsonl", field="format"
            )
        return given
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"cannot tell the format of {path.name}; use --format csv|parquet|jsonl",
            field="format",
        )
    return fmt


@dataclass
class Staged:
    table: str
    columns: list[str]  # target names present in the file (after mapping)
    extras: list[str]  # custom attribute columns (target names, prefix kept)
    rows: int
    structural_rejects: int  # CSV lines that could not be split into the header's columns
    line_offset: int  # file line of record 1 (2 with a CSV header)


def stage(
    cur: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    path: Path,
    fmt: str,
    mapping: dict[str, str],
) -> Staged:
    """Load the file into table ``_stage`` with ``_rec`` and one text column per known column."""
    for temp in ("_stage", "_stage_rejects", "_raw", "_lines", "_jrec", "_gaps"):
        cur.execute(f"DROP TABLE IF EXISTS {temp}")
    src = literal(str(path))
    line_offset = 1
    structural = 0
    if fmt == "csv":
        delim = "\\t" if path.suffix.lower() == ".tsv" else ","
        relation = (
            f"read_csv({src}, all_varchar=true, header=true, delim='{delim}', "
            "store_rejects=true, rejects_table='_csv_rejects', rejects_scan='_csv_scan', "
            "strict_mode=true, null_padding=false)"
        )
        cur.execute(f"CREATE TEMP TABLE _raw AS SELECT * FROM {relation}")
        raw_columns = [d[0] for d in cur.execute("SELECT * FROM _raw LIMIT 0").description]
        cur.execute(
            "CREATE TEMP TABLE _stage_rejects AS SELECT line, arg_min(error_message, column_idx)"
            " || ': ' || any_value(csv_line) AS reason, any_value(csv_line) AS csv_line "
            "FROM _csv_rejects GROUP BY line"
        )
        structural = _one(cur, "SELECT count(*) FROM _stage_rejects")
        line_offset = 2
        select_from = "_raw"
    elif fmt == "parquet":
        cur.execute(
            f"CREATE OR REPLACE TEMP VIEW _rawv AS SELECT * FROM read_parquet({src}, "
            "file_row_number=true)"
        )
        raw_columns = [
            d[0]
            for d in cur.execute("SELECT * FROM _rawv LIMIT 0").description
            if d[0] != "file_row_number"
        ]
        select_from = "_rawv"
    else:
        cur.execute(
            f"CREATE TEMP TABLE _lines AS SELECT _line FROM read_csv({src}, "
            "columns={'_line': 'VARCHAR'}, header=false, delim='\\x01', quote='', escape='', "
            "auto_detect=false, strict_mode=false)"
        )
        cur.execute(
            "CREATE TEMP TABLE _jrec AS SELECT *, CASE WHEN _ok THEN _line END AS _j FROM "
            "(SELECT row_number() OVER () AS _rec, _line, CASE WHEN json_valid(_line) THEN "
            "json_type(_line) = 'OBJECT' ELSE false END AS _ok FROM _lines)"
        )
        keys = cur.execute(
            "SELECT DISTINCT unnest(json_keys(_j)) FROM _jrec WHERE _j IS NOT NULL"
        ).fetchall()
        raw_columns = [k[0] for k in keys]
        select_from = "_jrec"

    present, extras = resolve_columns(spec, raw_columns, mapping, fmt, path.name)

    parts = []
    for target, raw in present.items():
        column = next((c for c in spec.columns if c.name == target), None)
        if fmt == "jsonl":
            if (column is not None and column.kind in {"json"}) or (
                column is not None and column.kind == "list"
            ):
                expr = f"json_extract(_j, {literal(json_pointer(raw))})::VARCHAR"
            else:
                expr = f"json_extract_string(_j, {literal(json_pointer(raw))})"
        elif fmt == "parquet" and column is not None and column.kind in {"ts", "list", "date"}:
            expr = ident(raw)  # keep typed values; the checks below cast as needed
        else:
            expr = f"{ident(raw)}::VARCHAR"
        parts.append(f"{expr} AS {ident(target)}")
    if fmt == "jsonl":
        parts.append("_line")
        parts.append("_ok")
        rec = "_rec"
    elif fmt == "parquet":
        rec = "file_row_number + 1"
    else:
        rec = "row_number() OVER ()"
    body = ", ".join(parts) if parts else "NULL AS _nothing"
    cur.execute(f"CREATE TEMP TABLE _stage AS SELECT {rec} AS _rec, {body} FROM {select_from}")
    cur.execute("DROP VIEW IF EXISTS _rawv")
    cur.execute("DROP TABLE IF EXISTS _raw")
    cur.execute("DROP TABLE IF EXISTS _lines")
    rows = _one(cur, "SELECT count(*) FROM _stage")
    if fmt == "csv" and structural:
        # A record's line: skip the lines DuckDB refused before it (one line per record).
        cur.execute(
            "CREATE TEMP TABLE _gaps AS SELECT line - 2 - (row_number() OVER (ORDER BY line) - 1)"
            " AS good_before FROM _stage_rejects"
        )
        cur.execute(
            "UPDATE _stage SET _rec = _rec + (SELECT count(*) FROM _gaps WHERE good_before < "
            "_stage._rec)"
        )
    return Staged(
        table="_stage",
        columns=[t for t in present if t not in extras],
        extras=extras,
        rows=rows,
        structural_rejects=structural,
        line_offset=line_offset,
    )


def resolve_columns(
    spec: EntitySpec, raw_columns: list[str], mapping: dict[str, str], fmt: str, file_name: str
) -> tuple[dict[str, str], list[str]]:
    """Which file column feeds which target column: ({target: raw}, custom attribute targets).

    A file's own names are only ever quoted (``core.sql``), so any header is safe to *read*;
    a name that becomes a custom attribute is also a JSON key of the profile and a name in
    segment rules, so it must match the attribute pattern (``core.names``). Refused here, before
    any row is read: a ``--map`` naming a missing column, a ``--map`` target that is no column
    of the entity, two columns feeding one target, unknown columns and bad attribute names."""
    for source in mapping:
        if source not in raw_columns:
            raise InvalidInput(
                f"--map names column {source!r}, which {file_name} does not have; "
                f"its columns: {', '.join(map(repr, raw_columns))}",
                field="map",
            )
    known = set(spec.names)
    prefix = spec.extra_prefix
    present: dict[str, str] = {}  # target -> raw
    extras: list[str] = []
    unknown: list[str] = []
    for raw in raw_columns:
        mapped = raw in mapping
        target = mapping.get(raw, spec.json_aliases.get(raw, raw) if fmt == "jsonl" else raw)
        is_extra = bool(prefix) and target not in known and target.startswith(prefix or "")
        if target not in known and not is_extra:
            if mapped:
                raise InvalidInput(
                    f"--map {raw}={target}: {target!r} is not a column of {spec.name}; known "
                    f"columns: {', '.join(spec.names)}{_attr_hint(spec)}",
                    field="map",
                )
            if fmt != "jsonl" or spec.name != "events":  # other keys of a Segment message
                unknown.append(raw)
            continue
        if is_extra and not is_attribute_name(target[len(prefix or "") :]):
            where = f"--map {raw}={target}" if mapped else f"column {raw!r} of {file_name}"
            raise InvalidInput(
                f"{where}: {target!r} is not a valid custom attribute name; after "
                f"{prefix!r} a name takes {ATTRIBUTE_RULE}",
                field="map" if mapped else "columns",
            )
        if target in present:
            raise InvalidInput(
                f"columns {present[target]!r} and {raw!r} of {file_name} both become "
                f"{target!r}; keep one (or --map one of them elsewhere)",
                field="map" if mapping else "columns",
            )
        present[target] = raw
        if is_extra:
            extras.append(target)
    if unknown:
        raise InvalidInput(
            f"unknown column(s) {', '.join(map(repr, unknown))} in {file_name}; known columns "
            f"for {spec.name}: {', '.join(spec.names)}{_attr_hint(spec)}; rename with "
            "--map SOURCE=TARGET",
            field="columns",
        )
    return present, extras


def _attr_hint(spec: EntitySpec) -> str:
    prefix = spec.extra_prefix
    return f" (or {prefix}<name> for custom attributes)" if prefix else ""


def _one(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = cur.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _is_text(stage_types: dict[str, str], name: str) -> bool:
    return stage_types.get(name, "VARCHAR") == "VARCHAR"


URL_PATTERN = r"https?://[A-Za-z0-9.\-\[\]:]+(?:[/?#][^\s\x00-\x1f\x7f]*)?"
"""What an image URL may be: http or https, a host (name, IPv4, [IPv6], port), then a path
without spaces or control characters. ``user:password@`` is refused (no ``@`` in the host)."""


def _too_long(column: Column, raw: str) -> str | None:
    if column.max_length is None:
        return None
    return (
        f"CASE WHEN length({raw}) > {column.max_length} THEN "
        f"{literal(f'{column.name}: longer than {column.max_length} characters')} END"
    )


def typed_expr(column: Column, stage_types: dict[str, str]) -> tuple[str, str | None]:
    """(typed expression, reason expression or None) for one present column."""
    c = ident(column.name)
    raw = f"nullif(trim({c}), '')" if _is_text(stage_types, column.name) else c
    bad = literal(f"{column.name}: ")
    kind = column.kind
    if kind == "text":
        return raw, _too_long(column, raw)
    if kind == "url":
        # An absolute http(s) URL: a host, no credentials, no spaces or control characters.
        ok = f"regexp_full_match({raw}, {literal(URL_PATTERN)})"
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND NOT {ok} THEN {bad} || 'not an http(s) URL "
            f"with a host (no spaces, no user:password@)' END"
        )
        too_long = _too_long(column, raw)
        return raw, f"coalesce({too_long}, {reason})" if too_long else reason
    if kind == "yuan":
        # Yuan with at most two decimals, converted exactly (DECIMAL, never float) to fen.
        text = f"replace(replace(trim({raw}::VARCHAR), ',', ''), '¥', '')"
        ok = f"regexp_full_match({text}, '[+]?[0-9]{{1,13}}(\\.[0-9]{{1,2}})?')"
        typed = f"CASE WHEN {ok} THEN CAST(CAST({text} AS DECIMAL(18, 2)) * 100 AS BIGINT) END"
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {bad} || 'not an amount in "
            f"yuan ≥ 0 with at most 2 decimals: ' || {raw}::VARCHAR END"
        )
        return typed, reason
    if kind == "category":
        levels = paths.normalize_sql(raw)
        sep = literal(paths.SEPARATOR)
        typed = f"CASE WHEN {raw} IS NOT NULL THEN array_to_string({levels}, {sep}) END"
        reason = f"CASE WHEN {raw} IS NOT NULL THEN {paths.reason_sql(levels, column.name)} END"
        return typed, reason
    if kind in {"int", "posint"}:
        # Whole numbers only: DuckDB would round '9.9' to 10, and money must not be guessed.
        whole = f"regexp_full_match(trim({raw}::VARCHAR), '[+-]?[0-9]+')"
        typed = f"CASE WHEN {whole} THEN try_cast(trim({raw}::VARCHAR) AS BIGINT) END"
        low = 1 if kind == "posint" else 0
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {bad} || 'not an integer: ' "
            f"|| {raw}::VARCHAR WHEN {typed} < {low} THEN {bad} || 'must be ≥ {low}, got ' || "
            f"{typed}::VARCHAR END"
        )
        return typed, reason
    if kind == "ts":
        typed = f"try_cast({raw} AS TIMESTAMPTZ)"
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {bad} || "
            f"'not a timestamp: ' || {raw}::VARCHAR END"
        )
        return typed, reason
    if kind == "date":
        typed = f"try_cast({raw} AS DATE)"
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {bad} || "
            f"'not a date (YYYY-MM-DD): ' || {raw}::VARCHAR END"
        )
        return typed, reason
    if kind == "list":
        if not _is_text(stage_types, column.name):
            return f"{c}::VARCHAR[]", None
        # CSV: a|b|c ; JSONL: a JSON array
        typed = (
            f"CASE WHEN {raw} IS NULL THEN NULL WHEN starts_with({raw}, '[') AND json_valid({raw})"
            f" THEN from_json({raw}, '[\"VARCHAR\"]') ELSE list_filter(list_transform("
            f"string_split({raw}, '|'), lambda x: trim(x)), lambda x: x <> '') END"
        )
        return typed, None
    if kind == "json":
        typed = f"CASE WHEN json_valid({raw}) THEN json({raw}) END"
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND NOT json_valid({raw}) THEN {bad} || "
            "'not valid JSON' "
            f"WHEN {raw} IS NOT NULL AND json_type({raw}) <> 'OBJECT' THEN {bad} || "
            "'must be a JSON object' END"
        )
        return typed, reason
    if kind == "enum":
        choices = ", ".join(literal(v) for v in column.choices)
        typed = f"lower({raw})"
        if column.aliases:
            whens = " ".join(f"WHEN {literal(a)} THEN {literal(t)}" for a, t in column.aliases)
            typed = f"CASE lower({raw}) {whens} ELSE lower({raw}) END"
            choices += ", " + ", ".join(literal(a) for a, _ in column.aliases)
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND lower({raw}) NOT IN ({choices}) THEN {bad} || "
            f"'must be one of {'/'.join(column.choices)}, got ' || {raw} END"
        )
        return typed, reason
    if kind == "gender":
        typed = (
            f"CASE lower({raw}) WHEN 'male' THEN 'male' WHEN 'm' THEN 'male' WHEN '男' THEN "
            f"'male' WHEN 'female' THEN 'female' WHEN 'f' THEN 'female' WHEN '女' THEN 'female' "
            f"WHEN 'unknown' THEN 'unknown' END"
        )
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND ({typed}) IS NULL THEN {bad} || "
            f"'must be male/female/unknown, got ' || {raw} END"
        )
        return typed, reason
    if kind == "tz":
        reason = (
            f"CASE WHEN {raw} IS NOT NULL AND {raw} NOT IN (SELECT name FROM pg_timezone_names())"
            f" THEN {bad} || 'unknown timezone ' || {raw} END"
        )
        return raw, reason
    raise ValueError(f"unknown column kind {kind}")
