"""One end-to-end single run against Simlin's, side by side in one process.

Usage: python benchmarks/single_run.py [MODEL.mdl ...] [--repeat N]

For each model (default: the Kuzbass model and a synthetic model of World3's size that
``benchmarks/world3_size.py`` writes into a temporary folder: 261 variables, 30 stocks, 35
lookups, SMOOTH/SMOOTH3/DELAY1/DELAY3, 1900-2100 step 0.5; no World3-size model ships with
../shared), prints the median of N repetitions of:
  * ``sd.load`` from a warm translation cache;
  * ``sd.run`` (default settings, all variables, tidy results) as a new process sees it:
    the in-memory caches are emptied first, so the engine's generated code is read from the
    translation cache, checked and compiled every time;
  * ``sd.run`` through PySD (the path before sd.engine.fastrun), for reference;
  * Simlin's ``simlin.load`` + ``run`` + ``results`` on the same model (GET DIRECT LOOKUPS
    inlined, as ``sd loops`` does, since Simlin cannot read them);
after checking that the fast run equals PySD's (1e-12 of each series' peak).
The last line is ``single run vs Simlin: <ratio>x``, (cached load + sd.run) / Simlin's, the
worse of the models (lower is better; the target is <= 2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this tree's sd

import sd  # noqa: E402
from sd.analysis.loops import inline_data  # noqa: E402
from sd.engine import fastrun  # noqa: E402
from sd.engine.vectorized import core as vectorized

sys.path.insert(0, str(Path(__file__).resolve().parent))
from world3_size import write_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def timed(func, repeat: int, before=None) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def cold() -> None:
    """Forget what this process compiled, as a new process would."""
    fastrun._MEMO.clear()
    vectorized._PLANS.clear()


def pysd_only(model):
    real = fastrun.run_frame
    fastrun.run_frame = lambda *a, **k: None
    try:
        return sd.run(model)
    finally:
        fastrun.run_frame = real


def simlin_run(path: Path):
    import simlin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simlin.load(path).run(analyze_loops=False).results


def bench(path: Path, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as cache:
        sd.load(path, cache_dir=cache)
        model = sd.load(path, cache_dir=cache)
        sd.run(model)  # writes the engine's code into the cache entry, as a first run does
        t_load, model = timed(lambda: sd.load(path, cache_dir=cache), repeat)
        t_run, fast = timed(lambda: sd.run(model), repeat, before=cold)
        t_pysd, slow = timed(lambda: pysd_only(model), max(1, repeat // 3))
        copy = Path(cache) / f"simlin_{path.name}"
        copy.write_text(inline_data(model, path.read_text(encoding="utf-8")), encoding="utf-8")
        t_simlin, sim = timed(lambda: simlin_run(copy), repeat)
    a, b = fast.data["value"].to_numpy(), slow.data["value"].to_numpy()
    same = fast.data[["variable", "time"]].equals(slow.data[["variable", "time"]])
    peak = slow.data.assign(a=np.abs(b)).groupby("variable")["a"].transform("max").to_numpy()
    same = same and bool((np.abs(a - b) <= 1e-12 * np.maximum(peak, 1e-300)).all())
    ours = t_load + t_run
    ratio = ours / t_simlin
    print(
        f"model: {path.name} ({len(model.variables)} variables, "
        f"{model.time.initial:g}-{model.time.final:g} step {model.time.step:g}; "
        f"{fast.data['variable'].nunique()} series, Simlin {sim.shape[1]} columns)"
    )
    print(f"  load from cache:             {t_load * 1e3:8.1f} ms")
    print(f"  sd.run (new process):        {t_run * 1e3:8.1f} ms (PySD path {t_pysd * 1e3:.1f})")
    print(f"  load + run:                  {ours * 1e3:8.1f} ms")
    print(f"  Simlin load+run+results:     {t_simlin * 1e3:8.1f} ms")
    print(f"  equal to PySD (1e-12 of peak): {same}")
    print(f"  single run vs Simlin ({path.name}): {ratio:.2f}x")
    if not same:
        raise SystemExit(1)
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=9, help="repetitions (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = args.models
        if not models:
            models = [ROOT / "models" / "kuzbass.mdl", write_model(Path(folder))]
            print("world3_size.mdl: a synthetic model of World3's size written by "
                  "benchmarks/world3_size.py (not World3; its numbers mean nothing)")
        ratios = [bench(p.resolve(), args.repeat) for p in models]
    print(f"single run vs Simlin: {max(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
