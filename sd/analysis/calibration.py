"""Calibration: fit a model's uncertain constants to recorded history.

Weighted least squares on the model's saved times with :func:`scipy.optimize.least_squares`
(bounded, trust-region reflective), started from several points of a seeded Latin
hypercube so that a local minimum is not taken for the answer. Each series' residuals
are divided by the mean absolute value of its observations and by the square root of
its number of points, so a series in Mt and one in persons, or an annual series and
three point observations, weigh as their weights say. Gaussian priors, when given,
add ``(value - mean) / sd`` residuals (a maximum a posteriori fit).

Spec file (TOML)::

    [calibration]
    model = "../models/kuzbass.mdl"
    period = [2000, 2023]        # fitting period (model time units)
    starts = 6                   # Latin hypercube starts (plus the model's own values)
    seed = 42
    max_runs = 4000              # model runs over all starts
    output = "output/calibration"

    [parameters."Price Adjustment Time"]
    bounds = [0.2, 3.0]
    why = "..."                  # the justification of the bounds, kept in outputs
    # prior = [mean, sd]  or  fixed = 1.0

    [targets."Coal Price"]
    file = "../models/data/wb_pinksheet_coal_annual_from_monthly.csv"
    column = "coal_price_australia_newcastle_usd_per_t"
    weight = 1.0
    # period = [2000, 2023], scale = 1.0, where = { indicator = "..." }
    # relative = true: each residual over its own observation (a short series whose points
    # differ by orders of magnitude, where every point must be near: "within 15 % each year")

    [inputs]                     # constants to hold at given values while fitting
    "Energy Transition Rate" = 0.0

    # [calibration] base = "calibration.toml": take [parameters] and [targets] from that spec;
    # this file's own entries add to them or replace them by name (one base, no chains)

    [backtest]                   # sd backtest: refit up to each cut-off
    cutoffs = [2012, 2016, 2019]
    freeze = ["Last Recorded Year"]  # constants set to the cut-off year in each backtest
"""

from __future__ import annotations

import json
import logging
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import qmc

from sd.analysis import fitstats
from sd.analysis.calibration_batch import fit_starts, simulate_many
from sd.analysis.failures import describe_params
from sd.engine.pysd_model import load
from sd.engine.run import run, stamp
from sd.engine.vectorized.core import Unsupported, build
from sd.errors import SDError
from sd.model.model import Model, TimeSettings
from sd.results import Results
from sd.study.specfile import (
    SeriesSpec,
    SpecError,
    keys,
    number,
    read_toml,
    series_spec,
    span,
    table,
)

#: a fitted value this close to a bound (as a share of the bounds' width) is "at the bound":
#: an assumption (0.1% of the range), the optimiser's reflective steps stop about that close
BOUND_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    lower: float
    upper: float
    prior: tuple[float, float] | None = None  #: (mean, sd)
    fixed: float | None = None
    why: str = ""


@dataclass(frozen=True)
class TargetSpec:
    series: SeriesSpec
    weight: float = 1.0
    period: tuple[float, float] | None = None
    #: residuals relative to each observation instead of to the series' mean magnitude
    relative: bool = False

    @property
    def variable(self) -> str:
        return self.series.variable


@dataclass(frozen=True)
class CalibrationSpec:
    path: Path
    model_path: Path
    period: tuple[float, float]
    parameters: tuple[ParameterSpec, ...]
    targets: tuple[TargetSpec, ...]
    inputs: Mapping[str, float]
    starts: int = 6
    seed: int = 42
    max_runs: int = 4000
    output: Path | None = None
    parameters_file: Path | None = None  #: where `sd calibrate` publishes the values
    cutoffs: tuple[float, ...] = ()
    backtest_starts: int = 2
    #: constants a backtest sets to its cut-off year (the model's "last recorded year"
    #: switches), so that recorded drivers are frozen at what was known then
    freeze: tuple[str, ...] = ()
    #: the spec whose parameters and targets this one takes (``[calibration] base``)
    base: Path | None = None

    @property
    def free(self) -> tuple[ParameterSpec, ...]:
        return tuple(p for p in self.parameters if p.fixed is None)


