"""Studies: a TOML file that declares a model, run settings and named scenarios.

A study file is data, never code: it is read with :mod:`tomllib`, checked key by
key, then checked against the model before anything runs. Example::

    [study]
    name = "demo"
    title = "Decay under shocks"
    model = "../tests/models/decay.mdl"      # relative to this file
    base = "baseline"

    [run]                                    # all optional
    final = 20
    variables = ["Stock", "outflow"]         # what is kept and plotted
    forecast_start = 10                      # marked on plots
    key_years = [5, 10, 20]

    [combine]                                # how shocks on each input compose
    "steady inflow" = "multiplicative"

    [history."Stock"]                        # recorded data overlaid on plots
    file = "data/stock.csv"
    column = "stock"

    [scenarios.baseline]
    description = "The model as it is."

    [scenarios.crash]
    inherits = "baseline"
    description = "Inflow falls 40% in 5 years, recovers with a 3-year half-life."
    set = { "decay rate" = 0.12 }
    shocks = [
      { input = "steady inflow", shape = "crash", start = 5, depth = 0.4,
        duration = 2, half_life = 3 },
    ]
"""

from __future__ import annotations

import inspect
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sd import shocks as shock_shapes
from sd.errors import SDError, suggest
from sd.model import Model
from sd.run import SETTABLE, TimeSettings


class StudyError(SDError):
    """A study file is malformed or does not fit its model."""


@dataclass(frozen=True)
class Shock:
    """One shock on one input, as declared in a study file."""

    input: str
    shape: str
    params: Mapping[str, Any]
    where: str  #: e.g. "scenarios.crash.shocks[0]", for messages

    def deviation(self, times: np.ndarray, mode: str, folder: Path) -> np.ndarray:
        func = shock_shapes.SHAPES[self.shape]
        kwargs = dict(self.params)
        if self.shape == "trend_change":
            kwargs["combine"] = mode
        if self.shape == "series":
            kwargs["file"] = folder / kwargs["file"]
        return func(times, **kwargs)


@dataclass(frozen=True)
class Scenario:
    """A named scenario with its inheritance already resolved."""

    name: str
    description: str
    inherits: str | None
    set: Mapping[str, float]
    shocks: tuple[Shock, ...]


@dataclass(frozen=True)
class HistorySpec:
    """Where the recorded history of one model variable is (for plots and checks)."""

    variable: str
    file: Path
    column: str
    time_column: str = "year"
    scale: float = 1.0
    where: Mapping[str, str] = field(default_factory=dict)  #: row filters, column -> value
    label: str = ""

    def load(self) -> pd.Series:
        """The recorded values indexed by time, scaled into the model's units."""
        table = pd.read_csv(self.file)
        for col, value in self.where.items():
            table = table[table[col].astype(str) == str(value)]
        table = table[[self.time_column, self.column]].dropna()
        return pd.Series(
            table[self.column].to_numpy(float) * self.scale,
            index=table[self.time_column].to_numpy(float),
            name=self.variable,
        ).sort_index()


@dataclass(frozen=True)
class Study:
    """A validated study file."""

    path: Path
    name: str
    title: str
    description: str
    model_path: Path
    base: str
    time: TimeSettings
    variables: tuple[str, ...]
    forecast_start: float | None
    key_years: tuple[float, ...]
    combine: Mapping[str, str]
    history: Mapping[str, HistorySpec]
    scenarios: Mapping[str, Scenario]
    includes: tuple[Path, ...]

    @property
    def folder(self) -> Path:
        return self.path.parent

    def files(self) -> list[Path]:
        """Every file the study reads besides the model (for watching)."""
        out = [self.path, *self.includes]
        out += [h.file for h in self.history.values()]
        for sc in self.scenarios.values():
            out += [self.folder / s.params["file"] for s in sc.shocks if s.shape == "series"]
        return list(dict.fromkeys(out))


_TOP = {"study", "run", "combine", "history", "scenarios", "include"}
_STUDY = {"name", "title", "description", "model", "base"}
_RUN = {"initial", "final", "step", "saveper", "variables", "forecast_start", "key_years"}
_SCENARIO = {"description", "inherits", "set", "shocks"}
_HISTORY = {"file", "column", "time_column", "scale", "where", "label"}


