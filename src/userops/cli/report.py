"""``userops report …``: retention, funnels, AARRR, channels and ROI, the magic number."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from userops.cli import dispatch
from userops.cli.common import DataDir, Json, fail, settings_for
from userops.cli.output import out, print_json
from userops.core.errors import UseropsError

report_app = typer.Typer(
    help="Measurement: retention, funnels, AARRR, channel ROI, the magic number.",
    no_args_is_help=True,
)

Period = Annotated[str, typer.Option("--period", help="day | week | month")]
Intervals = Annotated[int, typer.Option("--intervals", help="How many periods (cohorts)")]
DateTo = Annotated[
    str | None,
    typer.Option("--date-to", help="Last day, YYYY-MM-DD (default: the latest day with data)"),
]
WeekStart = Annotated[str, typer.Option("--week-start", help="monday | sunday")]
Breakdown = Annotated[
    str | None,
    typer.Option(
        "--breakdown",
        help="A profile property (signup_channel, province, …), attr:KEY or tag:FAMILY",
    ),
]


def _run(data_dir: Path | None, op: str, params: dict[str, Any], as_json: bool) -> dict[str, Any]:
    settings = settings_for(data_dir, as_json=as_json)
    try:
        return dispatch.run(settings, op, params, lambda *_: None)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        raise


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


def _matrix(title: str, cohorts: list[dict[str, Any]]) -> None:
    width = max((len(c["counts"]) for c in cohorts), default=0)
    table = Table(title=title)
    table.add_column("cohort", no_wrap=True)
    table.add_column("size", justify="right")
    for k in range(1, width):
        table.add_column(f"+{k}", justify="right")
    for c in cohorts:
        rates = c["rates"][1:] if c["size"] else [None] * (len(c["rates"]) - 1)
        partial = c.get("partial_cells") or [False] * len(c["rates"])
        cells = [_pct(r) + ("*" if p else "") for r, p in zip(rates, partial[1:], strict=False)]
        table.add_row(c["start"] + ("*" if partial[0] else ""), str(c["size"]), *cells)
    out.print(table)


@report_app.command("retention")
def retention(
    period: Period = "week",
    intervals: Intervals = 8,
    start_event: Annotated[
        str, typer.Option("--start-event", help="EVENT | signup | first_order | any")
    ] = "signup",
    return_event: Annotated[
        str, typer.Option("--return-event", help="EVENT | order | any")
    ] = "any",
    mode: Annotated[str, typer.Option("--mode", help="recurring | first_time")] = "recurring",
    cumulative: Annotated[
        bool, typer.Option("--cumulative", help="Count a return in period k or any later one")
    ] = False,
    date_to: DateTo = None,
    week_start: WeekStart = "monday",
    breakdown: Breakdown = None,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Only people in this saved segment")
    ] = None,
    min_occurrences: Annotated[
        int,
        typer.Option(
            "--min-occurrences",
            help="A return counts only with at least N return events in that period",
        ),
    ] = 1,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Cohort retention (日/周/月留存), PostHog semantics."""
    params = {
        "period": period,
        "intervals": intervals,
        "start_event": start_event,
        "return_event": return_event,
        "mode": mode,
        "cumulative": cumulative,
        "date_to": date_to,
        "week_start": week_start,
        "breakdown": breakdown,
        "segment": segment,
        "min_occurrences": min_occurrences,
    }
    result = _run(data_dir, "analytics.retention", params, as_json)
    if as_json:
        print_json(result)
        return
    if result.get("groups"):
        for group in result["groups"]:
            _matrix(f"{result['breakdown']} = {group['value']}", group["cohorts"])
    else:
        _matrix(
            f"{period} retention: {start_event} → {return_event} ({mode}"
            f"{', cumulative' if cumulative else ''})",
            result["cohorts"],
        )
    out.print(f"[dim]{result['definition']}; * = period not over yet (partial)[/]")


