"""Benchmark: laoke's CLV core against `lifetimes` on the same data, in the same run.

Usage (from the repository root, with the project venv)::

    .venv/bin/python bench/clv.py                      # default sizes 1e6,1e7
    .venv/bin/python bench/clv.py --sizes 1e5 --skip-lifetimes-above 1e5
    .venv/bin/python bench/clv.py --out bench/results/clv.md

`lifetimes` lives in its own venv, ``bench/.venv-lifetimes`` (created by
``bench/setup_lifetimes.sh`` on first use); it is never a project dependency. Every
measurement runs in a fresh subprocess, so peak RSS (``ru_maxrss``) is per case and
includes loading that case's arrays. Data are drawn with a seeded generator, written to
``bench/out/`` and read by both sides.

Cases: the CDNOW master cohort (23,570 customers, 39-week calibration); synthetic
BG/NBD and Pareto/NBD customers (daily grid, ages 27-39 weeks, CDNOW-like parameters)
at each size; and the transaction-log summary on ~10.5M synthetic rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
LT_VENV = HERE / ".venv-lifetimes"
CDNOW = Path(os.environ.get("LAOKE_CDNOW_DIR", REPO.parent / "shared" / "data" / "cdnow"))

BGNBD_TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PNBD_TRUTH = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


# --------------------------------------------------------------------------- workers


def _peak_rss_mb() -> float:
    """This process's resident-set high-water mark (VmHWM; reset at exec, unlike
    ``ru_maxrss``, which Linux carries over from the parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker_ours(case: str, path: str, repeat: int) -> dict:
    """Run our side of one case (project venv); median wall time of ``repeat`` runs."""
    import statistics

    import numpy as np

    from laoke.analytics.clv import fit_bgnbd, fit_pnbd, summarize_transactions

    d = np.load(path)
    times = []
    if case == "summary":
        ids, dates, amounts = d["ids"], d["dates"], d["amounts"]
        for _ in range(repeat):
            start = time.perf_counter()
            s = summarize_transactions(ids, dates, amounts, as_of=str(d["as_of"]), time_unit="day")
            times.append(time.perf_counter() - start)
        np.savez(
            path.replace(".npz", ".ours.npz"),
            ids=s.customer_id,
            frequency=s.frequency,
            recency=s.recency,
            T=s.T,
            monetary=s.monetary_value,
        )
        return {
            "seconds": statistics.median(times),
            "peak_rss_mb": _peak_rss_mb(),
            "n_customers": s.n_customers,
        }
    fitter = fit_bgnbd if case == "bgnbd" else fit_pnbd
    frequency, recency, age = d["frequency"], d["recency"], d["T"]
    for _ in range(repeat):
        start = time.perf_counter()
        fit = fitter(frequency, recency, age)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "params": fit.params.as_dict(),
        "log_likelihood": fit.log_likelihood,
        "n_rows": fit.n_rows,
    }


def worker_lifetimes(case: str, path: str) -> dict:
    """Run lifetimes' side of one case (lifetimes venv; laoke is not importable there)."""
    import numpy as np
    import pandas as pd

    d = np.load(path)
    if case == "summary":
        from lifetimes.utils import summary_data_from_transaction_data

        df = pd.DataFrame(
            {"id": d["ids"], "date": pd.to_datetime(d["dates"]), "amount": d["amounts"]}
        )
        start = time.perf_counter()
        s = summary_data_from_transaction_data(
            df,
            "id",
            "date",
            monetary_value_col="amount",
            observation_period_end=pd.Timestamp(str(d["as_of"])),
            freq="D",
        )
        seconds = time.perf_counter() - start
        s = s.sort_index()
        np.savez(
            path.replace(".npz", ".lifetimes.npz"),
            ids=s.index.to_numpy(),
            frequency=s["frequency"].to_numpy(),
            recency=s["recency"].to_numpy(),
            T=s["T"].to_numpy(),
            monetary=s["monetary_value"].to_numpy(),
        )
        return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "n_customers": len(s)}
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    model = BetaGeoFitter() if case == "bgnbd" else ParetoNBDFitter()
    start = time.perf_counter()
    model.fit(d["frequency"], d["recency"], d["T"])
    seconds = time.perf_counter() - start
    names = ["r", "alpha", "a", "b"] if case == "bgnbd" else ["r", "alpha", "s", "beta"]
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "params": {k: float(model.params_[k]) for k in names},
    }


# --------------------------------------------------------------------------- driver


def _run_worker(
    python: Path, side: str, case: str, path: Path, timeout: float, repeat: int = 1
) -> dict:
    cmd = [
        str(python),
        str(Path(__file__).resolve()),
        "--worker",
        side,
        "--case",
        case,
        "--data",
        str(path),
        "--repeat",
        str(repeat),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ensure_lifetimes() -> Path:
    python = LT_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["bash", str(HERE / "setup_lifetimes.sh")], check=True)
    return python


