"""A forecast's files: headline, key-years table, tidy results, figures and diagrams."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sd.files import distinct_slugs
from sd.model.model import Model
from sd.model.sketch import read_sketch
from sd.report import plots
from sd.report.diagram import render
from sd.report.labels import load_labels
from sd.report.plots import slug
from sd.results import Results
from sd.study.study import Study


def write_diagrams(model: Model, folder: Path) -> list[Path]:
    """One SVG per view of the model's sketch (none when the model has no sketch)."""

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
        files += write_figures(study, results, folder / "figures", labels=load_labels(model, "en"))
    return files


def write_figures(study: Study, results: Results, folder: Path, *, labels=None) -> list[Path]:
    """A figure per headline variable and an overview; axis units from ``labels`` (a
    :class:`sd.report.labels.Labels`) when given, else the model's units."""
    import matplotlib.pyplot as plt

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
