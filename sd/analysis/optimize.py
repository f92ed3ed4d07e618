"""Lever optimisation under constraints: the best lever levels and start years.

A study declares the problem in an ``[optimize]`` table::

    [optimize]
    scenario = "neo"                 # the scenario the levers act on (default: the base)
    samples = 400                    # Pareto: candidates sampled (Latin hypercube, default 400)
    seed = 1
    levers = [
      { input = "Support", kind = "scale", lower = 0, upper = 2 },    # scale the shocks on it
      { input = "Support", kind = "start", lower = 2024, upper = 2030 },  # shift their start
      { input = "Green Share", kind = "value", lower = 0, upper = 0.03 },  # set the constant
    ]
    objectives = [                   # one: scipy's differential evolution; more: Pareto table
      { variable = "GRP", feature = "npv", sense = "max" },
    ]
    constraints = [                  # feature <= max and/or >= min
      { variable = "Debt", feature = "max", max = 65 },
    ]

Features: ``npv`` (annual values from the forecast start discounted as in :mod:`sd.analysis.policy`,
with the ``[policy]`` discount rate and timing), ``sum`` (undiscounted), ``value_at``
(``year``), ``min``, ``max``, ``mean`` (over ``from``-``to``, default the forecast start to
the final time). ``start`` levers are whole years: every shock of the scenario on that input
moves by the same number of years (a ramp keeps its length).

Every candidate set of levels is a run of the vectorized engine; differential evolution
evaluates its whole population in one simulation (``vectorized=True``), with constraint
violations added as a penalty larger than any objective difference. With several objectives
the candidates of a Latin hypercube are evaluated at once and the feasible, non-dominated
ones form the Pareto table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sd.analysis.policy import discount_factors, has_policy, load_policy
from sd.engine.engines import ENGINES
from sd.engine.table import ParamTable, step_times
from sd.errors import SDError, suggest
from sd.model.model import Model
from sd.study import shocks as shock_shapes
from sd.study.specfile import SpecError, as_list, keys, number, read_toml, table
from sd.study.study import Shock, Study, compile_scenario

KINDS = ("scale", "start", "value")
FEATURES = ("npv", "sum", "value_at", "min", "max", "mean")


@dataclass(frozen=True)
class Lever:
    input: str
    kind: str
    lower: float
    upper: float

    @property
    def name(self) -> str:
        return f"{self.input} ({self.kind})"


@dataclass(frozen=True)
class Measure:
    variable: str
    feature: str
    start: float
    end: float
    year: float | None
    sense: str = "max"  #: objectives
    minimum: float | None = None  #: constraints
    maximum: float | None = None

    @property
    def name(self) -> str:
        if self.feature == "value_at":
            return f"{self.variable} in {self.year:g}"
        return f"{self.feature} of {self.variable} {self.start:g}-{self.end:g}"


@dataclass(frozen=True)
class Problem:
    scenario: str
    levers: tuple[Lever, ...]
    objectives: tuple[Measure, ...]
    constraints: tuple[Measure, ...]
    samples: int
    seed: int
    rate: float
    timing: str


def load_problem(study: Study, model: Model) -> Problem:
    """The study's ``[optimize]`` table, checked against the study and the model."""
    path = study.path
    raw = table(path, read_toml(path), "optimize", required=False)
    if not raw:
        raise SpecError(
            f"{path}: no [optimize] table: declare levers and objectives (sd/optimize.py)."
        )
    keys(
        path,
        raw,
        {"scenario", "samples", "seed", "levers", "objectives", "constraints"},
        "[optimize]",
    )
    scenario = str(raw.get("scenario", study.base))
    if scenario not in study.scenarios:
        raise SpecError(
            f"{path}: [optimize] scenario = {scenario!r} is not a scenario."
            + suggest(scenario, study.scenarios)
        )
    sc = study.scenarios[scenario]
    grid = study.time_grid(model)
    t0 = study.forecast_start if study.forecast_start is not None else grid.initial

    def resolve(name: Any, where: str) -> str:
        try:
            return model.resolve(str(name))
        except SDError as err:
            raise SpecError(f"{path}: {where}: {err}") from None

    levers = []
    for i, body in enumerate(as_list(path, raw.get("levers", []), "[optimize] levers")):
        where = f"[optimize] levers[{i}]"
        if not isinstance(body, dict):
            raise SpecError(f"{path}: {where} must be a table {{ input, kind, lower, upper }}.")
        keys(path, body, {"input", "kind", "lower", "upper"}, where)
        name = resolve(body.get("input"), f"{where} input")
        kind = body.get("kind", "value")
        if kind not in KINDS:
            raise SpecError(f"{path}: {where} kind = {kind!r}; use one of {', '.join(KINDS)}.")
        if model.variables[name].kind != "constant":
            raise SpecError(f"{path}: {where}: '{name}' is not a constant of the model.")
        if kind in ("scale", "start") and not any(s.input == name for s in sc.shocks):
            raise SpecError(
                f"{path}: {where}: scenario '{scenario}' has no shock on '{name}' to "
                f'{"scale" if kind == "scale" else "move"}; use kind = "value".'
            )
        lo, hi = number(path, body, "lower", where), number(path, body, "upper", where)
        if lo is None or hi is None or not lo < hi:
            raise SpecError(f"{path}: {where} needs lower < upper.")
        levers.append(Lever(name, kind, lo, hi))
    if not levers:
        raise SpecError(f"{path}: [optimize] declares no levers.")

    def measure(body: Any, where: str, objective: bool) -> Measure:
        if not isinstance(body, dict):
            raise SpecError(f"{path}: {where} must be a table {{ variable, feature, ... }}.")
        extra = {"sense"} if objective else {"min", "max"}
        keys(path, body, {"variable", "feature", "from", "to", "year", *extra}, where)
        var = resolve(body.get("variable"), f"{where} variable")
        feat = body.get("feature", "npv")
        if feat not in FEATURES:
            raise SpecError(
                f"{path}: {where} feature = {feat!r}; use one of {', '.join(FEATURES)}."
            )
        year = number(path, body, "year", where)
        if feat == "value_at" and year is None:
            raise SpecError(f"{path}: {where} feature 'value_at' needs year.")
        start = number(path, body, "from", where)
        end = number(path, body, "to", where)
        sense = body.get("sense", "max")
        if sense not in ("max", "min"):
            raise SpecError(f"{path}: {where} sense = {sense!r}; use 'max' or 'min'.")
        lo, hi = (
            (None, None)
            if objective
            else (number(path, body, "min", where), number(path, body, "max", where))
        )
        if not objective and lo is None and hi is None:
            raise SpecError(f"{path}: {where} needs min and/or max.")
        return Measure(
            var,
            feat,
            t0 if start is None else start,
            grid.final if end is None else end,
            year,
            sense,
            lo,
            hi,
        )

    objectives = tuple(
        measure(b, f"[optimize] objectives[{i}]", True)
        for i, b in enumerate(as_list(path, raw.get("objectives", []), "objectives"))
    )
    if not objectives:
        raise SpecError(f"{path}: [optimize] declares no objectives.")
    constraints = tuple(
        measure(b, f"[optimize] constraints[{i}]", False)
        for i, b in enumerate(as_list(path, raw.get("constraints", []), "constraints"))
    )
    rate, timing = 0.0, "end"
    if any(m.feature == "npv" for m in (*objectives, *constraints)):

        if not has_policy(study):
            raise SpecError(f"{path}: feature 'npv' needs [policy] discount_rate.")
        cfg = load_policy(study, model)
        rate, timing = cfg.discount_rate, cfg.timing
    return Problem(
        scenario,
        tuple(levers),
        objectives,
        constraints,
        int(number(path, raw, "samples", "[optimize]") or 400),
        int(number(path, raw, "seed", "[optimize]") or 1),
        rate,
        timing,
    )