def _cdnow_case() -> Path:
    import numpy as np

    from laoke.analytics.clv import summarize_transactions
    from laoke.analytics.clv.transactions_file import read_transactions

    log = read_transactions(
        CDNOW / "CDNOW_master.txt",
        customer_col="customer_id",
        date_col="date",
        amount_col="dollar_value",
    )
    s = summarize_transactions(log.customer_id, log.date, as_of="1997-09-30")
    path = OUT / "cdnow_master.npz"
    np.savez(path, frequency=s.frequency, recency=s.recency, T=s.T)
    return path


def _synthetic_case(model: str, n: int, seed: int) -> Path:
    import numpy as np

    from laoke.analytics.clv.bgnbd import BgNbdParams
    from laoke.analytics.clv.pnbd import ParetoNbdParams
    from laoke.analytics.clv.simulate import cohort_ages, simulate_bgnbd, simulate_pnbd

    rng = np.random.default_rng(seed)
    age = cohort_ages(n, rng, min_age=27.0, max_age=39.0, resolution=1 / 7)
    if model == "bgnbd":
        sim = simulate_bgnbd(BgNbdParams(**BGNBD_TRUTH), age, rng, resolution=1 / 7)
    else:
        sim = simulate_pnbd(ParetoNbdParams(**PNBD_TRUTH), age, rng, resolution=1 / 7)
    path = OUT / f"{model}_{n}.npz"
    np.savez(path, frequency=sim.frequency, recency=sim.recency, T=sim.T)
    return path


def _log_case(n_rows: int, seed: int) -> Path:
    """~n_rows transactions of n_rows/5 customers over 540 days (1 + Poisson(4) rows each)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_cust = n_rows // 5
    per = 1 + rng.poisson(4.0, n_cust)
    ids = np.repeat(np.arange(1, n_cust + 1, dtype=np.int64), per)
    first = rng.integers(0, 180, n_cust)
    offsets = np.repeat(first, per) + rng.integers(0, 360, ids.shape[0])
    dates = np.datetime64("2020-01-01") + offsets.astype("timedelta64[D]")
    amounts = np.round(rng.gamma(2.0, 20.0, ids.shape[0]), 2)
    perm = rng.permutation(ids.shape[0])
    path = OUT / f"log_{ids.shape[0]}.npz"
    np.savez(
        path, ids=ids[perm], dates=dates[perm], amounts=amounts[perm], as_of=np.array("2021-06-30")
    )
    return path


def _sig4(v: float) -> str:
    return f"{v:.4g}"


def _ll_at(model: str, params: dict, path: Path) -> float:
    """Weighted log-likelihood of the case's data at ``params`` (our likelihood code)."""
    import numpy as np

    from laoke.analytics.clv import bgnbd, pnbd
    from laoke.analytics.clv.compress import compress_summary

    d = np.load(path)
    c = compress_summary(d["frequency"], d["recency"], d["T"])
    if model == "bgnbd":
        ll = bgnbd.log_likelihood(bgnbd.BgNbdParams(**params), c.x, c.t_x, c.T)
    else:
        ll = pnbd.log_likelihood(pnbd.ParetoNbdParams(**params), c.x, c.t_x, c.T)
    return float(ll @ c.weight)


def _agree(model: str, ours: dict, theirs: dict, path: Path) -> str:
    if "params" not in ours or "params" not in theirs:
        return "—"
    same = all(_sig4(ours["params"][k]) == _sig4(theirs["params"][k]) for k in ours["params"])
    worst = max(abs(ours["params"][k] / theirs["params"][k] - 1) for k in ours["params"])
    gain = ours["log_likelihood"] - _ll_at(model, theirs["params"], path)
    return f"{'yes' if same else 'no'} (max rel. diff {worst:.1e}; LL ours − theirs {gain:+.2g})"


