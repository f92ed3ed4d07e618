"""``sd report``: one command from a study to a report for the regional administration.

Writes, in English or Russian, from the objects :func:`sd.pipeline.report` hands it (the
forecast's results, its ensemble bands, Sobol indices, a calibration, robustness tables,
each loaded or recomputed there after a staleness check): a self-contained HTML page
(figures embedded, prints on A4), an Excel workbook (key years, each scenario's annual
trajectories, assumptions, provenance), and the figures as PNG and SVG files. This module
opens no file another command wrote.
"""

from __future__ import annotations

import base64
import io
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sd.analysis.calibration import CalibrationInputs, at_bounds
from sd.analysis.ensemble import EnsembleBands
from sd.analysis.explore import ExploreTables
from sd.analysis.sensitivity import CONF_FRACTION, Sensitivity, convergence_issues
from sd.files import distinct_slugs, staged_folder
from sd.model.model import Model
from sd.model.sketch import read_sketch
from sd.report import plots
from sd.report.calibration import draw_fit
from sd.report.decision import decision_section
from sd.report.diagram import render
from sd.report.figtext import savefig
from sd.report.forecast_outputs import key_years_table
from sd.report.labels import Labels, load_labels
from sd.report.plots import axis_unit
from sd.report.text import TEXT, number, percent, tick_formatter
from sd.report.xlsx import excel_writer, format_sheet
from sd.results import Results
from sd.study.shocks import describe, peak_time
from sd.study.study import Study


@dataclass(frozen=True)
class Report:
    folder: Path
    html: Path
    workbook: Path
    figures: tuple[Path, ...]
    reran: bool


def write_report(
    study: Study,
    model: Model,
    results: Results,
    out: Path,
    *,
    lang: str,
    ensemble: EnsembleBands | None = None,
    sensitivity: Sensitivity | None = None,
    calibration: CalibrationInputs | None = None,
    explore: ExploreTables | None = None,
    reran: bool = False,
    stage: Callable[[str], None] = lambda what: None,
) -> Report:
    """Write the report of a checked ``study`` and its forecast ``results`` into ``out``
    (a staged folder: it appears only when complete), with the fan charts of ``ensemble``,
    the Sobol ranking of ``sensitivity``, the fit of ``calibration`` and the robustness
    tables of ``explore`` when given. What to load or recompute, and whether a saved input
    is current, is :func:`sd.pipeline.report`'s decision, not this module's."""
    labels = load_labels(model, lang)
    inputs = {"ensemble": ensemble, "sensitivity": sensitivity, "calibration": calibration}
    inputs["explore"] = explore
    with staged_folder(out, f"report --lang {lang}") as tmp:
        context, figure_files = _context(study, model, results, labels, inputs, tmp, stage)
        stage("writing report.html")
        html = _render(context)
        (tmp / "report.html").write_text(html, encoding="utf-8")
        stage("writing the workbook report.xlsx")
        _workbook(study, results, labels, tmp / "report.xlsx")
        names = [p.relative_to(tmp) for p in figure_files]
    stage(f"done: {len(names)} figure files in {out}")
    return Report(
        out, out / "report.html", out / "report.xlsx", tuple(out / n for n in names), reran
    )


# -- content -----------------------------------------------------------------


