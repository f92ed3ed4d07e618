"""Policy comparison: what each scenario costs the budget and returns, against a base.

A study opts in with a ``[policy]`` table::

    [policy]
    discount_rate = 0.08            # per year (required)
    base = "baseline"               # default: the study's base
    against = { green_under_stress = "combined_stress" }   # per-scenario comparators
    scenarios = ["neo", "green"]    # default: every scenario
    timing = "end"                  # "end" (default) or "mid": see below
    years = [2035, 2050]            # years for jobs and processing share (default 2035, 2050)
    budget_balance = "Regional Budget Balance"   # the variable behind each indicator;
    grp = "GRP"                                  # a list of names is summed (e.g. jobs);
    jobs = ["Mining Employment", "Processing Employment", "Services Employment"]
    income = ""                                  # "" leaves an indicator out

Discounting convention: annual, from the forecast start ``t0`` (``[run] forecast_start``,
else the initial time). Year ``y`` (each whole year from ``t0`` to the final time,
inclusive) contributes the rate saved at time ``y`` times one year (a rate in bn RUB/Year
gives bn RUB), discounted with ``(1 + r) ** -(y - t0 + 1)`` (end-of-year, the default) or
``(1 + r) ** -(y - t0 + 0.5)`` (``timing = "mid"``, mid-year). Cumulative differences
(GRP, income) are the same sums undiscounted. The payback year is the first year whose
cumulative discounted budget-balance difference against the comparator is positive
(``none by <final year>`` when there is none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sd.errors import suggest
from sd.model.model import Model
from sd.results import Results
from sd.study.specfile import SpecError, as_list, keys, number, read_toml, table
from sd.study.study import Study

#: indicator key -> default variable(s) in today's models/kuzbass.mdl (None: no default)
DEFAULT_VARIABLES: Mapping[str, tuple[str, ...] | None] = MappingProxyType(
    {
        "budget_balance": ("Regional Budget Balance",),
        "grp": ("GRP",),
        "income": None,  # the model has no household income yet: set it when it does
        "jobs": ("Mining Employment", "Processing Employment", "Services Employment"),
        "processing_share": ("Processing Share of GRP",),
        "damage": ("Environmental Damage",),
        "debt": None,  # the model has no public debt stock yet: set it when it does
    }
)
_KEYS = {"discount_rate", "base", "against", "scenarios", "timing", "years", *DEFAULT_VARIABLES}
TIMINGS = {"end": 1.0, "mid": 0.5}


@dataclass(frozen=True)
class PolicyConfig:
    """A checked ``[policy]`` table."""

    discount_rate: float
    base: str
    against: Mapping[str, str]  #: scenario -> comparator (default: base)
    scenarios: tuple[str, ...]
    timing: str
    years: tuple[float, ...]
    variables: Mapping[str, tuple[str, ...]]  #: indicator -> model variables (summed)

    def comparator(self, scenario: str) -> str:
        return self.against.get(scenario, self.base)


def has_policy(study: Study) -> bool:
    return "policy" in read_toml(study.path)


def load_policy(study: Study, model: Model) -> PolicyConfig:
    """The study's ``[policy]`` table checked against the study and the model."""
    path = study.path
    raw = table(path, read_toml(path), "policy", required=False)
    keys(path, raw, _KEYS, "[policy]")
    rate = number(path, raw, "discount_rate", "[policy]")
    if rate is None:
        raise SpecError(
            f"{path}: [policy] needs discount_rate = the yearly discount rate (e.g. 0.08)."
        )
    if not -1 < rate < 1:
        raise SpecError(f"{path}: [policy] discount_rate = {rate} must be a rate in (-1, 1).")

    def scenario(name: Any, where: str) -> str:
        if name not in study.scenarios:
            raise SpecError(
                f"{path}: [policy] {where} = {name!r} is not a scenario of the study."
                + suggest(str(name), study.scenarios)
            )
        return str(name)

    base = scenario(raw.get("base", study.base), "base")
    against_raw = table(path, raw, "against", required=False)
    against = {
        scenario(k, "against key"): scenario(v, f"against.{k}") for k, v in against_raw.items()
    }
    names = tuple(
        scenario(s, "scenarios")
        for s in as_list(path, raw.get("scenarios", list(study.scenarios)), "[policy] scenarios")
    )
    timing = raw.get("timing", "end")
    if timing not in TIMINGS:
        raise SpecError(f"{path}: [policy] timing = {timing!r}; use 'end' or 'mid'.")
    grid = study.time_grid(model)
    years = tuple(float(y) for y in as_list(path, raw.get("years", [2035, 2050]), "[policy] years"))
    for y in years:
        if not grid.initial <= y <= grid.final:
            raise SpecError(
                f"{path}: [policy] years: {y:g} is outside the simulated time "
                f"{grid.initial:g}-{grid.final:g}."
            )
    variables: dict[str, tuple[str, ...]] = {}
    for key, default in DEFAULT_VARIABLES.items():
        given = raw.get(key, default)
        if given is None or given == "" or given == []:
            continue
        names_ = (given,) if isinstance(given, str) else tuple(given)
        resolved = []
        for name in names_:
            try:
                resolved.append(model.resolve(str(name)))
            except Exception as err:  # noqa: BLE001 - re-raised with the key named
                origin = "" if key in raw else " (the default)"
                shown = given if isinstance(given, str) else list(given)
                if not isinstance(given, str) and len(given) == 1:
                    shown = given[0]
                raise SpecError(
                    f"{path}: [policy] {key} = {shown!r}{origin}: {err} Set [policy] {key} to "
                    f'the variable behind this indicator in {model.path.name}, or to "" to '
                    "leave the indicator out."
                ) from None
        variables[key] = tuple(resolved)
    return PolicyConfig(
        rate, base, MappingProxyType(against), names, timing, years, MappingProxyType(variables)
    )


