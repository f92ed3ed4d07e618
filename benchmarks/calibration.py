"""Calibration speed: the serial PySD path against the vectorized engine, side by side.

Usage: python benchmarks/calibration.py [--spec FILE] [--cutoff YEAR] [--tolerance 1e-4]

In one process: the shipped calibration spec (forecasts/kuzbass_calibration.toml, or the
first forecasts/kuzbass_calibration*.toml present) fitted with ``engine="pysd"`` (every
evaluation one ``sd.run``) and with ``engine="vectorized"`` (the start points in one
engine call, each finite-difference Jacobian in one call); the fitted values must agree
(``--tolerance``, relative to each parameter's range). Then one backtest cut-off (the
spec's first, or ``--cutoff``) both ways. The vectorized calibration time includes
building the model for the engine (once per process; the backtest reuses it). The last
two lines are ``backtest speedup: <ratio>x`` and ``speedup: <ratio>x`` (the calibration).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this tree's sd

import sd  # noqa: E402
from sd.analysis.backtest import backtest  # noqa: E402
from sd.analysis.calibration import calibrate, load_spec  # noqa: E402
from sd.engine.vectorized.core import VectorModel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _shipped_spec() -> Path:
    main = ROOT / "forecasts" / "kuzbass_calibration.toml"
    if main.is_file():
        return main
    found = sorted((ROOT / "forecasts").glob("kuzbass_calibration*.toml"))
    if not found:
        raise SystemExit("no forecasts/kuzbass_calibration*.toml in this tree")
    return found[0]


class _Calls:
    """Counts the vectorized engine's calls and the runs they made."""

    def __init__(self) -> None:
        self.calls = self.runs = 0
        self._run = VectorModel.run

    def __enter__(self) -> _Calls:
        counter, run = self, self._run

        def counted(vm, params=None, *, n, **kw):
            counter.calls += 1
            counter.runs += n
            return run(vm, params, n=n, **kw)

        VectorModel.run = counted
        return self

    def __exit__(self, *exc: object) -> None:
        VectorModel.run = self._run


def _build(model) -> None:
    from sd.engine.vectorized.core import Unsupported, build

    try:
        build(model)
    except Unsupported:
        pass  # calibrate falls back to PySD, reported below


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _compare(spec, serial, fast, tolerance: float) -> bool:
    """Print both fits; they agree when every value does (relative to its range), or
    when the objectives are equal to 1e-8 and only a flat direction differs."""
    worst = 0.0
    for p in spec.free:
        a, b = serial.values[p.name], fast.values[p.name]
        rel = abs(a - b) / (p.upper - p.lower)
        worst = max(worst, rel)
        print(f"  {p.name:40s} {a:14.8g} {b:14.8g}  diff/range {rel:.1e}")
    objective = abs(serial.objective - fast.objective) / abs(serial.objective)
    print(f"  objective {serial.objective:.12g} and {fast.objective:.12g} "
          f"(relative difference {objective:.1e})")
    if worst <= tolerance:
        print(f"fitted values agree (max diff/range {worst:.1e} <= {tolerance:g}): yes")
        return True
    flat = objective <= 1e-8
    print(f"fitted values differ (max diff/range {worst:.1e} > {tolerance:g}) "
          + ("at the same objective (a flat direction): yes" if flat else "and the objective: NO"))
    return flat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=None)
    parser.add_argument("--cutoff", type=float, default=None)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args(argv)

    path = args.spec or _shipped_spec()
    spec = load_spec(path)
    model, t_load = _timed(lambda: sd.load(spec.model_path))
    print(f"spec: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"model: {spec.model_path.name} (cached load {t_load:.2f} s), "
          f"{len(spec.free)} free parameters, {spec.starts} Latin hypercube starts + own values")

    serial, t_serial = _timed(lambda: calibrate(spec, model, engine="pysd"))
    _, t_build = _timed(lambda: _build(model))  # what the first vectorized fit pays
    with _Calls() as calls:
        fast, t_fit = _timed(lambda: calibrate(spec, model, engine="vectorized"))
    t_fast = t_build + t_fit
    if fast.engine != "vectorized":
        print("the vectorized engine cannot build this model; nothing to compare")
        return 1
    print(f"serial PySD:  {t_serial:8.2f} s  {serial.runs} runs")
    print(f"vectorized:   {t_fast:8.2f} s  {fast.runs} runs in {calls.calls} engine calls "
          f"(of which {t_build:.2f} s building the model for the engine)")
    agree = _compare(spec, serial, fast, args.tolerance)

    cutoff = args.cutoff if args.cutoff is not None else (spec.cutoffs or (None,))[0]
    if cutoff is None:
        print("the spec has no [backtest] cutoffs; give --cutoff")
        return 1
    bt_serial, tb_serial = _timed(lambda: backtest(spec, model, cutoffs=[cutoff], engine="pysd"))
    with _Calls() as calls:
        bt_fast, tb_fast = _timed(
            lambda: backtest(spec, model, cutoffs=[cutoff], engine="vectorized")
        )
    cal_s, cal_f = bt_serial.calibrations[cutoff], bt_fast.calibrations[cutoff]
    print(f"backtest cut-off {cutoff:g}, serial PySD: {tb_serial:8.2f} s  {cal_s.runs} runs")
    print(f"backtest cut-off {cutoff:g}, vectorized:  {tb_fast:8.2f} s  {cal_f.runs} runs in "
          f"{calls.calls} engine calls")
    bt_agree = _compare(spec, cal_s, cal_f, args.tolerance)
    print(f"backtest speedup: {tb_serial / tb_fast:.1f}x")
    print(f"speedup: {t_serial / t_fast:.1f}x")
    return 0 if agree and bt_agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
