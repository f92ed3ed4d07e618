"""Ensembles: every scenario of a study under sampled uncertainties.

Runs are split into chunks; a chunk runs on the vectorized engine (all its runs in
one simulation) or on PySD (one run after another), in this process, in a local
process pool, or on a Dask distributed cluster. The sample is drawn before any run,
so results do not depend on where they ran.

Inputs of run ``i`` of a scenario: the scenario's own values and shocks; uncertain
constants the scenario does not set or shock take their sampled value; AR(1) paths
multiply the input's value in that run (shocked or not; its sampled value when it is
sampled too). A chunk carries the sampled numbers; the worker builds their
:class:`~sd.engine.table.ParamTable` once and runs it on an engine of
:data:`~sd.engine.engines.ENGINES` (the paths on the time grid are 6-7 times larger to
send: 1.65 MB against 0.25 MB for 1000 runs of the Kuzbass ensemble).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from sd.analysis.failures import DEFAULT_ALLOWED, FailedRuns, check_allowed, describe_params
from sd.analysis.options import RunOptions
from sd.datapackage import project_path
from sd.engine.engines import ENGINES
from sd.engine.pysd_model import load
from sd.engine.run import provenance
from sd.engine.table import ParamTable, step_times
from sd.engine.vectorized.core import Unsupported
from sd.errors import (
    ParameterError,
    UnknownVariableError,
    optional,
    suggest,
)
from sd.model.model import Model, TimeSettings
from sd.model.resources import check_ensemble_memory
from sd.results import Results
from sd.study.study import Study, compile_scenario
from sd.study.uncertainty import Sample


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


def chunk_table(chunk: Chunk, model: Model) -> ParamTable:
    """The parameters of a chunk's runs on the model's integration grid (built in the
    worker: the chunk carries the sampled multipliers, smaller than the paths)."""
    return ParamTable.build(
        n=len(chunk.runs),
        times=step_times(chunk.time.apply(model.time)),
        base=chunk.base,
        constants=chunk.constants,
        multipliers=chunk.paths,
        defaults=model.defaults,
    )


def run_chunk(
    chunk: Chunk,
) -> tuple[np.ndarray, dict[str, np.ndarray], str | None, dict[int, str]]:
    """Run a chunk; returns saved times, name -> (n, T) values (rows of failed runs NaN),
    a fallback notice or None, and the cause of the chunk's failed PySD runs
    (``{k: message}``; the vectorized engine reports no causes, see :func:`first_cause`)."""
    model = load(chunk.model_path, cache_dir=chunk.cache_dir)
    table = chunk_table(chunk, model)
    kw = {"time": chunk.time, "variables": chunk.variables, "scenario": chunk.scenario}
    try:
        times, values, causes = ENGINES[chunk.engine].run_many(model, table, **kw)
        return times, values, None, causes
    except Unsupported as err:
        if chunk.engine == "pysd":
            raise
        notice = f"{err}; running {model.path.name} with PySD instead"
    times, values, causes = ENGINES["pysd"].run_many(model, table, **kw)
    return times, values, notice, causes


def first_cause(model: Model, chunk: Chunk, k: int) -> str:
    """Why run ``k`` of ``chunk`` fails, from a PySD run of it (an independent path)."""
    table = chunk_table(chunk, model).take([k])
    _, _, causes = ENGINES["pysd"].run_many(
        model, table, time=chunk.time, variables=chunk.variables, scenario=chunk.scenario
    )
    if causes:
        return causes[0]
    return (
        "the vectorized engine gave NaN or an infinite value, but PySD runs it cleanly; "
        "rerun with --engine pysd and report the model"
    )


def _failed_rows(values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Runs (rows) with a NaN or infinite value in any kept variable."""
    bad = np.zeros(n, dtype=bool)
    for array in values.values():
        bad |= ~np.isfinite(np.asarray(array, dtype=float).reshape(n, -1)).all(axis=1)
    return bad


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
    chunks = []  # ``engine`` was checked by RunOptions
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
    options: RunOptions | None = None,
    *,
    variables: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
    allow_failed: float | None = None,
    **run: Any,
) -> Results:
    """Run every scenario of a checked ``study`` for every run of ``sample``.

    ``options`` (:class:`~sd.analysis.options.RunOptions`: engine, workers, Dask
    scheduler, cache, chunk size, progress and notices) says how the runs execute; its
    fields may also be given as keywords (``engine="pysd"``), which change ``options``.

    Failed runs (NaN or infinite values in a kept variable, or an error) are counted:
    when more than ``allow_failed`` of all runs failed (default 1%) this raises
    :class:`~sd.errors.SimulationError` naming the first failure; otherwise the failed
    runs are left out of the results, ``notice`` says how many, and
    ``provenance["ensemble"]["failed"]`` records them (see :mod:`sd.analysis.failures`).
    """
    allowed = check_allowed(allow_failed)
    opts = RunOptions.of(options, **run)
    results, failures = ensemble_with_failures(
        study, model, sample, opts, variables=variables, scenarios=scenarios, allowed=allowed
    )
    failures.check(f"ensemble of {study.path.name}")
    if failures.count and opts.notice:
        opts.notice(f"{failures.describe()}. The failed runs are left out of the results.")
    return results


