"""Scenario plots with seaborn: one look for every figure of a study.

Plot functions draw on the Axes they are given (or a new one) and return it;
nothing here calls ``plt.show()`` or changes global settings (use :func:`theme`).
Sizes are for an A4 report: :data:`A4_WIDTH` is the text width of a page with
2.5 cm margins.
"""

from __future__ import annotations

import contextlib
import textwrap
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


#: Twelve scenario colours, as far apart as a greedy max-min search over seaborn's and
#: ColorBrewer's palettes (and, for the last two, an sRGB grid) could place them
#: (lightness 30-78, chroma >= 25, so none is grey or near the black of recorded
#: history): every pair differs by CIEDE2000 >= 22.9 (tests/test_figures.py). The base
#: scenario takes the first (blue).
SCENARIO_COLOURS = (
    "#0173b2",  # blue
    "#ff7f00",  # orange
    "#12711c",  # dark green
    "#e8000b",  # red
    "#6a3d9a",  # purple
    "#8c613c",  # brown
    "#e7298a",  # magenta
    "#bcbd22",  # olive
    "#66c2a5",  # teal
    "#ff9896",  # salmon
    "#b9b9ff",  # lavender
    "#17d1ff",  # sky blue
)


def scenario_palette(scenarios: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One fixed colour per scenario, by its position in the study (base first).

    Up to twelve scenarios get :data:`SCENARIO_COLOURS`; more get evenly spaced hues, which
    come closer than that (CIEDE2000 about 10 at twenty scenarios).
    """
    from matplotlib.colors import to_rgb

    if len(scenarios) <= len(SCENARIO_COLOURS):
        colors = [to_rgb(c) for c in SCENARIO_COLOURS]
    else:
        colors = sns.color_palette("husl", n_colors=len(scenarios))
    return dict(zip(scenarios, colors, strict=False))


def srgb_to_lab(rgb: Sequence[float]) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour with channels in [0, 1] (IEC 61966-2-1 and CIE 15)."""
    c = np.asarray(rgb, dtype=float)[:3]
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])  # D65 white
    d = 6 / 29
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d**2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000(rgb1: Sequence[float], rgb2: Sequence[float]) -> float:
    """The CIEDE2000 colour difference of two sRGB colours (Sharma, Wu and Dalal 2005);
    about 1 is just noticeable, above 20 two lines are told apart at a glance."""
    (l1, a1, b1), (l2, a2, b2) = srgb_to_lab(rgb1), srgb_to_lab(rgb2)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dh = 0.0 if c1p * c2p == 0 else (h2 - h1 + 180) % 360 - 180
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1 + h2
    elif abs(h1 - h2) <= 180:
        h_mean = (h1 + h2) / 2
    else:
        h_mean = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    rotation = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * rotation)) * r_c
    dl, dc = (l2 - l1) / s_l, (c2p - c1p) / s_c
    dhh = d_h / s_h
    return float(np.sqrt(dl**2 + dc**2 + dhh**2 + r_t * dc * dhh))


def with_gaps(series: pd.Series) -> pd.Series:
    """A record with NaN where years are missing, so that a line breaks at every gap.

    The record's own spacing (its smallest step) is what counts as no gap: annual data
    with 2010 and 2018 but nothing between gets a NaN at 2011, and the line stops.
    """
    s = series.dropna().sort_index()
    s = s[~s.index.duplicated()]
    if len(s) < 2:
        return s
    t = s.index.to_numpy(dtype=float)
    step = float(np.min(np.diff(t)))
    gaps = np.flatnonzero(np.diff(t) > step * 1.5)
    if not len(gaps):
        return s
    breaks = pd.Series(np.nan, index=t[gaps] + step)
    return pd.concat([s, breaks]).sort_index()


def history_overlay(
    ax: Axes, history: pd.Series | None, t0: float, t1: float, *, label: str = "recorded"
) -> None:
    """Recorded values between ``t0`` and ``t1`` as black dots joined only across
    consecutive records (never a straight line across a gap)."""
    if history is None or history.empty:
        return
    shown = with_gaps(history[(history.index >= t0) & (history.index <= t1)])
    if shown.empty:
        return
    ax.plot(shown.index.to_numpy(float), shown.to_numpy(float), label=label, **HISTORY_STYLE)


def axis_unit(units: str) -> str:
    """Units as an axis label: Vensim's ``Dmnl`` (dimensionless) is left unsaid."""
    return "" if units.strip().lower() in {"dmnl", "dimensionless", "1"} else units