def load_study(path: str | Path) -> Study:
    """Read and check a study file (not yet against its model: see :func:`check_study`)."""
    path = Path(path)
    raw = _read_toml(path)
    _keys(path, raw, _TOP, "the top level")
    head = _table(path, raw, "study")
    _keys(path, head, _STUDY, "[study]")
    for key in ("name", "model"):
        if key not in head:
            raise StudyError(f"{path}: [study] needs '{key}'.")
    run = _table(path, raw, "run", required=False)
    _keys(path, run, _RUN, "[run]")
    scen_raw = _table(path, raw, "scenarios")
    if not scen_raw:
        raise StudyError(f"{path}: [scenarios] declares no scenario; add at least the base one.")
    base = head.get("base", next(iter(scen_raw)))
    if base not in scen_raw:
        raise StudyError(
            f"{path}: [study] base = {base!r} is not a scenario." + suggest(base, scen_raw)
        )
    includes = tuple(path.parent / p for p in _list(path, raw.get("include", []), "include"))
    included: dict[str, float] = {}
    for inc in includes:
        included.update(_included_values(inc))
    time = TimeSettings(
        *(_number(path, run, k, "[run]") for k in ("initial", "final", "step", "saveper"))
    )
    combine = _table(path, raw, "combine", required=False)
    for name, mode in combine.items():
        if mode not in shock_shapes.COMBINE_MODES:
            raise StudyError(
                f"{path}: [combine] {name!r} = {mode!r}; use one of {shock_shapes.COMBINE_MODES}."
            )
    history = {
        name: _history(path, name, spec)
        for name, spec in _table(path, raw, "history", False).items()
    }
    scenarios = _resolve_scenarios(path, scen_raw, base, included)
    return Study(
        path=path,
        name=str(head["name"]),
        title=str(head.get("title", head["name"])),
        description=str(head.get("description", "")),
        model_path=(path.parent / head["model"]),
        base=base,
        time=time,
        variables=tuple(_list(path, run.get("variables", []), "[run] variables")),
        forecast_start=_number(path, run, "forecast_start", "[run]"),
        key_years=tuple(float(y) for y in _list(path, run.get("key_years", []), "key_years")),
        combine=MappingProxyType(dict(combine)),
        history=MappingProxyType(history),
        scenarios=MappingProxyType(scenarios),
        includes=includes,
    )


def check_study(study: Study, model: Model) -> Study:
    """Check every name and time of ``study`` against ``model``; return it with Vensim names."""
    where = study.path

    def resolve(name: str, context: str) -> str:
        try:
            return model.resolve(name)
        except SDError as err:
            raise StudyError(f"{where}: {context}: {err}") from None

    def settable(name: str, context: str) -> str:
        real = resolve(name, context)
        kind = model.variables[real].kind
        if kind not in SETTABLE:
            raise StudyError(
                f"{where}: {context}: '{real}' is a {kind} computed by an equation; only "
                "constants, lookups and data variables can be set or shocked."
            )
        return real

    grid = study.time.apply(model.time)
    variables = tuple(resolve(v, "[run] variables") for v in study.variables)
    combine = {settable(k, f"[combine] {k!r}"): v for k, v in study.combine.items()}
    history = {}
    for name, spec in study.history.items():
        real = resolve(name, f"[history.{name!r}]")
        history[real] = HistorySpec(**{**spec.__dict__, "variable": real})
    scenarios = {}
    for sc in study.scenarios.values():
        ctx = f"[scenarios.{sc.name}]"
        sets = {settable(k, f"{ctx} set {k!r}"): v for k, v in sc.set.items()}
        new_shocks = []
        for shock in sc.shocks:
            name = settable(shock.input, f"{shock.where} input")
            if model.variables[name].kind != "constant":
                raise StudyError(
                    f"{where}: {shock.where}: shocks apply to constants; '{name}' "
                    f"is a {model.variables[name].kind}."
                )
            if name not in combine:
                raise StudyError(
                    f"{where}: {shock.where}: say how shocks on '{name}' compose: add "
                    f'"{name}" = "multiplicative" (or "additive") under [combine].'
                )
            start = shock.params.get("start")
            if start is not None and not grid.initial <= start <= grid.final:
                raise StudyError(
                    f"{where}: {shock.where}: start = {start:g} is outside the simulated time "
                    f"{grid.initial:g}-{grid.final:g}."
                )
            new_shocks.append(Shock(name, shock.shape, shock.params, shock.where))
        scenarios[sc.name] = Scenario(sc.name, sc.description, sc.inherits, sets, tuple(new_shocks))
    for v in (study.forecast_start, *study.key_years):
        if v is not None and not grid.initial <= v <= grid.final:
            raise StudyError(
                f"{where}: [run] year {v:g} is outside the simulated time "
                f"{grid.initial:g}-{grid.final:g}."
            )
    return Study(
        **{
            **study.__dict__,
            "variables": variables,
            "combine": MappingProxyType(combine),
            "history": MappingProxyType(history),
            "scenarios": MappingProxyType(scenarios),
        }
    )


