"""Scenario plots with seaborn: one look for every figure of a study.

Plot functions draw on the Axes they are given (or a new one) and return it;
nothing here calls ``plt.show()`` or changes global settings (use :func:`theme`).
Sizes are for an A4 report: :data:`A4_WIDTH` is the text width of a page with
2.5 cm margins.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sd import files as names
from sd.errors import OutputError
from sd.report.figtext import PLAIN_TEXT, savefig
from sd.results import Results

A4_WIDTH = 6.3  # inches: 16 cm
HISTORY_STYLE = {"color": "black", "marker": "o", "markersize": 3, "linewidth": 0.8, "zorder": 5}


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """Seaborn's paper style with fonts that show Latin and Cyrillic text."""
    rc = {
        "font.family": "DejaVu Sans",
        "svg.fonttype": "none",
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        **PLAIN_TEXT,  # user text is never TeX: a '$' in a label is a dollar sign
    }
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"), plt.rc_context(rc):
        yield


def scenario_palette(scenarios: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One fixed colour per scenario, by its position in the study (base first)."""
    colors = sns.color_palette("colorblind", n_colors=max(len(scenarios), 1))
    if len(scenarios) > 10:
        colors = sns.color_palette("husl", n_colors=len(scenarios))
    return dict(zip(scenarios, colors, strict=False))


def panels(n: int, *, ncols: int = 2, height: float = 2.3, **kwargs) -> tuple[Figure, list[Axes]]:
    """An A4-wide grid of ``n`` panels (unused cells hidden); returns the figure and axes."""
    ncols = min(ncols, max(n, 1))
    nrows = -(-n // ncols)
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(A4_WIDTH, height * nrows + 0.8), squeeze=False, **kwargs
    )
    axes = list(grid.flat)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def shared_legend(fig: Figure, handles, labels, *, title: str | None = None) -> None:
    """One legend right under all panels (saved with ``bbox_inches="tight"``)."""
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(3, len(labels)),
        frameon=False,
        fontsize=8,
    )


def scenario_plot(
    results: Results,
    variable: str,
    *,
    ax: Axes | None = None,
    history: pd.Series | None = None,
    forecast_start: float | None = None,
    palette: Mapping[str, tuple[float, float, float]] | None = None,
    label: str | None = None,
    legend: bool = True,
) -> Axes:
    """Each scenario's trajectory of ``variable`` over time, with history and forecast start.

    Parameters
    ----------
    results : runs of one or more scenarios (run 0 of each is drawn)
    variable : Vensim name of the variable
    history : recorded values indexed by time, in the variable's units (black dots)
    forecast_start : time from which the model forecasts (dashed line, shaded after)
    palette : scenario -> colour; defaults to :func:`scenario_palette` of the results
    label : axis title (default: the variable name)
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(A4_WIDTH, 3.2))
    data = results.data
    data = data[(data["variable"] == variable) & (data["run"] == data["run"].min())]
    if data.empty:
        raise ValueError(f"'{variable}' is not in these results")
    palette = dict(palette or scenario_palette(results.scenarios))
    order = [s for s in palette if s in set(data["scenario"])]
    for name in reversed(order):  # the first (base) scenario is drawn last, on top
        rows = data[data["scenario"] == name]
        ax.plot(
            rows["time"],
            rows["value"],
            color=palette[name],
            linewidth=1.4,
            label=name,
            zorder=3 if name == order[0] else 2,
        )
    _plain_numbers(ax)
    if history is not None and not history.empty:
        shown = history[
            (history.index >= data["time"].min()) & (history.index <= data["time"].max())
        ]
        ax.plot(shown.index, shown.to_numpy(), label="recorded", **HISTORY_STYLE)
    if forecast_start is not None:
        ax.axvline(forecast_start, color="0.35", linestyle="--", linewidth=0.8)
        ax.axvspan(forecast_start, data["time"].max(), color="0.95", zorder=0)
        ax.annotate(
            "forecast",
            xy=(forecast_start, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -10),
            textcoords="offset points",
            fontsize=7,
            color="0.35",
        )
    units = results.units.get(variable, "")
    time_units = results.provenance.get("time", {}).get("units", "")
    ax.set_title(label or variable)
    ax.set_xlabel(f"time ({time_units})" if time_units else "time")
    ax.set_ylabel(units or "value")
    ax.margins(x=0)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        by_label = dict(zip(labels, handles, strict=True))
        names = [n for n in order if n in by_label] + [n for n in by_label if n not in order]
        handles = [by_label[n] for n in names]
        if len(names) > 4:  # many scenarios: under the axes, where it covers nothing
            ax.legend(
                handles,
                names,
                frameon=False,
                fontsize=7,
                ncol=3,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.16),
            )
        else:
            ax.legend(handles, names, frameon=False, fontsize=7)
    return ax