def _context(study, model, results, labels: Labels, inputs: dict, tmp: Path, stage=None):
    import matplotlib.pyplot as plt

    lang = labels.lang
    t = TEXT[lang]
    figdir = tmp / "figures"
    figdir.mkdir()
    palette = plots.scenario_palette(list(study.scenarios))
    display = {s: study.scenarios[s].label(lang) for s in study.scenarios}
    shown = results.relabel(display)
    shown_palette = {display[s]: c for s, c in palette.items()}
    history = {name: spec.load() for name, spec in study.history.items()}
    variables = [v for v in (study.variables or results.variables) if v in results.variables]
    files: list[Path] = []
    figures = []
    stems = distinct_slugs(variables, "plotted variables", taken=["overview"])
    stage = stage or (lambda what: None)
    stage(f"drawing the scenario figures ({len(variables) + 1})")
    with plots.theme():
        fig = plots.overview(
            shown,
            variables,
            history=history,
            forecast_start=study.forecast_start,
            palette=shown_palette,
            title=study.text("title", lang),
        )
        for ax, var in zip(fig.axes, variables, strict=False):
            plots.label_axes(ax, labels.name(var), labels.axis(var))
        fig.tight_layout()  # titles may have a second line (the price basis)
        _legend_text(fig, t)
        _localise(fig, lang)
        figures.append(_figure(fig, figdir / "overview", t["overview"], files))
        for var in variables:
            fig, ax = plt.subplots(figsize=(plots.A4_WIDTH, 3.4))
            plots.scenario_plot(
                shown,
                var,
                ax=ax,
                history=history.get(var),
                forecast_start=study.forecast_start,
                palette=shown_palette,
                label=labels.name(var),
            )
            plots.label_axes(ax, labels.name(var), labels.axis(var))
            ax.set_xlabel(t["time"])
            _legend_text(fig, t)
            _localise(fig, lang)
            figures.append(_figure(fig, figdir / stems[var], labels.name(var), files))
        stage("drawing the fan charts")
        bands = inputs["ensemble"]
        fans = _fans(study, labels, bands, figdir, shown_palette, display, files)
    scenarios = [
        {
            "label": sc.label(lang),
            "description": sc.describe(lang),
            "inherits": display.get(sc.inherits, "") if sc.inherits else "",
            "color": _hex(palette[name]),
            "settings": [
                f"{labels.name(k)} = {number(v, labels.lang, 'g')}" for k, v in sc.set.items()
            ],
            "shocks": [_shock_text(s, labels, study, results, name) for s in sc.shocks],
        }
        for name, sc in study.scenarios.items()
    ]
    n_fan = (bands.samples if bands else 0) or results.provenance.get("ensemble", {}).get(
        "samples"
    )
    stage("policy comparison")
    decision = decision_section(
        study,
        model,
        results,
        lang,
        _fmt,
        inputs["explore"],
        name=labels.name,
        view=labels.view,
    )
    stage("fit to history (calibration)")
    calibration = _calibration(inputs["calibration"], labels, t, figdir, files)
    stage("sensitivity")
    sensitivity = _sensitivity(study, labels, inputs["sensitivity"], t, figdir, files)
    stage("drawing the model's diagrams")
    diagrams = _diagrams(model, figdir, labels, files)
    context = {
        "lang": lang,
        "t": t,
        "title": study.text("title", lang),
        "question": study.text("question", lang),
        "description": study.text("description", lang),
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "model_name": model.path.name,
        "scenarios": scenarios,
        "figures": figures,
        "key_years": _key_years(study, results, labels, display),
        "decision": decision,
        "fans": fans,
        "fan_note": t["fan_note"].format(
            n=n_fan or (study.uncertainty.samples if study.uncertainty else ""),
            spec=study.uncertainty.file.name if study.uncertainty else "",
        ),
        "calibration": calibration,
        "sensitivity": sensitivity,
        "diagrams": diagrams,
        "provenance": _provenance(study, model, results, lang),
    }
    return context, files


def _legend_text(fig, t) -> None:
    """The English words the plot functions draw, in the report's language."""
    words = {w: t[w] for w in ("recorded", "forecast", "value")}
    words |= {"time": t["time"], "first order (S1)": t["sobol_first"]}
    for legend in [*(ax.get_legend() for ax in fig.axes), *fig.legends]:
        if legend is None:
            continue
        for text in legend.get_texts():
            text.set_text(words.get(text.get_text(), text.get_text()))
    for ax in fig.axes:
        for text in ax.texts:
            text.set_text(words.get(text.get_text(), text.get_text()))
        for axis in (ax.xaxis, ax.yaxis):
            label = axis.get_label()
            if label.get_text() in words:
                label.set_text(words[label.get_text()])


def _localise(fig, lang: str) -> None:
    """Tick labels of numbers in the report's number format (categories stay as drawn)."""
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if type(axis.get_major_formatter()) in (ScalarFormatter, FuncFormatter):
                axis.set_major_formatter(tick_formatter(lang))


def _figure(fig, stem: Path, caption: str, files: list[Path]) -> dict:

    buf = io.BytesIO()
    savefig(fig, buf, format="png", dpi=130, bbox_inches="tight")
    files += plots.save_figure(fig, stem)
    return {"caption": caption, "png": base64.b64encode(buf.getvalue()).decode()}


