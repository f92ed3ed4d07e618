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

    [effects]                                # the report states a shock's effect as the
    "steady inflow" = "Stock"                # change of this variable against the base

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sd.errors import SDError, suggest
from sd.files import check_name, distinct_slugs
from sd.model.model import SETTABLE, Model, TimeGrid, TimeSettings
from sd.study import shocks as shock_shapes
from sd.study.specfile import (
    SeriesSpec,
    SpecError,
    as_list,
    keys,
    number,
    read_toml,
    series_spec,
    strings,
    table,
)


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
    labels: Mapping[str, str] = field(default_factory=dict)  #: lang -> display name
    descriptions: Mapping[str, str] = field(default_factory=dict)  #: lang -> description
    fixed: frozenset[str] = frozenset()  #: inputs the scenario chain itself sets or shocks

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.name

    def describe(self, lang: str = "en") -> str:
        return self.descriptions.get(lang) or self.description


@dataclass(frozen=True)
class UncertaintyRef:
    """The study's uncertainty spec and how many runs ``sd forecast`` makes with it."""

    file: Path
    samples: int = 1000
    seed: int = 42
    engine: str = "vectorized"


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
    history: Mapping[str, SeriesSpec]
    scenarios: Mapping[str, Scenario]
    includes: tuple[Path, ...]
    texts: Mapping[str, str] = field(default_factory=dict)  #: e.g. title_ru, question_en
    uncertainty: UncertaintyRef | None = None
    calibration: Path | None = None
    #: shocked input -> the variable whose change against the base states a shock's effect
    effects: Mapping[str, str] = field(default_factory=dict)
    #: set by :func:`check_study`: the model checked against, its resolved time grid and
    #: the run parameters of every scenario (compiled once, shared by forecast and ensemble)
    model: Model | None = field(default=None, repr=False, compare=False)
    grid: TimeGrid | None = None
    compiled: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def text(self, key: str, lang: str = "en") -> str:
        """``title``, ``description`` or ``question`` in ``lang`` (English as fallback)."""
        return self.texts.get(f"{key}_{lang}") or self.texts.get(f"{key}_en", "")

    @property
    def folder(self) -> Path:
        return self.path.parent

    def time_grid(self, model: Model) -> TimeGrid:
        """The study's time grid for ``model`` (resolved once by :func:`check_study`)."""
        if self.grid is not None and self.model is model:
            return self.grid
        return self.time.apply(model.time)

    def files(self) -> list[Path]:
        """Every file the study reads besides the model (for watching)."""
        out = [self.path, *self.includes]
        out += [h.file for h in self.history.values()]
        for sc in self.scenarios.values():
            out += [self.folder / s.params["file"] for s in sc.shocks if s.shape == "series"]
        return list(dict.fromkeys(out))


_TOP = {"study", "run", "combine", "history", "scenarios", "include", "uncertainty", "effects"}
_TOP |= {"policy", "explore", "optimize"}  # read by sd.analysis (policy, explore, optimize)
_STUDY = {
    "name",
    "title",
    "description",
    "question",
    "model",
    "base",
    "calibration",
    "title_ru",
    "description_ru",
    "question_ru",
}
_UNCERTAINTY = {"file", "samples", "seed", "engine"}
_RUN = {"initial", "final", "step", "saveper", "variables", "forecast_start", "key_years"}
_SCENARIO = {"description", "inherits", "set", "shocks", "label", "label_ru", "description_ru"}