def compile_scenario(study: Study, scenario: Scenario, model: Model) -> dict[str, Any]:
    """The run parameters of a scenario: numbers, and time series for shocked inputs."""
    grid = study.time.apply(model.time)
    n = int(round((grid.final - grid.initial) / grid.step))
    times = grid.initial + grid.step * np.arange(n + 1)
    params: dict[str, Any] = dict(scenario.set)
    by_input: dict[str, list[Shock]] = {}
    for shock in scenario.shocks:
        by_input.setdefault(shock.input, []).append(shock)
    for name, group in by_input.items():
        mode = study.combine[name]
        base = params.get(name, model.defaults.get(name))
        if base is None:
            raise StudyError(f"{study.path}: '{name}' has no single default value to shock.")
        try:
            devs = [s.deviation(times, mode, study.folder) for s in group]
        except (ValueError, OSError) as err:
            raise StudyError(
                f"{study.path}: [scenarios.{scenario.name}] shock on '{name}': {err}"
            ) from None
        params[name] = pd.Series(shock_shapes.combine(base, devs, mode), index=times)
    return params


# -- reading helpers ---------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise StudyError(f"{path}: no such study file.")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise StudyError(f"{path}: TOML syntax error: {err}. Fix the file and run again.") from None


def _table(path: Path, raw: Mapping[str, Any], key: str, required: bool = True) -> dict:
    value = raw.get(key)
    if value is None:
        if required:
            raise StudyError(f"{path}: the [{key}] table is missing.")
        return {}
    if not isinstance(value, dict):
        raise StudyError(f"{path}: '{key}' must be a table ([{key}]), not {type(value).__name__}.")
    return value