def _summary_agreement(path: Path) -> str:
    import numpy as np

    a = np.load(str(path).replace(".npz", ".ours.npz"))
    b = np.load(str(path).replace(".npz", ".lifetimes.npz"))
    if a["ids"].shape != b["ids"].shape or not np.array_equal(a["ids"], b["ids"]):
        return "different customers"
    ok = (
        np.array_equal(a["frequency"], b["frequency"])
        and np.allclose(a["recency"], b["recency"])
        and np.allclose(a["T"], b["T"])
        and np.allclose(a["monetary"], b["monetary"])
    )
    return "identical x, t_x, T, m̄" if ok else "differs"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7", help="synthetic customer counts")
    parser.add_argument(
        "--skip-lifetimes-above",
        type=float,
        default=1e7,
        help="skip lifetimes' BG/NBD above this many customers",
    )
    parser.add_argument(
        "--skip-lifetimes-pnbd-above",
        type=float,
        default=1e6,
        help="skip lifetimes' Pareto/NBD above this many customers",
    )
    parser.add_argument(
        "--summary-rows",
        type=float,
        default=1.05e7,
        help="transactions in the summary case (0 to skip)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per worker")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="our runs per case (median reported); lifetimes runs once",
    )
    parser.add_argument(
        "--cases",
        default="cdnow,synthetic,summary",
        help="which case groups to run (comma-separated)",
    )
    parser.add_argument(
        "--models", default="bgnbd,pnbd", help="purchase models for the cdnow and synthetic cases"
    )
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--worker", choices=["ours", "lifetimes"], help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.worker == "ours":
            print(json.dumps(worker_ours(args.case, args.data, args.repeat)))
        else:
            print(json.dumps(worker_lifetimes(args.case, args.data)))
        return

    OUT.mkdir(exist_ok=True)
    lt_python = _ensure_lifetimes()
    our_python = Path(sys.executable)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    groups = {g.strip() for g in args.cases.split(",")}
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    names = {"bgnbd": "BG/NBD", "pnbd": "Pareto/NBD"}
    cases: list[tuple[str, str, Path, bool]] = []  # (label, model, data, run lifetimes)
    if "cdnow" in groups and (CDNOW / "CDNOW_master.txt").is_file():
        path = _cdnow_case()
        cases += [(f"CDNOW master 23,570 · {names[m]}", m, path, True) for m in models]
    for n in sizes if "synthetic" in groups else []:
        for m in models:
            limit = args.skip_lifetimes_above
            if m == "pnbd":
                limit = min(limit, args.skip_lifetimes_pnbd_above)
            cases.append(
                (f"synthetic {n:,} · {names[m]}", m, _synthetic_case(m, n, args.seed), n <= limit)
            )
    if "summary" in groups and args.summary_rows > 0:
        path = _log_case(int(args.summary_rows), args.seed)
        rows = int(path.stem.split("_")[1])
        cases.append((f"summary {rows:,} transactions", "summary", path, True))

    lines = [
        "| case | ours (s) | lifetimes (s) | ratio | parameters (ours / lifetimes, 4 s.f.) "
        "| agreement | our peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    print(lines[0], flush=True)
    for label, model, path, with_lt in cases:
        ours = _run_worker(our_python, "ours", model, path, args.timeout, args.repeat)
        theirs = (
            _run_worker(lt_python, "lifetimes", model, path, args.timeout)
            if with_lt
            else {"skipped": True}
        )
        o_s = ours.get("seconds", math.nan)
        t_s = theirs.get("seconds", math.nan)
        ratio = f"{t_s / o_s:.1f}×" if with_lt and "seconds" in theirs else "—"
        if model == "summary":
            params = "—"
            agree = _summary_agreement(path) if "seconds" in theirs else "—"
        else:
            op = ", ".join(f"{k} {_sig4(v)}" for k, v in ours.get("params", {}).items())
            tp = ", ".join(f"{_sig4(v)}" for v in theirs.get("params", {}).values()) or "—"
            params = f"{op} / {tp}"
            agree = _agree(model, ours, theirs, path)
        t_cell = (
            f"{t_s:.2f}"
            if "seconds" in theirs
            else "skipped"
            if theirs.get("skipped")
            else f"error: {theirs.get('error')}"
        )
        o_cell = f"{o_s:.2f}" if "seconds" in ours else f"error: {ours.get('error')}"
        line = (
            f"| {label} | {o_cell} | {t_cell} | {ratio} | {params} | {agree} "
            f"| {ours.get('peak_rss_mb', math.nan):.0f} |"
        )
        lines.append(line)
        print(line, flush=True)

    if args.out:
        header = [
            "# CLV benchmark: laoke vs lifetimes",
            "",
            f"Run {dt.date.today().isoformat()} with `python bench/clv.py "
            f"{' '.join(argv if argv is not None else sys.argv[1:])}` on "
            f"{platform.platform()}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores.",
            "",
            "**Caveat:** a shared 2-core machine; figures drift from run to run.",
            "",
            "Times are wall-clock seconds of the fit (ours includes compressing customers to",
            f"unique (x, t_x, T) rows; median of {args.repeat} runs in one process) or of the",
            "transaction summary; lifetimes 0.11.3 runs once, with its default fitter",
            "settings, in `bench/.venv-lifetimes`. Peak RSS is the resident-set high-water",
            "mark (VmHWM) of our worker process, loading its arrays included.",
            "Synthetic data: daily grid, ages 27-39 weeks, parameters BG/NBD "
            f"{BGNBD_TRUTH}, Pareto/NBD {PNBD_TRUTH}.",
            "",
        ]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(header + lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
