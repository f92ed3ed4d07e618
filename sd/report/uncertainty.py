"""Files and figures of ensembles (fan charts) and sensitivity analyses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sd.analysis.ensemble import EnsembleBands
from sd.analysis.sensitivity import Sensitivity, convergence_issues
from sd.files import distinct_slugs
from sd.report import plots
from sd.report.labels import Labels
from sd.results import Results
from sd.study.study import Study


def write_ensemble(
    study: Study,
    results: Results,
    folder: Path,
    *,
    labels: Labels | None = None,
    bands: EnsembleBands | None = None,
) -> list[Path]:
    """``ensemble.parquet`` (tidy, with provenance), ``parameters.csv``, ``percentiles.csv``
    with ``bands.json`` (samples and provenance: what :meth:`EnsembleBands.load` reads back)
    and a fan chart per headline variable plus an overview (axis units from ``labels``,
    the model's English labels table, when given). ``bands`` are the results' percentiles
    when already computed."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [results.save(folder / "ensemble.parquet")]
    results.parameters.to_csv(folder / "parameters.csv", index=False)
    bands = bands or EnsembleBands.of(results)
    bands.bands.to_csv(folder / "percentiles.csv", index=False, float_format="%.6g")
    meta = json.dumps(bands.meta(), indent=1)
    (folder / "bands.json").write_text(meta, encoding="utf-8")
    files += [folder / "parameters.csv", folder / "percentiles.csv", folder / "bands.json"]
    bands = bands.bands
    files += fan_figures(study, results, bands, folder / "figures", labels=labels)
    return files


def fan_figures(
    study: Study,
    results: Results,
    bands: pd.DataFrame,
    folder: Path,
    *,
    labels: Labels | None = None,
) -> list[Path]:

    folder.mkdir(parents=True, exist_ok=True)
    history = {name: spec.load() for name, spec in study.history.items()}
    display = {name: sc.label("en") for name, sc in study.scenarios.items()}
    bands = bands.assign(scenario=bands["scenario"].astype(str).map(lambda s: display.get(s, s)))
    palette = plots.scenario_palette([display[s] for s in study.scenarios])
    variables = [v for v in (study.variables or results.variables) if v in results.variables]
    scenarios = [display[s] for s in study.scenarios if s in set(results.scenarios)]
    base = display[study.base]
    files: list[Path] = []
    stems = distinct_slugs(variables, "fan-chart variables", prefix="fan_", taken=["fan_overview"])
    with plots.theme():
        for var in variables:
            fig = plots.fan_panels(
                bands,
                var,
                scenarios=scenarios,
                palette=palette,
                base=base,
                history=history.get(var),
                forecast_start=study.forecast_start,
                units=_unit(labels, results, var),
                title=f"{var}: median, 50% and 90% bands of {_runs(results)} runs per scenario",
            )
            files += plots.save_figure(fig, folder / stems[var])
        fig, axes = plots.panels(len(variables), height=2.4, sharex=True)
        for ax, var in zip(axes, variables, strict=True):
            _fan(
                study,
                bands,
                results,
                history,
                palette,
                var,
                ax,
                label=var,
                scenarios=scenarios,
                banded=[base],
                labels=labels,
            )
        handles, names = axes[0].get_legend_handles_labels()
        plots.shared_legend(
            fig,
            handles,
            names,
            title=(
                f"{study.title}\nbands: '{base}' ({_runs(results)} runs); lines: medians of the "
                "other scenarios"
            ),
        )
        files += plots.save_figure(fig, folder / "fan_overview")
    return files


def _unit(labels: Labels | None, results: Results, var: str) -> str:
    default = results.units.get(var, "")
    return labels.axis(var, default) if labels is not None else default


def _fan(study, bands, results, history, palette, var, ax, labels=None, **kwargs) -> None:

    plots.fan_chart(
        bands,
        var,
        ax=ax,
        history=history.get(var),
        forecast_start=study.forecast_start,
        palette=palette,
        units=_unit(labels, results, var),
        legend=False,
        **kwargs,
    )
    ax.set_xlabel("")


def _runs(results: Results) -> str:
    ens = results.provenance.get("ensemble", {})
    failed = ens.get("failed", {}).get("count", 0)
    return f"{ens.get('samples', '')}" + (f" ({failed} failed, left out)" if failed else "")


def write_sensitivity(
    sens: Sensitivity, folder: Path, *, years: Sequence[float] = ()
) -> list[Path]:
    """``indices.csv`` (all outputs and times), ``sensitivity.json`` (the design: method,
    samples, runs, seed, ranges, notes and SALib's warnings), ``convergence.csv`` (indices
    that have not converged, all times) and, per output, a ranked bar chart at each year and
    a heatmap over time."""

    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    sens.indices.to_csv(folder / "indices.csv", index=False, float_format="%.6g")
    meta = {**sens.metadata(), "years": [float(y) for y in years]}
    (folder / "sensitivity.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    convergence_issues(sens.indices, sens.method).to_csv(folder / "convergence.csv", index=False)
    files = [folder / "indices.csv", folder / "sensitivity.json", folder / "convergence.csv"]
    if sens.indices.empty:
        return files
    years = list(years) or [float(sens.indices["time"].max())]
    stems = distinct_slugs(sens.indices["output"], "sensitivity outputs")
    with plots.theme():
        for output in dict.fromkeys(sens.indices["output"]):
            for year in years:
                at = sens.at(year)
                if not (at["output"] == output).any():
                    continue  # the output does not vary at that year (e.g. in the history)
                fig, ax = plt.subplots(
                    figsize=(plots.A4_WIDTH, 0.4 * sens.problem["num_vars"] + 1.4)
                )
                plots.sensitivity_bars(at, output, measure=sens.measure, ax=ax)
                files += plots.save_figure(
                    fig, folder / f"{sens.method}_{stems[output]}_{year:g}"
                )
            fig, ax = plt.subplots(figsize=(plots.A4_WIDTH, 0.4 * sens.problem["num_vars"] + 1.6))
            plots.sensitivity_heatmap(sens.indices, output, measure=sens.measure, ax=ax)
            files += plots.save_figure(fig, folder / f"{sens.method}_{stems[output]}_time")
    return files
