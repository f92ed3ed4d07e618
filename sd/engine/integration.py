"""Single runs of models whose Vensim settings ask for Runge-Kutta integration.

PySD integrates with Euler only, whatever the model's settings say. A model set to RK4
or RK2 in Vensim (Model > Settings > Integration Type, the ``15:`` settings line) is run
here by the vectorized engine at one run, which has Vensim's fixed-step RK4 and RK2
(:mod:`sd.engine.vectorized.rk`). When the engine cannot run the model, or the method is one the
toolkit does not have, the run is refused with :class:`IntegrationMethodError`: a model
is never run with Euler when it asks for something else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sd.engine.vectorized.core import Unsupported, build
from sd.errors import SimulationError
from sd.model.model import Model, TimeGrid, TimeSettings

NAMES = {"rk4": "RK4", "rk2": "RK2"}


class IntegrationMethodError(SimulationError):
    """The model asks for an integration method no engine of the toolkit can run it with."""


def refuse_unknown(model: Model, method: str) -> IntegrationMethodError:
    return IntegrationMethodError(
        f"{model.path.name}: the model's settings ask for integration method {method} "
        "(the 15: line of the settings block), which the toolkit does not have: it runs "
        "Euler, RK4 and RK2 with a fixed time step. Choose one of them in Vensim's Model > "
        "Settings > Integration Type and save the model again."
    )


def run_frame(model: Model, overrides: dict, grid: TimeGrid, names: Sequence[str]) -> pd.DataFrame:
    """Saved times x variables of one run with ``grid.method`` ("rk4" or "rk2")."""

    method = grid.method
    if method not in NAMES:
        raise refuse_unknown(model, method)
    time = TimeSettings(grid.initial, grid.final, grid.step, grid.saveper)
    try:
        times, out = build(model).run(overrides or None, n=1, time=time, variables=list(names))
    except Unsupported as err:
        raise IntegrationMethodError(
            f"{model.path.name}: the model asks for {NAMES[method]} integration (Vensim's "
            "Model > Settings > Integration Type), but PySD integrates with Euler only and "
            f"the toolkit's vectorized engine, which has {NAMES[method]}, cannot run this "
            f"model ({err}). Change the integration type to Euler in Vensim's Model > "
            f"Settings and save the model, or replace what the engine cannot run; the "
            "toolkit does not run it with Euler in place of "
            f"{NAMES[method]}."
        ) from None
    return pd.DataFrame(
        {name: out[name][0] for name in names}, index=pd.Index(times, dtype=np.float64)
    )
