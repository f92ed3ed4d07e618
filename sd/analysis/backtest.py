"""Out-of-sample backtests: fit up to a cut-off, forecast the held-out years.

For each cut-off the model is re-fitted on observations up to it (and only those),
run forward, and its errors on the later observations are set beside two naive
forecasts made from the same in-sample observations: the last value carried
forward, and a straight line fitted by least squares. The constants named in the
spec's ``[backtest] freeze`` (the model's "last recorded year" switches) are set to
each cut-off year, in the fit and in the forecast, so that recorded drivers are held
at what was known at the cut-off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from sd.analysis import fitstats
from sd.analysis.calibration import Calibration, CalibrationSpec, Objective, calibrate, check_spec
from sd.engine.pysd_model import load
from sd.model.model import Model
from sd.study.specfile import SpecError

METHODS = ("model", "last_value", "linear_trend")


@dataclass(frozen=True)
class Backtest:
    """``table``: one row per (cut-off, series, method); ``summary``: means over cut-offs."""

    table: pd.DataFrame
    calibrations: dict[float, Calibration]
    interrupted: bool = False

    @property
    def summary(self) -> pd.DataFrame:
        if self.table.empty:
            return self.table
        wide = self.table.pivot_table(
            index="series", columns="method", values=["mape", "rmse"], aggfunc="mean"
        )
        wide.columns = [f"{stat}_{method}" for stat, method in wide.columns]
        order = [f"{s}_{m}" for s in ("mape", "rmse") for m in METHODS]
        wide = wide[[c for c in order if c in wide.columns]]
        wide.insert(0, "cutoffs", self.table.groupby("series")["cutoff"].nunique())
        return wide.reset_index()


def naive_forecasts(insample: pd.Series, times: np.ndarray) -> dict[str, np.ndarray]:
    """Last value carried forward, and a least-squares line through the in-sample points."""
    last = np.full(len(times), float(insample.iloc[-1]))
    if len(insample) >= 2:
        slope, intercept = np.polyfit(insample.index.to_numpy(float), insample.to_numpy(), 1)
        trend = intercept + slope * times
    else:
        trend = last.copy()
    return {"last_value": last, "linear_trend": trend}


def backtest(
    spec: CalibrationSpec,
    model: Model | None = None,
    *,
    cutoffs: Sequence[float] | None = None,
    starts: int | None = None,
    on_run: Callable[[Objective], None] | None = None,
    on_cutoff: Callable[[float], None] | None = None,
    engine: str = "vectorized",
) -> Backtest:
    """Rolling-origin backtest over ``cutoffs`` (default: the spec's ``[backtest]``).

    ``engine`` is the calibration's (:func:`sd.analysis.calibration.calibrate`).
    """
    model = model or load(spec.model_path)
    spec = check_spec(spec, model)
    cutoffs = list(cutoffs if cutoffs is not None else spec.cutoffs)
    if not cutoffs:
        raise SpecError(f"{spec.path}: no cut-offs: add [backtest] cutoffs = [2012, ...].")
    for c in cutoffs:
        if not spec.period[0] < c < spec.period[1]:
            raise SpecError(
                f"{spec.path}: backtest cut-off {c:g} must lie inside the fitting period "
                f"{spec.period[0]:g}-{spec.period[1]:g}, so that there are years to forecast."
            )
    rows, cals = [], {}
    interrupted = False
    for cut in cutoffs:
        if on_cutoff:
            on_cutoff(cut)
        cut_spec = at_cutoff(spec, cut)
        try:
            cal = calibrate(
                cut_spec,
                model,
                fit_end=cut,
                starts=spec.backtest_starts if starts is None else starts,
                on_run=on_run,
                engine=engine,
            )
        except KeyboardInterrupt:
            interrupted = True
            break
        cals[cut] = cal
        rows += _score(cut_spec, model, cal, cut)
        if cal.interrupted:
            interrupted = True
            break
    return Backtest(pd.DataFrame(rows), cals, interrupted)


def at_cutoff(spec: CalibrationSpec, cut: float) -> CalibrationSpec:
    """``spec`` with its ``freeze`` constants set to the cut-off year (among its inputs)."""
    if not spec.freeze:
        return spec
    inputs = {**spec.inputs, **{name: float(cut) for name in spec.freeze}}
    return replace(spec, inputs=MappingProxyType(inputs))


def _score(spec: CalibrationSpec, model: Model, cal: Calibration, cut: float) -> list[dict]:
    full = Objective(spec, model)  # every observation of the fitting period
    x = np.array([cal.values[p.name] for p in spec.free])
    sim = full.simulate(x, until=spec.period[1])
    rows = []
    for t in spec.targets:
        lo, hi = t.period or spec.period
        obs = t.series.load()
        obs = obs[(obs.index >= lo) & (obs.index <= hi)]
        insample, held = obs[obs.index <= cut], obs[obs.index > cut]
        if held.empty or insample.empty:
            continue
        times = held.index.to_numpy(float)
        fitted = sim.series(t.variable)
        preds = {"model": fitted.reindex(held.index).to_numpy()}
        preds.update(naive_forecasts(insample, times))
        # in-sample error of the same method (the last value has none: it is the data)
        inside = {
            "model": fitted.reindex(insample.index).to_numpy(),
            "linear_trend": naive_forecasts(insample, insample.index.to_numpy(float))[
                "linear_trend"
            ],
        }
        for method, pred in preds.items():
            fit = inside.get(method)
            rows.append(
                {
                    "cutoff": cut,
                    "series": t.variable,
                    "method": method,
                    "n_held_out": len(held),
                    "first_year": times.min(),
                    "last_year": times.max(),
                    "n_in_sample": len(insample),
                    "mape": fitstats.mape(pred, held.to_numpy()),
                    "rmse": fitstats.rmse(pred, held.to_numpy()),
                    "mape_in_sample": (
                        float("nan") if fit is None else fitstats.mape(fit, insample.to_numpy())
                    ),
                }
            )
    return rows
