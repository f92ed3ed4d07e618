"""Files and figures of a calibration or backtest.

* ``calibrated.toml``: ``[parameters]`` that study files can ``include``, with the
  standard errors, fit statistics and provenance beside them;
* ``calibrated.cin``: a Vensim changes file (``Name = value`` lines) to load the same
  values in Vensim;
* ``parameters.csv`` (with ``at_bound``/``bound`` for values on a bound),
  ``fit_statistics.csv``, ``starts.csv``;
* ``calibration.json``: the provenance (model, data, software, spec and series files), which
  :class:`sd.analysis.calibration.SavedCalibration` reads back for the report's staleness check;
* ``fitted.csv``: the run at the fitted values (tidy, the calibration's ``fitted`` results);
* ``figures/fit_<series>``: recorded history against the calibrated model, drawn from that
  run, with the fitting period marked; ``figures/backtest``: out-of-sample errors against
  naive forecasts.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sd.analysis.backtest import METHODS, Backtest
from sd.analysis.calibration import Calibration, CalibrationSpec, Objective
from sd.engine.pysd_model import load
from sd.errors import OutputError
from sd.files import atomic_path, distinct_slugs
from sd.report import plots


def parameters_toml(cal: Calibration) -> str:
    """The calibrated values as TOML, with how they were obtained in comments and tables."""
    spec = cal.spec
    lines = [
        f"# Calibrated parameters of {spec.model_path.name}, written by `sd calibrate "
        f"{spec.path.name}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"# Fitted to {', '.join(t.variable for t in spec.targets)} over "
        f"{spec.period[0]:g}-{cal.fit_end:g}; {cal.runs} model runs ({cal.engine} engine), "
        f"objective {cal.objective:.6g}, {'converged' if cal.converged else 'NOT converged'}"
        f"{' (interrupted: best point so far)' if cal.interrupted else ''}.",
        *(
            [
                f"# {cal.failed} of {cal.runs} runs failed and were penalised; the first: "
                f"{' '.join(cal.first_failure.split())}"
            ]
            if cal.failed
            else []
        ),
        *(f"# warning: {b.warning()}" for b in cal.at_bounds()),
        '# Study files use these values with:  include = ["<this file>"]',
        "",
        "[parameters]",
    ]
    for p in spec.parameters:
        lines.append(f"{_key(p.name)} = {cal.values[p.name]!r}")
    lines += ["", "[std_errors]"]
    for name, se in cal.std_errors.items():
        lines.append(f"{_key(name)} = {se!r}" if np.isfinite(se) else f"# {name}: not estimated")
    lines += ["", "[fit_statistics]"]
    for name, st in cal.stats.items():
        fields = ", ".join(f"{k} = {v!r}" for k, v in st.as_dict().items())
        lines.append(f"{_key(name)} = {{ {fields} }}")
    return "\n".join(lines) + "\n"


def changes_file(cal: Calibration) -> str:
    """Vensim ``.cin``: one ``Name = value`` line per parameter."""
    return "".join(
        f"{_vensim_name(p.name)} = {cal.values[p.name]:.10g}\n" for p in cal.spec.parameters
    )


def write_calibration(cal: Calibration, folder: Path, *, figures: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, text in (
        ("calibrated.toml", parameters_toml(cal)),
        ("calibrated.cin", changes_file(cal)),
    ):
        (folder / name).write_text(text, encoding="utf-8")
        files.append(folder / name)
    cal.parameter_table().to_csv(folder / "parameters.csv", index=False)
    cal.stats_table().to_csv(folder / "fit_statistics.csv", index=False, float_format="%.6g")
    starts = pd.DataFrame(
        [
            {
                "start": i,
                **{f"x0 {p.name}": v for p, v in zip(cal.spec.free, s.start, strict=True)},
                **{p.name: v for p, v in zip(cal.spec.free, s.values, strict=True)},
                "objective": s.objective,
                "runs": s.runs,
                "status": s.status,
            }
            for i, s in enumerate(cal.starts)
        ]
    )
    starts.to_csv(folder / "starts.csv", index=False)
    files += [folder / "parameters.csv", folder / "fit_statistics.csv", folder / "starts.csv"]
    meta = json.dumps({"provenance": dict(cal.provenance)}, indent=1)
    (folder / "calibration.json").write_text(meta, encoding="utf-8")
    files.append(folder / "calibration.json")
    if cal.fitted is not None:
        files.append(cal.fitted.save(folder / "fitted.csv"))
    if figures:
        files += fit_figures(cal, folder / "figures")
    return files


def check_parameters_file(path: Path) -> None:
    """Refuse to replace a file at ``path`` that ``sd calibrate`` did not write."""
    if not path.exists() and not path.is_symlink():
        return
    first = ""
    if path.is_file() and not path.is_symlink():
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline(1000)
    ours = first.startswith("# Calibrated parameters of ") and "written by `sd calibrate" in first
    if not ours:
        raise OutputError(
            f"cannot publish the calibrated parameters to {path}: that file exists and was not "
            "written by `sd calibrate` (its first line is not the toolkit's header). Set "
            "parameters_file in the calibration spec to another file, or move that one away."
        )


def publish_parameters(cal: Calibration, path: Path, text: str | None = None) -> Path:
    """Write the calibrated-parameters file that studies include (atomically): ``text``
    (the ``calibrated.toml`` of the calibration's output folder, so the two are the same
    file) or :func:`parameters_toml`.

    An existing file is replaced only when ``sd calibrate`` wrote it.
    """
    check_parameters_file(path)
    with atomic_path(path) as tmp:
        tmp.write_text(parameters_toml(cal) if text is None else text, encoding="utf-8")
    return path


FIT_WORDS = {"model": "calibrated model", "recorded": "recorded", "period": "fitting period"}


def fit_figures(cal: Calibration, folder: Path) -> list[Path]:
    """One figure per target: the calibration's fitted run against the record."""
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fitted = cal.fitted if cal.fitted is not None else _simulate_fit(cal)
    files: list[Path] = []
    stems = distinct_slugs([t.variable for t in cal.spec.targets], "targets", prefix="fit_")
    with plots.theme():
        for t in cal.spec.targets:
            fig, ax = plt.subplots(figsize=(plots.A4_WIDTH, 3.0))
            draw_fit(
                ax,
                cal.spec,
                fitted,
                t.variable,
                fit_end=cal.fit_end,
                stats=cal.stats.get(t.variable),
            )
            files += plots.save_figure(fig, folder / stems[t.variable])
    return files


