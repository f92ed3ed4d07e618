"""Uncertainties: distributions of constants and stochastic input paths, and their samples.

Spec file (TOML)::

    [sampling]
    method = "lhs"                # or "mc" (plain Monte Carlo)

    [parameters."Price Adjustment Time"]
    distribution = "triangular"   # uniform | triangular | normal | lognormal |
    lower = 0.5                   # truncnormal | choice
    mode = 1.0
    upper = 3.0
    why = "..."

    [paths."Coal Price Shock Multiplier"]
    process = "ar1"               # x_t = phi x_(t-1) + sigma e_t, input *= exp(x_t)
    start = 2025                  # first year with noise (x = 0 before)
    phi = 0.5                     # or: fit = { file = ..., column = ..., from = 2000, to = 2023 }
    sigma = 0.2

Samples are drawn once, from ``numpy.random.default_rng(seed)``, before any run, so
the same seed gives the same ensemble on every engine and executor.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from sd.errors import SDError, suggest
from sd.model.model import Model
from sd.study.specfile import SpecError, as_list, keys, number, read_toml, series_spec, table

DISTRIBUTIONS: Mapping[str, tuple[str, ...]] = {
    "uniform": ("lower", "upper"),
    "triangular": ("lower", "mode", "upper"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "truncnormal": ("mean", "sd", "lower", "upper"),
    "choice": ("values",),
}
SAMPLERS = ("lhs", "mc")


@dataclass(frozen=True)
class Distribution:
    """One uncertain constant."""

    name: str
    kind: str
    args: Mapping[str, Any]
    why: str = ""

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles for probabilities ``u`` in (0, 1): uniform samples to this distribution."""
        a = self.args
        if self.kind == "uniform":
            return a["lower"] + u * (a["upper"] - a["lower"])
        if self.kind == "triangular":
            lo, hi = a["lower"], a["upper"]
            c = (a["mode"] - lo) / (hi - lo)
            return stats.triang.ppf(u, c, loc=lo, scale=hi - lo)
        if self.kind == "normal":
            return stats.norm.ppf(u, loc=a["mean"], scale=a["sd"])
        if self.kind == "lognormal":
            return stats.lognorm.ppf(u, s=a["sigma"], scale=a["median"])
        if self.kind == "truncnormal":
            lo = (a["lower"] - a["mean"]) / a["sd"]
            hi = (a["upper"] - a["mean"]) / a["sd"]
            return stats.truncnorm.ppf(u, lo, hi, loc=a["mean"], scale=a["sd"])
        values = np.asarray(a["values"], dtype=float)
        weights = np.asarray(a.get("weights") or np.ones(len(values)), dtype=float)
        edges = np.cumsum(weights / weights.sum())
        return values[np.minimum(np.searchsorted(edges, u, side="right"), len(values) - 1)]

    def salib(self) -> tuple[str, list[float]]:
        """SALib's ``dists`` entry and ``bounds`` for this distribution."""
        a = self.args
        if self.kind == "uniform":
            return "unif", [a["lower"], a["upper"]]
        if self.kind == "triangular":
            lo, hi = a["lower"], a["upper"]
            return "triang", [lo, hi, (a["mode"] - lo) / (hi - lo)]
        if self.kind == "normal":
            return "norm", [a["mean"], a["sd"]]
        if self.kind == "lognormal":
            return "lognorm", [math.log(a["median"]), a["sigma"]]
        if self.kind == "truncnormal":
            return "truncnorm", [a["lower"], a["upper"], a["mean"], a["sd"]]
        raise SpecError(f"{self.name}: a 'choice' distribution cannot be used for Sobol or Morris.")