def _fans(
    study, labels, ensemble: EnsembleBands | None, figdir, palette, display, files
) -> list[dict]:
    """Per variable, one panel per scenario with its bands, the base median and history."""

    if ensemble is None:
        return []
    bands = ensemble.bands.copy()
    bands["scenario"] = bands["scenario"].astype(str).map(lambda s: display.get(s, s))
    out = []
    base = display[study.base]
    scenarios = [display[s] for s in study.scenarios]
    history = {name: spec.load() for name, spec in study.history.items()}
    t = TEXT[labels.lang]
    words = {k: t[f"fan_{k}"] for k in ("median", "band50", "band90", "base_median")}
    words["recorded"] = t["recorded"]
    shown_vars = [
        v
        for v in dict.fromkeys(bands["variable"])
        if v in labels.names or v in (study.variables or [v])
    ]
    stems = distinct_slugs(shown_vars, "fan-chart variables", prefix="fan_")
    for var in shown_vars:
        fig = plots.fan_panels(
            bands,
            var,
            scenarios=scenarios,
            palette=palette,
            base=base,
            history=history.get(var),
            forecast_start=study.forecast_start,
            units=labels.axis(var),
            title=labels.name(var),
            words=words,
        )
        _localise(fig, labels.lang)
        out.append(_figure(fig, figdir / stems[var], labels.name(var), files))
    return out


def _key_years(study, results, labels: Labels, display) -> list[dict]:

    table = key_years_table(study, results)
    years = [c for c in table.columns if c not in ("variable", "scenario", "units")]
    blocks = []
    for var, rows in table.groupby("variable", sort=False):
        blocks.append(
            {
                "name": labels.name(var),
                "units": labels.unit(var, rows["units"].iloc[0]),
                "years": years,
                "rows": [
                    {
                        "label": display.get(r["scenario"], r["scenario"]),
                        "cells": [_fmt(r[y], labels.lang) for y in years],
                    }
                    for _, r in rows.iterrows()
                ],
            }
        )
    return blocks


def _calibration(
    cal: CalibrationInputs | None, labels: Labels, t, figdir: Path, files: list[Path]
) -> dict | None:
    if cal is None:
        return None
    spec, values, stats, fitted = cal.spec, cal.values, cal.stats, cal.fitted
    notes = []
    if cal.unpublished is not None:
        folder, file = cal.unpublished
        notes.append(t["cal_unpublished"].format(folder=folder, file=file))
    rows = [
        {
            "series": labels.name(r.series),
            "n": int(r.n),
            "r2": number(r.r2, labels.lang, decimals=2),
            "mape": percent(r.mape, labels.lang),
            "rmse": _fmt(r.rmse, labels.lang),
            "um": number(r.um, labels.lang, decimals=2),
            "us": number(r.us, labels.lang, decimals=2),
            "uc": number(r.uc, labels.lang, decimals=2),
        }
        for r in stats.itertuples()
    ]
    warnings = [
        t["cal_at_bound"].format(
            name=labels.name(b.name),
            value=_fmt(b.value, labels.lang),
            side=t[f"cal_{b.side}"],
            bound=_fmt(b.bound, labels.lang),
        )
        for b in at_bounds(spec, values)
    ]
    figures = (
        _fit_figures(spec, fitted, stats, labels, t, figdir, files) if fitted is not None else []
    )
    return {"stats": rows, "figures": figures, "warnings": warnings, "notes": notes}


def _fit_figures(spec, fitted: Results, stats, labels: Labels, t, figdir, files) -> list[dict]:
    """Model against record, one panel per calibrated series, from the fitted run (one
    figure, so that the report draws it in seconds)."""

    by_series = {r.series: r for r in stats.itertuples()}
    words = {"model": t["fit_model"], "recorded": t["recorded"], "period": t["fit_period"]}
    targets = [tg.variable for tg in spec.targets if tg.variable in fitted.variables]
    if not targets:
        return []
    with plots.theme():
        fig, axes = plots.panels(len(targets), height=2.1)
        for ax, var in zip(axes, targets, strict=True):
            st = by_series.get(var)
            draw_fit(
                ax,
                spec,
                fitted,
                var,
                name=labels.name(var),
                units=labels.unit(var, fitted.units.get(var, "")),
                words=words,
                time_label="",
            )
            fit = "" if st is None else f"\nMAPE {st.mape:.1%}, R² {st.r2:.2f}"
            if labels.lang == "ru":
                fit = fit.replace(".", ",")
            ax.set_title(textwrap.fill(labels.name(var), 48) + fit, fontsize=8)
            ax.get_legend().remove()
        handles, names = axes[0].get_legend_handles_labels()
        plots.shared_legend(fig, handles, names)
        return [_figure(fig, figdir / "fit_overview", t["fit_caption"], files)]