class Evaluator:
    """Objectives and constraint values of many lever settings in one vectorized run."""

    def __init__(self, study: Study, model: Model, problem: Problem) -> None:
        self.study, self.model, self.problem = study, model, problem
        sc = study.scenarios[problem.scenario]
        self.scenario = sc
        self.base_params = compile_scenario(study, sc, model)
        grid = study.time_grid(model)
        self.times = step_times(grid)
        self.t0 = study.forecast_start if study.forecast_start is not None else grid.initial
        self.variables = list(
            dict.fromkeys(m.variable for m in (*problem.objectives, *problem.constraints))
        )
        self.runs = 0

    def _path(self, name: str, levels: np.ndarray) -> np.ndarray | float:
        """The input's value (path or number) under the levers' levels."""
        levers = self.problem.levers
        value = None
        for j, lv in enumerate(levers):
            if lv.input == name and lv.kind == "value":
                value = float(levels[j])
        shocks = [s for s in self.scenario.shocks if s.input == name]
        if not shocks:
            return value if value is not None else float(self.base_params.get(name))
        scale, shift = 1.0, 0.0
        for j, lv in enumerate(levers):
            if lv.input == name and lv.kind == "scale":
                scale = float(levels[j])
            if lv.input == name and lv.kind == "start":
                first = min(s.params.get("start", lv.lower) for s in shocks)
                shift = float(round(levels[j])) - first
        base = (
            value
            if value is not None
            else float(self.scenario.set.get(name, self.model.defaults[name]))
        )
        mode = self.study.combine[name]
        devs = [
            scale * _shifted(s, shift).deviation(self.times, mode, self.study.folder)
            for s in shocks
        ]
        return np.asarray(shock_shapes.combine(base, devs, mode), dtype=float)

    def table(self, x: np.ndarray) -> ParamTable:
        """One run per row of ``x`` (n, levers): each lever input's value or path."""
        inputs = dict.fromkeys(lv.input for lv in self.problem.levers)
        constants: dict[str, np.ndarray] = {}
        paths: dict[str, np.ndarray] = {}
        for name in inputs:
            values = [self._path(name, row) for row in x]
            if isinstance(values[0], np.ndarray):
                paths[name] = np.vstack(values)
            else:
                constants[name] = np.asarray(values, dtype=float)
        base = {k: v for k, v in self.base_params.items() if k not in inputs}
        return ParamTable(n=len(x), times=self.times, base=base, constants=constants, paths=paths)

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``x`` (n, levers) -> objectives (n, k) and constraint values (n, m)."""

        x = np.atleast_2d(x)
        n = len(x)
        times, out, _ = ENGINES["vectorized"].run_many(
            self.model,
            self.table(x),
            time=self.study.time,
            variables=self.variables,
            scenario=self.problem.scenario,
        )
        self.runs += n
        obj = np.column_stack(
            [self._feature(m, times, out[m.variable]) for m in self.problem.objectives]
        )
        con = (
            np.column_stack(
                [self._feature(m, times, out[m.variable]) for m in self.problem.constraints]
            )
            if self.problem.constraints
            else np.zeros((n, 0))
        )
        return obj, con

    def _feature(self, m: Measure, times: np.ndarray, values: np.ndarray) -> np.ndarray:
        if m.feature == "value_at":
            return np.array([np.interp(m.year, times, row) for row in values])
        keep = (times >= m.start - 1e-9) & (times <= m.end + 1e-9)
        if m.feature in ("npv", "sum"):
            keep &= np.abs(times - np.round(times)) < 1e-9
            if m.feature == "sum":
                return values[:, keep].sum(axis=1)

            f = discount_factors(times[keep], self.t0, self.problem.rate, self.problem.timing)
            return values[:, keep] @ f
        v = values[:, keep]
        return {"min": v.min, "max": v.max, "mean": v.mean}[m.feature](axis=1)

    def violation(self, con: np.ndarray) -> np.ndarray:
        total = np.zeros(len(con))
        for j, m in enumerate(self.problem.constraints):
            scale = max(abs(m.maximum or 0), abs(m.minimum or 0), 1.0)
            if m.maximum is not None:
                total += np.maximum(con[:, j] - m.maximum, 0) / scale
            if m.minimum is not None:
                total += np.maximum(m.minimum - con[:, j], 0) / scale
        return np.where(np.isfinite(con).all(axis=1), total, np.inf)


def _shifted(shock: Shock, shift: float) -> Shock:
    if not shift:
        return shock
    params = dict(shock.params)
    for key in ("start", "end"):
        if key in params:
            params[key] = params[key] + shift
    return Shock(shock.input, shock.shape, params, shock.where)


@dataclass(frozen=True)
class Solution:
    table: pd.DataFrame  #: levers, objectives, constraints, feasible (one row per candidate kept)
    best: pd.Series | None  #: single objective: the optimum
    runs: int


def optimize(study: Study, model: Model, problem: Problem) -> Solution:
    """Single objective: differential evolution; several: a sampled Pareto table."""
    ev = Evaluator(study, model, problem)
    bounds = [(lv.lower, lv.upper) for lv in problem.levers]
    integrality = [lv.kind == "start" for lv in problem.levers]
    if len(problem.objectives) == 1:
        from scipy.optimize import differential_evolution

        sign = -1.0 if problem.objectives[0].sense == "max" else 1.0
        big = [None]

        def cost(xt: np.ndarray) -> np.ndarray:  # xt: (levers, S)
            obj, con = ev(xt.T)
            value = sign * obj[:, 0]
            if big[0] is None:
                finite = value[np.isfinite(value)]
                big[0] = 1e3 * (np.abs(finite).max() + 1.0) if len(finite) else 1e12
            viol = ev.violation(con)
            out = value + big[0] * viol
            return np.where(np.isfinite(out), out, 1e300)

        res = differential_evolution(
            cost,
            bounds,
            seed=problem.seed,
            vectorized=True,
            updating="deferred",
            integrality=integrality if any(integrality) else None,
            tol=1e-10,
            maxiter=200,
            polish=False,
        )
        x = np.asarray(res.x)
        frame = _frame(ev, problem, x[None, :])
        if not frame["feasible"].iloc[0]:
            raise SDError(
                f"{study.path.name}: no lever setting within the bounds meets the constraints "
                f"(the least violation found: {frame['violation'].iloc[0]:.3g})."
            )
        return Solution(frame, frame.iloc[0], ev.runs)
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(bounds), seed=problem.seed).random(problem.samples)
    x = qmc.scale(u, [b[0] for b in bounds], [b[1] for b in bounds])
    for j, flag in enumerate(integrality):
        if flag:
            x[:, j] = np.round(x[:, j])
    frame = _frame(ev, problem, x)
    feasible = frame[frame["feasible"]]
    if feasible.empty:
        raise SDError(
            f"{study.path.name}: none of the {len(frame)} sampled lever settings meets the "
            "constraints; widen the lever bounds or relax the constraints."
        )
    names = [m.name for m in problem.objectives]
    signs = np.array([1.0 if m.sense == "max" else -1.0 for m in problem.objectives])
    keep = pareto_mask(feasible[names].to_numpy() * signs)
    pareto = feasible[keep].sort_values(names[0], ascending=problem.objectives[0].sense == "min")
    return Solution(pareto.reset_index(drop=True), None, ev.runs)


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows not dominated by another (every column to be maximised)."""
    n = len(values)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        better_eq = (values >= values[i]).all(axis=1)
        strictly = (values > values[i]).any(axis=1)
        if (better_eq & strictly).any():
            keep[i] = False
    return keep


def _frame(ev: Evaluator, problem: Problem, x: np.ndarray) -> pd.DataFrame:
    obj, con = ev(x)
    frame = pd.DataFrame(x, columns=[lv.name for lv in problem.levers])
    for j, m in enumerate(problem.objectives):
        frame[m.name] = obj[:, j]
    for j, m in enumerate(problem.constraints):
        frame[f"constraint: {m.name}"] = con[:, j]
    viol = ev.violation(con)
    frame["violation"] = viol
    frame["feasible"] = viol <= 1e-9
    return frame
