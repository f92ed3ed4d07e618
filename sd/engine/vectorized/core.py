"""Vectorized engine: N parameter sets of a model in one simulation on numpy arrays.

PySD runs one parameter set at a time in a Python loop. :func:`build` compiles a model
once into numpy code where every variable is a float64 array of shape ``(n,)``, one
value per run; :meth:`VectorModel.run` then simulates all runs at once::

    vm = sd.engine.vectorized.core.build(model)                 # raises Unsupported -> use sd.run
    times, out = vm.run({"decay rate": rates}, n=len(rates), variables=["Stock"])
    out["Stock"][i]                                 # run i, at the saved times

The code is generated from PySD's own translation of the model (its typed abstract
model), not from a second parser, and reproduces PySD's semantics: Euler integration (or
Vensim's RK4 / RK2 when the model's settings ask for them, :mod:`sd.engine.vectorized.rk`),
PySD's initialisation, its interpolation and end-holding of lookups and data, and the
exact formulas of its stateful objects (SMOOTH, DELAY, TREND...). Run ``i`` agrees with
``sd.run(model, params_i)`` to rounding (tested to 1e-9 relative).

Supported: arithmetic and logical operators; IF THEN ELSE (both branches are computed,
the untaken one never leaks); MIN, MAX, ABS, EXP, LN, LOG, SQRT, POWER, INTEGER, MODULO,
QUANTUM, XIDZ, ZIDZ, PI and the trigonometric functions; STEP, PULSE, PULSE TRAIN, RAMP;
INTEG, SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N, DELAY1, DELAY1I, DELAY3, DELAY3I,
DELAY N (with a delay time constant over time), DELAY FIXED, TREND, FORECAST,
SAMPLE IF TRUE, INITIAL, ACTIVE INITIAL, GAME; lookup tables (in the model, WITH LOOKUP,
GET DIRECT/XLS LOOKUPS), data variables (GET DIRECT/XLS DATA with the interpolate,
hold backward, look forward and raw keywords), GET DIRECT/XLS CONSTANTS, ``Time`` and
the control variables. Subscripts (:mod:`sd.engine.vectorized.subscripts`): a subscripted
variable is an array ``(runs, *sizes)`` over its ranges and comes out of :meth:`run` as
``(runs, times, *sizes)`` (:func:`flat_columns` names the columns as ``sd.run`` does);
subranges, mappings (``->``), pieces defined per element or subrange and ``:EXCEPT:``,
SUM, PROD, VMIN, VMAX, ELMCOUNT, VECTOR SELECT, VECTOR SORT ORDER, VECTOR RANK,
VECTOR REORDER, INVERT MATRIX, ALLOCATE BY PRIORITY, subscripted lookups, data and
constants, and every stateful function above over subscripts. States are float64
whatever the type of their initial value, as in Vensim (``sd.engine.float_states`` makes PySD do
the same).

Anything else raises :class:`Unsupported` ("vectorized engine: <construct> is not
supported (in '<variable>')"), so that callers fall back to :func:`sd.run`: ALLOCATE
AVAILABLE, a variable mixing data and equations, subscripted lookups whose elements have
different x points, macros, GET TIME VALUE, RANDOM functions,
DELAY N with a time-varying delay time, SAMPLE IF TRUE and DELAY FIXED whose input
depends on a stock PySD updates before reading it, and a SMOOTH N whose order is an int
in some runs and a float in others.

A run that PySD could not finish (a requested variable becomes NaN or infinite, which
``sd.run`` reports as a SimulationError, or a DELAY whose order falls to 0) comes back
as NaN for every variable and time of that run. Known gap of ensembles: a division by
zero whose infinite result is then hidden (``MIN(1, x / 0)``, outside IF THEN ELSE)
stops Vensim (a floating point error ends its simulation) and PySD (ZeroDivisionError
on Python floats), while the numpy code returns the hidden value for that run. Single
runs (``sd.run``) run as scalar code (:mod:`sd.engine.vectorized.scalar`), which raises there,
and PySD then names the variable.
"""