def _plain_numbers(ax: Axes) -> None:
    """Tick labels without a '1e6' offset: thousands separated by thin spaces."""
    from matplotlib.ticker import FuncFormatter

    def fmt(value: float, _pos: int) -> str:
        if abs(value) >= 1e4:
            return f"{value:,.0f}".replace(",", "\u2009")
        return f"{value:g}"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def overview(
    results: Results,
    variables: Sequence[str],
    *,
    history: Mapping[str, pd.Series] | None = None,
    forecast_start: float | None = None,
    palette: Mapping[str, tuple[float, float, float]] | None = None,
    title: str | None = None,
    ncols: int = 2,
) -> Figure:
    """A multi-panel figure of several variables with one shared legend."""
    history = history or {}
    fig, axes = panels(len(variables), ncols=ncols, sharex=True)
    palette = dict(palette or scenario_palette(results.scenarios))
    for ax, var in zip(axes, variables, strict=True):
        scenario_plot(
            results,
            var,
            ax=ax,
            history=history.get(var),
            forecast_start=forecast_start,
            palette=palette,
            legend=False,
        )
        ax.set_xlabel("")
    handles = [plt.Line2D([], [], color=c, linewidth=1.6) for c in palette.values()]
    labels = list(palette)
    if any(h is not None and not h.empty for h in history.values()):
        handles.append(plt.Line2D([], [], **{**HISTORY_STYLE, "zorder": None}))
        labels.append("recorded")
    shared_legend(fig, handles, labels, title=title)
    return fig


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem.png`` (300 dpi) and ``stem.svg``; return both paths."""
    paths = [stem.with_name(f"{stem.name}.png"), stem.with_name(f"{stem.name}.svg")]
    for path in paths:  # figures go to fresh folders: an existing file is a name clash
        if path.exists():
            plt.close(fig)
            raise OutputError(
                f"two figures would both be written to {path.name}; rename one of the "
                "variables (or scenarios) so that their names differ in letters or digits."
            )
    savefig(fig, paths[0], dpi=300, bbox_inches="tight")
    savefig(fig, paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def slug(name: str) -> str:
    """A file-name-safe, lower-case form of a variable or scenario name (see :mod:`sd.files`)."""
    return names.slug(name)


def fan_chart(
    bands: pd.DataFrame,
    variable: str,
    *,
    ax: Axes | None = None,
    history: pd.Series | None = None,
    forecast_start: float | None = None,
    palette: Mapping[str, tuple[float, float, float]] | None = None,
    units: str = "",
    time_units: str = "",
    label: str | None = None,
    legend: bool = True,
    scenarios: Sequence[str] | None = None,
    banded: Sequence[str] | None = None,
) -> Axes:
    """Percentile bands per scenario: 5-95 light, 25-75 darker, the median as a line.

    ``bands`` is :func:`sd.analysis.ensemble.percentiles` output (``scenario | variable | time |
    p5 | p25 | p50 | p75 | p95``); the same palette as :func:`scenario_plot`.
    ``scenarios`` selects what is drawn (default all); ``banded`` which of them get
    bands (default all; the others are drawn as median lines only).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(A4_WIDTH, 3.2))
    data = bands[bands["variable"] == variable]
    if data.empty:
        raise ValueError(f"'{variable}' is not in these percentiles")
    present = list(dict.fromkeys(data["scenario"].astype(str)))
    palette = dict(palette or scenario_palette(present))
    scenarios = [s for s in (scenarios or present) if s in present]
    banded = set(scenarios if banded is None else banded)
    outer = [c for c in ("p5", "p95") if c in data.columns]
    inner = [c for c in ("p25", "p75") if c in data.columns]
    for name in scenarios:
        rows = data[data["scenario"].astype(str) == name].sort_values("time")
        color = palette.get(name, "0.4")
        if name not in banded:
            ax.plot(rows["time"], rows["p50"], color=color, linewidth=1.0, label=name)
            continue
        if len(outer) == 2:
            ax.fill_between(
                rows["time"], rows[outer[0]], rows[outer[1]], color=color, alpha=0.15, linewidth=0
            )
        if len(inner) == 2:
            ax.fill_between(
                rows["time"], rows[inner[0]], rows[inner[1]], color=color, alpha=0.3, linewidth=0
            )
        ax.plot(rows["time"], rows["p50"], color=color, linewidth=1.4, label=name)
    if history is not None and not history.empty:
        t0, t1 = data["time"].min(), data["time"].max()
        shown = history[(history.index >= t0) & (history.index <= t1)]
        ax.plot(shown.index, shown.to_numpy(), label="recorded", **HISTORY_STYLE)
    if forecast_start is not None:
        ax.axvline(forecast_start, color="0.35", linestyle="--", linewidth=0.8)
    _plain_numbers(ax)
    ax.set_title(label or f"{variable} (median, 50% and 90% bands)")
    ax.set_xlabel(f"time ({time_units})" if time_units else "time")
    ax.set_ylabel(units or "value")
    ax.margins(x=0)
    if legend:
        ax.legend(frameon=False)
    return ax