def _sensitivity(
    study: Study, labels: Labels, sens: Sensitivity | None, t, figdir: Path, files: list[Path]
) -> dict | None:
    if sens is None or sens.indices.empty:
        return None
    idx = sens.indices
    year = max(study.key_years) if study.key_years else idx["time"].max()
    times = idx["time"].unique()
    at = times[abs(times - year).argmin()]
    now = idx[idx["time"] == at]
    rows = []
    for output, group in now.groupby("output", sort=False):
        top = group.sort_values("ST", ascending=False).head(4)
        rows.append(
            {
                "output": labels.name(output),
                "ranking": ", ".join(
                    f"{labels.name(r.parameter)} ({number(r.ST, labels.lang, decimals=2)} ± "
                    f"{number(r.ST_conf, labels.lang, decimals=2)})"
                    for r in top.itertuples()
                ),
            }
        )
    figures = _sobol_figures(now, labels, t, f"{at:g}", figdir, files)
    # the run count is the design's, never a table's length
    if sens.runs:
        note = t["sens_note"].format(
            year=f"{at:g}",
            runs=f"{sens.runs:,}".replace(",", "\u2009"),
            samples=f"{sens.samples:,}".replace(",", "\u2009"),
        )
    else:
        note = t["sens_note_no_runs"].format(year=f"{at:g}")
    issues = convergence_issues(idx, "sobol", [at])
    warnings = [
        t[f"sens_{r.kind}"].format(
            output=labels.name(r.output),
            parameter=labels.name(r.parameter) if r.parameter else "",
            value=_fmt(r.value, labels.lang),
            conf=_fmt(r.conf, labels.lang),
            share=f"{CONF_FRACTION:.0%}",
        )
        for r in issues.itertuples()
    ]
    warnings += [t["sens_salib"].format(text=w) for w in sens.salib_warnings]
    return {"rows": rows, "figures": figures, "note": note, "warnings": warnings}


def _sobol_figures(now, labels: Labels, t, year: str, figdir: Path, files: list[Path]):
    """The ranked Sobol bars of each output at ``year``, drawn in the report's language."""
    import matplotlib.pyplot as plt

    figures = []
    stems = distinct_slugs(
        list(dict.fromkeys(now["output"])), "sensitivity outputs", prefix="sobol_"
    )
    with plots.theme():
        for output, group in now.groupby("output", sort=False):
            shown = group.assign(parameter=[labels.name(p) for p in group["parameter"]])
            fig, ax = plt.subplots(figsize=(plots.A4_WIDTH, 0.4 * len(shown) + 1.4))
            plots.sensitivity_bars(shown, output, measure="ST", ax=ax)
            name = labels.name(output)
            ax.set_title(t["sobol_title"].format(output=name, year=year))
            ax.set_xlabel(t["sobol_axis"])
            _legend_text(fig, t)
            _localise(fig, labels.lang)
            caption = t["sobol_caption"].format(output=name, year=year)
            figures.append(_figure(fig, figdir / f"{stems[output]}_{year}", caption, files))
    return figures


def _diagrams(model: Model, figdir: Path, labels: Labels, files: list[Path]) -> list[dict]:

    views = read_sketch(model.path)
    if not views:
        return []
    titles = {v.name: labels.view(v.name) for v in views}
    paths = render(model.path, figdir / "diagram.svg", titles=titles)
    files += paths
    view = TEXT[labels.lang]["view"]
    return [
        {"caption": f"{view}: {titles[v.name]}", "svg": base64.b64encode(p.read_bytes()).decode()}
        for v, p in zip(views, paths, strict=True)
    ]


