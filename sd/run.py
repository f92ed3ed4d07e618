"""Run a model once with parameter overrides and return :class:`~sd.results.Results`.

A run goes through the vectorized engine when it can run the model (:mod:`sd.fastrun`,
the same numbers as PySD, several times faster); otherwise every run starts from a fresh
PySD instance of the cached translation, so no override, time setting or state leaks
from one run into the next.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from sd import randomness
from sd.errors import ParameterError, SimulationError, TimeSettingsError
from sd.model import Model, TimeGrid, failing_variable
from sd.results import COLUMNS, Results

SETTABLE = ("constant", "lookup", "data")
#: The most Euler steps one run may take: an assumption (the issue's "say, 10 million").
#: PySD takes about 0.4 ms a step on the Kuzbass model, so this is already an hour a run;
#: more is nearly always a mistyped final time (``--stop 1e12``).
MAX_STEPS = 10_000_000
Override = float | pd.Series


@dataclass(frozen=True)
class TimeSettings:
    """Optional changes to the model's time grid (``None`` keeps the model's value)."""

    initial: float | None = None
    final: float | None = None
    step: float | None = None
    saveper: float | None = None

    def apply(self, grid: TimeGrid) -> TimeGrid:
        new = replace(
            grid,
            initial=grid.initial if self.initial is None else float(self.initial),
            final=grid.final if self.final is None else float(self.final),
            step=grid.step if self.step is None else float(self.step),
            saveper=grid.saveper if self.saveper is None else float(self.saveper),
        )
        if self.step is not None and self.saveper is None and grid.saveper == grid.step:
            new = replace(new, saveper=new.step)  # SAVEPER = TIME STEP follows the step
        check_time(new)
        return new


def check_time(grid: TimeGrid) -> None:
    for label, value in (
        ("initial time", grid.initial),
        ("final time", grid.final),
        ("time step", grid.step),
        ("save step", grid.saveper),
    ):
        if not math.isfinite(value):
            raise TimeSettingsError(f"the {label} must be a finite number, not {value}.")
    if grid.step <= 0:
        raise TimeSettingsError(f"the time step must be positive; got {grid.step:g}.")
    if grid.saveper <= 0:
        raise TimeSettingsError(f"the save step must be positive; got {grid.saveper:g}.")
    if grid.saveper < grid.step:
        raise TimeSettingsError(
            f"the save step ({grid.saveper:g}) is shorter than the time step ({grid.step:g}); "
            "make it equal to or a multiple of the time step."
        )
    if grid.final < grid.initial:
        raise TimeSettingsError(
            f"the final time ({grid.final:g}) is before the initial time ({grid.initial:g}); "
            "swap them or correct one."
        )
    length = grid.final - grid.initial
    steps = length / grid.step
    if steps > MAX_STEPS:
        raise TimeSettingsError(
            f"a run from {grid.initial:g} to {grid.final:g} with a time step of {grid.step:g} "
            f"would take {steps:.3g} steps, more than the {MAX_STEPS:,} the toolkit runs; "
            "check the final time (FINAL TIME or --stop) and the time step."
        )
    if not _whole(steps):
        raise TimeSettingsError(
            f"the time step (TIME STEP or --step) {grid.step:g} does not divide the run from "
            f"{grid.initial:g} to {grid.final:g} into whole steps ({steps:.6g} steps), so the "
            f"final time would not be reached exactly; use a step such as "
            f"{_divisor(length, grid.step)}, or move the final time."
        )
    ratio = grid.saveper / grid.step
    if not _whole(ratio):
        raise TimeSettingsError(
            f"the save step (SAVEPER or --saveper) {grid.saveper:g} is not a multiple of the "
            f"time step {grid.step:g} ({ratio:.6g} steps), so values would be saved between "
            f"steps; use {grid.step * max(1, math.floor(ratio)):g} or "
            f"{grid.step * math.ceil(ratio):g}."
        )


def _whole(x: float) -> bool:
    """``x`` is a whole number up to rounding (1e-9 relative, as 0.1-type steps give)."""
    return abs(x - round(x)) <= 1e-9 * max(1.0, abs(x))


def _divisor(length: float, step: float) -> str:
    """Round steps near ``step`` that divide ``length`` (for the error message)."""
    round_steps = {b * 10.0**e for e in range(-4, 4) for b in (1, 2, 2.5, 5)}
    round_steps |= {2.0**-k for k in range(1, 11)}
    fits = sorted(c for c in round_steps if _whole(length / c) and length / c <= MAX_STEPS)
    below = [c for c in fits if c < step][-1:]
    above = [c for c in fits if c > step][:1]
    return " or ".join(f"{c:g}" for c in below + above) or f"{length:g}"


def check_params(model: Model, params: Mapping[str, Any] | None) -> dict[str, Override]:
    """Resolve names to the model's Vensim names and validate every value."""
    checked: dict[str, Override] = {}
    for raw_name, value in (params or {}).items():
        name = model.resolve(raw_name)
        var = model.variables[name]
        if var.kind not in SETTABLE:
            raise ParameterError(
                f"'{name}' is a {var.kind} computed by an equation in {model.path.name} "
                f"(line {var.line}); only constants, lookups and data variables can be set. "
                "Set one of the constants it depends on instead."
            )
        checked[name] = _check_value(name, value)
    return checked