def load_study(path: str | Path) -> Study:
    """Read and check a study file (not yet against its model: see :func:`check_study`)."""
    path = Path(path)
    raw = read_toml(path)
    keys(path, raw, _TOP, "the top level")
    head = table(path, raw, "study")
    keys(path, head, _STUDY, "[study]")
    for key in ("name", "model"):
        if key not in head:
            raise SpecError(f"{path}: [study] needs '{key}'.")
    check_name(head["name"], f"{path}: [study] name", SpecError)
    model_file = head["model"]
    if not isinstance(model_file, str) or not model_file.strip():
        raise SpecError(
            f"{path}: [study] model = {model_file!r} is not a file name; write the path of the "
            'Vensim model as a string, relative to the study file, e.g. model = "../models/m.mdl".'
        )
    run = table(path, raw, "run", required=False)
    keys(path, run, _RUN, "[run]")
    scen_raw = table(path, raw, "scenarios")
    if not scen_raw:
        raise SpecError(f"{path}: [scenarios] declares no scenario; add at least the base one.")
    for name in scen_raw:
        check_name(name, f"{path}: [scenarios.{name}]", SpecError)
    distinct_slugs(scen_raw, f"{path}: [scenarios]", error=SpecError)  # scenarios/<slug>.csv
    base = head.get("base", next(iter(scen_raw)))
    if not isinstance(base, str):
        raise SpecError(
            f"{path}: [study] base = {base!r} must be the name of a scenario, as a string."
        )
    if base not in scen_raw:
        raise SpecError(
            f"{path}: [study] base = {base!r} is not a scenario." + suggest(base, scen_raw)
        )
    includes = tuple(path.parent / p for p in strings(path, raw.get("include", []), "include"))
    included: dict[str, float] = {}
    for inc in includes:
        included.update(_included_values(inc))
    time = TimeSettings(
        *(number(path, run, k, "[run]") for k in ("initial", "final", "step", "saveper"))
    )
    combine = table(path, raw, "combine", required=False)
    for name, mode in combine.items():
        if mode not in shock_shapes.COMBINE_MODES:
            raise SpecError(
                f"{path}: [combine] {name!r} = {mode!r}; use one of {shock_shapes.COMBINE_MODES}."
            )
    effects = table(path, raw, "effects", required=False)
    for name, var in effects.items():
        if not isinstance(var, str) or not var.strip():
            raise SpecError(
                f"{path}: [effects] {name!r} = {var!r}; name the model variable that shows "
                f'the effect of shocks on this input, e.g. "Coal Price Shock Multiplier" = '
                '"Coal Price".'
            )
    history = {
        name: series_spec(path, name, spec, f"[history.{name!r}]")
        for name, spec in table(path, raw, "history", False).items()
    }
    scenarios = _resolve_scenarios(path, scen_raw, base, included)
    texts = {
        f"{key}_{lang}": str(head[key if lang == "en" else f"{key}_{lang}"])
        for key in ("title", "description", "question")
        for lang in ("en", "ru")
        if (key if lang == "en" else f"{key}_{lang}") in head
    }
    texts.setdefault("title_en", str(head.get("title", head["name"])))
    unc = table(path, raw, "uncertainty", required=False)
    keys(path, unc, _UNCERTAINTY, "[uncertainty]")
    uncertainty = None
    if unc:
        if "file" not in unc:
            raise SpecError(f"{path}: [uncertainty] needs file = the uncertainty spec.")
        file = path.parent / unc["file"]
        if not file.is_file():
            raise SpecError(f"{path}: [uncertainty] file {unc['file']!r} does not exist.")
        uncertainty = UncertaintyRef(
            file,
            _whole(path, unc, "samples", default=1000, minimum=1),
            _whole(path, unc, "seed", default=42, minimum=0),
            _engine(path, unc.get("engine", "vectorized")),
        )
    calibration = None
    if "calibration" in head:
        calibration = path.parent / head["calibration"]
        if not calibration.is_file():
            raise SpecError(f"{path}: [study] calibration {head['calibration']!r} does not exist.")
    return Study(
        path=path,
        name=str(head["name"]),
        title=str(head.get("title", head["name"])),
        description=str(head.get("description", "")),
        model_path=(path.parent / head["model"]),
        base=base,
        time=time,
        variables=tuple(strings(path, run.get("variables", []), "[run] variables")),
        forecast_start=number(path, run, "forecast_start", "[run]"),
        key_years=_key_years(path, run.get("key_years", [])),
        combine=MappingProxyType(dict(combine)),
        history=MappingProxyType(history),
        scenarios=MappingProxyType(scenarios),
        includes=includes,
        texts=MappingProxyType(texts),
        uncertainty=uncertainty,
        calibration=calibration,
        effects=MappingProxyType(dict(effects)),
    )


def _key_years(path: Path, value: Any) -> tuple[float, ...]:
    years = as_list(path, value, "[run] key_years")
    for year in years:
        if isinstance(year, bool) or not isinstance(year, int | float) or not np.isfinite(year):
            raise SpecError(
                f"{path}: [run] key_years: {year!r} is not a year; write numbers in the "
                "model's time unit, e.g. key_years = [2030, 2050]."
            )
    return tuple(float(y) for y in years)


