"""Errors of the predict domain (CLV, churn risk)."""

from __future__ import annotations

from userops.core.errors import Conflict, InvalidInput, NotFound, UseropsError


class InsufficientData(InvalidInput):
    """Too few customers (with repeat purchases) for a meaningful fit."""

    code = "predict.insufficient_data"
    status = 422


class FitFailed(UseropsError):
    """The optimiser did not converge from any of the starting points it tried."""

    code = "predict.not_converged"
    status = 422


class ModelNotFitted(Conflict):
    """Predictions were asked for before ``predict fit`` ran."""

    code = "predict.not_fitted"


class CustomerNotScored(NotFound):
    code = "predict.customer_not_found"