from __future__ import annotations

import itertools
import numbers
import pickle
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sd.engine.params import check_params
from sd.engine.vectorized.assembly import generate
from sd.engine.vectorized.codegen import Element, Plan
from sd.engine.vectorized.scalar import NAMESPACE as SCALAR_NAMESPACE
from sd.engine.vectorized.subscripts import NAMESPACE as SUB_NAMESPACE
from sd.engine.vectorized.subscripts import Space
from sd.engine.vectorized.support import NAMESPACE, Unsupported
from sd.errors import ParameterError, TranslationError
from sd.model.cache import verified_bytes
from sd.model.model import SETTABLE, Model, TimeGrid, TimeSettings
from sd.model.translation import ABSTRACT_FILE
from sd.model.verify import check_engine_source

__all__ = ["PerRunSeries", "Unsupported", "VectorModel", "build"]

_RPREC = 1e-5  # PySD's Time.rprec: relative precision of the final and saved times


@dataclass(frozen=True)
class PerRunSeries:
    """One time path per run for a time-varying input.

    Run ``i`` sees ``pandas.Series(values[i], index=times)``: constants are interpolated
    linearly in time (PySD's ``np.interp``), lookups take the points as their table,
    data variables keep their interpolation keyword.
    """

    times: np.ndarray  #: shape (k,), increasing
    values: np.ndarray  #: shape (n, k)


ParamValue = float | np.ndarray | pd.Series | PerRunSeries


@dataclass
class _Env:
    """What the generated ``_simulate`` reads."""

    n: int
    ar: np.ndarray
    times: np.ndarray
    save: list[int]
    K: int  # noqa: N815 - number of Euler steps
    t0: float
    tf: float
    dt: float
    sp: float
    consts: list[np.float64]
    tables: tuple[tuple[np.ndarray, np.ndarray], ...]
    params: dict[str, Any]
    outputs: list[np.ndarray]
    fail: np.ndarray
    objs: tuple[Any, ...] = ()
    block: Any = None  #: scalar code's saved rows (sd.engine.vectorized.scalar)


