"""Goal seeking: the level of one lever at which a variable reaches a target in a year.

The lever is a constant of the model. When the scenario shocks that constant, the level
scales the scenario's shocks on it (1 = as declared, 0 = no shock, 2 = twice the
deviation); otherwise the level is the constant's value, set for the whole run. The
search scans the lever's range (the constant's Vensim range ``[min, max]``, or one given
by the caller; for a shock scale 0 to 2 by default) with the vectorized engine, all levels
in one simulation, takes the first interval where the target is crossed, and refines it
with :func:`scipy.optimize.brentq`. The answer is re-run with PySD (the reference path)
to report the value it achieves and, when the study has a ``[policy]`` table, its cost:
the NPV of the budget balance difference against the scenario's comparator
(:mod:`sd.analysis.policy` explains the discounting).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from sd.analysis.policy import has_policy, integrated_unit, load_policy, npv
from sd.engine.engines import ENGINES
from sd.engine.run import run
from sd.engine.table import ParamTable, step_times
from sd.engine.vectorized.core import Unsupported
from sd.errors import ParameterError, SDError, suggest
from sd.model.model import Model
from sd.study import shocks as shock_shapes
from sd.study.study import Study, compile_scenario

DEFAULT_SCALE_RANGE = (0.0, 2.0)


class OutOfReach(SDError):
    """The target cannot be reached within the lever's range."""


@dataclass(frozen=True)
class Target:
    variable: str
    value: float
    year: float

    def __str__(self) -> str:
        return f"{self.variable} = {self.value:g} in {self.year:g}"


@dataclass(frozen=True)
class SeekResult:
    scenario: str
    lever: str
    mode: str  #: "constant" or "shock scale"
    level: float
    target: Target
    achieved: float  #: with PySD at ``level``
    lever_range: tuple[float, float]
    crossings: int  #: how many scanned intervals cross the target (the first is taken)
    cost: float | None  #: NPV of the budget balance difference, or None without [policy]
    cost_unit: str
    comparator: str | None
    runs: int  #: simulations used by the scan and the refinement

    @property
    def relative_error(self) -> float:
        scale = abs(self.target.value) or 1.0
        return abs(self.achieved - self.target.value) / scale


def parse_target(text: str) -> Target:
    """``"VARIABLE=VALUE@YEAR"`` -> :class:`Target`, with a clear error otherwise."""
    m = re.fullmatch(r"\s*(.+?)\s*=\s*([^@]+?)\s*@\s*([^@]+?)\s*", text)
    if not m:
        raise ParameterError(
            f"--target {text!r}: write it as VARIABLE=VALUE@YEAR, e.g. "
            "'Processing Share of GRP=0.4@2035'."
        )
    try:
        return Target(m.group(1), float(m.group(2)), float(m.group(3)))
    except ValueError:
        raise ParameterError(
            f"--target {text!r}: the value and the year must be numbers."
        ) from None


def parse_range(text: str) -> tuple[float, float]:
    lo, sep, hi = text.partition(":")
    try:
        out = (float(lo), float(hi))
    except ValueError:
        out = None
    if not sep or out is None or not out[0] < out[1]:
        raise ParameterError(f"--range {text!r}: write it as LOW:HIGH with LOW < HIGH, e.g. 0:50.")
    return out


class _Lever:
    """Parameters of the scenario with the lever at a level (one run or many)."""

    def __init__(self, study: Study, model: Model, scenario: str, lever: str) -> None:
        if scenario not in study.scenarios:
            raise ParameterError(
                f"--scenario {scenario!r} is not a scenario of {study.path.name}."
                + suggest(scenario, study.scenarios)
            )
        self.name = model.resolve(lever)
        self.scenario = scenario
        kind = model.variables[self.name].kind
        if kind != "constant":
            raise ParameterError(
                f"--lever '{self.name}' is a {kind}; a lever must be a constant of "
                f"{model.path.name}."
            )
        sc = study.scenarios[scenario]
        self.params = compile_scenario(study, sc, model)
        self.shocks = [s for s in sc.shocks if s.input == self.name]
        self.mode = "shock scale" if self.shocks else "constant"
        self.times = step_times(study.time_grid(model))
        if self.shocks:
            self.base = float(sc.set.get(self.name, model.defaults[self.name]))
            self.combine = study.combine[self.name]
            self.devs = [s.deviation(self.times, self.combine, study.folder) for s in self.shocks]

    def path(self, level: float) -> np.ndarray:
        devs = [level * d for d in self.devs]
        return np.asarray(shock_shapes.combine(self.base, devs, self.combine), dtype=float)

    def table(self, levels: np.ndarray) -> ParamTable:
        """One run per level: the lever's path (shock scale) or value (constant)."""
        levels = np.asarray(levels, dtype=float)
        base = {k: v for k, v in self.params.items() if k != self.name}
        if self.shocks:
            paths = {self.name: np.vstack([self.path(float(x)) for x in levels])}
            return ParamTable(n=len(levels), times=self.times, base=base, constants={},
                              paths=paths)
        return ParamTable(n=len(levels), times=self.times, base=base,
                          constants={self.name: levels}, paths={})

    def one(self, level: float) -> dict[str, Any]:
        return self.table(np.array([level])).row(0)


def lever_range(model: Model, lever: str, mode: str, given: tuple[float, float] | None):
    if given is not None:
        return given
    if mode == "shock scale":
        return DEFAULT_SCALE_RANGE
    limits = model.variables[lever].limits
    lo = limits[0] if len(limits) > 0 else None
    hi = limits[1] if len(limits) > 1 else None
    if lo is None or hi is None:
        raise ParameterError(
            f"--lever '{lever}' has no Vensim range [min,max] in {model.path.name}; give one "
            "with --range LOW:HIGH."
        )
    return (float(lo), float(hi))


