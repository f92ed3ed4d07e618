"""What a loaded Vensim model is: its variables, its time grid and the time settings.

:func:`sd.engine.pysd_model.load` returns a :class:`Model`: what users need to know about
the model (variables with Vensim names, units, comments and kinds; the time grid) without
reading PySD's generated code. The model stage never touches PySD's runtime: fresh PySD
instances and the constants' defaults come from the :class:`Runtime` the engine gave the
model when it loaded it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol

from sd.errors import TimeSettingsError, UnknownVariableError, suggest
from sd.model import mdl
from sd.model.cache import CacheEntry

Kind = Literal["stock", "flow", "auxiliary", "constant", "lookup", "data", "control"]
CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


@dataclass(frozen=True)
class Variable:
    """One model variable as the modeller wrote it in Vensim."""

    name: str  #: Vensim name, e.g. ``"Coal Price"``
    py_name: str  #: PySD's Python name, e.g. ``"coal_price"``
    kind: Kind
    units: str  #: Vensim units text, e.g. ``"USD/t"`` ("" when not given)
    comment: str
    limits: tuple[float | None, ...]  #: (min, max[, step]) from the units field
    subtype: str  #: PySD's subtype (Normal, Integ, Smooth, External...)
    line: int | None  #: line of the equation in the .mdl


@dataclass(frozen=True)
class TimeGrid:
    """The model's time settings, in the model's time unit."""

    initial: float
    final: float
    step: float
    saveper: float
    units: str = ""
    #: integration method of the model's settings: "euler", "rk4", "rk2" or "code N"
    method: str = "euler"


class Runtime(Protocol):
    """What the engine provides for a model: fresh simulator instances and defaults."""

    def new_pysd(self, model: Model, *, load_inputs: bool = False) -> Any: ...

    def defaults(self, model: Model) -> Mapping[str, float]: ...


@dataclass(frozen=True, eq=False)
class Model:
    """A translated Vensim model. Create it with :func:`sd.load`."""

    path: Path
    entry: CacheEntry = field(repr=False)
    variables: Mapping[str, Variable] = field(repr=False)
    time: TimeGrid
    fast_lookups: bool = True
    #: the engine that loaded the model (see :mod:`sd.engine.pysd_model`)
    runtime: Runtime | None = field(default=None, repr=False, compare=False)
    #: lookup tables and external data as built by the first run (the cache key fixes
    #: the model's and the data files' bytes, so later runs copy them instead)
    _inputs: dict = field(default_factory=dict, repr=False, compare=False)
    #: notices about the model's inputs (unsorted lookup x values), see sd.model.datafiles
    data_notices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def key(self) -> str:
        """Cache key: hash of the model, its data files and the PySD version."""
        return self.entry.key

    @property
    def translation_warnings(self) -> tuple[str, ...]:
        return self.entry.warnings

    @cached_property
    def _index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for name, var in self.variables.items():
            index[mdl.normalize(name)] = name
            index.setdefault(mdl.normalize(var.py_name), name)
        return index

    def resolve(self, name: str) -> str:
        """The Vensim name of ``name`` (any case, spaces or underscores, or PySD name)."""
        found = self._index.get(mdl.normalize(name))
        if found is None:
            raise UnknownVariableError(
                f"'{name}' is not a variable of {self.path.name}."
                + suggest(name, self.variables)
                + " Run `sd info` to list the model's variables."
            )
        return found

    @cached_property
    def data_hashes(self) -> Mapping[Path, str]:
        """SHA-256 of each external data file the model reads (fixed by the cache key)."""

        return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in self.entry.data_files}

    def of_kind(self, *kinds: Kind) -> list[Variable]:
        return [v for v in self.variables.values() if v.kind in kinds]

    @cached_property
    def defaults(self) -> Mapping[str, float]:
        """The value each scalar constant has in the model file (its default)."""
        return self._runtime().defaults(self)

    def new_pysd(self, *, load_inputs: bool = False) -> Any:
        """A fresh PySD model (nothing shared with earlier runs); see
        :func:`sd.engine.pysd_model.new_pysd`."""
        return self._runtime().new_pysd(self, load_inputs=load_inputs)

    def _runtime(self) -> Runtime:
        if self.runtime is None:
            raise TypeError(f"{self.path.name}: this Model was not loaded by sd.load")
        return self.runtime


SETTABLE = ("constant", "lookup", "data")


#: The most Euler steps one run may take: an assumption (the issue's "say, 10 million").
#: PySD takes about 0.4 ms a step on the Kuzbass model, so this is already an hour a run;
#: more is nearly always a mistyped final time (``--stop 1e12``).
MAX_STEPS = 10_000_000


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
