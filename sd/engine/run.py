"""Run a model once with parameter overrides and return :class:`~sd.results.Results`.

A run goes through the vectorized engine when it can run the model (:mod:`sd.engine.fastrun`,
the same numbers as PySD, several times faster); otherwise every run starts from a fresh
PySD instance of the cached translation, so no override, time setting or state leaks
from one run into the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sd.datapackage import project_path
from sd.engine.fastrun import run_frame as fast_frame
from sd.engine.integration import run_frame
from sd.engine.params import _describe, check_params
from sd.engine.pysd_run import _run_pysd
from sd.errors import ParameterError, SimulationError
from sd.model.cache import pysd_version
from sd.model.model import Model, TimeGrid, TimeSettings
from sd.results import COLUMNS, Results
from sd.version import __version__


def run(
    model: Model,
    params: Mapping[str, Any] | None = None,
    *,
    time: TimeSettings | None = None,
    variables: Sequence[str] | None = None,
    scenario: str = "base",
    run_id: int = 0,
) -> Results:
    """Simulate ``model`` once.

    Parameters
    ----------
    model : Model
        From :func:`sd.load`.
    params : mapping, optional
        Vensim variable name -> number, or pandas Series indexed by time for a
        time-varying input. Only constants, lookups and data variables can be set.
    time : TimeSettings, optional
        Initial/final time, time step and save step (model's time unit).
    variables : list of str, optional
        Variables to keep (default: all but the control variables).
    scenario, run_id : labels written into the results.

    Raises
    ------
    UnknownVariableError, ParameterError, TimeSettingsError, SimulationError
    """
    overrides = check_params(model, params)
    grid = (time or TimeSettings()).apply(model.time)
    names = _selection(model, variables)

    # the vectorized engine when it can run the model (PySD's numbers), its code cached
    frame = fast_frame(model, overrides, grid, names)
    if frame is None and grid.method != "euler":  # PySD has Euler only: RK4/RK2 or refused

        frame = run_frame(model, overrides, grid, names)
    elif frame is None:
        frame = _run_pysd(model, overrides, grid, names)
    _check_finite(model, frame, scenario)
    data = _tidy(frame, scenario, run_id)
    params_row = {"scenario": scenario, "run": run_id}
    params_row.update({k: _describe(v) for k, v in overrides.items()})
    return Results(data, pd.DataFrame([params_row]), provenance(model, grid, names))



def stock_minimums(model: Model) -> dict[str, float]:
    """Stocks with a declared lower bound (Vensim range ``[min, ...]``) and that bound."""
    return {
        v.name: v.limits[0] for v in model.of_kind("stock") if v.limits and v.limits[0] is not None
    }


def first_below_minimum(model: Model, results: Results) -> tuple[pd.Series, float] | None:
    """The first saved row where a stock is below its declared minimum, with that minimum."""
    lower = stock_minimums(model)
    data = results.data[results.data["variable"].isin(list(lower))]
    bad = data[data["value"] < data["variable"].map(lower).astype(float) - 1e-9]
    if bad.empty:
        return None
    first = bad.sort_values("time", kind="stable").iloc[0]
    return first, lower[first["variable"]]


def _selection(model: Model, variables: Sequence[str] | None) -> list[str]:
    if variables is None:
        return [n for n, v in model.variables.items() if v.kind not in ("control", "lookup")]
    if isinstance(variables, str):
        raise TypeError("variables must be a list of names, not one string")
    names = [model.resolve(v) for v in variables]
    lookups = [n for n in names if model.variables[n].kind == "lookup"]
    if lookups:
        raise ParameterError(
            f"{lookups[0]!r} is a lookup table (a function of its input), not a series over "
            "time; choose the variable that calls it."
        )
    return list(dict.fromkeys(names))


def _check_finite(model: Model, frame: pd.DataFrame, scenario: str) -> None:
    values = frame.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = "NaN" if np.isnan(values[row, col]) else "an infinite value"
        raise SimulationError(
            f"{model.path.name}, scenario '{scenario}': '{frame.columns[col]}' becomes {what} "
            f"at time {frame.index[row]:g}. Check its equation and the inputs it depends on."
        )


def _tidy(frame: pd.DataFrame, scenario: str, run_id: int) -> pd.DataFrame:
    n_t, n_v = frame.shape
    # text columns: the few distinct strings converted once, then taken (pandas' str dtype)
    names = pd.array(np.asarray(frame.columns, dtype=object), dtype="str")
    label = pd.array(np.array([scenario], dtype=object), dtype="str")
    data = pd.DataFrame(
        {
            "scenario": label.take(np.zeros(n_t * n_v, dtype=np.intp)),
            "run": np.full(n_t * n_v, run_id, dtype="int64"),
            "time": np.tile(frame.index.to_numpy(dtype="float64"), n_v),
            "variable": names.take(np.repeat(np.arange(n_v), n_t)),
            "value": frame.to_numpy(dtype="float64").T.reshape(-1),
        },
        copy=False,
    )
    assert list(data.columns) == COLUMNS  # built in that order: no reordering copy
    return data



def provenance(model: Model, grid: TimeGrid, names: Sequence[str]) -> dict[str, Any]:

    return {
        "model": project_path(model.path),
        "model_sha256": model.entry.model_sha256,  # the bytes that were translated
        "cache_key": model.key,
        "data_files": {project_path(p): h for p, h in model.data_hashes.items()},
        "pysd_version": pysd_version(),
        "sd_version": __version__,
        "time": {
            "initial": grid.initial,
            "final": grid.final,
            "step": grid.step,
            "saveper": grid.saveper,
            "units": grid.units,
            "method": grid.method,
        },
        "units": {n: model.variables[n].units for n in names},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def stamp(model: Model, files: Mapping[str, Path] | None = None) -> dict[str, Any]:
    """What a saved output (sensitivity indices, a calibration, an exploration, ensemble
    bands) was made from, for a later staleness check (``sd.pipeline.input_stale``): the
    model file and its bytes, the translation key (its data files and PySD), the software,
    and the SHA-256 of each named input file (``{"study": path, ...}``)."""
    return {
        "model": project_path(model.path),
        "model_sha256": model.entry.model_sha256,
        "cache_key": model.key,
        "pysd_version": pysd_version(),
        "sd_version": __version__,
        "files": file_hashes(files or {}),
    }


def file_hashes(files: Mapping[str, Path]) -> dict[str, dict[str, str]]:
    """``{role: {"file": project path, "sha256": hash of its bytes}}``."""
    return {
        role: {
            "file": project_path(path),
            "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        }
        for role, path in files.items()
    }