@dataclass(frozen=True)
class AR1Path:
    """Log-AR(1) noise on an input: ``x_t = phi x_(t-1) + sigma e_t``, input times ``exp(x_t)``."""

    name: str
    start: float
    phi: float
    sigma: float
    step: float = 1.0  #: years between noise values (linear in between)
    why: str = ""

    def sample(self, rng: np.random.Generator, n: int, end: float) -> tuple[np.ndarray, np.ndarray]:
        """Times and an (n, len(times)) array of multipliers ``exp(x_t)``, 1 before ``start``."""
        times = np.arange(self.start, end + self.step / 2, self.step)
        x = np.zeros((n, len(times)))
        shocks = rng.standard_normal((n, len(times)))
        for k in range(1, len(times)):
            x[:, k] = self.phi * x[:, k - 1] + self.sigma * shocks[:, k]
        return times, np.exp(x)


def fit_ar1(series: pd.Series) -> tuple[float, float]:
    """phi and sigma of an AR(1) fitted to log deviations from a log-linear trend."""
    values = np.log(series.to_numpy(float))
    t = series.index.to_numpy(float)
    slope, intercept = np.polyfit(t, values, 1)
    dev = values - (intercept + slope * t)
    phi = float(np.dot(dev[1:], dev[:-1]) / np.dot(dev[:-1], dev[:-1]))
    resid = dev[1:] - phi * dev[:-1]
    sigma = float(np.sqrt(np.sum(resid**2) / (len(resid) - 1)))
    return phi, sigma


@dataclass(frozen=True)
class UncertaintySpec:
    path: Path
    method: str
    parameters: tuple[Distribution, ...]
    paths: tuple[AR1Path, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.parameters] + [p.name for p in self.paths]


@dataclass(frozen=True)
class Sample:
    """A drawn ensemble: one row per run of constants, and per-run input paths."""

    values: pd.DataFrame  #: index run 0..n-1, one column per uncertain constant
    paths: Mapping[str, tuple[np.ndarray, np.ndarray]]  #: name -> (times, (n, k) multipliers)
    seed: int

    @property
    def n(self) -> int:
        return len(self.values)


def load_uncertainty(path: str | os.PathLike[str]) -> UncertaintySpec:
    path = Path(path)
    raw = read_toml(path, "uncertainty")
    keys(path, raw, {"sampling", "parameters", "paths"}, "the top level")
    sampling = table(path, raw, "sampling", required=False)
    keys(path, sampling, {"method"}, "[sampling]")
    method = sampling.get("method", "lhs")
    if method not in SAMPLERS:
        raise SpecError(f"{path}: [sampling] method = {method!r}; use one of {SAMPLERS}.")
    dists = []
    for name, body in table(path, raw, "parameters", required=False).items():
        dists.append(_distribution(path, name, body))
    paths = []
    for name, body in table(path, raw, "paths", required=False).items():
        paths.append(_ar1(path, name, body))
    if not dists and not paths:
        raise SpecError(f"{path}: no [parameters] or [paths]: nothing is uncertain.")
    return UncertaintySpec(path, method, tuple(dists), tuple(paths))


def _distribution(path: Path, name: str, body: Any) -> Distribution:
    where = f"[parameters.{name!r}]"
    if not isinstance(body, dict) or "distribution" not in body:
        raise SpecError(f"{path}: {where} needs distribution = one of {list(DISTRIBUTIONS)}.")
    kind = body["distribution"]
    if kind not in DISTRIBUTIONS:
        raise SpecError(
            f"{path}: {where} distribution {kind!r} is unknown."
            + suggest(kind, DISTRIBUTIONS)
            + f" Use one of {list(DISTRIBUTIONS)}."
        )
    needed = DISTRIBUTIONS[kind]
    keys(path, body, {"distribution", "why", "weights", *needed}, where)
    missing = [k for k in needed if k not in body]
    if missing:
        raise SpecError(f"{path}: {where} ({kind}) needs {', '.join(missing)}.")
    args: dict[str, Any] = {}
    if kind == "choice":
        values = as_list(path, body["values"], f"{where} values")
        weights = body.get("weights")
        if not values or (weights is not None and len(weights) != len(values)):
            raise SpecError(f"{path}: {where} needs values, and as many weights as values.")
        args = {"values": [float(v) for v in values], "weights": weights}
    else:
        args = {k: number(path, body, k, where) for k in needed}
        if "lower" in args and "upper" in args and not args["lower"] < args["upper"]:
            raise SpecError(f"{path}: {where} lower must be below upper.")
        if kind == "triangular" and not args["lower"] <= args["mode"] <= args["upper"]:
            raise SpecError(f"{path}: {where} mode must lie between lower and upper.")
        for k in ("sd", "sigma", "median"):
            if k in args and args[k] <= 0:
                raise SpecError(f"{path}: {where} {k} must be > 0.")
    return Distribution(name, kind, MappingProxyType(args), str(body.get("why", "")))