def draw_fit(
    ax,
    spec: CalibrationSpec,
    fitted,
    variable: str,
    *,
    fit_end: float | None = None,
    stats=None,
    name: str | None = None,
    units: str | None = None,
    words: dict[str, str] | None = None,
    time_label: str | None = None,
) -> None:
    """Model (``fitted``, a Results) against the record of one target, fitting period shaded.

    ``stats``: the target's fit statistics (attributes mape, r2, um, us, uc) for the title;
    ``fit_end``: the end of the fitting period (default the spec's). ``name``, ``units``,
    ``words`` (keys of :data:`FIT_WORDS`) and ``time_label`` let a report draw it in its
    language; by default the model's names and units.
    """

    words = {**FIT_WORDS, **(words or {})}
    target = next(t for t in spec.targets if t.variable == variable)
    model_series = fitted.series(variable)
    ax.plot(model_series.index, model_series.to_numpy(), color="C0", label=words["model"])
    obs = target.series.load()
    start = float(model_series.index.min())
    obs = obs[(obs.index >= start) & (obs.index <= spec.period[1])]
    ax.plot(obs.index, obs.to_numpy(), label=words["recorded"], **plots.HISTORY_STYLE)
    lo = (target.period or spec.period)[0]
    end = spec.period[1] if fit_end is None else fit_end
    ax.axvspan(lo, end, color="0.92", zorder=0, label=words["period"])
    st = stats
    title = name or variable
    if st is not None:
        title += (
            f": MAPE {st.mape:.1%}, R² {st.r2:.2f}, U(M,S,C) {st.um:.2f}/{st.us:.2f}/{st.uc:.2f}"
        )
    ax.set_title(title)
    ax.set_ylabel(units if units is not None else (fitted.units.get(variable) or "value"))
    if time_label is None:
        time_label = f"time ({fitted.provenance.get('time', {}).get('units', '')})"
    ax.set_xlabel(time_label)
    ax.legend(frameon=False)


def _simulate_fit(cal: Calibration):
    """The run at the fitted values, for a Calibration made without one (by hand)."""

    model = load(cal.spec.model_path)
    obj = Objective(cal.spec, model)
    x = np.array([cal.values[p.name] for p in cal.spec.free])
    return obj.simulate(x, until=cal.spec.period[1])


def write_backtest(bt: Backtest, folder: Path, *, figures: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bt.table.to_csv(folder / "backtest.csv", index=False, float_format="%.6g")
    bt.summary.to_csv(folder / "backtest_summary.csv", index=False, float_format="%.6g")
    meta = {
        "cutoffs": sorted(bt.calibrations),
        "parameters": {str(c): dict(cal.values) for c, cal in bt.calibrations.items()},
        "interrupted": bt.interrupted,
        "failed_runs": {str(c): cal.failed for c, cal in bt.calibrations.items()},
        "first_failure": next((c.first_failure for c in bt.calibrations.values() if c.failed), ""),
    }
    (folder / "backtest.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    files = [folder / "backtest.csv", folder / "backtest_summary.csv", folder / "backtest.json"]
    if figures and not bt.table.empty:
        files += backtest_figure(bt, folder / "figures")
    return files


def backtest_figure(bt: Backtest, folder: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import seaborn as sns

    folder.mkdir(parents=True, exist_ok=True)
    series = list(dict.fromkeys(bt.table["series"]))
    with plots.theme():
        fig, axes = plt.subplots(
            len(series), 1, figsize=(plots.A4_WIDTH, 1.9 * len(series) + 0.6), squeeze=False
        )
        for ax, name in zip(axes[:, 0], series, strict=True):
            data = bt.table[bt.table["series"] == name]
            sns.lineplot(
                data=data,
                x="cutoff",
                y="mape",
                hue="method",
                hue_order=list(METHODS),
                marker="o",
                ax=ax,
                legend=ax is axes[0, 0],
            )
            ax.set_title(f"{name}: out-of-sample MAPE by cut-off year")
            ax.set_ylabel("MAPE")
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
            ax.set_xlabel("")
        axes[-1, 0].set_xlabel("cut-off (last year used for fitting)")
        if axes[0, 0].get_legend():
            axes[0, 0].legend(frameon=False, title=None)
        fig.tight_layout()
        return plots.save_figure(fig, folder / "backtest")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _vensim_name(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9 _$']*", name) else json.dumps(name)
