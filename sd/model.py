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
from sd.cycles import describe, initial_cycle, step_cycle
from sd.datafiles import check_model_inputs
from sd.errors import CircularDefinitionError, DataFileError, UnknownVariableError, suggest
from sd.sanitize import neutral_text, restored_text

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
    #: notices about the model's inputs (unsorted lookup x values), see sd.datafiles
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
        import hashlib

        return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in self.entry.data_files}

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
            try:
                model = pysd.load(
                    str(self.entry.py_file),
                    data_files=self._data_files() or None,
                    initialize=False,
                )
            except ValueError as err:
                if not str(err).startswith("Circular initialization"):
                    raise
                deps, names = _module_graph(self.entry.py_file)
                cycle = initial_cycle(deps)
                raise circular_error(self.path, cycle, deps, names, initial=True) from None
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
            try:
                for element in model._lookup_elements:
                    element.initialize()
                model.initialize_external_data()
            except (ValueError, KeyError, IndexError) as err:  # what sd.datafiles misses
                lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
                raise DataFileError(
                    f"{self.path.name}: PySD cannot read the model's lookups or data "
                    f"({'; '.join(lines[:6])}). Check the file and cells the named "
                    "variable reads."
                ) from None
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
    from sd import loadcache

    path = Path(path)
    entry = translated(path, cache_dir=cache_dir)
    known = loadcache.read(Path(entry.folder), path)
    if known is not None:  # derived from the same bytes by the same code before
        variables, grid, notices = known
        return Model(path, entry, variables, grid, fast_lookups, data_notices=notices)
    proto = Model(path, entry, {}, TimeGrid(0, 0, 1, 1), fast_lookups)
    pysd_model = proto.new_pysd()
    cycle = step_cycle(pysd_model._dependencies)
    if cycle:  # PySD would recurse until Python's limit at the first run
        names = {py: name for name, py in pysd_model.namespace.items()}
        raise circular_error(path, cycle, pysd_model._dependencies, names, initial=False)
    text = mdl.read_text(path)
    notices = check_model_inputs(path, text, pysd_model)  # bad data cells are errors
    originals: dict[str, mdl.Entry] = {}
    for e in mdl.entries(text):
        originals.setdefault(mdl.normalize(e.name), e)
    variables = _variables(pysd_model, originals)
    grid = replace(_time_grid(pysd_model, variables), method=mdl.integration_method(text))
    loadcache.write(Path(entry.folder), path, variables, grid, tuple(notices))
    return Model(path, entry, variables, grid, fast_lookups, data_notices=tuple(notices))


def failing_variable(model: Model, pysd_model: Any, err: BaseException) -> str | None:
    """The Vensim name of the variable whose translated equation raised ``err``.

    The innermost frame in the model's translated modules names its function (the
    variable); a frame of one of the model's stateful objects (a DELAY N's state...)
    names the variable that owns it. None when neither is in the traceback: the error
    is not the model's but a bug of PySD or of the toolkit.
    """
    folder = str(model.entry.folder)
    deps = pysd_model._dependencies
    found = None
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        # a model split by views is read from modules_*/ files with exec: "<string>"
        if code.co_filename.startswith(folder) or (
            code.co_filename == "<string>" and code.co_name in deps
        ):
            found = code.co_name
        else:
            obj = frame.f_locals.get("self")
            name = getattr(obj, "py_name", None)
            if isinstance(name, str) and name in deps:
                found = name
        tb = tb.tb_next
    if found is None:
        return None
    names = {v.py_name: v.name for v in model.variables.values()}
    shown = describe([found], deps, names)[0]
    return names.get(shown, shown)


def circular_error(
    path: Path, cycle: list[str] | None, deps: Any, names: Mapping[str, str], *, initial: bool
) -> CircularDefinitionError:
    """One paragraph naming the variables of a cycle, from the first one's line."""
    shown = describe(cycle, deps, names) if cycle else []
    line = mdl.entry_lines(mdl.read_text(path)).get(mdl.normalize(shown[0])) if shown else None
    at = f", line {line}" if line else ""
    loop = " -> ".join(f"'{n}'" for n in shown) if shown else "(PySD did not say which)"
    if initial:
        return CircularDefinitionError(
            f"{path}{at}: circular initialisation: {loop}. The initial value of each needs "
            "the others before the run starts. Give one of them an initial value that does "
            "not depend on the others (a constant, or an expression of constants)."
        )
    return CircularDefinitionError(
        f"{path}{at}: circular definition: {loop}. These variables need each other within "
        "the same time step (a simultaneous equation, which Vensim also refuses). Break the "
        "loop with a stock (INTEG) or a delay, or compute one of them from other variables."
    )


def _module_graph(py_file: Path) -> tuple[Any, dict[str, str]]:
    """Dependencies and PySD -> Vensim names of a translation that PySD cannot load."""
    import importlib.util
    import uuid

    spec = importlib.util.spec_from_file_location(f"_sd_graph_{uuid.uuid4().hex}", py_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    comp = module.component
    return comp.dependencies, {py: name for name, py in comp.namespace.items()}


def _variables(pysd_model: Any, originals: dict[str, mdl.Entry]) -> dict[str, Variable]:
    """Variables as PySD lists them, with comments and units as the user's file has them
    (PySD read a neutralised copy, see :mod:`sd.sanitize`)."""
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
        original = originals.get(mdl.normalize(name))
        units = _text(row[doc.columns.get_loc("Units")])
        comment = _text(row[doc.columns.get_loc("Comment")])
        if original is not None and neutral_text(original.comment) != original.comment:
            comment = original.comment
        if original is not None and neutral_text(original.units) != original.units:
            units = restored_text(units)
        out[name] = Variable(
            name=name,
            py_name=py_name,
            kind=_kind(name, py_name, vtype, subtype, flows),
            units=units,
            comment=comment,
            limits=tuple(None if _isnan(v) else float(v) for v in (limits or ())),
            subtype=subtype,
            line=original.line if original is not None else None,
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
