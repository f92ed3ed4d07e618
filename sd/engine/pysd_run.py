"""One run on PySD (the fallback and the oracle of the fast path), with failures named."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from sd.engine import randomness
from sd.engine.params import Override
from sd.engine.pysd_model import failing_variable
from sd.errors import SimulationError
from sd.model.model import Model, TimeGrid


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
