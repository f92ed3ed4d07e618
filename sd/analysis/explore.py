"""Robust policies and scenario discovery: every policy across the same futures.

A study declares its goals in an ``[explore]`` table::

    [explore]
    policies = ["baseline", "neo"]   # scenarios compared (default: every scenario)
    samples = 1000                   # futures (default: [uncertainty] samples, else 1000)
    seed = 7                         # default: [uncertainty] seed, else 42
    threshold = 0.8                  # PRIM: least density of a box (default 0.8)

    [explore.goals.reserve]          # one table per goal
    variable = "Regional Budget Reserve"
    feature = "min"                  # value_at | min | max | mean | first_below
    from = 2024                      # period of min/max/mean/first_below (default:
    to = 2050                        #   forecast start to final time)
    # year = 2050                    # value_at: the year
    # threshold = 0                  # first_below: the level
    sense = "max"                    # larger is better ("min": smaller is better)
    goal = 0                         # met when the feature is >= goal (<= for "min")

``first_below`` is the first saved time in the period at which the variable is below
``threshold``; a run that never goes below it scores the period's end plus one year.

Each policy runs for the same sample of futures (:func:`sd.study.uncertainty.draw`, then
:func:`sd.analysis.ensemble.ensemble`, vectorized when the model allows). Per future and goal,
a policy's regret is the best feature among the policies minus its own (its own minus the
best for ``sense = "min"``), so the best policy has regret 0; the satisficing rate is the
share of futures where the goal is met. For each policy and goal with some but not all
futures missed, PRIM (EMA Workbench) looks for the box of uncertain inputs in which the
misses concentrate; of the boxes on PRIM's peeling trajectory with density at least
``threshold``, the one with the largest coverage + density is taken, then restrictions that
are not significant (quasi-p-value above 0.05, EMA Workbench's test) are lifted one by one
(:func:`prune`); coverage and density are those of the pruned box. Inputs are the
sampled constants and, for each AR(1) path, its mean multiplier over the path.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sd.analysis.ensemble import ensemble
from sd.analysis.options import RunOptions
from sd.engine.run import stamp
from sd.errors import SDError, optional, suggest
from sd.model.model import Model
from sd.results import Results
from sd.study.specfile import SpecError, as_list, keys, number, read_toml, table
from sd.study.study import Study
from sd.study.uncertainty import Sample

FEATURES = ("value_at", "min", "max", "mean", "first_below")
_GOAL_KEYS = {"variable", "feature", "from", "to", "year", "threshold", "sense", "goal"}
_GOAL_KEYS |= {"label", "label_ru"}  # names of the goal in the report


@dataclass(frozen=True)
class Goal:
    name: str
    variable: str
    feature: str
    start: float
    end: float
    year: float | None
    threshold: float | None
    sense: str  #: "max" or "min"
    goal: float

    def met(self, value: np.ndarray) -> np.ndarray:
        return value >= self.goal if self.sense == "max" else value <= self.goal

    def describe(self) -> str:
        op = ">=" if self.sense == "max" else "<="
        period = f"{self.start:g}-{self.end:g}"
        if self.feature == "value_at":
            what = f"{self.variable} in {self.year:g}"
        elif self.feature == "first_below":
            what = f"first year {self.variable} < {self.threshold:g} ({period})"
        else:
            what = f"{self.feature} of {self.variable} {period}"
        return f"{what} {op} {self.goal:g}"


@dataclass(frozen=True)
class ExploreConfig:
    policies: tuple[str, ...]
    samples: int
    seed: int
    threshold: float
    goals: tuple[Goal, ...]


@dataclass(frozen=True)
class Exploration:
    outcomes: pd.DataFrame  #: policy | run | goal | value | met | regret
    robustness: pd.DataFrame  #: policy | goal | satisficing_rate | mean/p90/max regret
    boxes: pd.DataFrame  #: policy | goal | coverage | density | ... | input | lower | upper
    inputs: pd.DataFrame  #: run -> PRIM inputs
    notes: tuple[str, ...]
    #: what it was made from (:func:`sd.engine.run.stamp`: the model, its data, software,
    #: the study and the uncertainty spec files); ``explore.json`` keeps it
    provenance: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExploreTables:
    """The report's robustness and PRIM tables: what ``sd explore`` wrote to its folder
    (``robustness.csv``, ``prim_boxes.csv``, by :func:`sd.report.exploration.write_exploration`)
    with its provenance (``explore.json``; empty for a folder written before it was
    recorded, so that a staleness check finds it stale)."""

    robustness: pd.DataFrame  #: policy | goal | satisficing_rate | mean_regret | max_regret
    boxes: pd.DataFrame  #: policy | goal | input | lower | upper | coverage | density
    provenance: Mapping[str, Any]

    @classmethod
    def load(cls, folder: Path) -> ExploreTables | None:
        """The tables in ``folder``, or None when ``sd explore`` wrote none there."""
        rob_file, box_file = folder / "robustness.csv", folder / "prim_boxes.csv"
        if not rob_file.is_file():
            return None
        boxes = pd.DataFrame()
        if box_file.is_file() and box_file.stat().st_size > 1:
            try:
                boxes = pd.read_csv(box_file)
            except pd.errors.EmptyDataError:
                pass
        meta_file = folder / "explore.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        return cls(pd.read_csv(rob_file), boxes, dict(meta.get("provenance", {})))


def load_explore(study: Study, model: Model) -> ExploreConfig:
    """The study's ``[explore]`` table checked against the study and the model."""
    path = study.path
    raw = table(path, read_toml(path), "explore", required=False)
    if not raw:
        raise SpecError(
            f"{path}: no [explore] table: declare the goals to explore, e.g. "
            '[explore.goals.reserve] with variable, feature = "min", goal (see sd/explore.py).'
        )
    keys(path, raw, {"policies", "samples", "seed", "threshold", "goals"}, "[explore]")
    policies = tuple(
        str(p) for p in as_list(path, raw.get("policies", list(study.scenarios)), "policies")
    )
    for p in policies:
        if p not in study.scenarios:
            raise SpecError(
                f"{path}: [explore] policies: {p!r} is not a scenario."
                + suggest(p, study.scenarios)
            )
    if len(policies) < 1:
        raise SpecError(f"{path}: [explore] policies is empty.")
    ref = study.uncertainty
    samples = int(number(path, raw, "samples", "[explore]") or (ref.samples if ref else 1000))
    seed = int(number(path, raw, "seed", "[explore]") or (ref.seed if ref else 42))
    threshold = number(path, raw, "threshold", "[explore]") or 0.8
    if not 0 < threshold <= 1:
        raise SpecError(f"{path}: [explore] threshold = {threshold} must be in (0, 1].")
    grid = study.time_grid(model)
    start0 = study.forecast_start if study.forecast_start is not None else grid.initial
    goals = []
    goals_raw = table(path, raw, "goals", required=False)
    if not goals_raw:
        raise SpecError(f"{path}: [explore] declares no goals: add [explore.goals.<name>].")
    for name, body in goals_raw.items():
        where = f"[explore.goals.{name}]"
        if not isinstance(body, dict):
            raise SpecError(f"{path}: {where} must be a table.")
        keys(path, body, _GOAL_KEYS, where)
        for k in ("variable", "feature", "goal"):
            if k not in body:
                raise SpecError(f"{path}: {where} needs {k}.")
        try:
            variable = model.resolve(str(body["variable"]))
        except SDError as err:
            raise SpecError(f"{path}: {where} variable: {err}") from None
        feature = body["feature"]
        if feature not in FEATURES:
            raise SpecError(
                f"{path}: {where} feature = {feature!r}; use one of {', '.join(FEATURES)}."
            )
        sense = body.get("sense", "max")
        if sense not in ("max", "min"):
            raise SpecError(f"{path}: {where} sense = {sense!r}; use 'max' or 'min'.")
        start = number(path, body, "from", where)
        end = number(path, body, "to", where)
        start = start0 if start is None else start
        end = grid.final if end is None else end
        year = number(path, body, "year", where)
        thr = number(path, body, "threshold", where)
        if feature == "value_at" and year is None:
            raise SpecError(f"{path}: {where} feature 'value_at' needs year.")
        if feature == "first_below" and thr is None:
            raise SpecError(f"{path}: {where} feature 'first_below' needs threshold.")
        for y in (start, end, year):
            if y is not None and not grid.initial <= y <= grid.final:
                raise SpecError(
                    f"{path}: {where}: year {y:g} is outside the simulated time "
                    f"{grid.initial:g}-{grid.final:g}."
                )
        if not start <= end:
            raise SpecError(f"{path}: {where}: from must not be after to.")
        goal = number(path, body, "goal", where)
        goals.append(Goal(str(name), variable, feature, start, end, year, thr, sense, goal))
    return ExploreConfig(policies, samples, seed, float(threshold), tuple(goals))