def check_study(study: Study, model: Model) -> Study:
    """Check every name and time of ``study`` against ``model``; return it with Vensim names."""
    where = study.path

    def resolve(name: str, context: str) -> str:
        try:
            return model.resolve(name)
        except SDError as err:
            raise SpecError(f"{where}: {context}: {err}") from None

    def settable(name: str, context: str) -> str:
        real = resolve(name, context)
        kind = model.variables[real].kind
        if kind not in SETTABLE:
            raise SpecError(
                f"{where}: {context}: '{real}' is a {kind} computed by an equation; only "
                "constants, lookups and data variables can be set or shocked."
            )
        return real

    grid = study.time.apply(model.time)  # resolved once, here
    variables = tuple(resolve(v, "[run] variables") for v in study.variables)
    combine = {settable(k, f"[combine] {k!r}"): v for k, v in study.combine.items()}
    effects = {
        settable(k, f"[effects] {k!r}"): resolve(v, f"[effects] {k!r}")
        for k, v in study.effects.items()
    }
    history = {}
    for name, spec in study.history.items():
        real = resolve(name, f"[history.{name!r}]")
        history[real] = SeriesSpec(**{**spec.__dict__, "variable": real})
    scenarios = {}
    for sc in study.scenarios.values():
        ctx = f"[scenarios.{sc.name}]"
        sets = {settable(k, f"{ctx} set {k!r}"): v for k, v in sc.set.items()}
        new_shocks = []
        for shock in sc.shocks:
            name = settable(shock.input, f"{shock.where} input")
            if model.variables[name].kind != "constant":
                raise SpecError(
                    f"{where}: {shock.where}: shocks apply to constants; '{name}' "
                    f"is a {model.variables[name].kind}."
                )
            if name not in combine:
                raise SpecError(
                    f"{where}: {shock.where}: say how shocks on '{name}' compose: add "
                    f'"{name}" = "multiplicative" (or "additive") under [combine].'
                )
            start = shock.params.get("start")
            if start is not None and not grid.initial <= start <= grid.final:
                raise SpecError(
                    f"{where}: {shock.where}: start = {start:g} is outside the simulated time "
                    f"{grid.initial:g}-{grid.final:g}."
                )
            new_shocks.append(Shock(name, shock.shape, shock.params, shock.where))
        fixed = frozenset(settable(k, f"{ctx} {k!r}") for k in sc.fixed)
        scenarios[sc.name] = Scenario(
            sc.name,
            sc.description,
            sc.inherits,
            sets,
            tuple(new_shocks),
            sc.labels,
            sc.descriptions,
            fixed,
        )
    for v in (study.forecast_start, *study.key_years):
        if v is not None and not grid.initial <= v <= grid.final:
            raise SpecError(
                f"{where}: [run] year {v:g} is outside the simulated time "
                f"{grid.initial:g}-{grid.final:g}."
            )
    for v in study.key_years:
        saves = (v - grid.initial) / grid.saveper
        if abs(saves - round(saves)) > 1e-9 * max(1.0, abs(saves)):
            below = grid.initial + math.floor(saves) * grid.saveper
            raise SpecError(
                f"{where}: [run] key_years: {v:g} is not a saved time (values are saved every "
                f"{grid.saveper:g} from {grid.initial:g}, the save step SAVEPER), so the key-years "
                f"table would have no value for it; use {below:g} or {below + grid.saveper:g}, "
                "or a save step that reaches it."
            )
    checked = Study(
        **{
            **study.__dict__,
            "variables": variables,
            "combine": MappingProxyType(combine),
            "effects": MappingProxyType(effects),
            "history": MappingProxyType(history),
            "scenarios": MappingProxyType(scenarios),
            "model": model,
            "grid": grid,
            "compiled": {},
        }
    )
    for sc in checked.scenarios.values():
        checked.compiled[sc.name] = MappingProxyType(compile_scenario(checked, sc, model))
    return checked


def compile_scenario(study: Study, scenario: Scenario, model: Model) -> dict[str, Any]:
    """The run parameters of a scenario: numbers, and time series for shocked inputs."""
    kept = study.compiled.get(scenario.name)
    if kept is not None and study.model is model and study.scenarios.get(scenario.name) is scenario:
        return dict(kept)  # compiled by check_study
    grid = study.time_grid(model)
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
            raise SpecError(f"{study.path}: '{name}' has no single default value to shock.")
        try:
            devs = [s.deviation(times, mode, study.folder) for s in group]
        except (ValueError, OSError) as err:
            raise SpecError(
                f"{study.path}: [scenarios.{scenario.name}] shock on '{name}': {err}"
            ) from None
        params[name] = pd.Series(shock_shapes.combine(base, devs, mode), index=times)
    return params


def _included_values(path: Path) -> dict[str, float]:
    """``[parameters]`` of an included file (e.g. calibrated values) as name -> number."""
    raw = read_toml(path)
    params = table(path, raw, "parameters")
    out = {}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{path}: [parameters] {name!r} = {value!r} is not a number.")
        out[name] = float(value)
    return out


