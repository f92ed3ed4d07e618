"""Run a study and write its outputs: tables, tidy results with provenance, figures.

The pipeline is load -> check -> run every scenario -> write, and the output folder
appears only when it is complete (built beside it, then renamed into place).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sd.analysis.ensemble import EnsembleBands, check_memory, ensemble
from sd.datapackage import project_path
from sd.engine.run import file_hashes, first_below_minimum, run
from sd.errors import SimulationError
from sd.model.model import Model
from sd.results import Results
from sd.study.study import Study, compile_scenario
from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty


@dataclass(frozen=True)
class Forecast:
    """What :func:`forecast` produced."""

    study: Study
    results: Results
    folder: Path
    files: tuple[Path, ...]
    #: the fan charts' percentiles of the study's ensemble (None without ``[uncertainty]``)
    bands: EnsembleBands | None = None


def run_study(
    study: Study,
    model: Model,
    *,
    progress: Callable[[Sequence[str]], Sequence[str]] | None = None,
) -> Results:
    """Run every scenario of a checked study and return all results together."""
    names = list(study.scenarios)
    parts = []
    for name in progress(names) if progress else names:
        params = compile_scenario(study, study.scenarios[name], model)
        res = run(model, params, time=study.time, scenario=name)
        check_nonnegative_stocks(model, res, study)
        parts.append(res)
    results = Results.concat(parts)
    prov = dict(results.provenance)
    prov["study"] = {
        "file": project_path(study.path),
        "sha256": hashlib.sha256(study.path.read_bytes()).hexdigest(),
        "name": study.name,
        "base": study.base,
        "scenarios": {n: sc.description for n, sc in study.scenarios.items()},
    }
    return Results(results.data, results.parameters, prov)


def check_nonnegative_stocks(model: Model, results: Results, study: Study) -> None:
    """Stocks whose Vensim range starts at a minimum must not go below it."""
    found = first_below_minimum(model, results)
    if found is not None:
        first, minimum = found
        raise SimulationError(
            f"{study.path.name}, scenario '{first['scenario']}': the stock '{first['variable']}' "
            f"goes below its minimum {minimum:g} (to {first['value']:.4g}) at "
            f"time {first['time']:g}. Check the outflows of that stock in {model.path.name}."
        )



def run_ensemble(
    study: Study,
    model: Model,
    *,
    progress: Callable[[int], None] | None = None,
    notice: Callable[[str], None] | None = None,
    allow_failed: float | None = None,
) -> Results:
    """The study's own ensemble: its uncertainty spec, sample size and seed."""

    ref = study.uncertainty
    spec = check_uncertainty(load_uncertainty(ref.file), model)
    check_memory(study, model, ref.samples * len(study.scenarios), study.variables)
    sample = draw(spec, ref.samples, ref.seed, end=study.time_grid(model).final)
    results = ensemble(
        study,
        model,
        sample,
        engine=ref.engine,
        progress=progress,
        notice=notice,
        allow_failed=allow_failed,
    )
    # the files it was drawn from, so that saved bands can be checked against them
    files = file_hashes({"study": study.path, "uncertainty": ref.file})
    return Results(results.data, results.parameters, {**results.provenance, "files": files})


