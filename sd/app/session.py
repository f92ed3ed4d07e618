"""What the policy simulator computes: a study's levers and shocks, and runs of its settings.

An :class:`AppSession` is built once per study: the checked study, the model, its levers
(the constants of the model's levers/policy/shocks view, see
:func:`sd.check.behaviour.extreme_inputs`) with their ranges, the study's scenarios with their
shocks, labels in both languages, the recorded history, and the base scenario's run.

The page sends *settings* (JSON, validated here, never evaluated): a scenario to start
from, lever values, and for each shock of that scenario a switch and a strength. Settings
become an ordinary :class:`sd.study.study.Scenario`, compiled by the same code as ``sd forecast``
(:func:`sd.study.study.compile_scenario`) and run on the vectorized engine (the same numbers as
``sd.run``, in milliseconds). :meth:`AppSession.save_study` writes that scenario into a
new study file, so what was explored is a reproducible ``sd forecast`` run.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sd.analysis.ensemble import ensemble, percentiles
from sd.analysis.policy import comparison, has_policy, load_policy
from sd.check.behaviour import extreme_inputs
from sd.engine.pysd_model import load
from sd.engine.vectorized import core as vectorized
from sd.engine.vectorized.core import Unsupported
from sd.errors import SDError
from sd.files import check_name
from sd.model.model import Model
from sd.report.decision import WORDS
from sd.report.labels import LANGS, load_labels
from sd.results import COLUMNS, Results
from sd.study import shocks as shock_shapes
from sd.study.study import Scenario, Shock, Study, check_study, compile_scenario, load_study
from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty

#: strength of a shock, as a factor on its size (0 = off, 1 = as in the study)
STRENGTH_RANGE = (0.0, 2.0)
#: a name for a saved scenario: letters (Cyrillic too), digits, ``_`` and ``-``
MAX_NAME = 60
#: the first line of every study file the simulator writes (it replaces only those)
SAVED_MARKER = "# Written by `sd app`"
#: runs of the uncertainty band (a small vectorized ensemble)
BAND_RUNS = 200


class AppInputError(SDError):
    """Settings from the page that the study cannot take (shown on the page, status 400)."""


@dataclass(frozen=True)
class Lever:
    """A constant the page shows as a slider."""

    name: str
    default: float  #: its value in the base scenario
    low: float
    high: float
    step: float
    units: str


@dataclass(frozen=True)
class Settings:
    """Validated settings: a scenario to start from, lever values, shock strengths."""

    scenario: str
    levers: Mapping[str, float]
    strengths: tuple[float, ...]  #: one per shock of the scenario; 0 switches it off


class AppSession:
    """A study ready for interactive runs (build with :meth:`open`)."""

    def __init__(self, study: Study, model: Model) -> None:

        self.study = study
        self.model = model
        self.engine = vectorized.build(model)  # raises Unsupported: the caller explains
        self.grid = study.time_grid(model)
        self.variables = list(study.variables) or [v.name for v in model.of_kind("stock")]
        self.policy = load_policy(study, model) if has_policy(study) else None
        #: what each run keeps: the charts' variables and those behind the policy numbers
        self.kept = list(
            dict.fromkeys(
                [*self.variables, *(v for vs in self._policy_variables() for v in vs)]
            )
        )
        self.levers = tuple(self._levers())
        self.labels = {lang: load_labels(model, lang) for lang in LANGS}
        self.history = {name: spec.load() for name, spec in study.history.items()}
        self._band_sample = None
        self.base_values = self.run(self.default_settings(study.base))

    @classmethod
    def open(cls, study_path: str | Path, *, cache_dir: str | Path | None = None) -> AppSession:

        study = load_study(study_path)
        model = load(study.model_path, cache_dir=cache_dir)
        study = check_study(study, model)
        try:
            return cls(study, model)
        except Unsupported as err:
            raise SDError(
                f"{study.path}: the policy simulator needs the vectorized engine, which cannot "
                f"run {model.path.name}: {err}."
            ) from None

    # -- what the page shows -------------------------------------------------------------
    def _levers(self) -> list[Lever]:
        base = self.study.scenarios[self.study.base]
        out = []
        for name in extreme_inputs(self.model):
            var = self.model.variables[name]
            default = float(base.set.get(name, self.model.defaults[name]))
            low, high, step = _range(var.limits, default)
            out.append(Lever(name, default, low, high, step, var.units))
        return out

    def config(self, lang: str = "en") -> dict[str, Any]:
        """Everything the page needs to draw its controls and charts, in ``lang``."""
        if lang not in LANGS:
            raise AppInputError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}.")
        labels = self.labels[lang]
        scenarios = []
        for sc in self.study.scenarios.values():
            scenarios.append(
                {
                    "name": sc.name,
                    "label": sc.label(lang),
                    "description": sc.describe(lang),
                    "shocks": [_describe_shock(s, labels.name(s.input)) for s in sc.shocks],
                }
            )
        history = {
            v: {"x": floats(s.index), "y": floats(s.to_numpy())}
            for v, s in self.history.items()
            if v in self.variables
        }
        return {
            "lang": lang,
            "title": self.study.text("title", lang) or self.study.title,
            "question": self.study.text("question", lang),
            "base": self.study.base,
            "forecast_start": self.study.forecast_start,
            "levers": [
                {
                    "name": lv.name,
                    "label": labels.name(lv.name),
                    "units": labels.unit(lv.name, lv.units),
                    "default": lv.default,
                    "low": lv.low,
                    "high": lv.high,
                    "step": lv.step,
                }
                for lv in self.levers
            ],
            "strength": {"low": STRENGTH_RANGE[0], "high": STRENGTH_RANGE[1]},
            "scenarios": scenarios,
            "charts": [
                {"variable": v, "label": labels.name(v), "units": labels.axis(v)}
                for v in self.variables
            ],
            "history": history,
            "band_runs": BAND_RUNS if self.study.uncertainty else 0,
        }

    # -- settings ------------------------------------------------------------------------
    def default_settings(self, scenario: str) -> Settings:
        sc = self.study.scenarios[scenario]
        levers = {lv.name: float(sc.set.get(lv.name, lv.default)) for lv in self.levers}
        return Settings(scenario, MappingProxyType(levers), tuple(1.0 for _ in sc.shocks))

    def settings(self, raw: Any) -> Settings:
        """Check settings sent by the page: names, numbers and ranges; never evaluated."""
        if not isinstance(raw, Mapping):
            raise AppInputError("the request must be a JSON object with the settings.")
        unknown = set(raw) - {"scenario", "levers", "strengths", "lang", "name", "label"}
        if unknown:
            raise AppInputError(f"unknown settings {sorted(unknown)}.")
        scenario = raw.get("scenario", self.study.base)
        if not isinstance(scenario, str) or scenario not in self.study.scenarios:
            raise AppInputError(
                f"scenario {scenario!r} is not in {self.study.path.name}; choose one of "
                f"{', '.join(self.study.scenarios)}."
            )
        base = self.default_settings(scenario)
        levers = dict(base.levers)
        given = raw.get("levers", {})
        if not isinstance(given, Mapping):
            raise AppInputError("levers must be an object of name: number.")
        by_name = {lv.name: lv for lv in self.levers}
        for name, value in given.items():
            lever = by_name.get(name)
            if lever is None:
                raise AppInputError(f"{name!r} is not a lever of this study.")
            levers[name] = _number_in(value, lever.low, lever.high, f"lever {name!r}")
        strengths = raw.get("strengths", list(base.strengths))
        n_shocks = len(self.study.scenarios[scenario].shocks)
        if not isinstance(strengths, list) or len(strengths) != n_shocks:
            raise AppInputError(
                f"strengths must be a list of {n_shocks} numbers, one per shock of {scenario!r}."
            )
        checked = tuple(
            _number_in(s, *STRENGTH_RANGE, f"strength of shock {i + 1}")
            for i, s in enumerate(strengths)
        )
        return Settings(scenario, MappingProxyType(levers), checked)

    def scenario(self, settings: Settings, name: str = "app", label: str = "") -> Scenario:
        """The settings as a study scenario (what ``sd forecast`` runs)."""
        sc = self.study.scenarios[settings.scenario]
        sets = dict(sc.set)
        for lever in self.levers:
            if settings.levers[lever.name] != sets.get(lever.name, lever.default):
                sets[lever.name] = settings.levers[lever.name]
        shocks = tuple(
            _scaled(shock, strength)
            for shock, strength in zip(sc.shocks, settings.strengths, strict=True)
            if strength != 0
        )
        return replace(
            sc,
            name=name,
            inherits=None,
            set=MappingProxyType(sets),
            shocks=shocks,
            labels=MappingProxyType({"en": label or name, "ru": label or name}),
        )

    # -- runs ----------------------------------------------------------------------------
    def run(self, settings: Settings) -> dict[str, np.ndarray]:
        """One run of ``settings``: variable -> values at the saved times."""
        params = compile_scenario(self.study, self.scenario(settings), self.model)
        times, values = self.engine.run(params, n=1, time=self.study.time, variables=self.kept)
        self.times = times
        return {v: values[v][0] for v in self.kept}

    def band(self, settings: Settings, q: Sequence[float] = (5, 50, 95)) -> dict[str, Any]:
        """Percentiles of a small ensemble (the study's uncertainty spec) of ``settings``."""

        if self.study.uncertainty is None:
            raise AppInputError(f"{self.study.path.name} declares no [uncertainty].")
        sample = self._sample()
        scenario = self.scenario(settings)
        study = replace(self.study, scenarios=MappingProxyType({"app": scenario}))
        res = ensemble(study, self.model, sample, variables=self.variables, scenarios=["app"])
        bands = percentiles(res, q)
        out: dict[str, Any] = {}
        for var, rows in bands.groupby("variable", observed=True):
            rows = rows.sort_values("time")
            out[str(var)] = {f"p{x:g}": floats(rows[f"p{x:g}"]) for x in q}
            out[str(var)]["x"] = floats(rows["time"])
        return out

    def _sample(self):
        if self._band_sample is None:

            ref = self.study.uncertainty
            spec = check_uncertainty(load_uncertainty(ref.file), self.model)
            self._band_sample = draw(spec, BAND_RUNS, ref.seed, end=self.grid.final)
        return self._band_sample

    def _policy_variables(self) -> list[tuple[str, ...]]:
        return list(self.policy.variables.values()) if self.policy else []

    def indicators(self, values: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
        """Policy numbers of a run against the base scenario, as the study's ``[policy]``
        table defines them (:func:`sd.analysis.policy.comparison`); none without that table."""

        if self.policy is None:
            return []
        rows = []
        for scenario, run in (("__base__", self.base_values), ("app", values)):
            for var in self.kept:
                frame = pd.DataFrame({"time": self.times, "value": run[var]})
                rows.append(frame.assign(scenario=scenario, run=0, variable=var))
        results = Results(pd.concat(rows, ignore_index=True)[COLUMNS], pd.DataFrame())
        config = replace(self.policy, base="__base__", against={}, scenarios=("app",))
        table = comparison(self.study, self.model, results, config).set_index("indicator")
        wanted = [
            ("budget_balance_npv_diff", "budget_balance_npv_diff", {}),
            ("payback_year", "payback_year", {}),
            *(
                (f"processing_share_{y:g}", "processing_share", {"year": f"{y:g}"})
                for y in self.policy.years
            ),
            ("grp_cumulative_diff", "grp_cumulative_diff", {}),
            ("damage_npv_diff", "damage_npv_diff", {}),
            ("debt_peak", "debt_peak", {}),
        ]
        out = []
        for key, word, fmt in wanted:
            if key not in table.index:
                continue
            value = table.loc[key, "value"]
            out.append(
                {
                    "indicator": key,
                    "label": {lang: WORDS[lang][word].format(**fmt) for lang in LANGS},
                    "value": None if pd.isna(value) else float(value),
                    "unit": "" if key == "payback_year" else str(table.loc[key, "unit"]),
                    "horizon": f"{self.grid.final:g}",
                }
            )
        return out

    def table(self, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """A run as a wide table (time x variables), for downloads."""
        frame = pd.DataFrame({v: values[v] for v in self.variables}, index=self.times)
        frame.index.name = "time"
        return frame

    # -- saving --------------------------------------------------------------------------
    def save_study(self, settings: Settings, name: str, label: str = "") -> Path:
        """Write a new study file beside the study: its scenarios plus ``name``.

        The file is ``<study>_<name>.toml`` in the study's folder (so its relative paths
        still hold), with the study renamed ``<study name>-<name>`` (its outputs do not
        replace the main study's). An existing file is replaced only when the simulator
        wrote it.
        """
        import tomli_w

        name = _scenario_name(name, self.study)
        raw = tomllib.loads(self.study.path.read_text(encoding="utf-8"))
        sc = self.scenario(settings, name, label)
        included: dict[str, float] = {}
        for inc in self.study.includes:
            included.update(tomllib.loads(inc.read_text(encoding="utf-8")).get("parameters", {}))
        entry: dict[str, Any] = {
            "label": label or name,
            "description": _saved_description(self, settings),
        }
        sets = {k: v for k, v in sc.set.items() if included.get(k) != v}
        if sets:
            entry["set"] = sets
        if sc.shocks:
            entry["shocks"] = [{"input": s.input, "shape": s.shape, **s.params} for s in sc.shocks]
        raw["study"]["name"] = f"{raw['study']['name']}-{name}"
        raw["scenarios"][name] = entry
        path = self.study.path.with_name(f"{self.study.path.stem}_{name}.toml")
        if path.exists() and not path.read_text(encoding="utf-8").startswith(SAVED_MARKER):
            raise AppInputError(
                f"{path.name} exists and was not written by the simulator; choose another name."
            )
        text = (
            f"{SAVED_MARKER} from {self.study.path.name} on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: scenario {name!r}.\n"
            f"# Run it with: sd forecast {path.name}\n\n" + tomli_w.dumps(raw)
        )
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_text(text, encoding="utf-8")
        check_study(load_study(tmp), self.model)  # what we wrote must read back
        tmp.replace(path)
        return path


def _range(limits: tuple[float | None, ...], default: float) -> tuple[float, float, float]:
    """A slider's range: the declared Vensim range, else 0 to twice the default."""
    low = limits[0] if limits and limits[0] is not None else None
    high = limits[1] if len(limits) > 1 and limits[1] is not None else None
    step = limits[2] if len(limits) > 2 and limits[2] is not None else None
    if low is None:
        low = min(0.0, default * 2)
    if high is None:
        high = max(default * 2, low + 1.0) if default > 0 else max(low + 1.0, default + 1.0)
    if step is None:
        step = (high - low) / 100
    return float(low), float(high), float(step)


def _number_in(value: Any, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AppInputError(f"{what}: {value!r} is not a number.")
    if not low <= value <= high:
        raise AppInputError(f"{what}: {value:g} is outside its range {low:g} to {high:g}.")
    return float(value)


def _scaled(shock: Shock, strength: float) -> Shock:
    key = shock_shapes.MAGNITUDE[shock.shape]
    params = dict(shock.params)
    params[key] = params.get(key, 1.0) * strength
    return replace(shock, params=MappingProxyType(params))


def _describe_shock(shock: Shock, label: str) -> dict[str, Any]:
    params = {k: v for k, v in shock.params.items() if k != "file"}
    return {"input": shock.input, "label": label, "shape": shock.shape, "params": params}


def _scenario_name(name: Any, study: Study) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AppInputError("give the scenario a name.")
    name = check_name(name.strip(), "the scenario name", AppInputError)  # the file-name rules
    # and narrower: it is also a TOML key and part of the saved study's file name
    if len(name) > MAX_NAME or not all(c.isalnum() or c in "_-" for c in name):
        raise AppInputError(
            f"scenario name {name!r}: use up to {MAX_NAME} letters, digits, '_' or '-'."
        )
    if name in study.scenarios:
        raise AppInputError(f"{study.path.name} already has a scenario {name!r}.")
    return name


def _saved_description(session: AppSession, settings: Settings) -> str:
    sc = session.study.scenarios[settings.scenario]
    parts = [f"Saved from the policy simulator, starting from {sc.label('en')!r}"]
    changed = [
        f"{lv.name} = {settings.levers[lv.name]:g}"
        for lv in session.levers
        if settings.levers[lv.name] != sc.set.get(lv.name, lv.default)
    ]
    if changed:
        parts.append("levers " + ", ".join(changed))
    scaled = [
        f"{s.shape} on {s.input} at {k:g}x"
        for s, k in zip(sc.shocks, settings.strengths, strict=True)
        if k != 1
    ]
    if scaled:
        parts.append("shocks " + ", ".join(scaled))
    return "; ".join(parts) + "."


def floats(values: Any) -> list[float | None]:
    """JSON-ready numbers (NaN becomes null)."""
    return [None if not math.isfinite(float(x)) else float(x) for x in np.asarray(values)]
