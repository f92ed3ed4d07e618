"""Ensemble speed: the PySD engine against the vectorized engine, side by side.

Usage: python benchmarks/ensemble.py [--pysd-runs 10] [--vector-runs 1000] [--big 10000]

In one process: the main scenario of forecasts/kuzbass.toml for sampled parameter
sets of forecasts/kuzbass_uncertainty.toml, run one by one through PySD and all at
once through the vectorized engine; the runs both engines made are compared (1e-9
relative). Then a 10,000-run ensemble with its time and peak memory. The last line is
``speedup: <per-run PySD time / per-run vectorized time>x``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

import sd
from sd.ensemble import ensemble
from sd.study import check_study, load_study
from sd.uncertainty import check_uncertainty, draw, load_uncertainty

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pysd-runs", type=int, default=10)
    parser.add_argument("--vector-runs", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    study = load_study(ROOT / "forecasts" / "kuzbass.toml")
    model = sd.load(study.model_path)
    study = check_study(study, model)
    spec = check_uncertainty(
        load_uncertainty(ROOT / "forecasts" / "kuzbass_uncertainty.toml"), model
    )
    end = study.time.apply(model.time).final
    kw = {"scenarios": [study.base], "variables": list(study.variables)}

    sample = draw(spec, args.vector_runs, args.seed, end=end)
    small = draw(spec, args.vector_runs, args.seed, end=end)  # same draw: runs 0..k-1 shared
    small = type(small)(
        small.values.iloc[: args.pysd_runs].reset_index(drop=True),
        {k: (t, m[: args.pysd_runs]) for k, (t, m) in small.paths.items()},
        small.seed,
    )

    ensemble(study, model, draw(spec, 2, 0, end=end), engine="vectorized", **kw)  # compile once
    t0 = time.perf_counter()
    slow = ensemble(study, model, small, engine="pysd", **kw)
    t_pysd = (time.perf_counter() - t0) / args.pysd_runs
    t0 = time.perf_counter()
    fast = ensemble(study, model, sample, engine="vectorized", **kw)
    t_vec = (time.perf_counter() - t0) / args.vector_runs

    a = slow.data.sort_values(["run", "variable", "time"])["value"].to_numpy()
    shared = fast.data[fast.data["run"] < args.pysd_runs]
    b = shared.sort_values(["run", "variable", "time"])["value"].to_numpy()
    rel = np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12))
    ok = rel <= 1e-9

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MiB on Linux
    t0 = time.perf_counter()
    big = ensemble(
        study, model, draw(spec, args.big, args.seed, end=end), engine="vectorized", **kw
    )
    t_big = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"model: {model.path.name}, scenario '{study.base}', {len(model.variables)} variables, "
        f"{model.time.initial:g}-{model.time.final:g} step {model.time.step:g}, "
        f"{len(kw['variables'])} variables kept"
    )
    print(f"pysd engine:       {args.pysd_runs:6d} runs, {t_pysd * 1e3:9.2f} ms per run")
    print(f"vectorized engine: {args.vector_runs:6d} runs, {t_vec * 1e3:9.3f} ms per run")
    print(f"shared runs agree: {ok} (max relative difference {rel:.2e})")
    print(
        f"{args.big} runs: {t_big:.1f} s; process peak memory {rss:.0f} MiB "
        f"({before:.0f} MiB before them); {len(big.data)} tidy rows, "
        f"{big.data.memory_usage(deep=True).sum() / 2**20:.0f} MiB"
    )
    print(f"speedup: {t_pysd / t_vec:.0f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
