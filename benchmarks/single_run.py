"""Single-run speed of a model: translation cache and numpy lookups, side by side.

Usage: python benchmarks/single_run.py [MODEL.mdl] [--repeat N]

Prints, in one process and one run:
  * translating the model (empty cache) vs loading it from the cache;
  * one full run with PySD's own xarray lookups vs with the toolkit's numpy lookups,
    after checking that both give the same numbers.
The last line is the run speedup; the line before it the cache speedup.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import sd

ROOT = Path(__file__).resolve().parent.parent


def timed(func, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(ROOT / "models" / "kuzbass.mdl"))
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as cache:
        t_translate, _ = timed(lambda: sd.load(args.model, cache_dir=cache), 1)
        t_cached, model = timed(lambda: sd.load(args.model, cache_dir=cache), args.repeat)
        slow_model = sd.load(args.model, cache_dir=cache, fast_lookups=False)
        t_slow, slow = timed(lambda: sd.run(slow_model), 1)
        t_fast, fast = timed(lambda: sd.run(model), args.repeat)

    a, b = slow.data["value"].to_numpy(), fast.data["value"].to_numpy()
    same = np.array_equal(a, b)
    print(
        f"model: {args.model} ({len(model.variables)} variables, "
        f"{model.time.initial:g}-{model.time.final:g} step {model.time.step:g})"
    )
    print(f"translate (empty cache):   {t_translate * 1e3:9.1f} ms")
    print(f"load from cache (median):  {t_cached * 1e3:9.1f} ms")
    print(f"run, PySD xarray lookups:  {t_slow * 1e3:9.1f} ms")
    print(f"run, numpy lookups:        {t_fast * 1e3:9.1f} ms (median of {args.repeat})")
    print(f"identical results: {same} (max abs difference {np.max(np.abs(a - b)):.3g})")
    print(f"cache speedup: {t_translate / t_cached:.1f}x")
    print(f"run speedup: {t_slow / t_fast:.1f}x")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