def discount_factors(years: np.ndarray, start: float, rate: float, timing: str) -> np.ndarray:
    """``(1 + rate) ** -(year - start + 1)`` (end of year) or ``+ 0.5`` (mid-year)."""
    return (1.0 + rate) ** -(years - start + TIMINGS[timing])


def npv(values: np.ndarray, years: np.ndarray, start: float, rate: float, timing: str) -> float:
    """Discounted sum of annual amounts (rates saved at each year, times one year)."""
    return float(np.sum(values * discount_factors(years, start, rate, timing)))


def payback_year(
    values: np.ndarray, years: np.ndarray, start: float, rate: float, timing: str
) -> float | None:
    """First year whose cumulative discounted amount is positive, or None."""
    cum = np.cumsum(values * discount_factors(years, start, rate, timing))
    hits = np.flatnonzero(cum > 0)
    return float(years[hits[0]]) if len(hits) else None


def integrated_unit(unit: str) -> str:
    """The unit of a rate summed over years: ``bnRUB/Year`` -> ``bnRUB``."""
    unit = unit.strip()
    if unit.endswith("/Year"):
        return unit[: -len("/Year")]
    return f"{unit}*Year" if unit else "Year"


def comparison(study: Study, model: Model, results: Results, config: PolicyConfig) -> pd.DataFrame:
    """The tidy table: scenario, comparator, indicator, value, unit, note."""
    grid = study.time_grid(model)
    start = study.forecast_start if study.forecast_start is not None else grid.initial
    rate, timing = config.discount_rate, config.timing
    series: dict[tuple[str, str], pd.Series] = {}

    def get(scenario: str, key: str) -> pd.Series:
        if (scenario, key) not in series:
            wide = results.wide(scenario, 0)
            missing = [v for v in config.variables[key] if v not in wide.columns]
            if missing:
                raise SpecError(
                    f"{study.path}: [policy] {key}: the results have no {missing[0]!r}."
                )
            total = wide[list(config.variables[key])].sum(axis=1)
            idx = total.index.to_numpy(float)
            keep = (idx >= start - 1e-9) & (np.abs(idx - np.round(idx)) < 1e-9)
            series[(scenario, key)] = total[keep]
        return series[(scenario, key)]

    def unit(key: str) -> str:
        return model.variables[config.variables[key][0]].units

    final = f"{grid.final:g}"
    rows: list[dict[str, Any]] = []
    for s in config.scenarios:
        b = config.comparator(s)

        def add(indicator: str, value: float | None, unit_: str, note: str = "", s=s, b=b) -> None:
            rows.append(
                {
                    "scenario": s,
                    "comparator": b,
                    "indicator": indicator,
                    "value": value,
                    "unit": unit_,
                    "note": note,
                }
            )

        have = config.variables
        if "budget_balance" in have and s != b:
            d = get(s, "budget_balance") - get(b, "budget_balance")
            yrs = d.index.to_numpy(float)
            u = integrated_unit(unit("budget_balance"))
            add("budget_balance_npv_diff", npv(d.to_numpy(), yrs, start, rate, timing), u)
            pay = payback_year(d.to_numpy(), yrs, start, rate, timing)
            add("payback_year", pay, "Year", "" if pay is not None else f"none by {final}")
        for key in ("grp", "income"):
            if key in have and s != b:
                d = get(s, key) - get(b, key)
                add(f"{key}_cumulative_diff", float(d.sum()), integrated_unit(unit(key)))
        for y in config.years:
            for key in ("jobs", "processing_share"):
                if key not in have:
                    continue
                level = _at(get(s, key), y, key, study)
                if key == "processing_share":
                    add(f"processing_share_{y:g}", level, unit(key))
                if s != b:
                    add(f"{key}_{y:g}_diff", level - _at(get(b, key), y, key, study), unit(key))
        if "damage" in have:
            dmg = get(s, "damage")
            yrs = dmg.index.to_numpy(float)
            u = integrated_unit(unit("damage"))
            add("damage_npv", npv(dmg.to_numpy(), yrs, start, rate, timing), u)
            if s != b:
                d = dmg - get(b, "damage")
                add("damage_npv_diff", npv(d.to_numpy(), yrs, start, rate, timing), u)
        if "debt" in have:
            peak = float(get(s, "debt").max())
            add("debt_peak", peak, unit("debt"))
            if s != b:
                add("debt_peak_diff", peak - float(get(b, "debt").max()), unit("debt"))
    return pd.DataFrame(
        rows, columns=["scenario", "comparator", "indicator", "value", "unit", "note"]
    )


def _at(s: pd.Series, year: float, key: str, study: Study) -> float:
    idx = s.index.to_numpy(float)
    hit = np.flatnonzero(np.abs(idx - year) < 1e-9)
    if not len(hit):
        raise SpecError(
            f"{study.path}: [policy] years: {year:g} is not a saved year after the forecast "
            f"start (indicator {key})."
        )
    return float(s.iloc[hit[0]])


def policy_config(study: Study, model: Model) -> PolicyConfig | None:
    """The checked ``[policy]`` table, or None when the study has none."""
    return load_policy(study, model) if has_policy(study) else None


def write_policy(
    study: Study, model: Model, results: Results, folder: Path, config: PolicyConfig | None
) -> list[Path]:
    """``policy_comparison.csv`` in ``folder`` for a study with ``[policy]`` (else nothing)."""
    if config is None:
        return []
    frame = comparison(study, model, results, config)
    path = folder / "policy_comparison.csv"
    frame.to_csv(path, index=False, float_format="%.6g")
    return [path]