def _shock(path: Path, scenario: str, index: int, raw: Any) -> Shock:
    where = f"scenarios.{scenario}.shocks[{index}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: {where} must be a table like {{ input = ..., shape = ... }}.")
    params = dict(raw)
    name = params.pop("input", None)
    shape = params.pop("shape", None)
    if not name or not shape:
        raise SpecError(f"{path}: {where} needs both 'input' and 'shape'.")
    func = shock_shapes.SHAPES.get(shape)
    if func is None:
        raise SpecError(
            f"{path}: {where}: unknown shock shape {shape!r}."
            + suggest(shape, shock_shapes.SHAPES)
            + f" Shapes: {', '.join(shock_shapes.SHAPES)}."
        )
    sig = inspect.signature(func)
    accepted = {p for p in sig.parameters if p not in ("times", "combine")}
    required = {p for p in accepted if sig.parameters[p].default is inspect.Parameter.empty}
    keys(path, params, accepted | {"input", "shape"}, f"{where} (shape {shape!r})")
    missing = sorted(required - set(params))
    if missing:
        raise SpecError(
            f"{path}: {where}: shape {shape!r} needs {', '.join(missing)} "
            f"(see `help(sd.study.shocks.{shape})`)."
        )
    for key, value in params.items():
        if key in ("file", "column", "time_column"):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{path}: {where}: {key} = {value!r} is not a number.")
    try:  # check the parameter values once on a small grid (e.g. end > start)
        if shape != "series":
            func(np.array([0.0, 1.0]), **params)
        elif not (path.parent / params["file"]).is_file():
            raise ValueError(f"file {params['file']!r} does not exist")
    except ValueError as err:
        raise SpecError(f"{path}: {where}: {err}.") from None
    return Shock(str(name), str(shape), MappingProxyType(params), where)


def _resolve_scenarios(
    path: Path, raw: Mapping[str, Any], base: str, included: Mapping[str, float]
) -> dict[str, Scenario]:
    own: dict[str, tuple[str, str | None, dict, list[Shock], dict]] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise SpecError(f"{path}: [scenarios.{name}] must be a table.")
        keys(path, body, _SCENARIO, f"[scenarios.{name}]")
        sets = body.get("set", {})
        if not isinstance(sets, dict):
            raise SpecError(f"{path}: [scenarios.{name}] set must be a table of name = number.")
        for key, value in sets.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(
                    f"{path}: [scenarios.{name}] set {key!r} = {value!r} is not a number."
                )
        parent = body.get("inherits")
        if parent is not None and parent not in raw:
            raise SpecError(
                f"{path}: [scenarios.{name}] inherits {parent!r}, which is not a scenario."
                + suggest(str(parent), raw)
            )
        shocks = [
            _shock(path, name, i, s)
            for i, s in enumerate(
                as_list(path, body.get("shocks", []), f"[scenarios.{name}] shocks")
            )
        ]
        own[name] = (str(body.get("description", "")), parent, dict(sets), shocks, body)

    def chain(name: str) -> list[str]:
        seen = [name]
        while (parent := own[seen[-1]][1]) is not None:
            if parent in seen:
                cycle = " -> ".join([*seen[seen.index(parent) :], parent])
                raise SpecError(f"{path}: scenarios inherit in a cycle: {cycle}.")
            seen.append(parent)
        return seen[::-1]  # oldest ancestor first

    out = {}
    for name in [base, *[n for n in own if n != base]]:
        sets: dict[str, float] = dict(included)
        shocks: list[Shock] = []
        fixed: set[str] = set()
        for ancestor in chain(name):
            sets.update(own[ancestor][2])
            shocks += own[ancestor][3]
            fixed |= set(own[ancestor][2]) | {s.input for s in own[ancestor][3]}
        desc, parent, body = own[name][0], own[name][1], own[name][4]
        labels = {"en": str(body.get("label", name)), "ru": str(body.get("label_ru", ""))}
        descs = {"en": desc, "ru": str(body.get("description_ru", ""))}
        out[name] = Scenario(
            name,
            desc,
            parent,
            MappingProxyType(sets),
            tuple(shocks),
            MappingProxyType(labels),
            MappingProxyType(descs),
            frozenset(fixed),
        )
    return out


#: the engines an ensemble can run on (:class:`sd.analysis.options.RunOptions` checks them too)
ENGINE_NAMES = ("vectorized", "pysd")


def _whole(path: Path, tbl: Mapping[str, Any], key: str, *, default: int, minimum: int) -> int:
    """A whole number >= ``minimum`` from ``[uncertainty]``; ``default`` only when absent."""
    value = number(path, tbl, key, "[uncertainty]")
    if value is None:
        return default
    if value != int(value) or value < minimum:
        raise SpecError(
            f"{path}: [uncertainty] {key} = {tbl[key]!r} must be a whole number >= {minimum}."
        )
    return int(value)


def _engine(path: Path, value: Any) -> str:
    if value not in ENGINE_NAMES:
        raise SpecError(
            f"{path}: [uncertainty] engine = {value!r} is not an engine; use one of "
            f"{', '.join(ENGINE_NAMES)}."
        )
    return str(value)