def _provenance(
    study: Study, model: Model, results: Results, lang: str = "en"
) -> list[tuple[str, str]]:
    t = TEXT[lang]
    w = t["prov"]
    prov = results.provenance
    time = prov.get("time")
    items = [
        (w["study"], f"{study.path.name} (SHA-256 {prov.get('study', {}).get('sha256', '')[:16]})"),
        (w["model"], f"{model.path.name} (SHA-256 {prov.get('model_sha256', '')[:16]})"),
        (w["translation key"], str(prov.get("cache_key", ""))[:16]),
        (w["kuzbass-sd"], str(prov.get("sd_version", ""))),
        (w["PySD"], str(prov.get("pysd_version", ""))),
        (w["results created"], str(prov.get("created", ""))),
        (
            w["time"],
            t["prov_time"].format(
                **{k: number(time[k], lang, "g") for k in ("initial", "final", "step")}
            )
            if time
            else "",
        ),
    ]
    data_files = prov.get("data_files", {})
    if not isinstance(data_files, Mapping):  # results written before hashes were recorded
        data_files = {f: "" for f in data_files}
    for f, sha in data_files.items():
        items.append((w["data"], f"{Path(f).name} (SHA-256 {sha[:12] or '-'})"))
    if study.uncertainty:
        items.append(
            (
                w["ensemble"],
                t["prov_ensemble"].format(
                    file=study.uncertainty.file.name,
                    runs=number(study.uncertainty.samples, lang, "g"),
                    seed=study.uncertainty.seed,
                ),
            )
        )
    return items


def _workbook(study: Study, results: Results, labels: Labels, path: Path) -> None:
    """Key years, one sheet of annual trajectories per scenario, assumptions, provenance.

    Every word is in the report's language; numbers stay numbers, shown with a number
    format chosen per column (per row in the key years), under frozen header rows.
    """
    lang = labels.lang
    t = TEXT[lang]
    col, sheets = t["columns"], t["sheet"]
    display = {n: sc.label(lang) for n, sc in study.scenarios.items()}

    def header(var: str) -> str:
        unit = labels.unit(var, results.units.get(var, ""))
        return f"{labels.name(var)} ({unit})" if unit else labels.name(var)

    with excel_writer(path) as xl:
        keys = key_years_table(study, results)
        keys.insert(1, "name", [labels.name(v) for v in keys["variable"]])
        keys["units"] = [
            labels.unit(v, u) for v, u in zip(keys["variable"], keys["units"], strict=True)
        ]
        if lang != "en":  # readers see the scenarios' names; English keeps the study's ids
            keys["scenario"] = [display.get(s, s) for s in keys["scenario"]]
        keys = keys.rename(columns={k: col[k] for k in ("variable", "name", "scenario", "units")})
        keys.to_excel(xl, sheet_name=sheets["key_years"], index=False)
        format_sheet(xl.sheets[sheets["key_years"]], freeze="E2", by_row=True)
        used: set[str] = {s.casefold() for s in sheets.values()}
        for name, sc in study.scenarios.items():
            wide = results.wide(name, 0)
            annual = wide[(wide.index - wide.index[0]) % 1 == 0]
            annual = annual.rename(columns=header)
            annual.index.name = t["time"]
            sheet = _sheet_name(sc.label(lang), used)
            annual.to_excel(xl, sheet_name=sheet)
            format_sheet(xl.sheets[sheet], freeze="B2", index_format="0")
        rows = []
        for name, sc in study.scenarios.items():
            settings = "; ".join(
                f"{labels.name(k) if lang != 'en' else k} = {number(v, lang, 'g')}"
                for k, v in sc.set.items()
            )
            row = {"scenario_id": name}  # the study's name, as variables keep theirs
            row |= {
                "label": sc.label(lang),
                "inherits": (sc.inherits or "") if lang == "en" else display.get(sc.inherits, ""),
                "description": sc.describe(lang),
                "settings": settings,
                "shocks": "; ".join(
                    _shock_text(s, labels, study, results, name) for s in sc.shocks
                ),
            }
            rows.append(row)
        table = pd.DataFrame(rows).rename(columns=col)
        table.to_excel(xl, sheet_name=sheets["assumptions"], index=False)
        format_sheet(xl.sheets[sheets["assumptions"]], freeze="B2")
        prov = [
            (_prov_key(keys_path, t), str(v))
            for keys_path, v in _flatten(results.provenance)
            if keys_path[0] != "units"
        ]
        pd.DataFrame(prov, columns=[col["key"], col["value"]]).to_excel(
            xl, sheet_name=sheets["provenance"], index=False
        )
        format_sheet(xl.sheets[sheets["provenance"]], freeze="A2")