@dataclass(frozen=True)
class StartResult:
    start: np.ndarray
    values: np.ndarray
    objective: float
    runs: int
    status: str


@dataclass(frozen=True)
class Calibration:
    """The outcome of a fit; ``objective`` is half the sum of squared scaled residuals."""

    spec: CalibrationSpec
    values: Mapping[str, float]
    std_errors: Mapping[str, float]
    objective: float
    runs: int
    converged: bool
    message: str
    starts: tuple[StartResult, ...]
    fit_end: float
    interrupted: bool = False
    stats: Mapping[str, fitstats.FitStats] = field(default_factory=dict)
    failed: int = 0  #: evaluations whose run failed (penalised, see Objective.residuals)
    first_failure: str = ""  #: the first failed evaluation's parameters and cause
    engine: str = "pysd"  #: the engine the fit ran on ("vectorized" or "pysd")
    #: the run at the fitted values, from the model's initial time to the end of the fitting
    #: period (the target variables): figures and tables draw it without re-simulating
    fitted: Results | None = None
    #: what the fit was made from (:func:`sd.engine.run.stamp`: the model, its data and
    #: software, the spec and the recorded series' files); ``calibration.json`` keeps it
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def parameter_table(self) -> pd.DataFrame:
        bounds = {b.name: b.side for b in self.at_bounds()}
        rows = []
        for p in self.spec.parameters:
            rows.append(
                {
                    "parameter": p.name,
                    "value": self.values[p.name],
                    "std_error": self.std_errors.get(p.name, float("nan")),
                    "lower": p.lower,
                    "upper": p.upper,
                    "fixed": p.fixed is not None,
                    "at_bound": p.name in bounds,
                    "bound": bounds.get(p.name, ""),
                }
            )
        return pd.DataFrame(rows)

    def at_bounds(self) -> list[AtBound]:
        """Free parameters at (or within :data:`BOUND_TOLERANCE` of) a bound."""
        return at_bounds(self.spec, self.values)

    def stats_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"series": k, **v.as_dict()} for k, v in self.stats.items()])


@dataclass(frozen=True)
class AtBound:
    """A fitted value on a bound: the data would have pushed it further."""

    name: str
    value: float
    side: str  #: "lower" or "upper"
    bound: float

    def warning(self) -> str:
        return (
            f"'{self.name}' = {self.value:.6g} is at its {self.side} bound {self.bound:g}: the "
            "fit would go further, so the bound (not the data) sets this value; check the "
            "bound's justification or the model structure behind it."
        )


def at_bounds(spec: CalibrationSpec, values: Mapping[str, float]) -> list[AtBound]:
    """The free parameters of ``spec`` whose ``values`` sit on a bound (see BOUND_TOLERANCE)."""
    out = []
    for p in spec.free:
        if p.name not in values:
            continue
        v, tol = float(values[p.name]), BOUND_TOLERANCE * (p.upper - p.lower)
        if v - p.lower <= tol:
            out.append(AtBound(p.name, v, "lower", p.lower))
        elif p.upper - v <= tol:
            out.append(AtBound(p.name, v, "upper", p.upper))
    return out


# -- spec -------------------------------------------------------------------

_TOP = {"calibration", "parameters", "targets", "inputs", "backtest"}
_CAL = {"model", "period", "starts", "seed", "max_runs", "output", "parameters_file", "base"}
_PARAM = {"bounds", "prior", "fixed", "why"}
_BACKTEST = {"cutoffs", "starts", "freeze"}


