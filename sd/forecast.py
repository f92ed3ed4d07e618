"""Run a study and write its outputs: tables, tidy results with provenance, figures.

The pipeline is load -> check -> run every scenario -> write, and the output folder
appears only when it is complete (built beside it, then renamed into place).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sd.atomic import check_replaceable, staged_folder
from sd.datapackage import project_path
from sd.errors import SimulationError
from sd.model import Model, load
from sd.names import distinct_slugs
from sd.plots import slug
from sd.results import Results
from sd.run import first_below_minimum, run
from sd.study import Study, check_study, compile_scenario, load_study


@dataclass(frozen=True)
class Forecast:
    """What :func:`forecast` produced."""

    study: Study
    results: Results
    folder: Path
    files: tuple[Path, ...]


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


def forecast(
    study_path: str | os.PathLike[str],
    *,
    output_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[Sequence[str]], Sequence[str]] | None = None,
    figures: bool = True,
    ensembles: bool = True,
    run_progress: Callable[[int], None] | None = None,
    notice: Callable[[str], None] | None = None,
    allow_failed: float | None = None,
) -> Forecast:
    """Load, check and run a study; write its outputs to ``output_dir``.

    The default output folder is ``output/<study name>/`` beside the study file. With
    figures, the model's diagrams are drawn too; when the study names an uncertainty
    spec (``[uncertainty]``) and ``ensembles`` is true, its ensemble and fan charts are
    written to ``ensemble/``; ``allow_failed`` is the share of its runs that may fail
    (see :func:`sd.ensemble.ensemble`).
    """
    study = load_study(study_path)
    out = Path(output_dir) if output_dir else default_output(study)
    check_replaceable(out)  # refuse a user's folder before any work
    model = load(study.model_path, cache_dir=cache_dir)
    for note in model.data_notices if notice else ():
        notice(note)
    study = check_study(study, model)
    from sd.policy import policy_config, write_policy

    policy = policy_config(study, model)  # a bad [policy] table fails before any run
    results = run_study(study, model, progress=progress)
    ens = None
    if ensembles and study.uncertainty is not None:
        ens = run_ensemble(
            study, model, progress=run_progress, notice=notice, allow_failed=allow_failed
        )
    with staged_folder(out, "forecast") as tmp:
        files = write_outputs(study, model, results, tmp, figures=figures)
        files += write_policy(study, model, results, tmp, policy)
        if figures:
            files += write_diagrams(model, tmp / "diagrams")
        if ens is not None:
            from sd.uncertainty_outputs import write_ensemble

            files += write_ensemble(study, ens, tmp / "ensemble", labels=_labels(model))
        files = [out / f.relative_to(tmp) for f in files]
    return Forecast(study, results, out, tuple(files))


def default_output(study: Study) -> Path:
    return study.folder / "output" / study.name


def run_ensemble(
    study: Study,
    model: Model,
    *,
    progress: Callable[[int], None] | None = None,
    notice: Callable[[str], None] | None = None,
    allow_failed: float | None = None,
) -> Results:
    """The study's own ensemble: its uncertainty spec, sample size and seed."""
    from sd.ensemble import check_memory, ensemble
    from sd.uncertainty import check_uncertainty, draw, load_uncertainty

    ref = study.uncertainty
    spec = check_uncertainty(load_uncertainty(ref.file), model)
    check_memory(study, model, ref.samples * len(study.scenarios), study.variables)
    sample = draw(spec, ref.samples, ref.seed, end=study.time.apply(model.time).final)
    return ensemble(
        study,
        model,
        sample,
        engine=ref.engine,
        progress=progress,
        notice=notice,
        allow_failed=allow_failed,
    )


def write_diagrams(model: Model, folder: Path) -> list[Path]:
    """One SVG per view of the model's sketch (none when the model has no sketch)."""
    from sd.diagram import render
    from sd.sketch import read_sketch

    if not read_sketch(model.path):
        return []
    folder.mkdir(parents=True, exist_ok=True)
    return render(model.path, folder / f"{slug(model.name)}.svg")