@report_app.command("funnel")
def funnel(
    step: Annotated[
        list[str],
        typer.Option("--step", help="EVENT or EVENT:key=value,… or order (repeat, in order)"),
    ],
    window: Annotated[str, typer.Option("--window", help="Conversion window: 7d, 12h, …")] = "7d",
    date_from: Annotated[
        str | None, typer.Option("--date-from", help="First entry day (default: 30 days back)")
    ] = None,
    date_to: DateTo = None,
    breakdown: Breakdown = None,
    dropped_at: Annotated[
        int | None,
        typer.Option("--dropped-at", help="Also list the people who dropped at step N (2..)"),
    ] = None,
    save_segment: Annotated[
        str | None,
        typer.Option("--save-segment", help="Save the people dropped at --dropped-at as a segment"),
    ] = None,
    entry: Annotated[
        str,
        typer.Option(
            "--entry",
            help="any: every step-1 event starts an attempt, the deepest counts (PostHog); "
            "first: only the first step-1 event is tried",
        ),
    ] = "any",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Ordered conversion funnel with drop-off and median / average time to convert."""
    params = {
        "steps": step,
        "window": window,
        "date_from": date_from,
        "date_to": date_to,
        "breakdown": breakdown,
        "dropped_at": dropped_at,
        "save_segment": save_segment,
        "entry": entry,
    }
    result = _run(data_dir, "analytics.funnel", params, as_json)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"funnel {result['date_from']} … {result['date_to']}")
    heads = ("step", "people", "from previous", "from first", "median time", "average time")
    for name in (*heads, "dropped"):
        table.add_column(name, justify="left" if name == "step" else "right")
    for s in result["steps"]:
        median, mean = s["median_seconds_to_convert"], s["average_seconds_to_convert"]
        table.add_row(
            s["step"],
            str(s["people"]),
            _pct(s["conversion_from_previous"]),
            _pct(s["conversion_from_first"]),
            "—" if median is None else f"{median / 3600:.1f} h",
            "—" if mean is None else f"{mean / 3600:.1f} h",
            str(s["dropped"]),
        )
    out.print(table)
    for warning in result.get("warnings") or []:
        out.print(f"[yellow]warning:[/] {warning}")
    if "dropped_people" in result:
        out.print(f"dropped at step {dropped_at}: {', '.join(result['dropped_people'])}")
    if "saved_segment" in result:
        saved = result["saved_segment"]
        out.print(f"saved as segment {saved['name']} ({saved['count']:,} customers)")


@report_app.command("aarrr")
def aarrr(
    period: Period = "week",
    intervals: Intervals = 8,
    date_to: DateTo = None,
    week_start: WeekStart = "monday",
    activation_event: Annotated[
        str, typer.Option("--activation-event", help="EVENT | order | any")
    ] = "order",
    activation_days: Annotated[int, typer.Option("--activation-days")] = 7,
    invite_event: Annotated[str, typer.Option("--invite-event")] = "share",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Acquisition, activation, retention, revenue, referral per period."""
    params = {
        "period": period,
        "intervals": intervals,
        "date_to": date_to,
        "week_start": week_start,
        "activation_event": activation_event,
        "activation_days": activation_days,
        "invite_event": invite_event,
    }
    result = _run(data_dir, "analytics.aarrr", params, as_json)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"AARRR by {period}")
    heads = (
        "period",
        "new",
        "activated",
        "W1",
        "W4",
        "next",
        "active",
        "GMV",
        "paying",
        "ARPU",
        "AOV",
        "复购率",
        "invites",
        "accepted",
        "K",
    )
    for h in heads:
        table.add_column(h, justify="right")
    for p in result["periods"]:
        table.add_row(
            p["start"] + ("*" if p["partial"] else ""),
            str(p["new_customers"]),
            _pct(p["activation_rate"]),
            _pct(p["week1_retention"]),
            _pct(p["week4_retention"]),
            _pct(p["retention_next_period"]) + ("*" if p["retention_next_period_partial"] else ""),
            str(p["active_people"]),
            _yuan(p["gmv_fen"]),
            str(p["paying_customers"]),
            _yuan(p["arpu_fen"]),
            _yuan(p["aov_fen"]),
            _pct(p["repurchase_rate"]),
            str(p["invitations"]),
            str(p["accepted_invitations"]),
            "—" if p["k_factor"] is None else f"{p['k_factor']:.3f}",
        )
    out.print(table)
    for key, text in result["definitions"].items():
        out.print(f"[dim]{key}: {text}[/]")
    out.print("[dim]* = period not over yet (partial)[/]")
    for warning in result.get("warnings") or []:
        out.print(f"[yellow]warning:[/] {warning}")


@report_app.command("channels")
def channels(
    model: Annotated[
        str, typer.Option("--model", help="signup | first_touch | last_touch")
    ] = "signup",
    period: Period = "month",
    intervals: Intervals = 6,
    date_to: DateTo = None,
    week_start: WeekStart = "monday",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Spend, CAC, revenue and ROI per channel, with significance flags."""
    params = {
        "model": model,
        "period": period,
        "intervals": intervals,
        "date_to": date_to,
        "week_start": week_start,
    }
    result = _run(data_dir, "analytics.channels", params, as_json)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"channels ({model}) {result['date_from']} … {result['date_to']}")
    for h in ("channel", "spend", "new", "CAC", "conv 30d", "", "ROI 90d", "95% CI", "", "LTV:CAC"):
        table.add_column(h, justify="right")
    for c in result["channels"]:
        ci = c["roi_90d_ci"]
        table.add_row(
            c["channel"],
            _yuan(c["spend_fen"]),
            str(c["new_customers"]),
            _yuan(c["cac_fen"]),
            _pct(c["conversion_30d"]),
            c["conversion_flag"],
            "—" if c["roi_90d"] is None else f"{c['roi_90d']:.2f}",
            "—" if ci is None else f"{ci[0]:.2f}…{ci[1]:.2f}",
            c["roi_flag"],
            "—" if c["ltv_cac"] is None else f"{c['ltv_cac']:.2f}",
        )
    out.print(table)
    out.print(f"[dim]{result['method']}[/]")


@report_app.command("magic-number")
def magic_number(
    within_days: Annotated[int, typer.Option("--within-days")] = 7,
    retained_day: Annotated[int, typer.Option("--retained-day")] = 30,
    retained_window: Annotated[
        int | None,
        typer.Option("--retained-window", help="Days of the retention window (default: day M)"),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Early behaviours that separate retained customers (a correlation)."""
    params = {
        "within_days": within_days,
        "retained_day": retained_day,
        "retained_window_days": retained_window,
    }
    result = _run(data_dir, "analytics.magic_number", params, as_json)
    if as_json:
        print_json(result)
        return
    out.print(
        f"{result['customers']} customers, {_pct(result['base_retention'])} retained at day "
        f"{retained_day}"
    )
    for b in result["behaviours"]:
        out.print(f"J={b['youden_j']:.3f}  lift {b['lift']}  {b['sentence']}")
    out.print(f"[dim]{result['note']}[/]")