def load_spec(path: str | os.PathLike[str]) -> CalibrationSpec:
    path = Path(path)
    raw = read_toml(path, "calibration")
    keys(path, raw, _TOP, "the top level")
    head = table(path, raw, "calibration")
    keys(path, head, _CAL, "[calibration]")
    if "model" not in head or "period" not in head:
        raise SpecError(f"{path}: [calibration] needs 'model' and 'period'.")
    period = span(path, head["period"], "[calibration] period")
    base, from_base = _base_tables(path, head.get("base"))
    entries = {
        k: _merged(base, from_base[k], path, table(path, raw, k, required=base is None))
        for k in ("parameters", "targets")
    }
    params = []
    for name, (src, body) in entries["parameters"].items():
        where = f"[parameters.{name!r}]"
        if not isinstance(body, dict):
            raise SpecError(f"{src}: {where} must be a table with bounds.")
        keys(src, body, _PARAM, where)
        bounds = span(src, body.get("bounds"), f"{where} bounds")
        if bounds is None:
            raise SpecError(f"{src}: {where} needs bounds = [lower, upper].")
        if bounds[0] == bounds[1]:
            raise SpecError(f"{src}: {where} bounds are equal; use fixed = {bounds[0]:g}.")
        prior = body.get("prior")
        if prior is not None:
            prior = _prior(src, prior, where)
        fixed = number(src, body, "fixed", where)
        params.append(
            ParameterSpec(name, bounds[0], bounds[1], prior, fixed, str(body.get("why", "")))
        )
    if not any(p.fixed is None for p in params):
        raise SpecError(f"{path}: [parameters] has no free parameter to fit.")
    targets = []
    for name, (src, body) in entries["targets"].items():
        where = f"[targets.{name!r}]"
        series = series_spec(src, name, body, where, extra=("weight", "period", "relative"))
        weight = number(src, body, "weight", where)
        if weight is not None and weight < 0:
            raise SpecError(f"{src}: {where} weight must be >= 0.")
        tperiod = span(src, body.get("period"), f"{where} period")
        relative = body.get("relative", False)
        if not isinstance(relative, bool):
            raise SpecError(f"{src}: {where} relative must be true or false, not {relative!r}.")
        if relative and (obs := series.load()).eq(0).any():
            raise SpecError(
                f"{src}: {where} relative = true, but {series.column!r} has a zero "
                f"observation in {obs.index[obs.eq(0)][0]:g}; a relative error needs non-zero "
                "observations: remove relative or the zero point."
            )
        targets.append(TargetSpec(series, 1.0 if weight is None else weight, tperiod, relative))
    if not targets:
        raise SpecError(f"{path}: [targets] is empty; name at least one series to fit.")
    inputs = {}
    for name, value in table(path, raw, "inputs", required=False).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{path}: [inputs] {name!r} = {value!r} is not a number.")
        inputs[name] = float(value)
    bt = table(path, raw, "backtest", required=False)
    keys(path, bt, _BACKTEST, "[backtest]")
    cutoffs = tuple(float(c) for c in bt.get("cutoffs", []))
    freeze = bt.get("freeze", [])
    if not isinstance(freeze, list) or not all(isinstance(f, str) for f in freeze):
        raise SpecError(
            f"{path}: [backtest] freeze must be a list of constant names, e.g. "
            '["Last Recorded Year"].'
        )
    clash = sorted(set(freeze) & set(inputs))
    if clash:
        raise SpecError(
            f"{path}: {clash[0]!r} is both in [inputs] and in [backtest] freeze; a backtest "
            "sets it to each cut-off year, so remove it from one of them."
        )
    ints = {k: number(path, head, k, "[calibration]") for k in ("starts", "seed", "max_runs")}
    bt_starts = number(path, bt, "starts", "[backtest]")
    return CalibrationSpec(
        path=path,
        model_path=path.parent / head["model"],
        period=period,
        parameters=tuple(params),
        targets=tuple(targets),
        inputs=MappingProxyType(inputs),
        starts=int(ints["starts"] if ints["starts"] is not None else 6),
        seed=int(ints["seed"] if ints["seed"] is not None else 42),
        max_runs=int(ints["max_runs"] if ints["max_runs"] is not None else 4000),
        output=(path.parent / head["output"]) if "output" in head else None,
        parameters_file=(
            path.parent / head["parameters_file"] if "parameters_file" in head else None
        ),
        cutoffs=cutoffs,
        backtest_starts=int(2 if bt_starts is None else bt_starts),  # starts = 0 is allowed
        freeze=tuple(freeze),
        base=base,
    )