def seek(
    study: Study,
    model: Model,
    *,
    scenario: str,
    lever: str,
    target: Target,
    lever_range_: tuple[float, float] | None = None,
    scan: int = 41,
    notice: Callable[[str], None] | None = None,
) -> SeekResult:
    """Find the lever level that reaches ``target`` (see the module docstring)."""
    lv = _Lever(study, model, scenario, lever)
    variable = model.resolve(target.variable)
    grid = study.time_grid(model)
    if not grid.initial <= target.year <= grid.final:
        raise ParameterError(
            f"--target year {target.year:g} is outside the simulated time "
            f"{grid.initial:g}-{grid.final:g}."
        )
    target = Target(variable, target.value, target.year)
    lo, hi = lever_range(model, lv.name, lv.mode, lever_range_)
    levels = np.linspace(lo, hi, scan)
    values = _scan(study, model, lv, variable, target.year, levels, notice)
    runs = len(levels)
    ok = np.isfinite(values)
    if not ok.any():
        raise OutOfReach(f"every run of the scan of '{lv.name}' over [{lo:g}, {hi:g}] failed.")
    gap = values - target.value
    crossings = [  # an exact hit on a scanned level counts once
        i
        for i in range(len(levels) - 1)
        if ok[i] and ok[i + 1] and (gap[i] * gap[i + 1] < 0 or gap[i + 1] == 0 or gap[0] == 0 == i)
    ]
    if not crossings:
        vmin, vmax = np.nanmin(values), np.nanmax(values)
        raise OutOfReach(
            f"'{variable}' cannot reach {target.value:g} in {target.year:g} with '{lv.name}' "
            f"({lv.mode}) within [{lo:g}, {hi:g}]: over that range it takes values in "
            f"[{vmin:.6g}, {vmax:.6g}]. Widen the range with --range, or choose another "
            "lever or target."
        )
    i = crossings[0]
    a, b = levels[i], levels[i + 1]
    count = [0]

    def g(x: float) -> float:
        count[0] += 1
        return _scan(study, model, lv, variable, target.year, np.array([x]), notice)[0] - (
            target.value
        )

    if gap[i] == 0:
        level = float(a)
    elif gap[i + 1] == 0:
        level = float(b)
    else:
        level = float(brentq(g, a, b, xtol=1e-12 * max(1.0, abs(hi - lo)), rtol=1e-12))
    runs += count[0]
    res = run(model, lv.one(level), time=study.time, variables=[variable])
    achieved = float(np.interp(target.year, *_series(res.series(variable))))
    cost, unit, comparator = _cost(study, model, lv, scenario, level)
    return SeekResult(
        scenario,
        lv.name,
        lv.mode,
        level,
        target,
        achieved,
        (lo, hi),
        len(crossings),
        cost,
        unit,
        comparator,
        runs + 1,
    )


def _series(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return s.index.to_numpy(float), s.to_numpy(float)


def _scan(study, model, lv: _Lever, variable: str, year: float, levels, notice) -> np.ndarray:
    """The target variable at ``year`` for each level (vectorized, else PySD run by run)."""
    table = lv.table(levels)
    kw = {"time": study.time, "variables": [variable], "scenario": lv.scenario}
    try:
        times, out, _ = ENGINES["vectorized"].run_many(model, table, **kw)
        return np.array([np.interp(year, times, row) for row in out[variable]])
    except Unsupported as err:
        if notice:
            notice(f"{err}; scanning with PySD instead")
    vals = []
    for k in range(table.n):  # a run that raises any SDError is a NaN level, not a crash
        try:
            times, out, _ = ENGINES["pysd"].run_many(model, table.take([k]), **kw)
        except SDError:
            vals.append(np.nan)
            continue
        vals.append(np.interp(year, times, out[variable][0]))
    return np.array(vals)


def _cost(study: Study, model: Model, lv: _Lever, scenario: str, level: float):

    if not has_policy(study):
        return None, "", None
    config = load_policy(study, model)
    if "budget_balance" not in config.variables:
        return None, "", None
    comparator = config.comparator(scenario)
    names = list(config.variables["budget_balance"])
    mine = run(model, lv.one(level), time=study.time, variables=names).wide()
    ref = run(
        model,
        compile_scenario(study, study.scenarios[comparator], model),
        time=study.time,
        variables=names,
    ).wide()
    grid = study.time_grid(model)
    start = study.forecast_start if study.forecast_start is not None else grid.initial
    d = mine[names].sum(axis=1) - ref[names].sum(axis=1)
    idx = d.index.to_numpy(float)
    keep = (idx >= start - 1e-9) & (np.abs(idx - np.round(idx)) < 1e-9)

    unit = integrated_unit(model.variables[names[0]].units)
    value = npv(d.to_numpy()[keep], idx[keep], start, config.discount_rate, config.timing)
    return value, unit, comparator


def describe(result: SeekResult) -> Mapping[str, Any]:
    """The result as a flat mapping (for printing and CSV)."""
    return {
        "scenario": result.scenario,
        "lever": result.lever,
        "mode": result.mode,
        "level": result.level,
        "target": str(result.target),
        "achieved": result.achieved,
        "relative_error": result.relative_error,
        "range": f"{result.lever_range[0]:g}:{result.lever_range[1]:g}",
        "crossings": result.crossings,
        "cost_npv": result.cost,
        "cost_unit": result.cost_unit,
        "comparator": result.comparator,
        "runs": result.runs,
    }