def ensemble_with_failures(
    study: Study,
    model: Model,
    sample: Sample,
    options: RunOptions | None = None,
    *,
    variables: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
    allowed: float = DEFAULT_ALLOWED,
    **run: Any,
) -> tuple[Results, FailedRuns]:
    """:func:`ensemble` without the bar: the results of the runs that worked, and the
    failed runs (for callers with their own rule, such as Sobol's "none may fail")."""
    opts = RunOptions.of(options, **run)
    engine, workers, notice = opts.engine, opts.workers, opts.notice
    variables = [model.resolve(v) for v in (variables or study.variables)] or [
        v.name for v in model.of_kind("stock")
    ]
    scenarios = list(scenarios or study.scenarios)
    for s in scenarios:
        if s not in study.scenarios:

            raise UnknownVariableError(
                f"no scenario {s!r} in {study.path.name}." + suggest(s, study.scenarios)
            )
    check_memory(study, model, sample.n * len(scenarios), variables)
    chunk_size = opts.chunk_size or (
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
        # the chunks re-load the model: from the cache it was loaded from unless told
        cache_dir=str(opts.cache_dir if opts.cache_dir is not None else model.entry.folder.parent),
    )
    outputs = _execute(chunks, workers=workers, scheduler=opts.scheduler, progress=opts.progress)
    notices = {n for _, (_, _, n, _) in outputs if n}
    for msg in sorted(notices):
        if notice:
            notice(msg)
    failed = [
        _failed_rows(out[1], len(c.runs)) for (_, out), c in zip(outputs, chunks, strict=True)
    ]
    failures = _failures(model, chunks, outputs, failed, sample, allowed)
    data = _tidy(chunks, outputs, variables, [~f for f in failed])
    params = _parameter_table(chunks, sample)
    prov = provenance(model, study.time_grid(model), variables)
    prov.update(
        {
            "ensemble": {
                "samples": sample.n,
                "seed": sample.seed,
                "engine": engine if not notices else f"{engine} (fell back to pysd)",
                "uncertain": list(sample.values.columns) + list(sample.paths),
            },
            "study": {"file": project_path(study.path), "name": study.name},
        }
    )
    prov["ensemble"]["failed"] = failures.as_dict()
    return Results(data, params, prov), failures


def check_memory(study: Study, model: Model, runs: int, variables: Sequence[str]) -> None:
    """Refuse an ensemble whose results would not fit in memory (see :mod:`sd.model.resources`)."""

    grid = study.time_grid(model)
    times = int(round((grid.final - grid.initial) / grid.saveper)) + 1
    n_vars = len(variables) or len(model.of_kind("stock"))
    check_ensemble_memory(runs, n_vars, times, what=f"ensemble of {study.path.name}")


def _failures(model, chunks, outputs, failed, sample: Sample, allowed: float) -> FailedRuns:
    """Count failed runs per scenario and name the first (in scenario and run order)."""
    runs: dict[str, list[int]] = {}
    first = ""
    for chunk, (_, (_, _, _, causes)), bad in zip(chunks, outputs, failed, strict=True):
        ids = np.flatnonzero(bad)
        runs.setdefault(chunk.scenario, []).extend(int(chunk.runs[k]) for k in ids)
        if first or not len(ids):
            continue
        k = int(ids[0])
        cause = causes.get(k) or first_cause(model, chunk, k)
        values = {name: float(v[k]) for name, v in chunk.constants.items()}
        first = (
            f"scenario '{chunk.scenario}', run {int(chunk.runs[k])} "
            f"({describe_params(values, tuple(chunk.paths))}): {cause}"
        )
    total = sample.n * len(runs)
    return FailedRuns(total, {s: tuple(r) for s, r in runs.items()}, first, allowed)


def _execute(chunks, *, workers, scheduler, progress):
    """Run chunks in process, in a local pool or on Dask; results in chunk order."""
    results: list[tuple[int, Any]] = []
    if scheduler:
        as_completed = optional("distributed", "An ensemble on a Dask cluster").as_completed

        with _client(scheduler) as client:
            futures = {client.submit(run_chunk, c, pure=False): i for i, c in enumerate(chunks)}
            for fut in as_completed(futures):
                results.append((futures[fut], fut.result()))
                if progress:
                    progress(len(chunks[futures[fut]].runs))
    elif workers and workers > 1:

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


