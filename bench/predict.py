"""CLV bench: BG/NBD + Gamma-Gamma fits by userops against ``lifetimes`` (the reference peer) on
the same data in the same run: the CDNOW master file (23,570 customers) and synthetic customers
sampled from the published CDNOW parameters (so the true values are known). With
``--cdnow-sample``, the churn models too: Pareto/NBD and MBG/NBD by userops against lifetimes'
``ParetoNBDFitter`` and ``ModifiedBetaGeoFitter`` on the CDNOW sample (2,357 customers, weeks 1-39
calibration, 40-78 holdout, as Fader & Hardie) and the master file: parameters, log-likelihood,
holdout error and fit time, beside the published values.

    python -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install -e ".[bench]"
    /tmp/bench-venv/bin/python bench/predict.py --cdnow CDNOW_master.txt \
        --cdnow-sample CDNOW_sample.txt --customers 1000000

``lifetimes`` is installed only in the bench environment (the ``bench`` extra). Each fit runs in
its own process (peak memory is its own); times are wall-clock seconds of ``fit`` alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from datetime import date, datetime
from pathlib import Path

import numpy as np

TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "gamma": 15.44}
BG = ("r", "alpha", "a", "b")
GG = ("p", "q", "gamma")
CHURN = {"pareto_nbd": ("r", "alpha", "s", "beta"), "mbgnbd": ("r", "alpha", "a", "b")}
PUBLISHED = {  # CDNOW sample: Fader & Hardie (2005) note; BTYDplus mbgnbd
    "pareto_nbd": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67, "ll": -9595.0},
    "mbgnbd": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614, "ll": float("nan")},
}


def cdnow_summary(path: Path, workdir: Path) -> Path:
    """CDNOW master → (frequency, recency, T, monetary) in weeks, calibration to 1997-09-30."""
    from userops.predict.rfm import day_number, rfm_summary

    rows = [line.split() for line in path.read_text().splitlines()[1:] if line.strip()]
    customer = np.array([int(r[0]) for r in rows])
    day = np.array([day_number(datetime.strptime(r[1], "%Y%m%d").date()) for r in rows])
    fen = np.array([round(float(r[3]) * 100) for r in rows])
    s = rfm_summary(customer, day, fen, calibration_end=date(1997, 9, 30), time_unit="week")
    out = workdir / "cdnow_master.npz"
    np.savez(out, frequency=s.frequency, recency=s.recency, T=s.T, monetary=s.monetary)
    return out


def cdnow_sample_summary(path: Path, workdir: Path) -> Path:
    """CDNOW sample (id, id, date, cds, value) → summary with the 39-week holdout."""
    from userops.predict.rfm import day_number, rfm_summary

    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    customer = np.array([int(r[0]) for r in rows])
    day = np.array([day_number(datetime.strptime(r[2], "%Y%m%d").date()) for r in rows])
    fen = np.array([round(float(r[4]) * 100) for r in rows])
    s = rfm_summary(
        customer,
        day,
        fen,
        calibration_end=date(1997, 9, 30),
        time_unit="week",
        holdout_end=date(1998, 6, 30),
    )
    out = workdir / "cdnow_sample.npz"
    np.savez(
        out,
        frequency=s.frequency,
        recency=s.recency,
        T=s.T,
        monetary=s.monetary,
        holdout=s.holdout_frequency,
        holdout_length=s.holdout_length,
    )
    return out


def synthetic(n: int, workdir: Path) -> Path:
    from userops.predict.simulate import simulate

    sim = simulate(n, **TRUE, seed=2024)
    out = workdir / f"synthetic_{n}.npz"
    np.savez(out, frequency=sim.frequency, recency=sim.recency, T=sim.T, monetary=sim.monetary)
    return out


def fit_userops(data: Path) -> dict[str, float]:
    from userops.predict.bgnbd import BetaGeoFitter
    from userops.predict.gamma_gamma import GammaGammaFitter

    d = np.load(data)
    started = time.perf_counter()
    bg = BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
    t_bg = time.perf_counter() - started
    started = time.perf_counter()
    gg = GammaGammaFitter().fit(d["frequency"], d["monetary"])
    t_gg = time.perf_counter() - started
    return {**bg.params_, **gg.params_, "bg_s": t_bg, "gg_s": t_gg, "bg_ll": bg.loglik_}


def fit_lifetimes(data: Path) -> dict[str, float]:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    warnings.simplefilter("ignore")
    d = np.load(data)
    frame = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "monetary")})
    started = time.perf_counter()
    bg = BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["T"])
    t_bg = time.perf_counter() - started
    rep = frame[(frame["frequency"] > 0) & (frame["monetary"] > 0)]  # as userops excludes
    started = time.perf_counter()
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary"])
    t_gg = time.perf_counter() - started
    p = {**{k: float(bg.params_[k]) for k in BG}, **{k: float(gg.params_[k]) for k in ("p", "q")}}
    p["gamma"] = float(gg.params_["v"])  # lifetimes calls gamma "v"
    return {
        **p,
        "bg_s": t_bg,
        "gg_s": t_gg,
        "bg_ll": float(-bg._negative_log_likelihood_ * len(frame)),
    }


def churn_userops(data: Path) -> dict[str, dict[str, float]]:
    from userops.predict.mbgnbd import ModifiedBetaGeoFitter
    from userops.predict.pareto_nbd import ParetoNBDFitter

    d = np.load(data)
    results = {}
    for key, fitter in (("pareto_nbd", ParetoNBDFitter), ("mbgnbd", ModifiedBetaGeoFitter)):
        started = time.perf_counter()
        m = fitter().fit(d["frequency"], d["recency"], d["T"])
        seconds = time.perf_counter() - started
        out = {**m.params_, "ll": m.loglik_, "s_fit": seconds}
        if "holdout" in d.files:
            predicted = m.expected_purchases(float(d["holdout_length"]), *_frt(d))
            out["holdout_mae"] = float(np.abs(predicted - d["holdout"]).mean())
            out["holdout_sum"] = float(predicted.sum())
        results[key] = out
    return results


def churn_lifetimes(data: Path) -> dict[str, dict[str, float]]:
    import pandas as pd
    from lifetimes import ModifiedBetaGeoFitter, ParetoNBDFitter

    warnings.simplefilter("ignore")
    d = np.load(data)
    frame = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")})
    results = {}
    for key, fitter in (("pareto_nbd", ParetoNBDFitter), ("mbgnbd", ModifiedBetaGeoFitter)):
        started = time.perf_counter()
        m = fitter().fit(frame["frequency"], frame["recency"], frame["T"])
        seconds = time.perf_counter() - started
        out = {k: float(m.params_[k]) for k in CHURN[key]}
        out["s_fit"] = seconds  # its _negative_log_likelihood_ is scaled differently: not shown
        if "holdout" in d.files:
            predicted = m.conditional_expected_number_of_purchases_up_to_time(
                float(d["holdout_length"]), frame["frequency"], frame["recency"], frame["T"]
            )
            out["holdout_mae"] = float(np.abs(np.asarray(predicted) - d["holdout"]).mean())
            out["holdout_sum"] = float(np.asarray(predicted).sum())
        results[key] = out
    return results


def _frt(d: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return d["frequency"], d["recency"], d["T"]  # type: ignore[index]


def report_churn(name: str, ours: dict, peer: dict | None, published: bool) -> None:
    print(f"\n## churn models: {name}")
    print("| model | by | parameters | LL | holdout MAE | holdout predicted | fit s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for key, names in CHURN.items():
        rows = [("userops", ours[key])] + ([("lifetimes", peer[key])] if peer else [])
        if published:
            rows.append(("published", PUBLISHED[key]))
        for label, r in rows:
            params = " ".join(f"{k}={r[k]:.4f}" for k in names)
            mae = f"{r['holdout_mae']:.4f}" if "holdout_mae" in r else ""
            total = f"{r['holdout_sum']:.1f}" if "holdout_sum" in r else ""
            seconds = f"{r['s_fit']:.2f}" if "s_fit" in r else ""
            ll = f"{r['ll']:.2f}" if np.isfinite(r.get("ll", np.nan)) else ""
            print(f"| {key} | {label} | {params} | {ll} | {mae} | {total} | {seconds} |")
        if peer:
            rel = max(abs(ours[key][k] - peer[key][k]) / abs(peer[key][k]) for k in names)
            speed = peer[key]["s_fit"] / ours[key]["s_fit"]
            print(f"\n{key}: largest relative difference {rel:.2e}; userops {speed:.1f}× faster\n")


def run_child(kind: str, data: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(data)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(name: str, ours: dict[str, float], peer: dict[str, float] | None, truth: bool) -> None:
    print(f"\n## {name}")
    header = "| | " + " | ".join(BG + GG) + " | BG/NBD s | Gamma-Gamma s | total s | max RSS MB |"
    print(header)
    print("|" + "---|" * (len(BG + GG) + 5))
    rows = [("userops", ours)] + ([("lifetimes", peer)] if peer else [])
    if truth:
        rows.append(("true", TRUE))
    for label, r in rows:
        cells = " | ".join(f"{r[k]:.4f}" for k in BG + GG)
        times = (
            f"{r['bg_s']:.2f} | {r['gg_s']:.2f} | {r['bg_s'] + r['gg_s']:.2f} | {r['rss_mb']:.0f}"
            if "bg_s" in r
            else " | | |"
        )
        print(f"| {label} | {cells} | {times} |")
    if peer:
        rel = max(abs(ours[k] - peer[k]) / abs(peer[k]) for k in BG + GG)
        speed = (peer["bg_s"] + peer["gg_s"]) / (ours["bg_s"] + ours["gg_s"])
        print(
            f"\nlargest relative difference userops vs lifetimes: {rel:.2e}; "
            f"userops is {speed:.1f}× faster (total fit time)"
        )
    if truth:
        rel = max(abs(ours[k] - TRUE[k]) / TRUE[k] for k in BG + GG)
        print(f"largest relative error of userops against the true parameters: {rel:.2%}")


def fit_command(data_dir: Path) -> float:
    """Wall seconds of ``userops predict fit`` as a user runs it (start-up included)."""
    cmd = [sys.executable, "-m", "userops", "predict", "fit", "--json", "--data-dir", str(data_dir)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"userops predict fit failed:\n{proc.stderr[-3000:]}")
    return seconds


def fit_phases(data_dir: Path) -> dict[str, float]:
    """``predict.service.fit`` in this process, its steps timed from its progress calls: read
    (the warehouse query and the RFM summary), fit (the four models on the summary arrays, the
    "fit time"), diagnostics + choice (holdout refit), score + store."""
    from userops.config import Settings
    from userops.hub import connect
    from userops.predict import service

    marks: list[tuple[str, int, float]] = []

    def progress(step: str, done: int, _total: int | None) -> None:
        marks.append((step, done, time.perf_counter()))

    settings = Settings(data_dir=data_dir)
    with connect(settings) as hub:
        started = time.perf_counter()
        report = service.fit(
            hub.warehouse, data_dir=data_dir, timezone=settings.timezone, progress=progress
        )
        ended = time.perf_counter()
    at = {(step, done): t for step, done, t in marks}
    return {
        "total_s": ended - started,
        "read_s": at[("fit", 0)] - started,
        "fit_s": at[("fit", 1)] - at[("fit", 0)],
        "diagnostics_s": at[("fit", 2)] - at[("fit", 1)],
        "score_store_s": ended - at[("fit", 2)],
        "customers": float(report.customers),
    }


def bench_data_dir(data_dir: Path) -> None:
    """`userops predict fit` on an imported shop against its own model-fit time."""
    command = fit_command(data_dir)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "phases", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    ph = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n### predict fit on {data_dir} ({int(ph['customers']):,} customers scored)\n")
    print("| measure | seconds |")
    print("|---|---:|")
    print(f"| `userops predict fit` (the command, start-up included) | {command:.2f} |")
    print(f"| service.fit in-process | {ph['total_s']:.2f} |")
    for key, label in (
        ("read_s", "read: warehouse query + RFM summary"),
        ("fit_s", "fit: Pareto/NBD, MBG/NBD, BG/NBD, Gamma-Gamma on the arrays"),
        ("diagnostics_s", "diagnostics: holdout refit + model choice"),
        ("score_store_s", "score + store customer_scores"),
    ):
        print(f"| {label} | {ph[key]:.2f} |")
    print(f"\ncommand / fit time: {command / ph['fit_s']:.2f}× (target ≤ 2×)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--cdnow", type=Path)
    parser.add_argument("--cdnow-sample", type=Path)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/predict-bench"))
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument("--data-dir", type=Path, help="time `predict fit` on this data dir")
    args = parser.parse_args()
    if args.child and args.child[0] == "phases":
        print(json.dumps(fit_phases(Path(args.child[1]))))
        return
    if args.data_dir:
        bench_data_dir(args.data_dir)
        return
    if args.child:
        kind, data = args.child
        children = {
            "userops": fit_userops,
            "lifetimes": fit_lifetimes,
            "churn-userops": churn_userops,
            "churn-lifetimes": churn_lifetimes,
        }
        result = children[kind](Path(data))
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    churn_sets = []
    if args.cdnow_sample:
        churn_sets.append(
            ("CDNOW sample, 2,357 customers", cdnow_sample_summary(args.cdnow_sample, args.workdir))
        )
    if args.cdnow:
        churn_sets.append(
            ("CDNOW master, 23,570 customers", cdnow_summary(args.cdnow, args.workdir))
        )
    for name, data in churn_sets:
        ours = run_child("churn-userops", data)
        peer = None if args.no_lifetimes else run_child("churn-lifetimes", data)
        report_churn(name, ours, peer, published="sample" in name)
    sets = []
    if args.cdnow:
        sets.append(
            (
                f"CDNOW master ({args.cdnow.name}), weeks, calibration to 1997-09-30",
                cdnow_summary(args.cdnow, args.workdir),
                False,
            )
        )
    sets.append(
        (
            f"{args.customers:,} synthetic customers (true = published CDNOW parameters)",
            synthetic(args.customers, args.workdir),
            True,
        )
    )
    for name, data, truth in sets:
        ours = run_child("userops", data)
        peer = None if args.no_lifetimes else run_child("lifetimes", data)
        report(name, ours, peer, truth)


if __name__ == "__main__":
    main()