def label_axes(ax: Axes, title: str, axis: str, *, width: int = 24) -> None:
    """A panel's title and y label from a name and units text (``Labels.axis``): units
    with a long price basis keep the units on the axis and put the basis under the title,
    where it does not run into the next panel."""
    axis = axis_unit(axis)
    unit, _, basis = axis.partition(", ")
    if len(axis) > width and basis:
        ax.set_title(f"{title}\n{basis}", fontsize=8)
        ax.set_ylabel(unit)
    else:
        ax.set_title(title)
        ax.set_ylabel(axis)


def time_label(time_units: str) -> str:
    """The time axis label: ``Year`` for a model in years, never ``time (Year)``."""
    u = time_units.strip().lower()
    if u in {"year", "years", "yr"}:
        return "Year"
    return time_units.strip().capitalize() or ""


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
    history_overlay(ax, history, data["time"].min(), data["time"].max())
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
    ax.set_xlabel(time_label(time_units))
    ax.set_ylabel(axis_unit(units))
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
    history_overlay(ax, history, data["time"].min(), data["time"].max())
    if forecast_start is not None:
        ax.axvline(forecast_start, color="0.35", linestyle="--", linewidth=0.8)
    _plain_numbers(ax)
    ax.set_title(label or f"{variable} (median, 50% and 90% bands)")
    ax.set_xlabel(time_label(time_units))
    ax.set_ylabel(axis_unit(units))
    ax.margins(x=0)
    if legend:  # under the axes, never over the bands
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles,
            labels,
            frameon=False,
            fontsize=7,
            ncol=min(3, max(len(labels), 1)),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
        )
    return ax


#: the words of :func:`fan_panels` (the report passes its own language's)
FAN_WORDS = {
    "median": "median",
    "band50": "50% band",
    "band90": "90% band",
    "base_median": "{base}: median",
    "recorded": "recorded",
}


def fan_panels(
    bands: pd.DataFrame,
    variable: str,
    *,
    scenarios: Sequence[str],
    palette: Mapping[str, tuple[float, float, float]],
    base: str | None = None,
    history: pd.Series | None = None,
    forecast_start: float | None = None,
    units: str = "",
    title: str | None = None,
    words: Mapping[str, str] | None = None,
    ncols: int | None = None,
) -> Figure:
    """One panel per scenario, each with its own median and 50% / 90% bands in the
    scenario's colour, the base scenario's median as a grey dashed reference, the
    recorded history, and one legend under all panels (none over the bands).

    Panels share both axes, so band widths compare across scenarios.
    """
    words = {**FAN_WORDS, **(words or {})}
    scenarios = [s for s in scenarios if s in set(bands["scenario"].astype(str))]
    ncols = ncols or (3 if len(scenarios) > 4 else 2)
    fig, axes = panels(len(scenarios), ncols=ncols, height=1.9, sharex=True, sharey=True)
    data = bands[bands["variable"] == variable]
    base_rows = data[data["scenario"].astype(str) == base].sort_values("time") if base else None
    for ax, name in zip(axes, scenarios, strict=True):
        if base_rows is not None and not base_rows.empty and name != base:
            ax.plot(
                base_rows["time"],
                base_rows["p50"],
                color="0.45",
                linewidth=0.9,
                linestyle="--",
                zorder=2,
            )
        fan_chart(
            bands,
            variable,
            ax=ax,
            history=history,
            forecast_start=forecast_start,
            palette=palette,
            units="",
            label=name,
            legend=False,
            scenarios=[name],
        )
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_title(textwrap.fill(name, 34), fontsize=8)
    unit = axis_unit(units)
    title = "\n".join(t for t in (title, unit) if t) or None  # one unit line, not per row
    from matplotlib.patches import Patch

    grey = "0.35"
    handles = [
        plt.Line2D([], [], color=grey, linewidth=1.4),
        Patch(color=grey, alpha=0.45, linewidth=0),
        Patch(color=grey, alpha=0.18, linewidth=0),
    ]
    labels = [words["median"], words["band50"], words["band90"]]
    if base_rows is not None and not base_rows.empty and len(scenarios) > 1:
        handles.append(plt.Line2D([], [], color="0.45", linewidth=0.9, linestyle="--"))
        labels.append(words["base_median"].format(base=base))
    if history is not None and not history.empty:
        handles.append(plt.Line2D([], [], **{**HISTORY_STYLE, "zorder": None}))
        labels.append(words["recorded"])
    shared_legend(fig, handles, labels, title=title)
    return fig


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