def _base_tables(path: Path, base: Any) -> tuple[Path | None, dict[str, dict]]:
    """The ``[parameters]`` and ``[targets]`` of the spec ``[calibration] base`` names."""
    if base is None:
        return None, {"parameters": {}, "targets": {}}
    if not isinstance(base, str):
        raise SpecError(f"{path}: [calibration] base must be a file name, not {base!r}.")
    file = Path(os.path.normpath(path.parent / base))  # 'sub/../x.toml' is 'x.toml'
    if not file.is_file():
        raise SpecError(
            f"{path}: [calibration] base {base!r} does not exist (looked for {file}); name the "
            "calibration spec whose parameters and targets this one takes."
        )
    raw = read_toml(file, "calibration")
    if "base" in table(file, raw, "calibration"):
        raise SpecError(
            f"{path}: [calibration] base {base!r} has a base of its own; a spec takes the "
            "parameters and targets of one base spec, which must name them itself."
        )
    return file, {k: table(file, raw, k) for k in ("parameters", "targets")}


def _merged(
    base: Path | None, inherited: dict, path: Path, own: dict
) -> dict[str, tuple[Path, Any]]:
    """Entries by name, each with the file it comes from (for its messages and relative
    paths): the base's in their order, this file's replacing them by name or added after."""
    out: dict[str, tuple[Path, Any]] = {name: (base, body) for name, body in inherited.items()}
    out.update({name: (path, body) for name, body in own.items()})
    return out


def _prior(path: Path, value: Any, where: str) -> tuple[float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) for v in value)
        or value[1] <= 0
    ):
        raise SpecError(f"{path}: {where} prior must be [mean, sd] with sd > 0.")
    return (float(value[0]), float(value[1]))


def check_spec(spec: CalibrationSpec, model: Model) -> CalibrationSpec:
    """Resolve names against the model; parameters must be constants; data must cover the period."""

    def resolve(name: str, where: str) -> str:
        try:
            return model.resolve(name)
        except SDError as err:
            raise SpecError(f"{spec.path}: {where}: {err}") from None

    params = []
    for p in spec.parameters:
        name = resolve(p.name, f"[parameters.{p.name!r}]")
        var = model.variables[name]
        if var.kind != "constant" or name not in model.defaults:
            raise SpecError(
                f"{spec.path}: [parameters.{p.name!r}]: '{name}' is a {var.kind} computed by "
                f"an equation (line {var.line}); only constants can be fitted."
            )
        params.append(ParameterSpec(name, p.lower, p.upper, p.prior, p.fixed, p.why))
    targets = []
    for t in spec.targets:
        name = resolve(t.variable, f"[targets.{t.variable!r}]")
        period = t.period or spec.period
        obs = t.series.load()
        inside = obs[(obs.index >= period[0]) & (obs.index <= period[1])]
        if inside.empty:
            raise SpecError(
                f"{spec.path}: [targets.{t.variable!r}]: {t.series.file.name} has no value of "
                f"{t.series.column!r} in {period[0]:g}-{period[1]:g}."
            )
        series = SeriesSpec(**{**t.series.__dict__, "variable": name})
        targets.append(TargetSpec(series, t.weight, t.period, t.relative))
    inputs = {resolve(k, f"[inputs] {k!r}"): v for k, v in spec.inputs.items()}
    freeze = []
    for f in spec.freeze:
        name = resolve(f, f"[backtest] freeze {f!r}")
        if model.variables[name].kind != "constant" or name not in model.defaults:
            raise SpecError(
                f"{spec.path}: [backtest] freeze {f!r}: '{name}' is computed by an equation; "
                "only a constant (a year switch such as 'Last Recorded Year') can be frozen."
            )
        freeze.append(name)
    grid = model.time
    if spec.period[0] < grid.initial or spec.period[1] > grid.final:
        raise SpecError(
            f"{spec.path}: [calibration] period {spec.period[0]:g}-{spec.period[1]:g} is outside "
            f"the model's time {grid.initial:g}-{grid.final:g}."
        )
    return CalibrationSpec(
        **{
            **spec.__dict__,
            "parameters": tuple(params),
            "targets": tuple(targets),
            "inputs": MappingProxyType(inputs),
            "freeze": tuple(freeze),
        }
    )


