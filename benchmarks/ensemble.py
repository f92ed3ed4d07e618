"""Ensemble speed: the PySD engine against the vectorized engine, side by side.

Usage: python benchmarks/ensemble.py [--pysd-runs 10] [--vector-runs 1000] [--big 10000]

In one process: the main scenario of forecasts/kuzbass.toml for sampled parameter
sets of forecasts/kuzbass_uncertainty.toml, run one by one through PySD and all at
once through the vectorized engine; the runs both engines made are compared (1e-9
relative). Then a 10,000-run ensemble with its time and peak memory. Then the same
comparison on a subscripted model (tests/models/vec_subscripts.mdl: coal grades x export
directions), run directly through ``sd.run`` and the engine, printed as
``speedup (subscripted vec_subscripts.mdl): <ratio>x``. The last line is the Kuzbass
model's ``speedup: <per-run PySD time / per-run vectorized time>x``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this tree's sd

import sd  # noqa: E402
from sd.analysis.ensemble import ensemble
from sd.study.study import check_study, load_study
from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIPTED = ROOT / "tests" / "models" / "vec_subscripts.mdl"


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
    sub_ok = subscripted(args.pysd_runs, args.vector_runs, args.seed)
    print(f"speedup: {t_pysd / t_vec:.0f}x")
    return 0 if ok and sub_ok else 1


def subscripted(pysd_runs: int, vector_runs: int, seed: int) -> bool:
    """PySD against the vectorized engine on the subscripted test model; True if they agree."""
    from sd.engine.vectorized.core import build, flat_columns

    model = sd.load(SUBSCRIPTED)
    rng = np.random.default_rng(seed)
    # ranges for the test model's constants (assumptions of the benchmark, around its values)
    params = {
        "port congestion": rng.uniform(0.0, 1.5, vector_runs),
        "price smoothing time": rng.uniform(1.0, 6.0, vector_runs),
        "unit value": rng.uniform(2.0, 3.0, vector_runs),
        "growth": rng.uniform(-0.01, 0.05, vector_runs),
    }
    vm = build(model)
    vm.run({k: v[:2] for k, v in params.items()}, n=2)  # compile once
    t0 = time.perf_counter()
    refs = [
        sd.run(model, {k: float(v[i]) for k, v in params.items()}).wide()
        for i in range(pysd_runs)
    ]
    t_pysd = (time.perf_counter() - t0) / pysd_runs
    t0 = time.perf_counter()
    _, out = vm.run(params, n=vector_runs)
    t_vec = (time.perf_counter() - t0) / vector_runs
    cols = flat_columns(vm, out)
    rel = max(
        float(np.max(np.abs(cols[c][i] - ref[c].to_numpy()) / np.maximum(np.abs(ref[c]), 1e-12)))
        for i, ref in enumerate(refs)
        for c in ref.columns
    )
    ok = rel <= 1e-9
    shape = " x ".join(f"{d} ({len(e)})" for d, e in vm.coords("Shipped"))
    print(
        f"subscripted model: {model.path.name}, {len(model.variables)} variables over {shape}, "
        f"{len(cols)} series"
    )
    print(f"pysd engine:       {pysd_runs:6d} runs, {t_pysd * 1e3:9.2f} ms per run")
    print(f"vectorized engine: {vector_runs:6d} runs, {t_vec * 1e3:9.3f} ms per run")
    print(f"shared runs agree: {ok} (max relative difference {rel:.2e})")
    print(f"speedup (subscripted {model.path.name}): {t_pysd / t_vec:.0f}x")
    return ok


if __name__ == "__main__":
    sys.exit(main())