def feature(goal: Goal, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The goal's feature for each run; ``values`` is (runs, times)."""
    if goal.feature == "value_at":
        return np.array([np.interp(goal.year, times, row) for row in values])
    keep = (times >= goal.start - 1e-9) & (times <= goal.end + 1e-9)
    t, v = times[keep], values[:, keep]
    if goal.feature == "min":
        return v.min(axis=1)
    if goal.feature == "max":
        return v.max(axis=1)
    if goal.feature == "mean":
        return v.mean(axis=1)
    below = v < goal.threshold
    first = np.where(below.any(axis=1), t[np.argmax(below, axis=1)], goal.end + 1.0)
    return first.astype(float)


def prim_inputs(sample: Sample) -> pd.DataFrame:
    """Sampled constants and, per AR(1) path, its mean multiplier (one row per future)."""
    x = sample.values.reset_index(drop=True).copy()
    for name, (_, mult) in sample.paths.items():
        x[f"{name} (mean path multiplier)"] = mult.mean(axis=1)
    return x


def explore(
    study: Study,
    model: Model,
    sample: Sample,
    config: ExploreConfig,
    options: RunOptions | None = None,
    *,
    uncertainty: Path | None = None,
    **run: Any,
) -> Exploration:
    """Run each policy over ``sample``; regret, satisficing and PRIM boxes per goal (the
    runs execute as ``options`` says: :class:`~sd.analysis.options.RunOptions`).
    ``uncertainty``, the spec file the sample was drawn from, is recorded in the
    provenance."""

    variables = list(dict.fromkeys(g.variable for g in config.goals))
    res: Results = ensemble(
        study,
        model,
        sample,
        RunOptions.of(options, **run),
        variables=variables,
        scenarios=list(config.policies),
    )
    data = res.data
    feats: dict[tuple[str, str], np.ndarray] = {}
    for policy in config.policies:
        part = data[data["scenario"] == policy]
        for goal in config.goals:
            sub = part[part["variable"] == goal.variable]
            wide = sub.pivot_table(index="run", columns="time", values="value", observed=True)
            wide = wide.reindex(range(sample.n))
            feats[(policy, goal.name)] = feature(
                goal, wide.columns.to_numpy(float), wide.to_numpy(float)
            )
    rows, robust = [], []
    for goal in config.goals:
        stack = np.vstack([feats[(p, goal.name)] for p in config.policies])
        best = np.nanmax(stack, axis=0) if goal.sense == "max" else np.nanmin(stack, axis=0)
        for k, policy in enumerate(config.policies):
            value = stack[k]
            regret = best - value if goal.sense == "max" else value - best
            met = goal.met(value)
            failed = ~np.isfinite(value)
            rows.append(
                pd.DataFrame(
                    {
                        "policy": policy,
                        "run": np.arange(sample.n),
                        "goal": goal.name,
                        "value": value,
                        "met": met & ~failed,
                        "regret": regret,
                    }
                )
            )
            robust.append(
                {
                    "policy": policy,
                    "goal": goal.name,
                    "goal_text": goal.describe(),
                    "satisficing_rate": float(np.mean(met & ~failed)),
                    "mean_regret": float(np.nanmean(regret)),
                    "p90_regret": float(np.nanpercentile(regret, 90)),
                    "max_regret": float(np.nanmax(regret)),
                    "failed_runs": int(failed.sum()),
                }
            )
    outcomes = pd.concat(rows, ignore_index=True)
    x = prim_inputs(sample)
    boxes, notes = [], []
    for policy in config.policies:
        for goal in config.goals:
            miss = ~outcomes[(outcomes.policy == policy) & (outcomes.goal == goal.name)][
                "met"
            ].to_numpy()
            if not miss.any() or miss.all():
                notes.append(
                    f"{policy}, {goal.name}: "
                    + ("every future meets the goal" if not miss.any() else "no future meets it")
                    + "; no box to find."
                )
                continue
            fixed = study.scenarios[policy].fixed
            cols = [c for c in x.columns if c.split(" (mean path")[0] not in fixed]
            boxes.append(find_box(x[cols], miss, config.threshold, policy, goal.name))
    box_table = pd.concat(boxes, ignore_index=True) if boxes else pd.DataFrame()
    files = {"study": study.path} | ({"uncertainty": uncertainty} if uncertainty else {})
    prov = stamp(model, files)
    return Exploration(outcomes, pd.DataFrame(robust), box_table, x, tuple(notes), prov)


def find_box(
    x: pd.DataFrame, y: np.ndarray, threshold: float, policy: str = "", goal: str = ""
) -> pd.DataFrame:
    """PRIM's box for ``y`` (True = a case of interest): one row per restricted input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema_workbench warns about optional extras
        prim = optional("ema_workbench.analysis.prim", "Scenario discovery (sd explore)")

        p = prim.Prim(x.reset_index(drop=True), np.asarray(y, dtype=bool), threshold=threshold)
        box = p.find_box()
    traj = box.peeling_trajectory
    ok = traj[traj["density"] >= threshold]
    if len(ok):  # the dense box closest to (coverage 1, density 1)
        i = int((ok["coverage"] + ok["density"]).idxmax())
    else:
        i = int(traj["density"].idxmax())
    lims = box.box_lims[i]
    init = box.box_lims[0]
    limits = {
        col: (float(lims[col].iloc[0]), float(lims[col].iloc[1]))
        for col in x.columns
        if float(lims[col].iloc[0]) != float(init[col].iloc[0])
        or float(lims[col].iloc[1]) != float(init[col].iloc[1])
    }
    limits = prune(x, np.asarray(y, dtype=bool), limits)
    coverage, density, mass = box_stats(x, np.asarray(y, dtype=bool), limits)
    y_ = np.asarray(y, dtype=bool)
    rows = [
        {"input": c, "lower": lo, "upper": hi, "qp": quasi_p(x, y_, limits, c)}
        for c, (lo, hi) in limits.items()
    ]
    if not rows:
        rows = [{"input": "(none)", "lower": np.nan, "upper": np.nan, "qp": np.nan}]
    frame = pd.DataFrame(rows)
    frame.insert(0, "policy", policy)
    frame.insert(1, "goal", goal)
    frame.insert(2, "coverage", coverage)
    frame.insert(3, "density", density)
    frame.insert(4, "mass", mass)
    frame.insert(5, "misses", int(np.sum(y)))
    frame.insert(6, "futures", len(y))
    return frame


def box_stats(
    x: pd.DataFrame, y: np.ndarray, limits: dict[str, tuple[float, float]]
) -> tuple[float, float, float]:
    """Coverage, density and mass of a box (limits inclusive) for cases ``y``."""
    inside = _inside(x, limits)
    hits = int(np.sum(inside & y))
    return hits / max(int(y.sum()), 1), hits / max(int(inside.sum()), 1), float(inside.mean())


def quasi_p(x: pd.DataFrame, y: np.ndarray, limits: dict, col: str) -> float:
    """EMA Workbench's quasi-p-value of one restriction: a one-sided binomial test of the
    box's misses against the miss rate of the box with that restriction lifted."""
    from scipy.stats import binomtest

    inside = _inside(x, limits)
    wider = _inside(x, {k: v for k, v in limits.items() if k != col})
    rate = float(np.mean(y[wider])) if wider.any() else 0.0
    hits, n = int(np.sum(y & inside)), int(inside.sum())
    if n == 0 or rate >= 1.0:
        return 1.0
    return float(binomtest(hits, n, rate, alternative="greater").pvalue)


def prune(
    x: pd.DataFrame, y: np.ndarray, limits: dict[str, tuple[float, float]], alpha: float = 0.05
) -> dict[str, tuple[float, float]]:
    """Lift restrictions that are not significant: while some quasi-p-value exceeds
    ``alpha``, lift the restriction with the largest one."""
    limits = dict(limits)
    while len(limits) > 1:
        qp = {c: quasi_p(x, y, limits, c) for c in limits}
        col = max(qp, key=qp.get)
        if qp[col] <= alpha:
            break
        del limits[col]
    return limits


def _inside(x: pd.DataFrame, limits: dict) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for col, (lo, hi) in limits.items():
        v = x[col].to_numpy(float)
        inside &= (v >= lo) & (v <= hi)
    return inside