# -- objective --------------------------------------------------------------


class Objective:
    """Scaled residuals of the model against the targets, for parameters ``x``.

    Only observations with ``time <= fit_end`` enter: a backtest passes its cutoff.
    """

    def __init__(self, spec: CalibrationSpec, model: Model, fit_end: float | None = None):
        self.spec, self.model = spec, model
        self.fit_end = spec.period[1] if fit_end is None else min(fit_end, spec.period[1])
        self.free = spec.free
        self.obs: dict[str, pd.Series] = {}
        self.factor: dict[str, float | np.ndarray] = {}
        for t in spec.targets:
            lo, hi = t.period or spec.period
            obs = t.series.load()
            obs = obs[(obs.index >= lo) & (obs.index <= min(hi, self.fit_end))]
            if obs.empty or t.weight == 0:
                continue
            self.obs[t.variable] = obs
            if t.relative:  # each point over its own size (load_spec refuses zeros)
                self.factor[t.variable] = t.weight / (np.abs(obs.to_numpy()) * math.sqrt(len(obs)))
                continue
            scale = float(np.mean(np.abs(obs.to_numpy()))) or 1.0
            self.factor[t.variable] = t.weight / (scale * math.sqrt(len(obs)))
        if not self.obs:
            raise SpecError(
                f"{spec.path}: no target has observations up to {self.fit_end:g}; "
                "move the cut-off or the fitting period."
            )
        self.runs = 0
        self.failed = 0
        self.first_failure = ""
        self.best: tuple[float, np.ndarray] | None = None
        self.on_run: Callable[[Objective], None] | None = None
        #: the model built for the vectorized engine (None: PySD); when set, residuals_many
        #: runs its points on ENGINES["vectorized"] (sd.analysis.calibration_batch)
        self.vector: Any = None

    @property
    def lower(self) -> np.ndarray:
        return np.array([p.lower for p in self.free])

    @property
    def upper(self) -> np.ndarray:
        return np.array([p.upper for p in self.free])

    def params(self, x: np.ndarray) -> dict[str, float]:
        values = dict(self.spec.inputs)
        values.update({p.name: p.fixed for p in self.spec.parameters if p.fixed is not None})
        values.update({p.name: float(v) for p, v in zip(self.free, x, strict=True)})
        return values

    def simulate(self, x: np.ndarray, *, until: float | None = None):
        final = until if until is not None else max(s.index.max() for s in self.obs.values())
        return run(
            self.model,
            self.params(x),
            time=TimeSettings(initial=self.model.time.initial, final=final),
            variables=[t.variable for t in self.spec.targets],
            scenario="calibrated",
        )

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Scaled residuals at ``x`` from one PySD run (the serial path)."""
        try:
            res = self.simulate(x)
        except SDError as err:
            # A failed run (NaN, infinity, an error) is a very bad fit, not a crash: the
            # optimiser probes the corners of the bounds, where a model may rightly fail,
            # and an error there would throw away a long fit whose result is sound (the
            # returned point is re-run cleanly by _with_stats, which raises if it fails).
            # The failures are counted, the first is named, and both are reported and
            # written with the results, so the penalty is never silent.
            return self._record(x, None, str(err))
        parts = []
        for name, obs in self.obs.items():
            sim = res.series(name).reindex(obs.index)
            parts.append(self.factor[name] * (sim.to_numpy() - obs.to_numpy()))
        parts.append(self._prior_residuals(x))
        return self._record(x, np.concatenate(parts), None)

    def residuals_many(self, points: np.ndarray) -> np.ndarray:
        """Scaled residuals of each row of ``points`` (shape ``(k, p)``) -> ``(k, m)``.

        With the vectorized engine (``self.vector``, see :func:`calibrate`) the ``k`` runs
        are one engine call; otherwise they are ``k`` serial PySD runs. Each row is
        counted, penalised when its run failed and reported to ``on_run`` as
        :meth:`residuals` does, in row order.
        """
        points = np.atleast_2d(np.asarray(points, dtype=float))
        if self.vector is None:
            return np.vstack([self.residuals(x) for x in points])

        sims, failed = simulate_many(self, points)
        rows = []
        for k, x in enumerate(points):
            if failed[k]:
                rows.append(self._record(x, None, self._cause(x)))
                continue
            parts = [self.factor[name] * (sims[name][k] - obs) for name, obs in self._obs_np()]
            parts.append(self._prior_residuals(x))
            rows.append(self._record(x, np.concatenate(parts), None))
        return np.vstack(rows)

    def _obs_np(self) -> list[tuple[str, np.ndarray]]:
        return [(name, obs.to_numpy()) for name, obs in self.obs.items()]

    def _cause(self, x: np.ndarray) -> str:
        """Why the run at ``x`` failed, from a PySD run of it (only for the first failure)."""
        if self.first_failure:
            return ""
        try:
            self.simulate(x)
        except SDError as err:
            return str(err)
        return "the vectorized engine returned a NaN or infinite value (PySD did not)"

    def _record(self, x: np.ndarray, out: np.ndarray | None, failure: str | None) -> np.ndarray:
        """Count an evaluation, penalise a failed one, keep the best point, call on_run."""
        if out is None:
            out = np.full(self.size, 1e3)
            self.failed += 1
            if not self.first_failure:

                params = {p.name: float(v) for p, v in zip(self.free, x, strict=True)}
                self.first_failure = (
                    f"evaluation {self.runs + 1} ({describe_params(params)}): {failure}"
                )
        else:
            out = np.where(np.isfinite(out), out, 1e3)
        self.runs += 1
        cost = 0.5 * float(out @ out)
        if self.best is None or cost < self.best[0]:
            self.best = (cost, np.array(x, dtype=float))
        if self.on_run:
            self.on_run(self)
        return out

    @property
    def size(self) -> int:
        n = sum(len(o) for o in self.obs.values())
        return n + sum(1 for p in self.free if p.prior is not None)

    def _prior_residuals(self, x: np.ndarray) -> np.ndarray:
        return np.array(
            [(v - p.prior[0]) / p.prior[1] for p, v in zip(self.free, x, strict=True) if p.prior]
        )


def start_points(spec: CalibrationSpec, model: Model, n: int, seed: int) -> np.ndarray:
    """The model's own values (clipped into the bounds), then ``n`` Latin hypercube points."""
    lo = np.array([p.lower for p in spec.free])
    hi = np.array([p.upper for p in spec.free])
    own = np.clip([model.defaults[p.name] for p in spec.free], lo, hi)
    lhs = qmc.LatinHypercube(d=len(lo), seed=np.random.default_rng(seed)).random(n)
    return np.vstack([own, qmc.scale(lhs, lo, hi)]) if n else own[None, :]


