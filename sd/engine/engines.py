"""Engines that run many parameter sets of a model: one protocol, a registry by name.

An engine takes a :class:`~sd.engine.table.ParamTable` and returns the saved times, one
``(n, T)`` array per requested variable (run ``k`` in row ``k``; a run that failed is a
row of NaN, never dropped) and the causes of the failed runs it knows (``{k: message}``).

- ``"vectorized"``: all runs in one numpy simulation (:mod:`sd.engine.vectorized`); raises
  :class:`~sd.engine.vectorized.core.Unsupported` when it cannot run the model, so that the
  caller can use another engine. It reports no causes (a failed run is a NaN row).
- ``"pysd"``: one fresh single run per row (:func:`sd.engine.run.run`); a run that raises
  :class:`~sd.errors.SimulationError` gives a NaN row and its message as the cause.

To add an engine: a class with ``run_many`` as in :class:`Engine`, and its entry in
:data:`ENGINES` (``RunOptions`` accepts the names listed there; ``ENGINE_NAMES`` in
:mod:`sd.study.study`, which cannot import the engine stage, must list the same names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

import numpy as np

from sd.engine.run import run
from sd.engine.table import ParamTable
from sd.engine.vectorized import core as vectorized
from sd.errors import SDError, SimulationError
from sd.model.model import Model, TimeSettings

#: what ``run_many`` returns: saved times, name -> (n, T) values, run -> cause of failure
Outcome = tuple[np.ndarray, dict[str, np.ndarray], dict[int, str]]


class Engine(Protocol):
    """Runs every row of a parameter table (see the module docstring)."""

    def run_many(
        self,
        model: Model,
        table: ParamTable,
        *,
        time: TimeSettings,
        variables: Sequence[str],
        scenario: str = "base",
    ) -> Outcome:
        """Saved times, name -> ``(table.n, T)`` values, ``{run: cause}`` of failed runs.

        ``scenario`` is the label in the causes' messages."""
        ...


class VectorizedEngine:
    """All rows in one simulation of :mod:`sd.engine.vectorized` (raises Unsupported)."""

    def run_many(
        self,
        model: Model,
        table: ParamTable,
        *,
        time: TimeSettings,
        variables: Sequence[str],
        scenario: str = "base",
    ) -> Outcome:
        engine = vectorized.build(model)
        arrays = [v for v in variables if engine.sizes(v)]
        if arrays:  # tidy rows are one series per variable; never reshape arrays into them
            raise SDError(
                f"'{arrays[0]}' is subscripted; an ensemble keeps variables without subscripts. "
                "Choose a total (a variable equal to SUM(...)) or one element defined as its own "
                "variable."
            )
        times, out = engine.run(table.columns(), n=table.n, time=time, variables=list(variables))
        return times, out, {}


class PySDEngine:
    """One fresh single run (:func:`sd.engine.run.run`) per row, one after another."""

    def run_many(
        self,
        model: Model,
        table: ParamTable,
        *,
        time: TimeSettings,
        variables: Sequence[str],
        scenario: str = "base",
    ) -> Outcome:
        rows: dict[str, list[np.ndarray | None]] = {v: [] for v in variables}
        causes: dict[int, str] = {}
        times = None
        for k in range(table.n):
            try:
                res = run(
                    model,
                    table.row(k),
                    time=time,
                    variables=list(variables),
                    scenario=scenario,
                    run_id=k,
                )
            except SimulationError as err:  # counted and named by the caller, never dropped
                causes.setdefault(k, str(err))
                for v in variables:
                    rows[v].append(None)
                continue
            wide = res.wide()
            times = wide.index.to_numpy(float)
            for v in variables:
                rows[v].append(wide[v].to_numpy(float))
        if times is None:  # every run failed: the saved grid, for NaN rows
            grid = time.apply(model.time)
            n_saved = int(round((grid.final - grid.initial) / grid.saveper))
            times = grid.initial + grid.saveper * np.arange(n_saved + 1)
        nan = np.full(len(times), np.nan)
        out = {v: np.vstack([nan if r is None else r for r in rs]) for v, rs in rows.items()}
        return times, out, causes


#: the engines by name (``RunOptions(engine=...)``, ``--engine``, ``[uncertainty] engine``)
ENGINES: Mapping[str, Engine] = MappingProxyType(
    {"vectorized": VectorizedEngine(), "pysd": PySDEngine()}
)
