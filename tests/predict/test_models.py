"""BG/NBD and Gamma-Gamma: the published CDNOW results, gradients, recovery, bad input."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from userops.predict.bgnbd import BetaGeoFitter, _loglik_and_grad
from userops.predict.errors import FitFailed, InsufficientData
from userops.predict.fitting import maximise
from userops.predict.gamma_gamma import GammaGammaFitter
from userops.predict.gamma_gamma import _loglik_and_grad as gg_loglik_and_grad
from userops.predict.rfm import RFMSummary, day_number, rfm_summary
from userops.predict.simulate import simulate

# Fader, Hardie & Lee (2005) "Counting your customers the easy way", and BTYD's walkthrough
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
# Fader, Hardie & Lee (2005) "RFM and CLV: using iso-value curves for customer base analysis"
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def test_rfm_summary_follows_the_definitions() -> None:
    # given customer 1: two orders on day 0 (one transaction), day 3, day 10; customer 2 only
    # day 5; customer 3 first buys after the calibration end
    d0 = day_number(date(2024, 1, 1))
    customer = np.array([1, 1, 1, 1, 2, 3, 1, 2])
    day = np.array([d0, d0, d0 + 3, d0 + 10, d0 + 5, d0 + 20, d0 + 15, d0 + 16])
    fen = np.array([1000, 500, 2000, 4000, 700, 900, 100, 300])
    # when
    s = rfm_summary(
        customer,
        day,
        fen,
        calibration_end=date(2024, 1, 14),
        time_unit="day",
        holdout_end=date(2024, 1, 31),
    )
    # then
    assert s.customer.tolist() == [1, 2]
    assert s.frequency.tolist() == [2, 0]
    assert s.recency.tolist() == [10, 0]
    assert s.T.tolist() == [13, 8]
    assert s.monetary[0] == pytest.approx(30.0)  # (20 + 40) / 2 yuan: repeat transactions only
    assert np.isnan(s.monetary[1])
    assert s.holdout_frequency is not None
    assert s.holdout_frequency.tolist() == [1, 1]
    weeks = rfm_summary(customer, day, fen, calibration_end=date(2024, 1, 14), time_unit="week")
    assert weeks.T.tolist() == pytest.approx([13 / 7, 8 / 7])


def test_cdnow_summary_matches_the_papers_data(cdnow_sample_summary: RFMSummary) -> None:
    s = cdnow_sample_summary
    assert s.size == 2357
    assert int(s.frequency.sum()) == 2457  # repeat transactions in the 39 calibration weeks
    assert int((s.frequency > 0).sum()) == 946
    assert s.T.max() == pytest.approx(272 / 7)  # 1997-01-01 .. 1997-09-30


def test_bgnbd_reproduces_the_published_cdnow_fit(cdnow_sample_summary: RFMSummary) -> None:
    s = cdnow_sample_summary
    model = BetaGeoFitter().fit(s.frequency, s.recency, s.T)
    for name, published in PUBLISHED_BGNBD.items():
        assert model.params_[name] == pytest.approx(published, rel=0.01), name
    assert model.loglik_ == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.1)
    assert model.log_likelihood(s.frequency, s.recency, s.T).sum() == pytest.approx(model.loglik_)


def test_gamma_gamma_reproduces_the_published_cdnow_fit(cdnow_sample_summary: RFMSummary) -> None:
    s = cdnow_sample_summary
    model = GammaGammaFitter().fit(s.frequency, s.monetary)
    assert model.n_customers_ == 946
    for name, published in PUBLISHED_GG.items():
        assert model.params_[name] == pytest.approx(published, rel=0.01), name
    # E[M] of a customer is between the population mean and the own mean
    aov = model.expected_average_order_value(np.array([2.0, 0.0]), np.array([100.0, np.nan]))
    population = model.p_ * model.gamma_ / (model.q_ - 1)
    assert population < aov[0] < 100.0
    assert aov[1] == pytest.approx(population)


def test_cdnow_holdout_tracking(cdnow_sample_summary: RFMSummary) -> None:
    # given the fit on weeks 1-39, when predicting weeks 40-78
    s = cdnow_sample_summary
    model = BetaGeoFitter().fit(s.frequency, s.recency, s.T)
    predicted = model.expected_purchases(s.holdout_length, s.frequency, s.recency, s.T)
    assert s.holdout_frequency is not None
    actual = s.holdout_frequency
    # then the totals and the per-frequency means track the actual repeat transactions
    assert actual.sum() == 1882
    assert predicted.sum() == pytest.approx(1653.4, abs=0.5)
    assert abs(predicted.sum() / actual.sum() - 1) < 0.15
    means = [predicted[s.frequency == k].mean() for k in range(7)]
    assert means == sorted(means)
    for k in range(7):
        assert abs(means[k] - actual[s.frequency == k].mean()) < 0.4, k
    # cumulative (unconditional) repeat transactions at week 39 and week 78
    first_week = (s.first_day - day_number(date(1997, 1, 1))) / 7
    at = [
        model.expected_purchases_population(np.maximum(w - first_week, 0)).sum()
        for w in (272 / 7, 545 / 7)
    ]
    assert at[0] == pytest.approx(2457, rel=0.03)
    assert at[1] == pytest.approx(2457 + 1882, rel=0.05)


def test_bgnbd_predictions_behave(cdnow_sample_summary: RFMSummary) -> None:
    model = BetaGeoFitter().fit(*_frt(cdnow_sample_summary))
    # a frequent buyer who has not bought for a long time is less likely alive
    p = model.probability_alive(
        np.array([5.0, 5.0, 0.0]), np.array([30.0, 10.0, 0.0]), np.array([32.0, 32.0, 32.0])
    )
    assert p[0] > p[1] and p[2] == 1.0
    e = model.expected_purchases(np.array([10.0, 50.0]), 2.0, 20.0, 30.0)
    assert 0 < e[0] < e[1]
    again = BetaGeoFitter.from_dict(model.to_dict())
    assert again.expected_purchases(10.0, 2.0, 20.0, 30.0) == pytest.approx(
        model.expected_purchases(10.0, 2.0, 20.0, 30.0)
    )


def _frt(s: RFMSummary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return s.frequency, s.recency, s.T


def test_analytic_gradients_match_finite_differences(cdnow_sample_summary: RFMSummary) -> None:
    s = cdnow_sample_summary
    w = np.ones(s.size)
    params = np.array([0.3, 5.0, 0.9, 2.0])
    _, grad = _loglik_and_grad(params, s.frequency, s.recency, s.T, w)
    for i in range(4):
        h = np.zeros(4)
        h[i] = 1e-6 * params[i]
        up = _loglik_and_grad(params + h, s.frequency, s.recency, s.T, w)[0]
        down = _loglik_and_grad(params - h, s.frequency, s.recency, s.T, w)[0]
        assert grad[i] == pytest.approx((up - down) / (2 * h[i]), rel=1e-4)
    rep = s.frequency > 0
    gg = np.array([5.0, 3.0, 12.0])
    _, ggrad = gg_loglik_and_grad(gg, s.frequency[rep], s.monetary[rep], np.ones(rep.sum()))
    for i in range(3):
        h = np.zeros(3)
        h[i] = 1e-6 * gg[i]
        up = gg_loglik_and_grad(gg + h, s.frequency[rep], s.monetary[rep], np.ones(rep.sum()))[0]
        dn = gg_loglik_and_grad(gg - h, s.frequency[rep], s.monetary[rep], np.ones(rep.sum()))[0]
        assert ggrad[i] == pytest.approx((up - dn) / (2 * h[i]), rel=1e-4)


def test_fits_recover_the_parameters_of_simulated_customers() -> None:
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    spend = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    sim = simulate(100_000, **truth, **spend, seed=3)
    bg = BetaGeoFitter().fit(sim.frequency, sim.recency, sim.T)
    gg = GammaGammaFitter().fit(sim.frequency, sim.monetary)
    for name, value in truth.items():
        assert bg.params_[name] == pytest.approx(value, rel=0.08), name
    for name, value in spend.items():
        assert gg.params_[name] == pytest.approx(value, rel=0.08), name


def test_too_few_repeat_customers_is_refused() -> None:
    x = np.array([0.0] * 500 + [1.0] * 20)
    with pytest.raises(InsufficientData, match="at least 100 customers with a repeat"):
        BetaGeoFitter().fit(x, x * 3, np.full(x.size, 10.0))
    with pytest.raises(InsufficientData, match="Gamma-Gamma needs"):
        GammaGammaFitter().fit(x, np.where(x > 0, 10.0, np.nan))


def test_impossible_summaries_are_refused() -> None:
    with pytest.raises(InsufficientData, match="recency after T"):
        BetaGeoFitter().fit([1.0] * 200, [5.0] * 200, [3.0] * 200)


def test_gamma_gamma_counts_and_leaves_out_nonpositive_values(
    cdnow_sample_summary: RFMSummary,
) -> None:
    s = cdnow_sample_summary
    monetary = s.monetary.copy()
    rep = np.flatnonzero(s.frequency > 0)
    monetary[rep[:3]] = 0.0
    monetary[rep[3:5]] = -4.0
    model = GammaGammaFitter().fit(s.frequency, monetary)
    assert model.excluded_nonpositive_ == 5
    assert model.n_customers_ == 946 - 5
    assert model.to_dict()["excluded_nonpositive"] == 5


def test_non_convergence_says_what_was_tried() -> None:
    def nowhere(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float("nan"), np.full(x.size, np.nan)

    with pytest.raises(FitFailed) as caught:
        maximise(nowhere, [(1.0, 1.0), (2.0, 2.0)], names=("u", "v"), model="test")
    message = caught.value.message
    assert message.count("L-BFGS-B from") == 2 and "Nelder-Mead" in message
    assert caught.value.code == "predict.not_converged"
