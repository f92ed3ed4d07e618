"""Load a Vensim model through the translation cache into a :class:`~sd.model.model.Model`.

The engine stage: this module reads what the model is (variables, kinds, units, the time
grid) from a PySD instance of the cached translation, and gives the model its
:class:`PySDRuntime`, the factory of fresh PySD instances for runs.
"""

from __future__ import annotations

import importlib.util
import math
import os
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sd.engine import float_states, loadcache, vensim_functions
from sd.engine.lookups import accelerate
from sd.errors import CircularDefinitionError, DataFileError
from sd.model.cache import translated
from sd.model.cycles import describe, initial_cycle, step_cycle
from sd.model.datafiles import check_model_inputs
from sd.model.model import CONTROL, Kind, Model, TimeGrid, Variable, mdl
from sd.model.preprocess import read_refs
from sd.model.sanitize import neutral_text, restored_text


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
    known = loadcache.read(Path(entry.folder), path)
    if known is not None:  # derived from the same bytes by the same code before
        variables, grid, notices = known
        return Model(
            path, entry, variables, grid, fast_lookups, RUNTIME, data_notices=notices
        )
    proto = Model(path, entry, {}, TimeGrid(0, 0, 1, 1), fast_lookups, RUNTIME)
    pysd_model = new_pysd(proto)
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
    return Model(
        path, entry, variables, grid, fast_lookups, RUNTIME, data_notices=tuple(notices)
    )


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

    spec = importlib.util.spec_from_file_location(f"_sd_graph_{uuid.uuid4().hex}", py_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    comp = module.component
    return comp.dependencies, {py: name for name, py in comp.namespace.items()}


def _variables(pysd_model: Any, originals: dict[str, mdl.Entry]) -> dict[str, Variable]:
    """Variables as PySD lists them, with comments and units as the user's file has them
    (PySD read a neutralised copy, see :mod:`sd.model.sanitize`)."""
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


def defaults(model: Model) -> Mapping[str, float]:
    """The value each scalar constant has in the model file (its default)."""
    pysd_model = new_pysd(model)
    module = pysd_model.components._components
    module._init_outer_references({"scope": pysd_model, "time": pysd_model.time})
    values: dict[str, float] = {}
    for var in model.of_kind("constant"):
        try:
            value = getattr(module, var.py_name)()
            values[var.name] = float(value)
        except (TypeError, ValueError, AttributeError, KeyError):
            continue  # subscripted or external constants have no single default
    return values


def new_pysd(model: Model, *, load_inputs: bool = False) -> Any:
    """A fresh PySD model (nothing shared with earlier runs).

    With ``load_inputs``, lookup tables and external data are read now, so that
    overrides set afterwards survive PySD's initialisation (PySD 3.14 re-reads
    them at every ``run`` and silently drops overrides of lookups and data).
    """
    import pysd  # heavy (xarray, netCDF): imported when a model first runs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            pysd_model = pysd.load(
                str(model.entry.py_file),
                data_files=_data_files(model) or None,
                initialize=False,
            )
        except ValueError as err:
            if not str(err).startswith("Circular initialization"):
                raise
            deps, names = _module_graph(model.entry.py_file)
            cycle = initial_cycle(deps)
            raise circular_error(model.path, cycle, deps, names, initial=True) from None
    float_states.patch(pysd_model)  # Vensim's float states, not PySD's int arrays
    vensim_functions.patch(pysd_model)  # Vensim's delay orders and PULSE TRAIN ends
    root = model.path.resolve().parent
    for ext in pysd_model._external_elements:
        ext.root = root  # data files are read beside the .mdl, not in the cache
    if model.fast_lookups:
        accelerate(pysd_model)
    if load_inputs:
        _load_inputs(model, pysd_model)
    return pysd_model


class PySDRuntime:
    """The :class:`sd.model.model.Runtime` of models loaded by :func:`load`."""

    def new_pysd(self, model: Model, *, load_inputs: bool = False) -> Any:
        return new_pysd(model, load_inputs=load_inputs)

    def defaults(self, model: Model) -> Mapping[str, float]:
        return defaults(model)


RUNTIME = PySDRuntime()


def _data_files(model: Model) -> list[str]:
    """Files of the data variables without equations (the model's NAME.refs.toml)."""
    refs = read_refs(model.path)
    return [str((refs.path.parent / f).resolve()) for f in refs.data]


def _load_inputs(model: Model, pysd_model: Any) -> None:
    """Build lookup tables and read data files once per Model; later PySD instances
    get private copies (PySD rebuilds them through xarray at every load)."""
    elements = [*pysd_model._lookup_elements, *pysd_model._external_elements]
    if not model._inputs:
        try:
            for element in pysd_model._lookup_elements:
                element.initialize()
            pysd_model.initialize_external_data()
        except (ValueError, KeyError, IndexError) as err:  # what sd.model.datafiles misses
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            raise DataFileError(
                f"{model.path.name}: PySD cannot read the model's lookups or data "
                f"({'; '.join(lines[:6])}). Check the file and cells the named "
                "variable reads."
            ) from None
        for element in elements:
            model._inputs[element.py_name] = {
                k: v for k, v in vars(element).items() if not k.startswith("_sd_")
            }
    else:
        for element in elements:
            state = model._inputs[element.py_name]
            vars(element).update(state)
            if hasattr(state.get("data"), "copy"):
                element.data = state["data"].copy()  # overrides must not reach later runs
    pysd_model.lookups_loaded = True
    pysd_model.external_loaded = True