def headline(study: Study, results: Results) -> list[str]:
    return list(study.variables) or results.variables


def key_years_table(study: Study, results: Results) -> pd.DataFrame:
    """Headline variables per scenario at the study's key years (rows) and years (columns)."""
    years = list(study.key_years) or [results.data["time"].max()]
    data = results.data[
        results.data["variable"].isin(headline(study, results))
        & results.data["time"].isin(years)
        & (results.data["run"] == 0)
    ]
    table = data.pivot_table(index=["variable", "scenario"], columns="time", values="value")
    order = {v: i for i, v in enumerate(headline(study, results))}
    sorder = {s: i for i, s in enumerate(study.scenarios)}
    table = table.sort_index(key=lambda idx: idx.map(order if idx.name == "variable" else sorder))
    table.columns = [f"{y:g}" for y in table.columns]
    table.insert(0, "units", [results.units.get(v, "") for v, _ in table.index])
    return table.reset_index()


def write_outputs(
    study: Study, model: Model, results: Results, folder: Path, *, figures: bool = True
) -> list[Path]:
    files = [results.save(folder / "results.csv"), results.save(folder / "results.parquet")]
    (folder / "scenarios").mkdir()
    for name in results.scenarios:
        path = folder / "scenarios" / f"{slug(name)}.csv"
        results.wide(name, 0).reset_index().to_csv(path, index=False, float_format="%.10g")
        files.append(path)
    table = key_years_table(study, results)
    table.to_csv(folder / "key_years.csv", index=False, float_format="%.6g")
    (folder / "key_years.md").write_text(_markdown(table), encoding="utf-8")
    files += [folder / "key_years.csv", folder / "key_years.md"]
    prov = folder / "provenance.json"
    prov.write_text(json.dumps(dict(results.provenance), indent=1, default=str), encoding="utf-8")
    files.append(prov)
    if figures:
        files += write_figures(study, results, folder / "figures", labels=_labels(model))
    return files


def _labels(model: Model):
    """The model's English labels (units with their price basis), for figure axes."""
    from sd.labels import load_labels

    return load_labels(model, "en")


def write_figures(study: Study, results: Results, folder: Path, *, labels=None) -> list[Path]:
    """A figure per headline variable and an overview; axis units from ``labels`` (a
    :class:`sd.labels.Labels`) when given, else the model's units."""
    import matplotlib.pyplot as plt

    from sd import plots

    folder.mkdir()
    history = {name: spec.load() for name, spec in study.history.items()}
    display = {name: sc.label("en") for name, sc in study.scenarios.items()}
    results = results.relabel(display)
    palette = plots.scenario_palette([display[s] for s in study.scenarios])
    files: list[Path] = []
    stems = distinct_slugs(headline(study, results), "plotted variables", taken=["overview"])
    with plots.theme():
        for var in headline(study, results):
            fig, ax = plt.subplots(figsize=(plots.A4_WIDTH, 3.4))
            plots.scenario_plot(
                results,
                var,
                ax=ax,
                history=history.get(var),
                forecast_start=study.forecast_start,
                palette=palette,
            )
            if labels is not None:
                units = labels.axis(var, results.units.get(var, ""))
                plots.label_axes(ax, var, units)
            files += plots.save_figure(fig, folder / stems[var])
        fig = plots.overview(
            results,
            headline(study, results),
            history=history,
            forecast_start=study.forecast_start,
            palette=palette,
            title=study.title,
        )
        if labels is not None:
            for ax, var in zip(fig.axes, headline(study, results), strict=False):
                plots.label_axes(ax, var, labels.axis(var, results.units.get(var, "")))
        files += plots.save_figure(fig, folder / "overview")
    return files


def _markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table.itertuples(index=False):
        cells = [f"{v:.4g}" if isinstance(v, float | np.floating) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
