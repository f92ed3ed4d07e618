"""Global sensitivity with SALib: Sobol (first and total order) and Morris.

The uncertain constants of an uncertainty spec form the SALib problem (their
distributions become SALib's ``dists``); the study's scenario is run for every
sample through :func:`sd.analysis.ensemble.ensemble` (vectorized engine by default), and the
indices are computed for each output at each saved time, so they can be read at
chosen years or over time.

Morris moves each input along a grid of levels of its distribution (SALib's
``num_levels``); the ends of that grid are the 0 and 1 quantiles, which are infinite for
an unbounded distribution (normal, lognormal). Those are therefore truncated at the
:data:`MORRIS_TAILS` quantiles (0.5% and 99.5%) for Morris: the range is stated in the
result's ``notes`` and written to ``sensitivity.json``. Bounded distributions (uniform,
triangular, truncated normal) keep their full range.

:func:`convergence_issues` lists the indices that have not converged (a confidence
interval wider than :data:`CONF_FRACTION` of the index, first-order Sobol indices that
sum above one or exceed the total-order index beyond their intervals); the report and
the command show them instead of hiding them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sd.analysis.ensemble import check_memory, ensemble_with_failures
from sd.analysis.options import RunOptions
from sd.engine.run import stamp
from sd.errors import SimulationError, optional
from sd.model.model import Model
from sd.study.specfile import SpecError
from sd.study.study import Study
from sd.study.uncertainty import Sample, UncertaintySpec, check_seed

METHODS = ("sobol", "morris")
#: quantiles at which Morris truncates an unbounded distribution (an assumption: the central
#: 99% of the distribution, so that its levels are finite; stated in every Morris output)
MORRIS_TAILS = (0.005, 0.995)
UNBOUNDED = ("normal", "lognormal")
#: an index has not converged when its 95% confidence interval (SALib's ``*_conf``, the
#: half-width) exceeds this fraction of the index (an assumption: half the index)
CONF_FRACTION = 0.5
#: indices below this value are not checked for convergence (their ranking does not matter)
MIN_CHECKED = 0.05


@dataclass(frozen=True)
class Sensitivity:
    """``indices``: output | time | parameter | (S1, S1_conf, ST, ST_conf) or
    (mu_star, mu_star_conf, sigma); one row per output, saved time and parameter."""

    method: str
    indices: pd.DataFrame
    problem: dict
    runs: int  #: model runs of the design (not rows of ``indices``)
    samples: int = 0  #: SALib's base sample size N (Sobol) or trajectories (Morris)
    seed: int = 0
    notes: tuple[str, ...] = ()  #: how the design was made (e.g. Morris's truncated tails)
    salib_warnings: tuple[str, ...] = ()  #: warnings SALib raised while sampling or analysing
    #: what the indices were made from (:func:`sd.engine.run.stamp`: the model, its data and
    #: software, the study and uncertainty spec files); empty when not recorded
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict:
        """What a reader of the indices needs: the design, its run count, its caveats."""
        return {
            "method": self.method,
            "samples": self.samples,
            "runs": self.runs,
            "seed": self.seed,
            "parameters": [
                {"name": n, "dist": d, "bounds": b}
                for n, d, b in zip(
                    self.problem["names"],
                    self.problem.get("dists", ["unif"] * self.problem["num_vars"]),
                    self.problem["bounds"],
                    strict=True,
                )
            ],
            "morris_ranges": self.problem.get("morris_ranges", {}),
            "notes": list(self.notes),
            "salib_warnings": list(self.salib_warnings),
            "conf_fraction": CONF_FRACTION,
            "provenance": dict(self.provenance),
        }

    @classmethod
    def load(cls, folder: Path) -> Sensitivity | None:
        """The indices and design :func:`sd.report.uncertainty.write_sensitivity` wrote to
        ``folder`` (``indices.csv``, ``sensitivity.json``), or None when there are none.

        A folder without ``sensitivity.json`` loads with no runs and no provenance (so a
        staleness check finds it stale)."""
        path = folder / "indices.csv"
        if not path.is_file():
            return None
        meta_file = folder / "sensitivity.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        params = meta.get("parameters", [])
        problem = {
            "num_vars": len(params),
            "names": [p["name"] for p in params],
            "bounds": [p["bounds"] for p in params],
            "dists": [p["dist"] for p in params],
        }
        if meta.get("morris_ranges"):
            problem["morris_ranges"] = meta["morris_ranges"]
        return cls(
            str(meta.get("method", folder.name.rsplit("_", 1)[-1])),
            pd.read_csv(path),
            problem,
            int(meta.get("runs", 0)),
            samples=int(meta.get("samples", 0)),
            seed=int(meta.get("seed", 0)),
            notes=tuple(meta.get("notes", ())),
            salib_warnings=tuple(meta.get("salib_warnings", ())),
            provenance=dict(meta.get("provenance", {})),
        )

    @property
    def measure(self) -> str:
        return "ST" if self.method == "sobol" else "mu_star"

    def at(self, time: float) -> pd.DataFrame:
        """Indices at the saved time closest to ``time``."""
        times = np.unique(self.indices["time"].to_numpy())
        t = times[np.argmin(np.abs(times - time))]
        return self.indices[self.indices["time"] == t]


def problem_of(spec: UncertaintySpec) -> dict:
    """SALib problem from the uncertain constants (AR(1) paths cannot be included)."""
    if not spec.parameters:
        raise SpecError(f"{spec.path}: no uncertain constants for a sensitivity analysis.")
    dists, bounds = zip(*(d.salib() for d in spec.parameters), strict=True)
    return {
        "num_vars": len(spec.parameters),
        "names": [d.name for d in spec.parameters],
        "bounds": [list(b) for b in bounds],
        "dists": list(dists),
    }


def sample_matrix(problem: dict, method: str, n: int, seed: int) -> np.ndarray:
    if method == "sobol":
        sobol = optional("SALib.sample.sobol", "Sobol sensitivity")
        return sobol.sample(problem, n, calc_second_order=False, seed=seed)
    if method == "morris":
        morris = optional("SALib.sample.morris", "Morris sensitivity")
        return morris.sample(problem, n, num_levels=4, seed=seed)
    raise SpecError(f"unknown sensitivity method {method!r}; use one of {METHODS}.")


def morris_design(
    spec: UncertaintySpec, problem: dict, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, dict, list[str]]:
    """Morris trajectories on the unit cube, the inputs they give, the problem, the notes.

    The levels are quantile levels of each input's distribution; an unbounded one is
    truncated at :data:`MORRIS_TAILS`, so every input is finite. SALib's Morris analysis
    divides output differences by the step on the unit grid, so the elementary effects
    are per step of probability (the same as SALib's own quantile scaling).
    """
    from SALib.sample import morris

    unit_problem = {
        "num_vars": problem["num_vars"],
        "names": problem["names"],
        "bounds": [[0.0, 1.0]] * problem["num_vars"],
    }
    unit = morris.sample(unit_problem, n, num_levels=4, seed=seed)
    x = np.empty_like(unit)
    ranges: dict[str, list[float]] = {}
    notes = []
    lo, hi = MORRIS_TAILS
    for j, dist in enumerate(spec.parameters):
        if dist.kind == "choice":
            dist.salib()  # raises the clear message
        u = lo + (hi - lo) * unit[:, j] if dist.kind in UNBOUNDED else unit[:, j]
        x[:, j] = dist.ppf(u)
        ends = dist.ppf(np.array([lo, hi] if dist.kind in UNBOUNDED else [0.0, 1.0]))
        ranges[dist.name] = [float(ends[0]), float(ends[1])]
        if dist.kind in UNBOUNDED:
            notes.append(
                f"{dist.name}: {dist.kind} distribution truncated for Morris at its "
                f"{lo:.1%} and {hi:.1%} quantiles ({ends[0]:.6g} to {ends[1]:.6g})"
            )
        if not np.all(np.isfinite(x[:, j])):  # not reachable with the kinds above
            raise SpecError(
                f"{spec.path}: {dist.name}: its {dist.kind} distribution gives infinite values "
                "at Morris's levels; give it bounds (truncnormal, uniform, triangular)."
            )
    return unit, x, {**problem, "morris_ranges": ranges}, notes


def convergence_issues(
    indices: pd.DataFrame, method: str, times: Sequence[float] | None = None
) -> pd.DataFrame:
    """Indices that have not converged: output | time | parameter | issue (one sentence).

    A checked index (at least :data:`MIN_CHECKED`) whose confidence half-width exceeds
    :data:`CONF_FRACTION` of it; for Sobol also first-order indices summing above one
    beyond their intervals, and a first-order index above its total-order index beyond
    both intervals. ``times``: only these saved times (the closest to each).
    """
    idx = indices
    cols = ["output", "time", "parameter", "kind", "value", "conf", "issue"]
    if idx.empty:
        return pd.DataFrame(columns=cols)
    if times is not None:
        all_times = np.unique(idx["time"].to_numpy())
        keep = {float(all_times[np.argmin(np.abs(all_times - t))]) for t in times}
        idx = idx[idx["time"].isin(keep)]
    measure = "ST" if method == "sobol" else "mu_star"
    label = {"ST": "total-order Sobol index", "mu_star": "Morris mu*"}[measure]
    rows = []
    for r in idx.itertuples(index=False):
        value, conf = getattr(r, measure), getattr(r, f"{measure}_conf")
        if abs(value) >= MIN_CHECKED and conf > CONF_FRACTION * abs(value):
            rows.append(
                (
                    r.output,
                    r.time,
                    r.parameter,
                    "wide_interval",
                    value,
                    conf,
                    f"the {label} {value:.3g} has a 95% interval of ±{conf:.2g}, wider than "
                    f"{CONF_FRACTION:.0%} of the index",
                )
            )
        if measure == "ST" and r.S1 - r.S1_conf > r.ST + r.ST_conf:
            rows.append(
                (
                    r.output,
                    r.time,
                    r.parameter,
                    "s1_above_st",
                    r.S1,
                    r.ST,
                    f"the first-order index {r.S1:.3g} exceeds the total-order index "
                    f"{r.ST:.3g} beyond both intervals",
                )
            )
    if measure == "ST":
        for (output, t), g in idx.groupby(["output", "time"], sort=False):
            total, conf = g["S1"].sum(), float(np.sqrt((g["S1_conf"] ** 2).sum()))
            if total - conf > 1.0:
                rows.append(
                    (
                        output,
                        t,
                        "",
                        "s1_sum",
                        total,
                        conf,
                        f"the first-order indices sum to {total:.3g} (±{conf:.2g}), above 1",
                    )
                )
    return pd.DataFrame(rows, columns=cols)


def analyze(problem: dict, method: str, x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    if method == "sobol":
        sobol = optional("SALib.analyze.sobol", "Sobol sensitivity")
        res = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
        return {k: res[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}
    morris = optional("SALib.analyze.morris", "Morris sensitivity")
    res = morris.analyze(problem, x, y, num_levels=4, seed=seed)
    return {k: np.asarray(res[k]) for k in ("mu_star", "mu_star_conf", "sigma")}


def sensitivity(
    study: Study,
    model: Model,
    spec: UncertaintySpec,
    *,
    method: str = "sobol",
    n: int = 512,
    seed: int = 42,
    outputs: Sequence[str] | None = None,
    scenario: str | None = None,
    options: RunOptions | None = None,
    **run: Any,
) -> Sensitivity:
    """Sobol or Morris indices of ``outputs`` (default: the study's variables) over time.

    The runs execute as ``options`` says (:class:`~sd.analysis.options.RunOptions`; its
    fields may be given as keywords)."""
    if method not in METHODS:
        raise SpecError(f"unknown sensitivity method {method!r}; use one of {METHODS}.")
    check_seed(seed)
    problem = problem_of(spec)
    d = problem["num_vars"]
    names = [model.resolve(v) for v in (outputs or study.variables)]
    check_memory(study, model, n * (d + 2 if method == "sobol" else d + 1), names)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method == "morris":
            unit, x, problem, notes = morris_design(spec, problem, n, seed)
        else:
            x = sample_matrix(problem, method, n, seed)
            unit = x
    sample = Sample(pd.DataFrame(x, columns=problem["names"]), {}, seed)
    scenario = scenario or study.base
    results, failures = ensemble_with_failures(
        study, model, sample, RunOptions.of(options, **run), variables=outputs,
        scenarios=[scenario],
    )
    if failures.count:
        # SALib's estimators need the output of every point of the design: a Sobol or
        # Morris index computed without the failed points is not an index of this model
        raise SimulationError(
            f"{method} analysis of {study.path.name}: {failures.describe()}. {method.title()} "
            "indices need every run of the design, so none may fail. Narrow the ranges of the "
            f"uncertain constants in {spec.path.name} to where the model runs, or fix the "
            "equation (run `sd ensemble` with the same spec to see the failures)."
        )
    data = results.data
    rows = []
    analysed = {k: v for k, v in problem.items() if k != "morris_ranges"}
    if method == "morris":
        analysed = {k: v for k, v in analysed.items() if k != "dists"}
    for (var, t), group in data.groupby(["variable", "time"], observed=True, sort=False):
        y = group.sort_values("run")["value"].to_numpy()
        if np.ptp(y) == 0:
            continue  # the output does not vary at this time: no index to compute
        with warnings.catch_warnings(record=True) as more:
            warnings.simplefilter("always")
            res = analyze(analysed, method, unit, y, seed)
        caught += more
        for j, name in enumerate(problem["names"]):
            rows.append(
                {
                    "output": var,
                    "time": t,
                    "parameter": name,
                    **{k: float(v[j]) for k, v in res.items()},
                }
            )
    said = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    return Sensitivity(
        method,
        pd.DataFrame(rows),
        problem,
        len(x),
        samples=n,
        seed=seed,
        notes=tuple(notes),
        salib_warnings=said,
        provenance={
            **stamp(model, {"study": study.path, "uncertainty": spec.path}),
            "scenario": scenario,
        },
    )