def _keys(path: Path, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise StudyError(
                f"{path}: unknown key {key!r} in {where}."
                + suggest(key, allowed)
                + f" Allowed: {', '.join(sorted(allowed))}."
            )


def _list(path: Path, value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise StudyError(f'{path}: {where} must be a list, e.g. ["A", "B"].')
    return value


def _number(path: Path, table: Mapping[str, Any], key: str, where: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StudyError(f"{path}: {where} {key} = {value!r} is not a number.")
    return float(value)


def _history(path: Path, name: str, spec: Any) -> HistorySpec:
    where = f"[history.{name!r}]"
    if not isinstance(spec, dict):
        raise StudyError(f"{path}: {where} must be a table with file and column.")
    _keys(path, spec, _HISTORY, where)
    for key in ("file", "column"):
        if key not in spec:
            raise StudyError(f"{path}: {where} needs '{key}'.")
    file = path.parent / spec["file"]
    if not file.is_file():
        raise StudyError(
            f"{path}: {where} file {spec['file']!r} does not exist (looked for {file})."
        )
    columns = pd.read_csv(file, nrows=0).columns
    for key in ("column", "time_column"):
        col = spec.get(key, "year")
        if col not in columns:
            raise StudyError(
                f"{path}: {where} {key} {col!r} is not a column of {file.name}."
                + suggest(col, columns)
            )
    return HistorySpec(
        variable=name,
        file=file,
        column=spec["column"],
        time_column=spec.get("time_column", "year"),
        scale=float(spec.get("scale", 1.0)),
        where=dict(spec.get("where", {})),
        label=str(spec.get("label", "")),
    )


def _included_values(path: Path) -> dict[str, float]:
    """``[parameters]`` of an included file (e.g. calibrated values) as name -> number."""
    raw = _read_toml(path)
    params = _table(path, raw, "parameters")
    out = {}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise StudyError(f"{path}: [parameters] {name!r} = {value!r} is not a number.")
        out[name] = float(value)
    return out


def _shock(path: Path, scenario: str, index: int, raw: Any) -> Shock:
    where = f"scenarios.{scenario}.shocks[{index}]"
    if not isinstance(raw, dict):
        raise StudyError(f"{path}: {where} must be a table like {{ input = ..., shape = ... }}.")
    params = dict(raw)
    name = params.pop("input", None)
    shape = params.pop("shape", None)
    if not name or not shape:
        raise StudyError(f"{path}: {where} needs both 'input' and 'shape'.")
    func = shock_shapes.SHAPES.get(shape)
    if func is None:
        raise StudyError(
            f"{path}: {where}: unknown shock shape {shape!r}."
            + suggest(shape, shock_shapes.SHAPES)
            + f" Shapes: {', '.join(shock_shapes.SHAPES)}."
        )
    sig = inspect.signature(func)
    accepted = {p for p in sig.parameters if p not in ("times", "combine")}
    required = {p for p in accepted if sig.parameters[p].default is inspect.Parameter.empty}
    for key in params:
        if key not in accepted:
            raise StudyError(
                f"{path}: {where}: shape {shape!r} has no parameter {key!r}."
                + suggest(key, accepted)
                + f" Its parameters: {', '.join(sorted(accepted))}."
            )
    missing = sorted(required - set(params))
    if missing:
        raise StudyError(
            f"{path}: {where}: shape {shape!r} needs {', '.join(missing)} "
            f"(see `help(sd.shocks.{shape})`)."
        )
    for key, value in params.items():
        if key in ("file", "column", "time_column"):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise StudyError(f"{path}: {where}: {key} = {value!r} is not a number.")
    try:  # check the parameter values once on a small grid (e.g. end > start)
        if shape != "series":
            func(np.array([0.0, 1.0]), **params)
        elif not (path.parent / params["file"]).is_file():
            raise ValueError(f"file {params['file']!r} does not exist")
    except ValueError as err:
        raise StudyError(f"{path}: {where}: {err}.") from None
    return Shock(str(name), str(shape), MappingProxyType(params), where)


def _resolve_scenarios(
    path: Path, raw: Mapping[str, Any], base: str, included: Mapping[str, float]
) -> dict[str, Scenario]:
    own: dict[str, tuple[str, str | None, dict, list[Shock]]] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise StudyError(f"{path}: [scenarios.{name}] must be a table.")
        _keys(path, body, _SCENARIO, f"[scenarios.{name}]")
        sets = body.get("set", {})
        if not isinstance(sets, dict):
            raise StudyError(f"{path}: [scenarios.{name}] set must be a table of name = number.")
        for key, value in sets.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise StudyError(
                    f"{path}: [scenarios.{name}] set {key!r} = {value!r} is not a number."
                )
        parent = body.get("inherits")
        if parent is not None and parent not in raw:
            raise StudyError(
                f"{path}: [scenarios.{name}] inherits {parent!r}, which is not a scenario."
                + suggest(str(parent), raw)
            )
        shocks = [
            _shock(path, name, i, s)
            for i, s in enumerate(_list(path, body.get("shocks", []), f"[scenarios.{name}] shocks"))
        ]
        own[name] = (str(body.get("description", "")), parent, dict(sets), shocks)

    def chain(name: str) -> list[str]:
        seen = [name]
        while (parent := own[seen[-1]][1]) is not None:
            if parent in seen:
                cycle = " -> ".join([*seen[seen.index(parent) :], parent])
                raise StudyError(f"{path}: scenarios inherit in a cycle: {cycle}.")
            seen.append(parent)
        return seen[::-1]  # oldest ancestor first

    out = {}
    for name in [base, *[n for n in own if n != base]]:
        sets: dict[str, float] = dict(included)
        shocks: list[Shock] = []
        for ancestor in chain(name):
            sets.update(own[ancestor][2])
            shocks += own[ancestor][3]
        desc, parent = own[name][0], own[name][1]
        out[name] = Scenario(name, desc, parent, MappingProxyType(sets), tuple(shocks))
    return out