class VectorModel:
    """A model compiled for the vectorized engine. Create it with :func:`build`."""

    def __init__(self, model: Model, plan: Plan) -> None:
        self.model = model
        self._plan = plan
        self._py = {name: var.py_name for name, var in model.variables.items()}

    def run(
        self,
        params: Mapping[str, ParamValue] | None = None,
        *,
        n: int,
        time: TimeSettings | None = None,
        variables: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Simulate ``n`` runs at once.

        Parameters
        ----------
        params : mapping, optional
            Vensim name (any spelling) -> a number (all runs), an array of shape ``(n,)``
            (one number per run), a pandas Series indexed by time (the same time path for
            all runs) or a :class:`PerRunSeries` (one path per run). Only constants,
            lookups and data variables can be set, as with :func:`sd.run`.
        n : int
            Number of runs.
        time : TimeSettings, optional
            Initial/final time, time step and save step.
        variables : list of str, optional
            Variables to keep (default: all but control variables and lookups).

        Returns
        -------
        (times, values): the saved times, and Vensim name -> float64 array (n, len(times)).

        Raises
        ------
        Unsupported, UnknownVariableError, ParameterError, TimeSettingsError
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ParameterError(f"n must be a positive number of runs, not {n!r}.")
        n = int(n)
        values = self._params(params or {}, n)
        grid = (time or TimeSettings()).apply(self.model.time)
        names = self._selection(variables)
        kinds = {p: kind for p, (kind, _) in values.items()}
        fn, gen = self._compiled(kinds, [self._py[name] for name in names], grid.method)
        shapes = [self.sizes(name) for name in names]
        labels, outputs = execute(fn, gen, n, values, grid, shapes)
        return labels, dict(zip(names, outputs, strict=True))

    def sizes(self, name: str) -> tuple[int, ...]:
        """Sizes of the subscript ranges of a variable (``()`` without subscripts)."""
        element = self._plan.elements.get(self._py[name])
        if element is None or not element.dims or self._plan.space is None:
            return ()
        return tuple(len(self._plan.space.elements(d)) for d in element.dims)

    def coords(self, name: str) -> list[tuple[str, tuple[str, ...]]]:
        """The subscript ranges of a variable and their elements, in axis order."""
        element = self._plan.elements.get(self._py[name])
        if element is None or not element.dims or self._plan.space is None:
            return []
        return [(d, self._plan.space.elements(d)) for d in element.dims]

    # -- inputs ---------------------------------------------------------------------------------

    def _params(self, params: Mapping[str, Any], n: int) -> dict[str, tuple[str, Any]]:
        out: dict[str, tuple[str, Any]] = {}
        for raw, value in params.items():
            name = self.model.resolve(raw)
            kind = self.model.variables[name].kind
            if kind not in SETTABLE:
                check_params(self.model, {name: 0.0})  # raises sd.run's explanation
            py = self._py[name]
            if isinstance(value, PerRunSeries):
                out[py] = ("perrun", _per_run_series(name, value, n))
            elif isinstance(value, pd.Series):
                series = check_params(self.model, {name: value})[name]
                out[py] = ("series", (series.index.to_numpy(float), series.to_numpy(float)))
            elif isinstance(value, np.ndarray | list | tuple) and np.ndim(value) > 0:
                out[py] = ("value", _per_run_values(name, value, n))
            else:
                scalar = value.item() if isinstance(value, np.ndarray | np.generic) else value
                out[py] = ("value", np.float64(check_params(self.model, {name: scalar})[name]))
        return out

    def _selection(self, variables: Sequence[str] | None) -> list[str]:
        model = self.model
        if variables is None:
            return [k for k, v in model.variables.items() if v.kind not in ("control", "lookup")]
        if isinstance(variables, str):
            raise TypeError("variables must be a list of names, not one string")
        names = list(dict.fromkeys(model.resolve(v) for v in variables))
        for name in names:
            if model.variables[name].kind == "lookup":
                raise ParameterError(
                    f"{name!r} is a lookup table (a function of its input), not a series over "
                    "time; choose the variable that calls it."
                )
        return names

    def _compiled(
        self, kinds: dict[str, str], outputs: list[str], method: str = "euler",
        *, scalar: bool = False,
    ) -> tuple[Any, Any]:
        """(``_simulate``, generated code); ``scalar``: the code for one run on floats
        (raises Unsupported when :mod:`sd.engine.vectorized.scalar` cannot write it)."""
        key = (tuple(sorted(kinds.items())), tuple(outputs), method, scalar)
        with _LOCK:
            found = self._plan.compiled.get(key)
        if found is None:
            gen = generate(self._plan, kinds, outputs, method, scalar=scalar)
            found = (compile_source(gen.source, self.model), gen)
            with _LOCK:
                if len(self._plan.compiled) > 64:
                    self._plan.compiled.clear()
                self._plan.compiled[key] = found
        return found

    def source(self, variables: Sequence[str] | None = None) -> str:
        """The generated simulation code (for inspection), without parameter overrides."""
        names = self._selection(variables)
        outputs = [self._py[name] for name in names]
        return self._compiled({}, outputs, self.model.time.method)[1].source


def compile_source(
    source: str, model: Model, *, checked: bool = False, code: Any = None
) -> Any:
    """The ``_simulate`` function of generated code, after checking it (sd.model.verify) unless
    it is byte for byte code that was checked (``checked``); ``code``: that source's
    compiled code, when the caller has it (it is used only with ``checked``)."""
    namespace = dict(NAMESPACE) | SUB_NAMESPACE | SCALAR_NAMESPACE
    if not checked:
        check_engine_source(source, model.path.name)
        code = None
    if code is None:
        code = compile_code(source, model)
    exec(code, namespace)  # noqa: S102 - our own generated code, checked above
    return namespace["_simulate"]


def compile_code(source: str, model: Model) -> Any:
    """The code object of generated source (as :func:`compile_source` compiles it)."""
    return compile(source, f"<sd.engine.vectorized.core {model.name}>", "exec")


def execute(
    fn: Any,
    gen: Any,
    n: int,
    values: Mapping[str, tuple[str, Any]],
    grid: TimeGrid,
    shapes: Sequence[tuple[int, ...]],
    blocks: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run a compiled ``_simulate`` for ``n`` runs: the saved times and one array
    ``(n, times, *shape)`` per output, NaN for every run that did not finish.

    Scalar code (one run, :mod:`sd.engine.vectorized.scalar`) saves rows: the outputs are then
    views of one array (times, outputs), which is appended to ``blocks`` if given.
    """
    times, save, labels = _schedule(grid)
    scalar = "_env.block = _rec" in gen.source
    outputs = [] if scalar else [np.empty((n, len(labels), *shape)) for shape in shapes]
    env = _Env(
        n=n,
        ar=np.arange(n),
        times=np.asarray(times, dtype=np.float64),
        save=save,
        K=len(times) - 1,
        t0=np.float64(grid.initial),
        tf=np.float64(grid.final),
        dt=np.float64(grid.step),
        sp=np.float64(grid.saveper),
        consts=[np.float64(c) for c in gen.consts],
        tables=gen.tables,
        params={p: payload for p, (_, payload) in values.items()},
        outputs=outputs,
        fail=np.zeros(n, dtype=bool),
        objs=gen.objs,
    )
    with np.errstate(all="ignore"):
        fn(env)
    if scalar:  # its saved rows, one column per output
        flat = itertools.chain.from_iterable(env.block)
        block = np.fromiter(flat, np.float64, len(labels) * len(shapes))
        block = block.reshape(len(labels), len(shapes))
        if env.fail.any() or not np.isfinite(block).all():
            block[:] = np.nan
        if blocks is not None:
            blocks.append(block)
        outputs = [block[:, j].reshape(1, len(labels)) for j in range(len(shapes))]
        return np.asarray(labels, dtype=np.float64), outputs
    failed = env.fail.copy()
    for out in outputs:
        failed |= ~np.isfinite(out.reshape(n, -1)).all(axis=1)
    for out in outputs:
        out[failed] = np.nan
    return np.asarray(labels, dtype=np.float64), outputs


def _per_run_values(name: str, value: Any, n: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"the values given for '{name}' are not numbers.") from None
    if array.shape != (n,):
        raise ParameterError(
            f"the values given for '{name}' have shape {array.shape}; give a number or an "
            f"array of shape ({n},), one value per run."
        )
    if not np.isfinite(array).all():
        raise ParameterError(f"the values given for '{name}' have NaN or infinite values.")
    return array


def _per_run_series(name: str, value: PerRunSeries, n: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        times = np.asarray(value.times, dtype=np.float64)
        values = np.asarray(value.values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"the time paths given for '{name}' are not numbers.") from None
    if times.ndim != 1 or len(times) == 0 or values.shape != (n, len(times)):
        raise ParameterError(
            f"the time paths given for '{name}' must have times of shape (k,) and values of "
            f"shape ({n}, k); got {times.shape} and {values.shape}."
        )
    if not (np.isfinite(times).all() and np.isfinite(values).all()):
        raise ParameterError(f"the time paths given for '{name}' have NaN or infinite values.")
    if (np.diff(times) <= 0).any():
        raise ParameterError(f"the times of the paths given for '{name}' must increase.")
    return times, values


def _schedule(grid: TimeGrid) -> tuple[list[float], list[int], list[float]]:
    """PySD's time loop: the times of the Euler steps, which are saved, and their labels."""
    t0, dt, sp = grid.initial, grid.step, grid.saveper
    times = [t0]
    while times[-1] + dt * _RPREC < grid.final:  # Time.in_bounds
        times.append(times[-1] + dt)
    prec = dt * _RPREC
    digits = -int(np.log10(prec))
    save: list[int] = []
    kept: list[float] = []
    for t in times:
        delay = t - t0
        if delay % sp < prec or -delay % sp < prec:  # Time.in_return
            save.append(len(kept))
            kept.append(t)
        else:
            save.append(-1)
    labels = np.round(np.asarray(kept, dtype=np.float64), digits).tolist()  # Time.round
    return times, save, labels


# -- building -------------------------------------------------------------------------------------

_PLANS: dict[str, Plan | Unsupported] = {}
_LOCK = threading.Lock()


def build(model: Model) -> VectorModel:
    """Compile ``model`` for the vectorized engine (cached in memory per model key).

    Raises :class:`Unsupported` when the model uses something the engine cannot run
    (also remembered, so asking again is cheap).
    """
    with _LOCK:
        plan = _PLANS.get(model.key)
    if plan is None:
        try:
            plan = _make_plan(model)
            VectorModel(model, plan).source()  # generate once, so that build raises
        except Unsupported as err:
            plan = err
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as err:
            # a combination of constructs the code generator does not know: fall back
            what = f"{type(err).__name__}: {err}".splitlines()[0][:120]
            plan = Unsupported(f"a construct the engine could not translate ({what})")
        with _LOCK:
            _PLANS[model.key] = plan
    if isinstance(plan, Unsupported):
        raise Unsupported(plan.construct, plan.where)
    return VectorModel(model, plan)


def _make_plan(model: Model) -> Plan:
    abstract = _abstract_model(model)
    macros = [s.name for s in abstract.sections if s.type != "main"]
    if macros:
        raise Unsupported("MACRO", macros[0])
    section = abstract.sections[0]
    space = _space(section, model) if section.subscripts else None
    pysd_model = _pysd_model(model)
    namespace = pysd_model._namespace
    deps = pysd_model._dependencies
    components = pysd_model.components
    components._components._init_outer_references({"scope": pysd_model, "time": pysd_model.time})
    _check_update_order(pysd_model)
    elements: dict[str, Element] = {}
    cleanspace: dict[str, str] = {}
    control: dict[str, str] = {}
    control_py: dict[str, str] = {}
    dims = _dims(pysd_model) if space is not None else {}
    if space is not None:
        space.add(dict(getattr(pysd_model, "subscripts", {}) or {}))
    for el in section.elements:
        clean = el.name.lower().replace(" ", "_")
        if el.name.upper() in _CONTROL_NAMES:
            control[clean] = _CONTROL_NAMES[el.name.upper()]
            control_py[namespace[el.name]] = _CONTROL_NAMES[el.name.upper()]
            continue
        py = namespace[el.name]
        cleanspace[clean] = py
        if dims.get(py):
            elements[py] = _array_element(el, py, dims[py], deps.get(py, {}), components, space)
            continue
        if len(el.components) != 1 or el.components[0].subscripts[0]:
            raise Unsupported("subscripts", el.name)
        elements[py] = _element(el, py, deps.get(py, {}), components)
    return Plan(
        elements=elements,
        cleanspace=cleanspace,
        control=control,
        control_py=control_py,
        space=space,
    )


def _space(section: Any, model: Model) -> Space:
    from pysd.builders.python.subscripts import SubscriptManager  # noqa: TID251 - PySD's ranges

    try:
        return Space(SubscriptManager(section.subscripts, model.path.parent))
    except Exception as err:  # noqa: BLE001 - PySD's own error on ranges read from files
        raise Unsupported(f"subscript ranges PySD cannot read ({err})".splitlines()[0]) from None


def _dims(pysd_model: Any) -> dict[str, tuple[str, ...]]:
    """PySD python name -> the subscript ranges of its value (PySD's final subscripts)."""
    doc = pysd_model.doc
    return {
        row["Py Name"]: tuple(row["Subscripts"])
        for _, row in doc.iterrows()
        if isinstance(row["Subscripts"], list) and row["Subscripts"]
    }


def _array_element(
    el: Any, py: str, dims: tuple[str, ...], deps: Mapping, components: Any, space: Space
) -> Element:
    """A subscripted variable: its pieces, or its table or value read by PySD."""
    kind = type(el.components[0].ast).__name__
    if kind in ("LookupsStructure", "GetLookupsStructure"):
        obj = getattr(components, deps["__lookup__"])
        x, y, mode = _table_nd(obj, "lookup_dim", dims, space, el.name)
        return Element(el.name, py, "lookup", table=(x, y, mode), dims=dims)
    if kind == "GetDataStructure":
        if any(type(c.ast).__name__ != "GetDataStructure" for c in el.components):
            raise Unsupported("a subscripted data variable mixed with equations", el.name)
        obj = getattr(components, deps["__data__"])
        return Element(el.name, py, "data", table=_table_nd(obj, "time", dims, space, el.name),
                       dims=dims)
    kinds = {type(c.ast).__name__ for c in el.components}
    if "GetConstantsStructure" in kinds and kinds <= {"GetConstantsStructure", "ndarray",
                                                     "int", "float"}:
        value = getattr(components, py)()  # constant pieces: PySD assembles them
        return Element(el.name, py, "constant", value=_values(value, dims, space, el.name),
                       dims=dims)
    if kind == "DataStructure":
        raise Unsupported("DATA variables read from data files (no GET DIRECT DATA)", el.name)
    parts = []
    for comp in el.components:
        if type(comp.ast).__name__ in ("LookupsStructure", "GetLookupsStructure",
                                        "GetDataStructure", "GetConstantsStructure"):
            raise Unsupported(f"a {type(comp.ast).__name__} mixed with equations", el.name)
        lhs, excepts = comp.subscripts
        parts.append((comp.ast, list(lhs), [list(e) for e in excepts]))
    return Element(el.name, py, "aux", dims=dims, parts=parts)


def _values(value: Any, dims: tuple[str, ...], space: Space, name: str) -> np.ndarray:
    """A PySD DataArray as a plain array over ``dims`` in the ranges' element order."""
    try:
        arr = value.transpose(*dims)
        for d in dims:
            if tuple(str(c) for c in arr.coords[d].values) != space.elements(d):
                raise ValueError(d)
        return np.asarray(arr.values, dtype=np.float64)
    except (ValueError, KeyError, AttributeError, TypeError):
        raise Unsupported("an array PySD stores in another layout", name) from None


def _table_nd(
    obj: Any, dim: str, dims: tuple[str, ...], space: Space, name: str
) -> tuple[np.ndarray, np.ndarray, str]:
    data = getattr(obj, "data", None)
    if data is None or set(getattr(data, "dims", ())) != {dim, *dims}:
        raise Unsupported("a subscripted lookup PySD stores in another layout", name)
    x = np.asarray(data[dim].values, dtype=np.float64)
    y = _values(data.transpose(dim, *dims), (dim, *dims), _WithPoints(space, dim, x), name)
    return x, y, str(getattr(obj, "interp", None) or "interpolate")


class _WithPoints:
    """A Space that also knows the points axis of a table (for :func:`_values`)."""

    def __init__(self, space: Space, dim: str, x: np.ndarray) -> None:
        self.space, self.dim, self.x = space, dim, x

    def elements(self, d: str) -> tuple[str, ...]:
        if d == self.dim:
            return tuple(str(c) for c in self.x)
        return self.space.elements(d)


_CONTROL_NAMES = {"INITIAL TIME": "_t0", "FINAL TIME": "_tf", "TIME STEP": "_dt", "SAVEPER": "_sp"}


def _element(el: Any, py: str, deps: Mapping, components: Any) -> Element:
    comp = el.components[0]
    kind = type(comp.ast).__name__
    if kind in ("LookupsStructure", "GetLookupsStructure"):
        obj = getattr(components, deps["__lookup__"])
        return Element(el.name, py, "lookup", table=_table(obj, "lookup_dim", el.name))
    if kind == "GetDataStructure":
        obj = getattr(components, deps["__data__"])
        return Element(el.name, py, "data", table=_table(obj, "time", el.name))
    if kind == "GetConstantsStructure":
        try:
            value = float(getattr(components, py)())
        except (TypeError, ValueError):
            raise Unsupported("GET CONSTANTS with a non-scalar value", el.name) from None
        return Element(el.name, py, "constant", value=value)
    if kind == "DataStructure":
        raise Unsupported("DATA variables read from data files (no GET DIRECT DATA)", el.name)
    return Element(el.name, py, "aux", ast=comp.ast)


def _table(obj: Any, dim: str, name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """x, y and interpolation of a loaded PySD lookup or data object (as sd.engine.lookups does)."""
    data = getattr(obj, "data", None)
    dims = getattr(data, "dims", None)
    if dims != (dim,):
        raise Unsupported("a lookup or data table that is not one-dimensional", name)
    x = np.asarray(data[dim].values, dtype=np.float64)
    y = np.asarray(data.values, dtype=np.float64)
    return x, y, str(getattr(obj, "interp", None) or "interpolate")


def _abstract_model(model: Model) -> Any:
    from pysd.translators.vensim.vensim_file import VensimFile  # noqa: TID251 - PySD's parser

    copy = Path(model.entry.folder) / model.path.name
    if not copy.is_file():  # the neutralised copy PySD translated (sd.model.sanitize)
        raise TranslationError(
            f"{copy}: the translation cache entry is incomplete; load the model again."
        )
    kept = verified_bytes(model.entry, ABSTRACT_FILE)
    if kept is not None:  # written by our translation, hash checked: no second parse
        return pickle.loads(kept)  # noqa: S301 - bytes verified against the cache entry
    source = copy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ven_file = VensimFile(source)
        ven_file.parse()
        return ven_file.get_abstract_model()


def _pysd_model(model: Model) -> Any:
    """A PySD instance with lookups and data loaded (tables are read, never run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.new_pysd(load_inputs=True)


_UPDATED_AT_STEP = re.compile(r"^_(sampleiftrue|delayfixed)_")


def _check_update_order(pysd_model: Any) -> None:
    """Refuse SAMPLE IF TRUE / DELAY FIXED whose input PySD reads after other updates.

    PySD updates its stateful objects one by one (alphabetical order) and these two read
    their input during their own update: if that input depends on an object updated
    before, PySD sees a half-updated model (and the result depends on its cache). The
    engine runs the other case only, where the input is the value at the start of step.
    """
    order = [obj.py_name for obj in pysd_model._dynamicstateful_elements]
    deps = pysd_model._dependencies
    for pos, obj in enumerate(order):
        match = _UPDATED_AT_STEP.match(obj)
        if not match:
            continue
        seen: set[str] = set()
        stack = list(deps.get(obj, {}).get("step", {}))
        while stack:
            dep = stack.pop()
            if dep in seen or dep.startswith("__") or dep == "time" or dep not in deps:
                continue
            seen.add(dep)
            entry = deps[dep]
            if dep.startswith("_") and isinstance(entry, Mapping) and "step" in entry:
                if dep in order and order.index(dep) < pos:
                    owner = next((k for k, v in deps.items() if obj in v and k[0] != "_"), obj)
                    what = "SAMPLE IF TRUE" if match.group(1) == "sampleiftrue" else "DELAY FIXED"
                    raise Unsupported(
                        f"{what} whose input depends on a stock PySD updates before it", owner
                    )
                stack.extend(entry["step"])
            else:
                stack.extend(entry)


def flat_columns(vm: VectorModel, out: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Outputs of :meth:`VectorModel.run` as (n, T) columns named as in ``sd.run(...).wide()``.

    A variable without subscripts keeps its name; a subscripted one gives one column per
    element combination, ``python_name[e1,e2]`` as PySD flattens it.
    """
    flat: dict[str, np.ndarray] = {}
    for name, values in out.items():
        coords = vm.coords(name)
        if not coords:
            flat[name] = values
            continue
        py = vm.model.variables[name].py_name
        ranges = [range(len(els)) for _, els in coords]
        for combo in itertools.product(*ranges):
            label = ",".join(coords[i][1][k] for i, k in enumerate(combo))
            flat[f"{py}[{label}]"] = values[(slice(None), slice(None), *combo)]
    return flat
