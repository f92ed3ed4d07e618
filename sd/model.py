"""A Vensim model loaded through the translation cache.

:func:`load` returns a :class:`Model`: what users need to know about the model
(variables with Vensim names, units, comments and kinds; the time grid) without
reading PySD's generated code, plus a factory of fresh PySD instances for runs.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from sd import mdl
from sd.cache import CacheEntry, translated
from sd.errors import UnknownVariableError, suggest

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

    def times(self) -> list[float]:
        """The saved times, initial to final every ``saveper``."""
        n = int(round((self.final - self.initial) / self.saveper))
        return [self.initial + i * self.saveper for i in range(n + 1)]


@dataclass(frozen=True, eq=False)
class Model:
    """A translated Vensim model. Create it with :func:`load`."""

    path: Path
    entry: CacheEntry = field(repr=False)
    variables: Mapping[str, Variable] = field(repr=False)
    time: TimeGrid
    fast_lookups: bool = True
    #: lookup tables and external data as built by the first run (the cache key fixes
    #: the model's and the data files' bytes, so later runs copy them instead)
    _inputs: dict = field(default_factory=dict, repr=False, compare=False)

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

    def variable(self, name: str) -> Variable:
        return self.variables[self.resolve(name)]

    def of_kind(self, *kinds: Kind) -> list[Variable]:
        return [v for v in self.variables.values() if v.kind in kinds]

    @cached_property
    def defaults(self) -> Mapping[str, float]:
        """The value each scalar constant has in the model file (its default)."""
        pysd_model = self.new_pysd()
        module = pysd_model.components._components
        module._init_outer_references({"scope": pysd_model, "time": pysd_model.time})
        values: dict[str, float] = {}
        for var in self.of_kind("constant"):
            try:
                value = getattr(module, var.py_name)()
                values[var.name] = float(value)
            except (TypeError, ValueError, AttributeError, KeyError):
                continue  # subscripted or external constants have no single default
        return values

    def new_pysd(self, *, load_inputs: bool = False) -> Any:
        """A fresh PySD model (nothing shared with earlier runs).

        With ``load_inputs``, lookup tables and external data are read now, so that
        overrides set afterwards survive PySD's initialisation (PySD 3.14 re-reads
        them at every ``run`` and silently drops overrides of lookups and data).
        """
        import pysd

        from sd import float_states, vensim_functions
        from sd.lookups import accelerate

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            model = pysd.load(
                str(self.entry.py_file), data_files=self._data_files() or None, initialize=False
            )
        float_states.patch(model)  # Vensim's float states, not PySD's int arrays
        vensim_functions.patch(model)  # Vensim's delay orders and PULSE TRAIN ends
        root = self.path.resolve().parent
        for ext in model._external_elements:
            ext.root = root  # data files are read beside the .mdl, not in the cache
        if self.fast_lookups:
            accelerate(model)
        if load_inputs:
            self._load_inputs(model)
        return model

    def _data_files(self) -> list[str]:
        """Files of the data variables without equations (the model's NAME.refs.toml)."""
        from sd.preprocess import read_refs

        refs = read_refs(self.path)
        return [str((refs.path.parent / f).resolve()) for f in refs.data]

    def _load_inputs(self, model: Any) -> None:
        """Build lookup tables and read data files once per Model; later PySD instances
        get private copies (PySD rebuilds them through xarray at every load)."""
        elements = [*model._lookup_elements, *model._external_elements]
        if not self._inputs:
            for element in model._lookup_elements:
                element.initialize()
            model.initialize_external_data()
            for element in elements:
                self._inputs[element.py_name] = {
                    k: v for k, v in vars(element).items() if not k.startswith("_sd_")
                }
        else:
            for element in elements:
                state = self._inputs[element.py_name]
                vars(element).update(state)
                if hasattr(state.get("data"), "copy"):
                    element.data = state["data"].copy()  # overrides must not reach later runs
        model.lookups_loaded = True
        model.external_loaded = True


def load(
    path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    fast_lookups: bool = True,
) -> Model:
    """Load a Vensim ``.mdl`` through the translation cache.

    The model is translated by PySD into ``cache_dir`` (default ``$SD_CACHE_DIR`` or
    the user's cache directory), never next to the ``.mdl``. An unchanged model,
    with unchanged data files and PySD version, is not translated again.
    ``fast_lookups=False`` keeps PySD's own (xarray) lookup evaluation.
    """
    path = Path(path)
    entry = translated(path, cache_dir=cache_dir)
    proto = Model(path, entry, {}, TimeGrid(0, 0, 1, 1), fast_lookups)
    pysd_model = proto.new_pysd()
    text = mdl.read_text(path)
    variables = _variables(pysd_model, mdl.entry_lines(text))
    grid = replace(_time_grid(pysd_model, variables), method=mdl.integration_method(text))
    return Model(path, entry, variables, grid, fast_lookups)


def _variables(pysd_model: Any, lines: dict[str, int]) -> dict[str, Variable]:
    doc = pysd_model.doc
    deps = pysd_model._dependencies
    flows: set[str] = set()
    for key, dep in deps.items():
        if key.startswith("_integ_") and isinstance(dep, Mapping):
            flows.update(dep.get("step", {}))
    out: dict[str, Variable] = {}
    for row in doc.itertuples(index=False):
        name = row[doc.columns.get_loc("Real Name")]
        py_name = row[doc.columns.get_loc("Py Name")]
        if name == "Time":
            continue
        vtype = _text(row[doc.columns.get_loc("Type")])
        subtype = _text(row[doc.columns.get_loc("Subtype")])
        limits = row[doc.columns.get_loc("Limits")]
        out[name] = Variable(
            name=name,
            py_name=py_name,
            kind=_kind(name, py_name, vtype, subtype, flows),
            units=_text(row[doc.columns.get_loc("Units")]),
            comment=_text(row[doc.columns.get_loc("Comment")]),
            limits=tuple(None if _isnan(v) else float(v) for v in (limits or ())),
            subtype=subtype,
            line=lines.get(mdl.normalize(name)),
        )
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def _kind(name: str, py_name: str, vtype: str, subtype: str, flows: Iterable[str]) -> Kind:
    if name.upper() in CONTROL:
        return "control"
    if vtype == "Stateful" and subtype == "Integ":
        return "stock"
    if vtype == "Lookup":
        return "lookup"
    if vtype == "Data":
        return "data"
    if vtype == "Constant":
        return "constant"
    if py_name in flows:
        return "flow"
    return "auxiliary"


def _time_grid(pysd_model: Any, variables: Mapping[str, Variable]) -> TimeGrid:
    module = pysd_model.components._components
    module._init_outer_references({"scope": pysd_model, "time": pysd_model.time})
    ctrl = module._control_vars
    values = {k: float(ctrl[k]()) for k in ("initial_time", "final_time", "time_step")}
    pysd_model.time._set_control_vars(**ctrl)
    saveper = float(ctrl["saveper"]())
    units = variables["TIME STEP"].units if "TIME STEP" in variables else ""
    return TimeGrid(
        values["initial_time"], values["final_time"], values["time_step"], saveper, units
    )


def _text(value: Any) -> str:
    return "" if value is None or _isnan(value) else str(value)


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
