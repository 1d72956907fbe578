"""What the predict domain hands out, and its settings (``DATA_DIR/settings/predict.json``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

ChurnRisk = Literal["high", "medium", "low"]
ModelChoice = Literal["auto", "pareto_nbd", "mbgnbd", "bgnbd"]
CANDIDATES: tuple[str, ...] = ("pareto_nbd", "mbgnbd")
"""The transaction models ``model: auto`` chooses from (BG/NBD is fitted and reported beside
them, but not chosen: it gives every one-time buyer P(alive) = 1)."""


class PredictSettings(BaseModel):
    """CLV and churn-risk settings. Every field may be set in ``DATA_DIR/settings/predict.json``
    (missing fields keep these defaults)."""

    model_config = {"extra": "forbid"}

    annual_discount_rate: float = Field(default=0.10, ge=0.0, le=1.0)
    """Yearly discount rate of future margin in CLV (0.10 = 10% a year, applied monthly)."""
    margin: float = Field(default=0.30, gt=0.0, le=1.0)
    """Share of order value that is profit; CLV = margin x expected revenue, discounted."""
    clv_horizon_days: int = Field(default=365, ge=1, le=3650)
    """CLV horizon in days (12 monthly discount steps for 365)."""
    churn_high_below: float = Field(default=0.3, gt=0.0, lt=1.0)
    """P(alive) below this is churn risk ``high``."""
    churn_medium_below: float = Field(default=0.7, gt=0.0, le=1.0)
    """P(alive) below this (and not high) is ``medium``; otherwise ``low``."""
    churn_medium_silent_gaps: float = Field(default=3.0, gt=0.0, le=1000.0)
    """Silent for at least this many usual gaps: churn risk at least ``medium``
    (docs/predict.md, "Churn risk")."""
    churn_high_silent_gaps: float = Field(default=6.0, gt=0.0, le=1000.0)
    """Silent for at least this many usual gaps: churn risk ``high``."""
    churn_silent_days: int | None = Field(default=None, ge=1, le=36500)
    """Silent for at least this many days: churn risk at least ``medium``. None (the default)
    follows the customer system's ``silent_days`` (lifecycle ``churned``; 180 by default)."""
    time_unit: Literal["day", "week"] = "week"
    """Time unit of the fit when ``predict fit`` is not given one."""
    model: ModelChoice = "auto"
    """Transaction model behind P(alive), expected orders and CLV: ``auto`` chooses Pareto/NBD
    or MBG/NBD by holdout error, then log-likelihood; or name one."""

    @model_validator(mode="after")
    def _ordered(self) -> PredictSettings:
        if self.churn_high_below > self.churn_medium_below:
            raise ValueError("churn_high_below must not exceed churn_medium_below")
        if self.churn_medium_silent_gaps > self.churn_high_silent_gaps:
            raise ValueError("churn_medium_silent_gaps must not exceed churn_high_silent_gaps")
        return self


class BgNbdParams(BaseModel):
    r: float
    alpha: float
    a: float
    b: float
    loglik: float


class MbgNbdParams(BaseModel):
    r: float
    alpha: float
    a: float
    b: float
    loglik: float


class ParetoNbdParams(BaseModel):
    r: float
    alpha: float
    s: float
    beta: float
    loglik: float


class Candidate(BaseModel):
    """One transaction model fitted in the same run, and how it did."""

    model: str
    """``pareto_nbd``, ``mbgnbd`` or ``bgnbd``."""
    params: dict[str, float]
    loglik: float | None
    """Log-likelihood on the calibration data (all candidates have four parameters)."""
    eligible: bool
    """Whether ``model: auto`` may choose it (BG/NBD may not)."""
    holdout_mae: float | None = None
    """Mean absolute error per customer of the holdout check (None when there is none)."""
    holdout_predicted: float | None = None
    """Predicted repeat transactions in the holdout (the actual total is in the check)."""
    error: str | None = None
    """Why the model could not be fitted (it is then not chosen)."""


class GammaGammaParams(BaseModel):
    p: float
    q: float
    gamma: float
    loglik: float
    excluded_nonpositive: int = 0
    """Repeat customers left out because their mean repeat value was zero or negative."""


class FitReport(BaseModel):
    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    customers: int
    """Customers scored (those with a paid order up to the calibration end)."""
    repeat_customers: int
    calibration_end: date
    time_unit: str
    model_version: str
    churn_risk: dict[str, int]
    computed_at: datetime
    model: str = "bgnbd"
    """The transaction model behind P(alive), expected orders and CLV."""
    selection: str = ""
    """How it was chosen (rule and the figures that decided)."""
    candidates: list[Candidate] = []
    mbgnbd: MbgNbdParams | None = None
    pareto_nbd: ParetoNbdParams | None = None
    churn_raised_by_recency: int = 0
    """Customers whose churn risk the recency rule raised above what P(alive) gave."""
    shop_gap: float | None = None
    """The shop's usual gap between purchases (median over repeat buyers), in ``time_unit``."""


class CustomerScore(BaseModel):
    customer_id: str
    expected_orders_30: float
    expected_orders_90: float
    expected_orders_365: float
    p_alive: float
    expected_aov_fen: int
    clv_fen: int
    churn_risk: ChurnRisk
    model_version: str
    computed_at: datetime


class FrequencyRow(BaseModel):
    frequency: str
    """Calibration repeat transactions: "0" … "6", "7+"."""
    customers: int
    actual: float
    predicted: float


class TrackingPoint(BaseModel):
    period: int
    """Time units since the earliest first purchase (1 = the end of the first unit)."""
    end: date
    actual: float
    predicted: float


class Evaluation(BaseModel):
    calibration_end: date
    holdout_end: date
    time_unit: str
    customers: int
    bgnbd: BgNbdParams
    actual_holdout_transactions: float
    predicted_holdout_transactions: float
    mean_absolute_error: float
    """Mean over customers of |predicted - actual| holdout repeat transactions."""
    by_frequency: list[FrequencyRow]
    cumulative: list[TrackingPoint]
    """Cumulative repeat transactions, actual and expected (unconditional), per time unit over
    calibration and holdout."""
    model: str = "bgnbd"
    """The model the predictions above come from (the chosen one)."""
    selection: str = ""
    candidates: list[Candidate] = []
    """Every transaction model fitted on the calibration period, with its holdout error."""


class ClvBucket(BaseModel):
    lower_fen: int
    upper_fen: int | None
    customers: int


class RiskByStage(BaseModel):
    lifecycle: str
    high: int
    medium: int
    low: int


class Dashboard(BaseModel):
    fitted: bool
    report: dict[str, object] | None
    customers: int
    total_clv_fen: int
    clv_buckets: list[ClvBucket]
    top: list[CustomerScore]
    risk_by_stage: list[RiskByStage]
    diagnostics: dict[str, object] | None = None
    """The holdout check stored by the last fit (an :class:`Evaluation` or ``{"error"}``)."""