def _check_value(name: str, value: Any) -> Override:
    if isinstance(value, pd.Series):
        if value.empty:
            raise ParameterError(f"the time series given for '{name}' is empty.")
        try:
            index = value.index.astype("float64")
            values = value.astype("float64")
        except (TypeError, ValueError):
            raise ParameterError(
                f"the time series given for '{name}' must have numeric times and values."
            ) from None
        if not (np.isfinite(index).all() and np.isfinite(values).all()):
            raise ParameterError(f"the time series given for '{name}' has NaN or infinite values.")
        if not index.is_monotonic_increasing or index.has_duplicates:
            raise ParameterError(f"the times of the series given for '{name}' must increase.")
        return pd.Series(values.to_numpy(), index=index.to_numpy(), name=name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"the value given for '{name}' is not a number: {value!r}. "
            "Give a number (e.g. 0.25) or a pandas Series over time."
        )
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(f"the value given for '{name}' must be finite, not {value}.")
    return value


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
    from sd.fastrun import run_frame as fast_frame

    # the vectorized engine when it can run the model (PySD's numbers), its code cached
    frame = fast_frame(model, overrides, grid, names)
    if frame is None and grid.method != "euler":  # PySD has Euler only: RK4/RK2 or refused
        from sd.integration import run_frame

        frame = run_frame(model, overrides, grid, names)
    elif frame is None:
        frame = _run_pysd(model, overrides, grid, names)
    _check_finite(model, frame, scenario)
    data = _tidy(frame, scenario, run_id)
    params_row = {"scenario": scenario, "run": run_id}
    params_row.update({k: _describe(v) for k, v in overrides.items()})
    return Results(data, pd.DataFrame([params_row]), provenance(model, grid, names))


def _run_pysd(
    model: Model, overrides: dict[str, Override], grid: TimeGrid, names: Sequence[str]
) -> pd.DataFrame:
    pysd_model = model.new_pysd(load_inputs=True)
    ctrl = pysd_model.components._components._control_vars
    ctrl["initial_time"] = lambda: grid.initial  # read by PySD at initialisation
    py_params = {model.variables[k].py_name: v for k, v in overrides.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pandas deprecations inside PySD
        warnings.simplefilter("ignore", FutureWarning)
        # numpy's "invalid value encountered in sqrt": the NaN it warns about is caught and
        # named (variable and time) by _check_finite below
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", "Replacing a constant value with a time-dependent")
        warnings.filterwarnings("ignore", "Replacing interpolation data with constant values")
        try:
            with randomness.seeded(model.path, model.entry.model_sha256):
                frame = pysd_model.run(
                    params=py_params or None,
                    return_columns=[model.variables[n].py_name for n in names],
                    final_time=grid.final,
                    time_step=grid.step,
                    saveper=grid.saveper,
                )
        except NotImplementedError as err:
            raise SimulationError(
                f"{model.path.name}: the model uses a Vensim feature PySD cannot run "
                f"({err}). Replace it with a supported function."
            ) from None
        except RecursionError:
            raise SimulationError(
                f"{model.path.name}: the run recursed without end at time "
                f"{pysd_model.time():g}: some variables need each other within one time step "
                "(a circular definition). Break the loop with a stock or a delay."
            ) from None
        except (
            ArithmeticError,
            ValueError,
            TypeError,
            LookupError,
            NameError,
            AttributeError,
        ) as err:
            var = failing_variable(model, pysd_model, err)
            if var is None and not isinstance(err, ArithmeticError | ValueError | TypeError):
                raise  # not raised by the model's equations: a bug, shown as one
            raise _run_failure(model, pysd_model.time(), var, err) from None
    frame.index = frame.index.astype("float64")
    by_py = {model.variables[n].py_name: n for n in names}
    frame.columns = [by_py.get(c, c) for c in frame.columns]
    return frame


def _run_failure(model: Model, t: float, var: str | None, err: Exception) -> SimulationError:
    line = model.variables[var].line if var in model.variables else None
    at = f", line {line}" if line else ""
    what = f" while computing '{var}'" if var else ""
    hint = (
        "Check its equation for a division by zero or an overflow (XIDZ and ZIDZ guard "
        "divisions) and the inputs it depends on."
        if isinstance(err, ArithmeticError)
        else "Check the arguments of the functions in its equation against Vensim's rules "
        "(e.g. a DELAY N or SMOOTH N order of at least 1, subscripts in range)."
    )
    return SimulationError(
        f"{model.path}{at}: the run failed at time {t:g}{what}: {type(err).__name__}: {err}. "
        + hint
    )


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


def _describe(value: Override) -> Any:
    if isinstance(value, pd.Series):
        return (
            f"time series ({len(value)} points, {value.index[0]:g}-{value.index[-1]:g}, "
            f"{value.iloc[0]:g} to {value.iloc[-1]:g})"
        )
    return value


def provenance(model: Model, grid: TimeGrid, names: Sequence[str]) -> dict[str, Any]:
    from sd import __version__
    from sd.cache import pysd_version
    from sd.datapackage import project_path

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
