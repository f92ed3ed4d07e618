"""The parameters of many runs of one scenario, built once for every engine.

A :class:`ParamTable` holds what the runs share (the scenario's numbers and time series),
one number per run for each uncertain constant, and one time path per run on the
integration grid for each stochastic input. :meth:`ParamTable.build` applies the
multipliers of those paths once; the engines (:mod:`sd.engine.engines`) read the same
numbers: one run's overrides (:meth:`ParamTable.row`, for a PySD run) or all runs at once
(:meth:`ParamTable.columns`, for the vectorized engine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sd.engine.vectorized.core import PerRunSeries
from sd.errors import ParameterError
from sd.model.model import TimeGrid


def step_times(grid: TimeGrid) -> np.ndarray:
    """The integration times of ``grid``: initial time, one per time step, final time."""
    n_steps = int(round((grid.final - grid.initial) / grid.step))
    return grid.initial + grid.step * np.arange(n_steps + 1)


def _frozen(array: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    out = np.array(array, dtype=np.float64)  # a copy: the table owns its numbers
    if out.shape != shape:
        raise ParameterError(f"{what} has shape {out.shape}, not {shape}.")
    out.setflags(write=False)
    return out


def _as_path(value: Any, times: np.ndarray) -> np.ndarray:
    """A number or a Series as values at ``times`` (a Series interpolated, end values held)."""
    if isinstance(value, pd.Series):
        return np.interp(times, value.index.to_numpy(float), value.to_numpy(float))
    return np.full(len(times), float(value))


@dataclass(frozen=True, eq=False)
class ParamTable:
    """Overrides of ``n`` runs: shared values, per-run constants, per-run time paths."""

    n: int  #: number of runs
    times: np.ndarray  #: the integration grid (T,), the times of every path
    base: Mapping[str, Any]  #: the same for every run: numbers and pandas Series
    constants: Mapping[str, np.ndarray]  #: name -> (n,) one value per run
    paths: Mapping[str, np.ndarray]  #: name -> (n, T) one path per run at ``times``

    def __post_init__(self) -> None:
        n = self.n
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ParameterError(f"a parameter table needs at least one run, not {n!r}.")
        times = _frozen(self.times, (len(np.atleast_1d(self.times)),), "the grid")
        t = len(times)
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        set_(self, "n", int(n))
        set_(self, "times", times)
        set_(self, "base", MappingProxyType(dict(self.base)))
        set_(
            self,
            "constants",
            MappingProxyType(
                {k: _frozen(v, (n,), f"the values of '{k}'") for k, v in self.constants.items()}
            ),
        )
        set_(
            self,
            "paths",
            MappingProxyType(
                {k: _frozen(v, (n, t), f"the paths of '{k}'") for k, v in self.paths.items()}
            ),
        )

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (a mapping proxy is not)
        fields = (self.n, self.times, dict(self.base), dict(self.constants), dict(self.paths))
        return (type(self), fields)

    @classmethod
    def build(
        cls,
        *,
        n: int,
        times: np.ndarray,
        base: Mapping[str, Any],
        constants: Mapping[str, np.ndarray],
        multipliers: Mapping[str, tuple[np.ndarray, np.ndarray]],
        defaults: Mapping[str, float],
    ) -> ParamTable:
        """The table of ``n`` runs on the grid ``times``.

        ``multipliers``: name -> (their times (k,), (n, k) multipliers); run ``i``'s path of
        an input is its value in that run (its sampled constant, else the scenario's number
        or series, else the model's default ``defaults[name]``) times the run's multipliers
        interpolated to the grid (1 before their first time). The multiplication is done
        here, once, for every engine.
        """
        times = np.asarray(times, dtype=np.float64)
        paths: dict[str, np.ndarray] = {}
        for name, (mult_times, mult) in multipliers.items():
            mult = np.asarray(mult, dtype=np.float64)
            if mult.shape[0] != n:
                raise ParameterError(
                    f"the multipliers of '{name}' have {mult.shape[0]} rows for {n} runs."
                )
            factor = np.vstack([np.interp(times, mult_times, m, left=1.0) for m in mult])
            if name in constants:  # the run's own sampled value, as a single run sees it
                value = np.asarray(constants[name], dtype=np.float64)
                paths[name] = np.vstack(
                    [np.full(len(times), float(v)) * f for v, f in zip(value, factor, strict=True)]
                )
            else:
                paths[name] = _as_path(base.get(name, defaults.get(name)), times) * factor
        return cls(n=n, times=times, base=base, constants=constants, paths=paths)

    def row(self, k: int) -> dict[str, Any]:
        """The overrides of run ``k`` for one run: numbers and pandas Series."""
        params = dict(self.base)
        for name, values in self.constants.items():
            params[name] = float(values[k])
        for name, path in self.paths.items():
            params[name] = pd.Series(path[k].copy(), index=self.times.copy())
        return params

    def columns(self) -> dict[str, Any]:
        """The overrides of all runs for the vectorized engine: numbers and Series shared
        by all runs, ``(n,)`` arrays, :class:`~sd.engine.vectorized.core.PerRunSeries`."""
        params = dict(self.base)
        params.update(self.constants)
        params.update({name: PerRunSeries(self.times, p) for name, p in self.paths.items()})
        return params

    def take(self, rows: Sequence[int] | np.ndarray) -> ParamTable:
        """The table of some of the runs, in the order given."""
        rows = np.asarray(rows, dtype=np.intp)
        return ParamTable(
            n=len(rows),
            times=self.times,
            base=self.base,
            constants={k: v[rows] for k, v in self.constants.items()},
            paths={k: v[rows] for k, v in self.paths.items()},
        )
