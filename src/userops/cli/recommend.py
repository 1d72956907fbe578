"""``userops recommend …``: "guess you like" (猜你喜欢) lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from userops.cli import dispatch
from userops.cli.common import DataDir, Json, fail, settings_for
from userops.cli.output import StepProgress, out, print_json
from userops.core.errors import UseropsError

recommend_app = typer.Typer(
    help='"Guess you like" (猜你喜欢): ranked products per customer.', no_args_is_help=True
)


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


@recommend_app.command("train")
def train(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Learn from views, carts, favourites and purchases; store every customer's list."""
    result = _run(data_dir, "recommend.train", {}, as_json, progress=True)
    if as_json:
        print_json(result)
        return
    out.print(
        f"[bold]{result['customers']:,}[/] customers ({result['with_history']:,} with history), "
        f"{result['items']:,} products, {result['interactions']:,} interactions "
        f"in {result['seconds']} s"
    )


@recommend_app.command("show")
def show(
    customer_id: str,
    k: Annotated[int, typer.Option("--k", help="How many products")] = 10,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """One customer's ranked products."""
    result = _run(data_dir, "recommend.show", {"customer_id": customer_id, "k": k}, as_json)
    if as_json:
        print_json(result)
        return
    out.print(f"recommended category: {result['recommended_category'] or '—'}")
    for item in result["items"]:
        out.print(
            f"{item['rank']:>3}  {item['sku']:12} {item['category'] or '':6} "
            f"{item['score']:.4f}  {item['source']}"
        )


@recommend_app.command("evaluate")
def evaluate(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Time-based split: recall@10 and NDCG@10 of the model and the baselines."""
    result = _run(data_dir, "recommend.evaluate", {}, as_json)
    if as_json:
        print_json(result)
        return
    out.print(
        f"trained before {result['split_at']}; {result['test_customers']:,} customers bought after"
    )
    out.print(f"{'method':18} recall@10  NDCG@10")
    for m in result["methods"]:
        out.print(f"{m['method']:18} {m['recall_at_10']:9.4f}  {m['ndcg_at_10']:7.4f}")
    out.print(f"model / popularity (recall@10): {result['model_vs_popularity']:.2f}×")
