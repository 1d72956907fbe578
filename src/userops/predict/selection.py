"""Fit the transaction models side by side and choose the one behind P(alive) and CLV.

The rule (docs/predict.md, "Which model"): among the eligible models (Pareto/NBD, MBG/NBD) that
fitted, the lowest holdout error (mean absolute error per customer of the holdout check) wins,
because predicting a period the model has not seen is what the scores are used for; without a
holdout check (a short data window), the highest log-likelihood wins — all candidates have four
parameters, so this is also the AIC and BIC order. BG/NBD is fitted and reported beside them
but never chosen by ``auto``: it gives every one-time buyer P(alive) = 1. A model named in the
settings is used as long as it fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from userops.predict.bgnbd import BetaGeoFitter
from userops.predict.counting import TransactionModel
from userops.predict.errors import FitFailed, InsufficientData
from userops.predict.mbgnbd import ModifiedBetaGeoFitter
from userops.predict.pareto_nbd import ParetoNBDFitter
from userops.predict.rfm import RFMSummary
from userops.predict.schemas import CANDIDATES, Candidate

FITTERS: dict[str, type] = {
    "pareto_nbd": ParetoNBDFitter,
    "mbgnbd": ModifiedBetaGeoFitter,
    "bgnbd": BetaGeoFitter,
}
TITLES = {"pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD", "bgnbd": "BG/NBD"}


class Choice(NamedTuple):
    model: str
    reason: str
    """The rule and the figures that decided, in words."""
    basis: Literal["holdout", "loglik", "setting"]


@dataclass
class Fitted:
    """The models that fitted, and why the others did not."""

    models: dict[str, TransactionModel]
    errors: dict[str, str]


def fit_all(summary: RFMSummary) -> Fitted:
    """Every model on the same summary. Too little data stops everything (the same check for
    all); a model that does not converge is left out with its reason."""
    models: dict[str, TransactionModel] = {}
    errors: dict[str, str] = {}
    for key, fitter in FITTERS.items():
        try:
            models[key] = fitter().fit(summary.frequency, summary.recency, summary.T)
        except InsufficientData:
            raise
        except FitFailed as exc:
            errors[key] = exc.message
    return Fitted(models, errors)


def choose(
    fitted: Fitted, holdout_mae: Mapping[str, float] | None, setting: str = "auto"
) -> Choice:
    """The model to use, and why."""
    if setting != "auto":
        if setting in fitted.models:
            return Choice(setting, f"{TITLES[setting]}: named in the predict settings", "setting")
        raise FitFailed(
            f"the {TITLES[setting]} model named in the predict settings did not fit: "
            f"{fitted.errors.get(setting, 'unknown error')}",
            field="model",
        )
    eligible = [k for k in CANDIDATES if k in fitted.models]
    if not eligible:
        tried = "; ".join(f"{TITLES[k]}: {fitted.errors.get(k, '')}" for k in CANDIDATES)
        raise FitFailed(f"no churn model could be fitted. {tried}", field="model")
    lls = {k: fitted.models[k].loglik_ for k in eligible}
    if holdout_mae and all(np.isfinite(holdout_mae.get(k, np.nan)) for k in eligible):
        best = min(eligible, key=lambda k: (holdout_mae[k], -lls[k]))
        figures = ", ".join(f"{TITLES[k]} {holdout_mae[k]:.4f}" for k in eligible)
        return Choice(
            best, f"{TITLES[best]}: lowest holdout error per customer ({figures})", "holdout"
        )
    best = max(eligible, key=lambda k: lls[k])
    figures = ", ".join(f"{TITLES[k]} {lls[k]:.1f}" for k in eligible)
    reason = f"{TITLES[best]}: highest log-likelihood, no holdout check ({figures})"
    return Choice(best, reason, "loglik")


def candidates(
    fitted: Fitted,
    holdout_mae: Mapping[str, float] | None = None,
    holdout_predicted: Mapping[str, float] | None = None,
) -> list[Candidate]:
    rows = []
    for key in FITTERS:
        model = fitted.models.get(key)
        rows.append(
            Candidate(
                model=key,
                params=model.params_ if model else {},
                loglik=model.loglik_ if model else None,
                eligible=key in CANDIDATES,
                holdout_mae=(holdout_mae or {}).get(key),
                holdout_predicted=(holdout_predicted or {}).get(key),
                error=fitted.errors.get(key),
            )
        )
    return rows
