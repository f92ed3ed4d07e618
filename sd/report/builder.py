"""``sd report``: one command from a study to a report for the regional administration.

Builds, in English or Russian, from the study's results (running what is missing
or stale): a self-contained HTML page (figures embedded, prints on A4), an Excel
workbook (key years, each scenario's annual trajectories, assumptions, provenance),
and the figures as PNG and SVG files. Results are stale when the study file, the
model, its data files, PySD or the toolkit changed since they were written.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import textwrap
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sd.analysis.calibration import at_bounds, check_spec, evaluate, load_spec
from sd.analysis.sensitivity import CONF_FRACTION, convergence_issues
from sd.engine.pysd_model import load
from sd.errors import SDError
from sd.files import check_replaceable, distinct_slugs, staged_folder
from sd.model.cache import pysd_version
from sd.model.model import Model
from sd.model.sketch import read_sketch
from sd.pipeline import default_output, forecast
from sd.report import plots
from sd.report.calibration import draw_fit
from sd.report.decision import decision_section
from sd.report.diagram import render
from sd.report.figtext import savefig
from sd.report.forecast_outputs import key_years_table
from sd.report.labels import LANGS, Labels, load_labels
from sd.report.plots import axis_unit
from sd.report.text import TEXT
from sd.report.xlsx import excel_writer
from sd.results import Results
from sd.study.shocks import describe, peak_time
from sd.study.study import Study, check_study, load_study
from sd.version import __version__


@dataclass(frozen=True)
class Report:
    folder: Path
    html: Path
    workbook: Path
    figures: tuple[Path, ...]
    reran: bool


def stale_reasons(study: Study, model: Model, results: Results) -> list[str]:
    """Why saved results no longer match the study, model, data or software."""

    prov = results.provenance
    reasons = []
    if prov.get("study", {}).get("sha256") != _sha(study.path):
        reasons.append("the study file changed")
    if prov.get("model_sha256") != _sha(model.path):
        reasons.append("the model changed")
    if prov.get("cache_key") != model.key:
        reasons.append("the model's data files or PySD changed")
    if prov.get("pysd_version") != pysd_version() or prov.get("sd_version") != __version__:
        reasons.append("the software changed")
    return reasons


def build_report(
    study_path: str | os.PathLike[str],
    *,
    lang: str = "en",
    output_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> Report:
    """Write the report of a study (re-running its forecast first when needed).

    ``log`` gets one line per stage (what is being done, seconds since the start), so a
    report that takes a minute is never silent; ``sd report`` prints them on stderr.
    """

    started = time.perf_counter()

    def stage(what: str) -> None:
        if log:
            log(f"report ({lang}): {what} [{time.perf_counter() - started:.1f} s]")

    if lang not in LANGS:

        raise SDError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}.")
    study = load_study(study_path)
    outputs = default_output(study)
    out = Path(output_dir) if output_dir else outputs.parent / f"{study.name}_report_{lang}"
    check_replaceable(out)  # refuse a user's folder before any work
    stage(f"loading the model {study.model_path.name}")
    model = load(study.model_path, cache_dir=cache_dir)
    study = check_study(study, model)
    reran = False
    results_file = outputs / "results.parquet"
    results = Results.load(results_file) if results_file.is_file() else None
    reasons = stale_reasons(study, model, results) if results else ["there are no results yet"]
    if reasons:
        if log:
            stage(f"running the study first: {', '.join(reasons)}")
        results = forecast(study.path, cache_dir=cache_dir).results
        reran = True
    labels = load_labels(model, lang)
    with staged_folder(out, f"report --lang {lang}") as tmp:
        context, figure_files = _context(study, model, results, labels, outputs, tmp, stage)
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


def _context(study, model, results, labels: Labels, outputs: Path, tmp: Path, stage=None):
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
            figures.append(_figure(fig, figdir / stems[var], labels.name(var), files))
        stage("drawing the fan charts")
        fans = _fans(study, shown, labels, outputs, figdir, shown_palette, display, files)
    scenarios = [
        {
            "label": sc.label(lang),
            "description": sc.describe(lang),
            "inherits": display.get(sc.inherits, "") if sc.inherits else "",
            "color": _hex(palette[name]),
            "settings": [f"{labels.name(k)} = {v:g}" for k, v in sc.set.items()],
            "shocks": [_shock_text(s, labels, study, results, name) for s in sc.shocks],
        }
        for name, sc in study.scenarios.items()
    ]
    n_fan = results.provenance.get("ensemble", {}).get("samples")
    stage("policy comparison")
    decision = decision_section(study, model, results, lang, _fmt, outputs, name=labels.name)
    stage("fit to history (calibration)")
    calibration = _calibration(study, labels, t, figdir, files, model)
    stage("sensitivity")
    sensitivity = _sensitivity(study, labels, outputs, t)
    stage("drawing the model's diagrams")
    diagrams = _diagrams(model, figdir, t, files)
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
        "provenance": _provenance(study, model, results),
    }
    return context, files


def _legend_text(fig, t) -> None:
    for legend in [*(ax.get_legend() for ax in fig.axes), *fig.legends]:
        if legend is None:
            continue
        for text in legend.get_texts():
            if text.get_text() == "recorded":
                text.set_text(t["recorded"])
    for ax in fig.axes:
        for text in ax.texts:
            if text.get_text() == "forecast":
                text.set_text(t["forecast"])


def _figure(fig, stem: Path, caption: str, files: list[Path]) -> dict:

    buf = io.BytesIO()
    savefig(fig, buf, format="png", dpi=130, bbox_inches="tight")
    files += plots.save_figure(fig, stem)
    return {"caption": caption, "png": base64.b64encode(buf.getvalue()).decode()}


def _fans(study, shown, labels, outputs, figdir, palette, display, files) -> list[dict]:
    """Per variable, one panel per scenario with its bands, the base median and history."""

    path = outputs / "ensemble" / "percentiles.csv"
    if not path.is_file():
        return []
    bands = pd.read_csv(path)
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
    study: Study, labels: Labels, t, figdir: Path, files: list[Path], model: Model | None = None
) -> dict | None:
    if study.calibration is None:
        return None

    spec = load_spec(study.calibration)
    folder = (spec.output or spec.path.parent / "output" / spec.path.stem) / "calibration"
    stats_file = folder / "fit_statistics.csv"
    params = folder / "parameters.csv"
    fitted = None
    stats = pd.DataFrame()
    values: dict[str, float] = {}
    published: dict | None = None
    notes = []
    if spec.parameters_file is not None and spec.parameters_file.is_file():

        with open(spec.parameters_file, "rb") as fh:
            published = tomllib.load(fh)
    if stats_file.is_file() and params.is_file():
        values = dict(zip(*pd.read_csv(params)[["parameter", "value"]].T.values, strict=True))
        stats = pd.read_csv(stats_file)
    if published is not None and values and values != {
        k: published.get("parameters", {}).get(k) for k in values
    }:
        # the calibration output holds other values than the study includes: the section
        # describes the values the study uses
        notes.append(
            t["cal_unpublished"].format(folder=folder.name, file=spec.parameters_file.name)
        )
        values, stats = {}, pd.DataFrame()
    if values:
        # a calibration ran: its statistics, values and fitted run (no re-simulation)
        if (folder / "fitted.csv").is_file():
            fitted = Results.load(folder / "fitted.csv")
    elif published is not None:
        # no calibration run here: the published parameters file carries the values; their
        # fitted run (and statistics) is one run of the spec at those values
        table = published.get("fit_statistics", {})
        stats = pd.DataFrame([{"series": k, **v} for k, v in table.items()])
        values = dict(published.get("parameters", {}))
    else:
        return None
    if stats.empty:
        return None
    if model is None or Path(model.path).resolve() != Path(spec.model_path).resolve():
        model = load(spec.model_path)
    spec = check_spec(spec, model)
    if fitted is None and values:
        # the statistics of the published values on today's model and data (the file's own
        # table may predate an edit of either), so that the table and the figures agree
        evaluated = evaluate(spec, values, model)
        fitted, stats = evaluated.fitted, evaluated.stats_table()
    rows = [
        {
            "series": labels.name(r.series),
            "n": int(r.n),
            "r2": "–" if r.r2 != r.r2 else f"{r.r2:.2f}",
            "mape": f"{r.mape:.1%}",
            "rmse": _fmt(r.rmse, labels.lang),
            "um": f"{r.um:.2f}",
            "us": f"{r.us:.2f}",
            "uc": f"{r.uc:.2f}",
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


def _sensitivity(study: Study, labels: Labels, outputs: Path, t) -> dict | None:

    path = outputs.parent / f"{study.name}_sensitivity_sobol" / "indices.csv"
    if not path.is_file():
        return None
    idx = pd.read_csv(path)
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
                    f"{labels.name(r.parameter)} ({r.ST:.2f} ± {r.ST_conf:.2f})"
                    for r in top.itertuples()
                ),
            }
        )
    figures = [
        {"caption": p.stem, "png": base64.b64encode(p.read_bytes()).decode()}
        for p in sorted(path.parent.glob(f"sobol_*_{at:g}.png"))
    ]
    # the run count is the design's (sensitivity.json), never a table's length
    meta_file = path.parent / "sensitivity.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    if meta.get("runs"):
        note = t["sens_note"].format(
            year=f"{at:g}",
            runs=f"{int(meta['runs']):,}".replace(",", "\u2009"),
            samples=f"{int(meta.get('samples', 0)):,}".replace(",", "\u2009"),
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
    warnings += [t["sens_salib"].format(text=w) for w in meta.get("salib_warnings", [])]
    return {"rows": rows, "figures": figures, "note": note, "warnings": warnings}


def _diagrams(model: Model, figdir: Path, t, files: list[Path]) -> list[dict]:

    views = read_sketch(model.path)
    if not views:
        return []
    paths = render(model.path, figdir / "diagram.svg")
    files += paths
    return [
        {"caption": f"{t['view']}: {v.name}", "svg": base64.b64encode(p.read_bytes()).decode()}
        for v, p in zip(views, paths, strict=True)
    ]


def _provenance(study: Study, model: Model, results: Results) -> list[tuple[str, str]]:
    prov = results.provenance
    items = [
        ("study", f"{study.path.name} (sha256 {prov.get('study', {}).get('sha256', '')[:16]})"),
        ("model", f"{model.path.name} (sha256 {prov.get('model_sha256', '')[:16]})"),
        ("translation key", str(prov.get("cache_key", ""))[:16]),
        ("kuzbass-sd", str(prov.get("sd_version", ""))),
        ("PySD", str(prov.get("pysd_version", ""))),
        ("results created", str(prov.get("created", ""))),
        (
            "time",
            "{initial:g}-{final:g}, step {step:g}".format(**prov.get("time", {}))
            if prov.get("time")
            else "",
        ),
    ]
    data_files = prov.get("data_files", {})
    if not isinstance(data_files, Mapping):  # results written before hashes were recorded
        data_files = {f: "" for f in data_files}
    for f, sha in data_files.items():
        items.append(("data", f"{Path(f).name} (sha256 {sha[:12] or '-'})"))
    if study.uncertainty:
        items.append(
            (
                "ensemble",
                f"{study.uncertainty.file.name}, "
                f"{study.uncertainty.samples} runs, seed {study.uncertainty.seed}",
            )
        )
    return items


def _workbook(study: Study, results: Results, labels: Labels, path: Path) -> None:
    """Key years, one sheet of annual trajectories per scenario, assumptions, provenance."""

    def header(var: str) -> str:
        unit = labels.unit(var, results.units.get(var, ""))
        return f"{labels.name(var)} ({unit})" if unit else labels.name(var)

    with excel_writer(path) as xl:
        keys = key_years_table(study, results)
        keys.insert(1, "name", [labels.name(v) for v in keys["variable"]])
        keys["units"] = [
            labels.unit(v, u) for v, u in zip(keys["variable"], keys["units"], strict=True)
        ]
        keys.to_excel(xl, sheet_name="Key years", index=False)
        used: set[str] = {"Key years", "Assumptions", "Provenance"}
        for name, sc in study.scenarios.items():
            wide = results.wide(name, 0)
            annual = wide[(wide.index - wide.index[0]) % 1 == 0]
            annual = annual.rename(columns=header)
            annual.index.name = TEXT[labels.lang]["time"]
            sheet = _sheet_name(sc.label(labels.lang), used)
            annual.to_excel(xl, sheet_name=sheet)
        rows = []
        for name, sc in study.scenarios.items():
            rows.append(
                {
                    "scenario": name,
                    "label": sc.label(labels.lang),
                    "inherits": sc.inherits or "",
                    "description": sc.describe(labels.lang),
                    "settings": "; ".join(f"{k} = {v:g}" for k, v in sc.set.items()),
                    "shocks": "; ".join(
                        _shock_text(s, labels, study, results, name) for s in sc.shocks
                    ),
                }
            )
        pd.DataFrame(rows).to_excel(xl, sheet_name="Assumptions", index=False)
        prov = [(k, str(v)) for k, v in results.provenance.items() if k != "units"]
        pd.DataFrame(prov, columns=["key", "value"]).to_excel(
            xl, sheet_name="Provenance", index=False
        )


def _sheet_name(label: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "-", label)[:31] or "scenario"
    name, k = base, 2
    while name in used:
        name = f"{base[:28]}-{k}"
        k += 1
    used.add(name)
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
    """A table number: thin-space thousands; decimal comma in Russian."""
    if value != value:  # NaN
        return "–"
    a = abs(value)
    if a >= 1e5:
        text = f"{value:,.0f}"
    elif a >= 100:
        text = f"{value:,.1f}"
    elif a >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    text = text.replace(",", "\u2009")
    if lang == "ru":
        text = text.replace(".", ",").replace("-", "\u2212")
    return text


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(c * 255)):02x}" for c in rgb)


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