def calibrate(
    spec: CalibrationSpec,
    model: Model | None = None,
    *,
    fit_end: float | None = None,
    starts: int | None = None,
    on_run: Callable[[Objective], None] | None = None,
    engine: str = "vectorized",
) -> Calibration:
    """Fit the free parameters of ``spec``; Ctrl-C stops and keeps the best point so far.

    ``engine="vectorized"`` (the default) evaluates the start points in one call of the
    vectorized engine, and each finite-difference Jacobian (one run per free parameter)
    in one call; a model the engine cannot build is fitted with PySD after a notice
    (logger ``sd``). ``engine="pysd"`` runs every evaluation through :func:`sd.run`.
    Both take the same steps, so they find the same values to rounding.
    """
    if engine not in ENGINES:
        raise SpecError(f"calibration engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    model = model or load(spec.model_path)
    spec = check_spec(spec, model)
    objective = Objective(spec, model, fit_end)
    objective.on_run = on_run
    if engine == "vectorized":
        objective.vector = _vector_model(model)
    points = start_points(spec, model, spec.starts if starts is None else starts, spec.seed)
    budget = max(spec.max_runs // len(points), 10 * (len(spec.free) + 1))
    options = {
        "bounds": (objective.lower, objective.upper),
        "x_scale": objective.upper - objective.lower,
        "diff_step": _DIFF_STEP,
        "max_nfev": budget,
        "method": "trf",
    }
    if objective.vector is not None:

        fits, interrupted = fit_starts(objective, points, options)
    else:
        fits, interrupted = _fit_serially(objective, points, options)
    results: list[StartResult] = []
    best_fit = None
    for x0, fit, runs in fits:
        results.append(StartResult(x0, fit.x, float(fit.cost), runs, fit.message))
        if best_fit is None or fit.cost < best_fit.cost:
            best_fit = fit
    better_unfinished = (
        interrupted
        and best_fit is not None
        and objective.best is not None
        and objective.best[0] < best_fit.cost
    )
    if best_fit is not None and not better_unfinished:
        # the finished fit of the best start (a point evaluated while estimating a Jacobian
        # may be a hair lower, but only a finished fit has a Jacobian for standard errors)
        x, cost = best_fit.x, float(best_fit.cost)
        converged, message = best_fit.status > 0, str(best_fit.message)
        std = _std_errors(best_fit.jac, best_fit.fun, len(x))
    elif objective.best is not None:
        cost, x = objective.best
        converged, message = False, "interrupted; best point evaluated so far"
        std = np.full(len(x), np.nan)
    else:
        raise KeyboardInterrupt
    values = objective.params(x)
    values = {p.name: values[p.name] for p in spec.parameters}
    cal = Calibration(
        spec=spec,
        values=MappingProxyType(values),
        std_errors=MappingProxyType(
            {p.name: float(s) for p, s in zip(spec.free, std, strict=True)}
        ),
        objective=cost,
        runs=objective.runs,
        converged=converged and not interrupted,
        message=message,
        starts=tuple(results),
        fit_end=objective.fit_end,
        interrupted=interrupted,
        failed=objective.failed,
        first_failure=objective.first_failure,
        engine="vectorized" if objective.vector is not None else "pysd",
        provenance=stamp(model, spec_files(spec)),
    )
    return _with_stats(cal, objective, x)


ENGINES = ("vectorized", "pysd")
_DIFF_STEP = 1e-4  # relative finite-difference step, as scipy's diff_step


def _vector_model(model: Model) -> Any:
    """The model built for the vectorized engine, or None (with a notice) when it cannot be."""

    try:
        return build(model)
    except Unsupported as err:
        logging.getLogger("sd").warning(f"{err}; calibrating {model.path.name} with PySD instead")
        return None


def _fit_serially(
    objective: Objective, points: np.ndarray, options: dict[str, Any]
) -> tuple[list[tuple[np.ndarray, Any, int]], bool]:
    """One start after the other, every evaluation a PySD run (scipy's own '2-point')."""
    fits = []
    for x0 in points:
        before = objective.runs
        try:
            fit = least_squares(objective.residuals, x0, jac="2-point", **options)
        except KeyboardInterrupt:
            return fits, True
        fits.append((x0, fit, objective.runs - before))
    return fits, False


def _std_errors(jac: np.ndarray, fun: np.ndarray, p: int) -> np.ndarray:
    """Approximate standard errors: s² (JᵀJ)⁻¹ with s² = SSR / (m - p)."""
    m = len(fun)
    if m <= p:
        return np.full(p, np.nan)
    s2 = float(fun @ fun) / (m - p)
    try:
        cov = np.linalg.pinv(jac.T @ jac) * s2
    except np.linalg.LinAlgError:
        return np.full(p, np.nan)
    return np.sqrt(np.clip(np.diag(cov), 0, None))


def _with_stats(cal: Calibration, objective: Objective, x: np.ndarray) -> Calibration:
    # one run to the end of the fitting period: the statistics (observations up to the fit's
    # end) and the fitted run kept with the result (a backtest's shows the held-out years)
    res = objective.simulate(x, until=cal.spec.period[1])
    stats = {}
    for name, obs in objective.obs.items():
        sim = res.series(name).reindex(obs.index)
        stats[name] = fitstats.fit_stats(sim.to_numpy(), obs.to_numpy())
    return Calibration(**{**cal.__dict__, "stats": MappingProxyType(stats), "fitted": res})


def evaluate(
    spec: CalibrationSpec, values: Mapping[str, float], model: Model | None = None
) -> Calibration:
    """The fit of given values (e.g. a published parameters file) without fitting: one run.

    Free parameters missing from ``values`` keep the model's own values; the result has
    the statistics and the fitted run of a calibration, ``runs == 1`` and no standard errors.
    """
    model = model or load(spec.model_path)
    spec = check_spec(spec, model)
    objective = Objective(spec, model)
    x = np.array([float(values.get(p.name, model.defaults[p.name])) for p in spec.free])
    chosen = objective.params(x)
    cal = Calibration(
        spec=spec,
        values=MappingProxyType({p.name: chosen[p.name] for p in spec.parameters}),
        std_errors=MappingProxyType({p.name: float("nan") for p in spec.free}),
        objective=float("nan"),
        runs=1,
        converged=False,
        message="evaluated at given values (no fit)",
        starts=(),
        fit_end=objective.fit_end,
        provenance=stamp(model, spec_files(spec)),
    )
    return _with_stats(cal, objective, x)


def spec_files(spec: CalibrationSpec) -> dict[str, Path]:
    """The files a fit depends on besides the model: the spec, its base spec and the recorded
    series' files (``history``, ``history 2``... in the order of the targets)."""
    files = {"spec": spec.path}
    if spec.base is not None:
        files["base spec"] = spec.base
    for k, path in enumerate(dict.fromkeys(t.series.file for t in spec.targets)):
        files["history" if k == 0 else f"history {k + 1}"] = path
    return files


def output_folder(spec: CalibrationSpec) -> Path:
    """Where ``sd calibrate`` writes by default: ``<output>/calibration``."""
    return (spec.output or spec.path.parent / "output" / spec.path.stem) / "calibration"


def published_parameters(spec: CalibrationSpec) -> dict | None:
    """The calibrated-parameters file the spec names (``parameters_file``), as read TOML
    (``[parameters]``, ``[fit_statistics]``...), or None when it names none or it is absent."""
    if spec.parameters_file is None or not spec.parameters_file.is_file():
        return None
    with open(spec.parameters_file, "rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class SavedCalibration:
    """What ``sd calibrate`` wrote to its output folder (by
    :func:`sd.report.calibration.write_calibration`): the fitted values
    (``parameters.csv``), their fit statistics (``fit_statistics.csv``), the fitted run
    (``fitted.csv``, None when absent) and the provenance (``calibration.json``; empty for
    a folder written before it was recorded, so that a staleness check finds it stale)."""

    folder: Path
    values: Mapping[str, float]
    stats: pd.DataFrame
    fitted: Results | None
    provenance: Mapping[str, Any]

    @classmethod
    def load(cls, folder: Path) -> SavedCalibration | None:
        stats_file, params = folder / "fit_statistics.csv", folder / "parameters.csv"
        if not (stats_file.is_file() and params.is_file()):
            return None
        table = pd.read_csv(params)
        values = {str(k): float(v) for k, v in zip(table["parameter"], table["value"], strict=True)}
        fitted = Results.load(folder / "fitted.csv") if (folder / "fitted.csv").is_file() else None
        meta_file = folder / "calibration.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        return cls(folder, values, pd.read_csv(stats_file), fitted, meta.get("provenance", {}))


@dataclass(frozen=True)
class CalibrationInputs:
    """The report's calibration section: a spec checked against its model, the values the
    study uses, their fit statistics (one row per series, as
    :meth:`Calibration.stats_table`), the fitted run, and, when the saved calibration holds
    other values than the published parameters file, ``unpublished`` = (the calibration
    output folder's name, the parameters file's name)."""

    spec: CalibrationSpec
    values: Mapping[str, float]
    stats: pd.DataFrame
    fitted: Results | None
    unpublished: tuple[str, str] | None = None