def _ar1(path: Path, name: str, body: Any) -> AR1Path:
    where = f"[paths.{name!r}]"
    if not isinstance(body, dict):
        raise SpecError(f"{path}: {where} must be a table.")
    keys(path, body, {"process", "start", "phi", "sigma", "fit", "step", "why"}, where)
    if body.get("process", "ar1") != "ar1":
        raise SpecError(f"{path}: {where} process must be 'ar1'.")
    start = number(path, body, "start", where)
    if start is None:
        raise SpecError(f"{path}: {where} needs start (the first year with noise).")
    if "fit" in body:
        fit = body["fit"]
        spec = series_spec(path, name, fit, f"{where} fit", extra=("from", "to"))
        data = spec.load()
        lo, hi = fit.get("from", data.index.min()), fit.get("to", data.index.max())
        phi, sigma = fit_ar1(data[(data.index >= lo) & (data.index <= hi)])
    else:
        phi, sigma = number(path, body, "phi", where), number(path, body, "sigma", where)
        if phi is None or sigma is None:
            raise SpecError(f"{path}: {where} needs phi and sigma, or fit = {{file, column}}.")
    if not -1 < phi < 1 or sigma < 0:
        raise SpecError(f"{path}: {where} needs -1 < phi < 1 and sigma >= 0 (got {phi}, {sigma}).")
    return AR1Path(
        name, start, phi, sigma, number(path, body, "step", where) or 1.0, str(body.get("why", ""))
    )


def check_uncertainty(spec: UncertaintySpec, model: Model) -> UncertaintySpec:
    """Resolve names; uncertain constants must be constants of the model."""

    def settable(name: str, where: str) -> str:
        try:
            real = model.resolve(name)
        except SDError as err:
            raise SpecError(f"{spec.path}: {where}: {err}") from None
        if model.variables[real].kind != "constant":
            raise SpecError(
                f"{spec.path}: {where}: '{real}' is a {model.variables[real].kind}; "
                "only constants can be uncertain."
            )
        return real

    dists = tuple(
        Distribution(settable(d.name, f"[parameters.{d.name!r}]"), d.kind, d.args, d.why)
        for d in spec.parameters
    )
    paths = tuple(
        AR1Path(settable(p.name, f"[paths.{p.name!r}]"), p.start, p.phi, p.sigma, p.step, p.why)
        for p in spec.paths
    )
    return UncertaintySpec(spec.path, spec.method, dists, paths)


def check_seed(seed: object) -> int:
    """A random seed must be a whole number, 0 or more (numpy refuses negative seeds)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecError(f"the random seed must be a whole number, 0 or more, not {seed!r}.")
    return int(seed)


def draw(spec: UncertaintySpec, n: int, seed: int, *, end: float) -> Sample:
    """Draw ``n`` runs: Latin hypercube (or Monte Carlo) constants, then AR(1) paths."""
    if n < 1:
        raise SpecError(f"the number of samples must be at least 1, not {n}.")
    check_seed(seed)
    rng = np.random.default_rng(seed)
    d = len(spec.parameters)
    if d:
        if spec.method == "lhs":
            u = qmc.LatinHypercube(d=d, seed=rng).random(n)
        else:
            u = rng.random((n, d))
        values = pd.DataFrame(
            {dist.name: dist.ppf(u[:, j]) for j, dist in enumerate(spec.parameters)}
        )
    else:
        values = pd.DataFrame(index=range(n))
    values.index.name = "run"
    paths = {p.name: p.sample(rng, n, end) for p in spec.paths}
    return Sample(values, MappingProxyType(paths), seed)