def _client(scheduler: str):
    """A Dask client of ``scheduler``, or a ParameterError saying why it cannot be reached."""
    Client = optional("distributed", "An ensemble on a Dask cluster").Client
    timeout = float(os.environ.get("SD_SCHEDULER_TIMEOUT", "30"))
    hint = (
        "Start one with `dask scheduler` (and `dask worker ADDRESS` on each machine), "
        "correct the address, or run locally with --workers N."
    )
    url = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    if url.scheme == "tcp":
        try:
            port = url.port
            if url.hostname is None or port is None:
                raise ValueError("no host:port")
        except ValueError:
            raise ParameterError(
                f"--scheduler {scheduler!r} is not a Dask scheduler address; write it as "
                "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786."
            ) from None
        try:  # fail in seconds, not after Dask's retries, when nothing listens there
            socket.create_connection((url.hostname, port), timeout=min(timeout, 10)).close()
        except OSError as err:
            raise ParameterError(
                f"--scheduler {scheduler}: no Dask scheduler answers at that address "
                f"({err.strerror or err}). {hint}"
            ) from None
    try:
        _probe(scheduler, timeout)
        return Client(scheduler, timeout=f"{timeout:g}s")
    except (OSError, TimeoutError) as err:
        detail = f" ({err})" if str(err) else f" (no answer within {timeout:g} s)"
        raise ParameterError(
            f"--scheduler {scheduler}: cannot connect to the Dask scheduler{detail}. {hint}"
        ) from None


def _probe(scheduler: str, timeout: float) -> None:
    """Connect once with a hard deadline: Dask's own timeout does not cover a peer that
    accepts the connection but never answers (it then waits for ever)."""
    Client = optional("distributed", "An ensemble on a Dask cluster").Client
    try:
        asyncio.get_running_loop()
        return  # inside an event loop (a notebook): rely on Dask's timeout
    except RuntimeError:
        pass

    async def connect() -> None:
        client = Client(scheduler, asynchronous=True, timeout=f"{timeout:g}s")
        try:
            await asyncio.wait_for(client, timeout)
        finally:
            await asyncio.wait_for(client.close(), 5)

    asyncio.run(connect())


def _tidy(chunks, outputs, variables, keep) -> pd.DataFrame:
    """Tidy rows built from integer codes (no per-row strings: ensembles have millions);
    only the runs marked in ``keep`` (one boolean array per chunk)."""
    scen_order = list(dict.fromkeys(c.scenario for c in chunks))
    scen_code = {s: i for i, s in enumerate(scen_order)}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("scenario", "run", "time", "variable", "value")
    }
    for (_, (times, values, _, _)), chunk, ok in zip(outputs, chunks, keep, strict=True):
        runs = chunk.runs[ok]
        n, t = len(runs), len(times)
        for code, v in enumerate(variables):
            parts["scenario"].append(np.full(n * t, scen_code[chunk.scenario], dtype=np.int16))
            parts["run"].append(np.repeat(runs.astype(np.int64), t))
            parts["time"].append(np.tile(np.asarray(times, dtype="float64"), n))
            parts["variable"].append(np.full(n * t, code, dtype=np.int16))
            parts["value"].append(np.asarray(values[v], dtype="float64")[ok].reshape(-1))
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


#: the provenance keys that a check of saved bands compares with today's model and software
STAMP_KEYS = ("model", "model_sha256", "cache_key", "pysd_version", "sd_version", "files")


@dataclass(frozen=True)
class EnsembleBands:
    """The fan charts' input: an ensemble's percentiles (:func:`percentiles`), its number of
    samples per scenario and what it was made from (``provenance``: model, its bytes and
    translation key, software, and the SHA-256 of the study and uncertainty spec).

    ``sd forecast`` writes them to ``ensemble/`` (``percentiles.csv``, ``bands.json``, by
    :func:`sd.report.uncertainty.write_ensemble`); :meth:`load` reads that folder back.
    """

    bands: pd.DataFrame  #: scenario | variable | time | p5 | p25 | p50 | p75 | p95
    samples: int
    provenance: Mapping[str, Any]

    @classmethod
    def of(cls, results: Results) -> EnsembleBands:
        prov = results.provenance
        return cls(
            percentiles(results),
            int(prov.get("ensemble", {}).get("samples", 0)),
            {k: prov[k] for k in STAMP_KEYS if k in prov},
        )

    def meta(self) -> dict[str, Any]:
        """What ``bands.json`` holds."""
        return {"samples": self.samples, "provenance": dict(self.provenance)}

    @classmethod
    def load(cls, folder: Path) -> EnsembleBands | None:
        """The bands ``sd forecast`` wrote to ``folder``, or None when it wrote none (a
        folder from before ``bands.json`` was written loads with no provenance, so that
        the pipeline's check finds it stale)."""
        table = folder / "percentiles.csv"
        if not table.is_file():
            return None
        meta_file = folder / "bands.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        return cls(
            pd.read_csv(table), int(meta.get("samples", 0)), dict(meta.get("provenance", {}))
        )
