"""Global sensitivity with SALib: Sobol (first and total order) and Morris.

The uncertain constants of an uncertainty spec form the SALib problem (their
distributions become SALib's ``dists``); the study's scenario is run for every
sample through :func:`sd.analysis.ensemble.ensemble` (vectorized engine by default), and the
indices are computed for each output at each saved time, so they can be read at
chosen years or over time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sd.analysis.ensemble import check_memory, ensemble_with_failures
from sd.analysis.options import RunOptions
from sd.errors import SimulationError, optional
from sd.model.model import Model
from sd.study.specfile import SpecError
from sd.study.study import Study
from sd.study.uncertainty import Sample, UncertaintySpec, check_seed

METHODS = ("sobol", "morris")


@dataclass(frozen=True)
class Sensitivity:
    """``indices``: output | time | parameter | (S1, S1_conf, ST, ST_conf) or
    (mu_star, mu_star_conf, sigma); one row per output, saved time and parameter."""

    method: str
    indices: pd.DataFrame
    problem: dict
    runs: int

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
    x = sample_matrix(problem, method, n, seed)
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
    for (var, t), group in data.groupby(["variable", "time"], observed=True, sort=False):
        y = group.sort_values("run")["value"].to_numpy()
        if np.ptp(y) == 0:
            continue  # the output does not vary at this time: no index to compute
        res = analyze(problem, method, x, y, seed)
        for j, name in enumerate(problem["names"]):
            rows.append(
                {
                    "output": var,
                    "time": t,
                    "parameter": name,
                    **{k: float(v[j]) for k, v in res.items()},
                }
            )
    return Sensitivity(method, pd.DataFrame(rows), problem, len(x))
