"""Ensembles: every scenario of a study under sampled uncertainties.

Runs are split into chunks; a chunk runs on the vectorized engine (all its runs in
one simulation) or on PySD (one run after another), in this process, in a local
process pool, or on a Dask distributed cluster. The sample is drawn before any run,
so results do not depend on where they ran.

Inputs of run ``i`` of a scenario: the scenario's own values and shocks; uncertain
constants the scenario does not set or shock take their sampled value; AR(1) paths
multiply the input's value (shocked or not).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sd.errors import SDError
from sd.model import Model, load
from sd.results import Results
from sd.run import TimeSettings, provenance, run
from sd.study import Study, compile_scenario
from sd.uncertainty import Sample

ENGINES = ("vectorized", "pysd")


@dataclass(frozen=True)
class Chunk:
    """Everything a worker needs to run some runs of one scenario (picklable)."""

    model_path: str
    cache_dir: str | None
    scenario: str
    runs: np.ndarray  #: run ids
    base: Mapping[str, Any]  #: scenario parameters (numbers and Series)
    constants: Mapping[str, np.ndarray]  #: uncertain constant -> values of these runs
    paths: Mapping[str, tuple[np.ndarray, np.ndarray]]  #: name -> (times, (n, k) multipliers)
    time: TimeSettings
    variables: tuple[str, ...]
    engine: str


def chunk_params(
    chunk: Chunk, k: int, grid_times: np.ndarray, defaults: Mapping[str, float]
) -> dict[str, Any]:
    """The parameters of the ``k``-th run of a chunk, for a single PySD run."""
    params = dict(chunk.base)
    for name, values in chunk.constants.items():
        params[name] = float(values[k])
    for name, (times, mult) in chunk.paths.items():
        params[name] = pd.Series(
            _as_path(params.get(name, defaults.get(name)), grid_times)
            * np.interp(grid_times, times, mult[k], left=1.0),
            index=grid_times,
        )
    return params


def _as_path(value: Any, times: np.ndarray) -> np.ndarray:
    if isinstance(value, pd.Series):
        return np.interp(times, value.index.to_numpy(float), value.to_numpy(float))
    return np.full(len(times), float(value))


def run_chunk(chunk: Chunk) -> tuple[np.ndarray, dict[str, np.ndarray], str | None]:
    """Run a chunk; returns saved times, name -> (n, T) values, and a fallback notice or None."""
    model = load(chunk.model_path, cache_dir=chunk.cache_dir)
    grid = chunk.time.apply(model.time)
    n_steps = int(round((grid.final - grid.initial) / grid.step))
    grid_times = grid.initial + grid.step * np.arange(n_steps + 1)
    notice = None
    if chunk.engine == "vectorized":
        try:
            return (*_run_vectorized(model, chunk, grid_times), None)
        except SDError as err:
            from sd.vectorized import Unsupported

            if not isinstance(err, Unsupported):
                raise
            notice = f"{err}; running {model.path.name} with PySD instead"
    out: dict[str, list[np.ndarray]] = {v: [] for v in chunk.variables}
    times = None
    for k in range(len(chunk.runs)):
        res = run(
            model,
            chunk_params(chunk, k, grid_times, model.defaults),
            time=chunk.time,
            variables=list(chunk.variables),
        )
        wide = res.wide()
        times = wide.index.to_numpy(float)
        for v in chunk.variables:
            out[v].append(wide[v].to_numpy(float))
    return times, {v: np.vstack(rows) for v, rows in out.items()}, notice


def _run_vectorized(model: Model, chunk: Chunk, grid_times: np.ndarray):
    from sd import vectorized

    engine = vectorized.build(model)
    arrays = [v for v in chunk.variables if engine.sizes(v)]
    if arrays:  # tidy rows are one series per variable; never reshape arrays into them
        raise SDError(
            f"'{arrays[0]}' is subscripted; an ensemble keeps variables without subscripts. "
            "Choose a total (a variable equal to SUM(...)) or one element defined as its own "
            "variable."
        )
    n = len(chunk.runs)
    params: dict[str, Any] = dict(chunk.base)
    params.update({k: np.asarray(v, dtype=float) for k, v in chunk.constants.items()})
    for name, (times, mult) in chunk.paths.items():
        base = _as_path(chunk.base.get(name, model.defaults.get(name)), grid_times)
        per_run = np.vstack([base * np.interp(grid_times, times, m, left=1.0) for m in mult])
        params[name] = vectorized.PerRunSeries(grid_times, per_run)
    return engine.run(params, n=n, time=chunk.time, variables=list(chunk.variables))


def make_chunks(
    study: Study,
    model: Model,
    sample: Sample,
    *,
    engine: str,
    variables: Sequence[str],
    scenarios: Sequence[str],
    chunk_size: int,
    cache_dir: str | None = None,
) -> list[Chunk]:
    if engine not in ENGINES:
        raise SDError(f"unknown engine {engine!r}; use one of {ENGINES}.")
    chunks = []
    for name in scenarios:
        scenario = study.scenarios[name]
        base = compile_scenario(study, scenario, model)
        # the scenario's own settings and shocks win; included (calibrated) values are
        # central estimates that the sample varies
        constants = {
            c: sample.values[c].to_numpy(float)
            for c in sample.values.columns
            if c not in scenario.fixed
        }
        for lo in range(0, sample.n, chunk_size):
            hi = min(lo + chunk_size, sample.n)
            chunks.append(
                Chunk(
                    model_path=str(model.path),
                    cache_dir=cache_dir,
                    scenario=name,
                    runs=np.arange(lo, hi),
                    base=base,
                    constants={c: v[lo:hi] for c, v in constants.items()},
                    paths={p: (t, m[lo:hi]) for p, (t, m) in sample.paths.items()},
                    time=study.time,
                    variables=tuple(variables),
                    engine=engine,
                )
            )
    return chunks


def ensemble(
    study: Study,
    model: Model,
    sample: Sample,
    *,
    engine: str = "vectorized",
    workers: int | None = None,
    scheduler: str | None = None,
    variables: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
    chunk_size: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Results:
    """Run every scenario of a checked ``study`` for every run of ``sample``.

    ``workers`` > 1 runs chunks in a local process pool; ``scheduler`` (a Dask
    scheduler address such as ``tcp://127.0.0.1:8786``) sends them to a Dask cluster
    whose workers can read the model files. ``progress(k)`` is called with the number
    of runs each finished chunk held.
    """
    variables = [model.resolve(v) for v in (variables or study.variables)] or [
        v.name for v in model.of_kind("stock")
    ]
    scenarios = list(scenarios or study.scenarios)
    for s in scenarios:
        if s not in study.scenarios:
            from sd.errors import UnknownVariableError, suggest

            raise UnknownVariableError(
                f"no scenario {s!r} in {study.path.name}." + suggest(s, study.scenarios)
            )
    if chunk_size is None:
        chunk_size = (
            2000 if engine == "vectorized" else max(1, -(-sample.n // max(workers or 1, 1)))
        )
    chunks = make_chunks(
        study,
        model,
        sample,
        engine=engine,
        variables=variables,
        scenarios=scenarios,
        chunk_size=chunk_size,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    outputs = _execute(chunks, workers=workers, scheduler=scheduler, progress=progress)
    notices = {n for _, (_, _, n) in outputs if n}
    for msg in sorted(notices):
        if notice:
            notice(msg)
    data = _tidy(chunks, outputs, variables)
    params = _parameter_table(chunks, sample)
    prov = provenance(model, study.time.apply(model.time), variables)
    prov.update(
        {
            "ensemble": {
                "samples": sample.n,
                "seed": sample.seed,
                "engine": engine if not notices else f"{engine} (fell back to pysd)",
                "uncertain": list(sample.values.columns) + list(sample.paths),
            },
            "study": {"file": str(study.path), "name": study.name},
        }
    )
    return Results(data, params, prov)


def _execute(chunks, *, workers, scheduler, progress):
    """Run chunks in process, in a local pool or on Dask; results in chunk order."""
    results: list[tuple[int, Any]] = []
    if scheduler:
        from distributed import Client, as_completed

        with Client(scheduler, timeout="30s") as client:
            futures = {client.submit(run_chunk, c, pure=False): i for i, c in enumerate(chunks)}
            for fut in as_completed(futures):
                results.append((futures[fut], fut.result()))
                if progress:
                    progress(len(chunks[futures[fut]].runs))
    elif workers and workers > 1:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(run_chunk, c): i for i, c in enumerate(chunks)}
            for fut in cf.as_completed(futures):
                results.append((futures[fut], fut.result()))
                if progress:
                    progress(len(chunks[futures[fut]].runs))
    else:
        for i, c in enumerate(chunks):
            results.append((i, run_chunk(c)))
            if progress:
                progress(len(c.runs))
    return sorted(results, key=lambda r: r[0])


def _tidy(chunks, outputs, variables) -> pd.DataFrame:
    """Tidy rows built from integer codes (no per-row strings: ensembles have millions)."""
    scen_order = list(dict.fromkeys(c.scenario for c in chunks))
    scen_code = {s: i for i, s in enumerate(scen_order)}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("scenario", "run", "time", "variable", "value")
    }
    for (_, (times, values, _)), chunk in zip(outputs, chunks, strict=True):
        n, t = len(chunk.runs), len(times)
        for code, v in enumerate(variables):
            parts["scenario"].append(np.full(n * t, scen_code[chunk.scenario], dtype=np.int16))
            parts["run"].append(np.repeat(chunk.runs.astype(np.int64), t))
            parts["time"].append(np.tile(np.asarray(times, dtype="float64"), n))
            parts["variable"].append(np.full(n * t, code, dtype=np.int16))
            parts["value"].append(np.asarray(values[v], dtype="float64").reshape(-1))
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((cols["time"], cols["variable"], cols["run"], cols["scenario"]))
    return pd.DataFrame(
        {
            "scenario": pd.Categorical.from_codes(cols["scenario"][order], scen_order),
            "run": cols["run"][order],
            "time": cols["time"][order],
            "variable": pd.Categorical.from_codes(cols["variable"][order], list(variables)),
            "value": cols["value"][order],
        }
    )


def _parameter_table(chunks, sample: Sample) -> pd.DataFrame:
    rows = []
    for scen in dict.fromkeys(c.scenario for c in chunks):
        table = sample.values.copy()
        chunk = next(c for c in chunks if c.scenario == scen)
        set_here = {k: v for k, v in chunk.base.items() if k not in chunk.constants}
        for name in table.columns:
            if name in set_here:
                table[name] = (
                    set_here[name] if not isinstance(set_here[name], pd.Series) else np.nan
                )
        table.insert(0, "run", np.arange(sample.n))
        table.insert(0, "scenario", scen)
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def percentiles(results: Results, q: Sequence[float] = (5, 25, 50, 75, 95)) -> pd.DataFrame:
    """Percentiles over runs: scenario | variable | time | p5 | p25 | ... (observed only)."""
    grouped = results.data.groupby(["scenario", "variable", "time"], observed=True)["value"]
    table = grouped.quantile([x / 100 for x in q]).unstack()
    table.columns = [f"p{x:g}" for x in q]
    return table.reset_index()