def sensitivity_bars(
    indices: pd.DataFrame, output: str, *, measure: str = "ST", ax: Axes | None = None
) -> Axes:
    """Parameters ranked by ``measure`` for one output at one time, with confidence bars."""
    data = indices[indices["output"] == output].sort_values(measure, ascending=False)
    if ax is None:
        _, ax = plt.subplots(figsize=(A4_WIDTH, 0.35 * len(data) + 1.2))
    conf = f"{measure}_conf"
    ax.barh(
        data["parameter"],
        data[measure],
        xerr=data[conf] if conf in data else None,
        color=sns.color_palette("colorblind")[0],
        alpha=0.85,
        capsize=2,
    )
    if measure == "ST" and "S1" in data:
        ax.scatter(
            data["S1"], data["parameter"], color="black", s=12, zorder=3, label="first order (S1)"
        )
        ax.legend(frameon=False, loc="lower right")
    ax.invert_yaxis()
    ax.set_xlabel(
        {"ST": "total-order Sobol index (ST)", "mu_star": "Morris mu*"}.get(measure, measure)
    )
    t = data["time"].iloc[0] if not data.empty else ""
    ax.set_title(f"{output} at {t:g}: what drives it")
    return ax


def sensitivity_heatmap(
    indices: pd.DataFrame, output: str, *, measure: str = "ST", ax: Axes | None = None
) -> Axes:
    """Index of each parameter (rows) over time (columns) for one output."""
    data = indices[indices["output"] == output]
    table = data.pivot_table(index="parameter", columns="time", values=measure)
    table = table.loc[table.mean(axis=1).sort_values(ascending=False).index]
    if ax is None:
        _, ax = plt.subplots(figsize=(A4_WIDTH, 0.35 * len(table) + 1.5))
    sns.heatmap(table, ax=ax, cmap="viridis", vmin=0, cbar_kws={"label": measure})
    step = max(1, len(table.columns) // 10)
    ax.set_xticks(np.arange(0, len(table.columns), step) + 0.5)
    ax.set_xticklabels([f"{t:g}" for t in table.columns[::step]], rotation=0)
    ax.set_xlabel("time")
    ax.set_ylabel("")
    ax.set_title(f"{output}: {measure} over time")
    return ax
