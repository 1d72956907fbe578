"""``userops predict …``: CLV, P(alive) and churn risk (Pareto/NBD, MBG/NBD or BG/NBD, chosen
per fit, + Gamma-Gamma)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from userops.cli import dispatch
from userops.cli.common import DataDir, Json, fail, settings_for
from userops.cli.output import StepProgress, out, print_json
from userops.core.errors import UseropsError

predict_app = typer.Typer(
    help="Customer lifetime value (CLV), P(alive) and churn risk.", no_args_is_help=True
)

CalibrationEnd = Annotated[
    str | None,
    typer.Option("--calibration-end", help="Last day (inclusive) of the data used, YYYY-MM-DD"),
]
TimeUnit = Annotated[
    str | None, typer.Option("--time-unit", help="day | week (default from settings: week)")
]
TITLES = {"pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD", "bgnbd": "BG/NBD"}


def _print_candidates(candidates: list[dict[str, Any]], chosen: str) -> None:
    """One line per transaction model: parameters, log-likelihood, holdout error."""
    for c in candidates:
        title = TITLES.get(c["model"], c["model"])
        mark = "[bold]*[/]" if c["model"] == chosen else " "
        if c.get("error"):
            out.print(f" {mark} {title:11} did not fit: {c['error']}")
            continue
        params = " ".join(f"{k}={v:.4f}" for k, v in c["params"].items())
        mae = "—" if c.get("holdout_mae") is None else f"{c['holdout_mae']:.4f}"
        out.print(f" {mark} {title:11} {params}  LL={c['loglik']:.1f}  holdout MAE={mae}")


def _run(
    data_dir: Path | None, op: str, params: dict[str, Any], as_json: bool, progress: bool = False
) -> dict[str, Any]:
    settings = settings_for(data_dir, as_json=as_json)
    try:
        with StepProgress(enabled=progress and not as_json) as bar:
            return dispatch.run(settings, op, params, bar)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        raise


@predict_app.command("fit")
def fit(
    calibration_end: CalibrationEnd = None,
    time_unit: TimeUnit = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Fit Pareto/NBD, MBG/NBD, BG/NBD and Gamma-Gamma, choose the churn model and score every
    customer who has paid."""
    params = {"calibration_end": calibration_end, "time_unit": time_unit}
    result = _run(data_dir, "predict.fit", params, as_json, progress=True)
    if as_json:
        print_json(result)
        return
    gg = result["gamma_gamma"]
    out.print(f"Churn model: {result['selection']}")
    _print_candidates(result["candidates"], result["model"])
    out.print(
        f"Gamma-Gamma p={gg['p']:.4f} q={gg['q']:.4f} gamma={gg['gamma']:.4f} LL={gg['loglik']:.1f}"
    )
    out.print(
        f"[bold]{result['customers']:,}[/] customers scored to {result['calibration_end']} "
        f"({result['time_unit']}s); churn risk "
        + ", ".join(f"{k} {v:,}" for k, v in result["churn_risk"].items())
    )
    if result["churn_raised_by_recency"]:
        out.print(
            f"  {result['churn_raised_by_recency']:,} raised by the recency rule (silent for "
            f"3+ usual gaps or the churned threshold; shop gap {result['shop_gap']:.1f} "
            f"{result['time_unit']}s)"
        )
    if gg["excluded_nonpositive"]:
        out.print(f"  {gg['excluded_nonpositive']} customers with values <= 0 left out of spend")


@predict_app.command("show")
def show(customer_id: str, data_dir: DataDir = None, as_json: Json = False) -> None:
    """One customer's expected orders, P(alive), expected order value, CLV and churn risk."""
    result = _run(data_dir, "predict.show", {"customer_id": customer_id}, as_json)
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        out.print(f"{key:20} {value}")


@predict_app.command("evaluate")
def evaluate(
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="YYYY-MM-DD")],
    holdout_end: Annotated[str, typer.Option("--holdout-end", help="YYYY-MM-DD")],
    time_unit: TimeUnit = "week",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Fit on the calibration period; compare predicted and actual holdout transactions."""
    params = {
        "calibration_end": calibration_end,
        "holdout_end": holdout_end,
        "time_unit": time_unit,
    }
    result = _run(data_dir, "predict.evaluate", params, as_json)
    if as_json:
        print_json(result)
        return
    out.print(f"Churn model: {result['selection']}")
    _print_candidates(result["candidates"], result["model"])
    out.print(
        f"holdout {result['calibration_end']} → {result['holdout_end']}: actual "
        f"{result['actual_holdout_transactions']:,.0f}, predicted "
        f"{result['predicted_holdout_transactions']:,.1f}; mean absolute error per customer "
        f"{result['mean_absolute_error']:.3f}"
    )
    out.print("frequency  customers  actual  predicted (mean per customer)")
    for row in result["by_frequency"]:
        out.print(
            f"{row['frequency']:>9}  {row['customers']:>9,}  {row['actual']:6.3f}  "
            f"{row['predicted']:9.3f}"
        )
