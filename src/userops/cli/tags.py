"""``userops tags …`` and ``userops segment …``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from userops.cli import dispatch
from userops.cli.common import DataDir, Json, fail, settings_for
from userops.cli.output import StepProgress, out, print_json
from userops.core.errors import UseropsError

tags_app = typer.Typer(
    help="The customer system (客户体系): computed and manual tags.", no_args_is_help=True
)
segment_app = typer.Typer(help="Segments (分群): saved rules over customers.", no_args_is_help=True)


def _run(
    data_dir: Path | None, op: str, params: dict[str, Any], as_json: bool, progress: bool = False
) -> dict[str, Any]:
    settings = settings_for(data_dir, as_json=as_json)
    try:
        with StepProgress(enabled=progress and not as_json) as bar:
            return dispatch.run(settings, op, params, bar)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        raise  # fail() exits; this keeps type checkers content


@tags_app.command("refresh")
def refresh(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Compute as of midnight of this day (shop timezone); default now"
        ),
    ] = None,
    backfill: Annotated[
        bool,
        typer.Option(
            "--backfill",
            help="Allow an --as-of day more than 24 hours ago: the current tags are replaced "
            "by those of that day",
        ),
    ] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Recompute every tag for every customer, snapshot them, and record segment sizes."""
    params = {"as_of": as_of, "backfill": backfill}
    result = _run(data_dir, "tags.refresh", params, as_json, progress=True)
    if as_json:
        print_json({k: result[k] for k in ("as_of", "customers", "counts", "segments")})
        return
    out.print(
        f"[bold]{result['customers']:,}[/] customers as of {result['as_of']} "
        f"({result['seconds']} s)"
    )
    for family, counts in result["counts"].items():
        out.print(f"  {family:16} " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    for name, size in result["segments"].items():
        out.print(f"  segment {name}: {size['size']:,} (+{size['entered']:,} −{size['left']:,})")


@tags_app.command("show")
def show(customer_id: str, data_dir: DataDir = None, as_json: Json = False) -> None:
    """One customer's tags, RFM values and scores."""
    result = _run(data_dir, "tags.show", {"customer_id": customer_id}, as_json)
    if as_json:
        print_json(result)
        return
    table = Table("family", "tags")
    for family, values in result["tags"].items():
        table.add_row(family, ", ".join(values))
    out.print(table)
    out.print({k: v for k, v in result["values"].items() if v is not None})


@tags_app.command("transitions")
def transitions(
    family: Annotated[str, typer.Option(help="lifecycle, rfm_cn, rfm_segment, …")] = "lifecycle",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """How customers moved between values since the previous refresh."""
    result = _run(data_dir, "tags.transitions", {"family": family}, as_json)
    if as_json:
        print_json(result)
        return
    for move in result["moves"]:
        out.print(f"{move['customers']:>8,}  {move['from']} → {move['to']}")


def _ids(customer_ids: list[str] | None, from_csv: Path | None) -> list[str]:
    ids = list(customer_ids or [])
    if from_csv:
        with open(from_csv, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "customer_id" not in reader.fieldnames:
                raise UseropsError(f"{from_csv.name} needs a customer_id column", field="csv")
            ids += [row["customer_id"].strip() for row in reader if row["customer_id"].strip()]
    if not ids:
        raise UseropsError("name customers (arguments) or --csv FILE", field="customer_id")
    return ids


CustomerIds = Annotated[list[str] | None, typer.Argument()]
FromCsv = Annotated[Path | None, typer.Option("--csv", help="CSV with customer_id")]


def _manual(
    tag: str,
    customer_ids: list[str] | None,
    from_csv: Path | None,
    data_dir: Path | None,
    as_json: bool,
    *,
    remove: bool,
) -> None:
    try:
        ids = _ids(customer_ids, from_csv)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    params = {"tag": tag, "customer_ids": ids, "remove": remove}
    result = _run(data_dir, "tags.manual", params, as_json)
    if as_json:
        print_json(result)
    elif remove:
        out.print(f"{result['removed']} customers untagged")
    else:
        out.print(f"{result['added']} customers tagged {tag}")


@tags_app.command("add")
def add(
    tag: str,
    customer_ids: CustomerIds = None,
    from_csv: FromCsv = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Add a manual tag to customers (ids, or a CSV with a customer_id column)."""
    _manual(tag, customer_ids, from_csv, data_dir, as_json, remove=False)


@tags_app.command("remove")
def remove(
    tag: str,
    customer_ids: CustomerIds = None,
    from_csv: FromCsv = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Remove a manual tag from customers."""
    _manual(tag, customer_ids, from_csv, data_dir, as_json, remove=True)


def _read_rule(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UseropsError(f"cannot read the rule file {path}: {exc}", field="rule") from exc


@segment_app.command("create")
def segment_create(
    name: str,
    rule: Annotated[Path, typer.Option("--rule", help="JSON rule file (docs/segments.md)")],
    description: Annotated[str | None, typer.Option(help="What the segment is for")] = None,
    replace: Annotated[bool, typer.Option(help="Replace the rule of an existing segment")] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Save a segment."""
    try:
        parsed = _read_rule(rule)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    result = _run(
        data_dir,
        "segment.create",
        {"name": name, "rule": parsed, "description": description, "replace": replace},
        as_json,
    )
    print_json(result) if as_json else out.print(
        f"segment {name} saved: {result['count']:,} customers now"
    )


@segment_app.command("list")
def segment_list(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Saved segments."""
    result = _run(data_dir, "segment.list", {}, as_json)
    if as_json:
        print_json(result)
        return
    for s in result["segments"]:
        out.print(f"{s['name']:24} {s.get('description') or ''}")


@segment_app.command("show")
def segment_show(name: str, data_dir: DataDir = None, as_json: Json = False) -> None:
    """A segment's rule and its size at every refresh."""
    result = _run(data_dir, "segment.show", {"name": name}, as_json)
    if as_json:
        print_json(result)
        return
    out.print_json(data=result["rule"])
    for point in result["history"]:
        out.print(
            f"{point['as_of']}  {point['size']:>10,}  +{point['entered']:,} −{point['left']:,}"
        )


@segment_app.command("preview")
def segment_preview(
    name: Annotated[str | None, typer.Argument(help="A saved segment")] = None,
    rule: Annotated[Path | None, typer.Option("--rule", help="Or a JSON rule file")] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Count and sample of who matches now."""
    try:
        if (name is None) == (rule is None):
            raise UseropsError("give a segment NAME or --rule FILE (one of them)", field="rule")
        params: dict[str, Any] = {"name": name} if name else {"rule": _read_rule(rule)}  # type: ignore[arg-type]
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    result = _run(data_dir, "segment.preview", params, as_json)
    if as_json:
        print_json(result)
    else:
        out.print(f"{result['count']:,} customers; e.g. {', '.join(result['sample'])}")


@segment_app.command("export")
def segment_export(
    name: str,
    out_file: Annotated[Path, typer.Option("--out", help="FILE.csv or FILE.parquet")],
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Write the segment's customer ids to a file."""
    result = _run(
        data_dir,
        "segment.export",
        {"name": name, "out": str(out_file.expanduser().resolve())},
        as_json,
    )
    print_json(result) if as_json else out.print(f"{result['rows']:,} ids → {result['file']}")


@segment_app.command("delete")
def segment_delete(name: str, data_dir: DataDir = None, as_json: Json = False) -> None:
    """Delete a saved segment (its recorded history stays)."""
    result = _run(data_dir, "segment.delete", {"name": name}, as_json)
    print_json(result) if as_json else out.print(f"deleted {name}")