def _flatten(tree: Mapping, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    out: list[tuple[tuple[str, ...], object]] = []
    for k, v in tree.items():
        if isinstance(v, Mapping) and v:
            out += _flatten(v, (*path, str(k)))
        else:
            out.append(((*path, str(k)), v))
    return out


def _prov_key(path: tuple[str, ...], t) -> str:
    return " / ".join(t["prov_keys"].get(k, k) for k in path)


def _sheet_name(label: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, no quote at either
    end, distinct from ``used`` ignoring case (as Excel compares them)."""
    base = re.sub(r"[\[\]:*?/\\]", "-", label)[:31].strip("'") or "scenario"
    name, k = base, 2
    while name.casefold() in used:
        name = f"{base[:28]}-{k}"
        k += 1
    used.add(name.casefold())
    return name


def shock_effect(
    study: Study, results: Results, scenario: str, shock, *, year: float | None = None
) -> dict | None:
    """What a shock's scenario shows against the base scenario, in the variable the study's
    ``[effects]`` table names for the shock's input, at ``year`` (default: the first saved
    time at which the shock's deviation is largest: the bottom of a crash, the end of a
    ramp, the start of a step).

    Measured from the runs, not read from the shock's parameters: a price multiplier of
    0.55 gives a smaller fall of the price when the market answers. Returns None when no
    effect variable is named, it is not in the results, or the scenario is the base.
    """

    var = study.effects.get(shock.input)
    if var is None or var not in results.variables or scenario == study.base:
        return None
    data = results.data
    data = data[(data["variable"] == var) & (data["run"] == data["run"].min())]
    times = np.sort(data["time"].unique())
    if year is None:
        dev = shock.deviation(times, study.combine[shock.input], study.folder)
        year = peak_time(times, dev)
    if year is None:
        return None
    at = data[data["time"] == year].set_index("scenario")["value"]
    if scenario not in at.index or study.base not in at.index:
        return None
    value, base = float(at[scenario]), float(at[study.base])
    change = value / base - 1 if base != 0 else float("nan")
    return {"variable": var, "year": year, "value": value, "base": base, "change": change}


def _shock_text(shock, labels: Labels, study: Study, results: Results, scenario: str) -> str:
    """The shock as its parameters set it, then its effect against the base as measured in
    the runs: at the year the shock is strongest and at the study's last key year."""

    lang = labels.lang
    t = TEXT[lang]
    mode = study.combine.get(shock.input, "additive")
    unit = "" if mode == "multiplicative" else axis_unit(labels.unit(shock.input))
    text = f"{labels.name(shock.input)}: " + describe(
        shock.shape, shock.params, mode, lang=lang, unit=unit.split(",")[0]
    )
    first = shock_effect(study, results, scenario, shock)
    if first is None:
        return text
    effects = [first]
    last = max(study.key_years, default=None)
    if last is not None and last > first["year"]:
        later = shock_effect(study, results, scenario, shock, year=last)
        effects += [later] if later is not None else []
    var = first["variable"]
    unit = axis_unit(labels.unit(var, results.units.get(var, ""))).split(",")[0]
    parts = []
    for e in effects:
        c = e["change"] * 100
        change = "–" if c != c else f"{c:+.1f}%" if abs(c) < 0.95 else f"{c:+.0f}%"
        if lang == "ru":
            change = change.replace("-", "\u2212").replace(".", ",")
        parts.append(
            t["shock_effect_year"].format(
                year=f"{e['year']:g}",
                value=f"{_fmt(e['value'], lang)} {unit}".strip(),
                base=_fmt(e["base"], lang),
                change=change,
            )
        )
    return text + t["shock_effect"].format(
        variable=labels.name(var),
        base_label=study.scenarios[study.base].label(lang),
        years="; ".join(parts),
    )


def _render(context: dict) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sd.report.builder", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2").render(**context)


def _fmt(value: float, lang: str = "en") -> str:
    """A table number (see :func:`sd.report.text.number`)."""
    return number(value, lang)


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(c * 255)):02x}" for c in rgb)
