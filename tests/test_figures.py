"""Figures that hold up: distinct scenario colours, history lines that break at gaps, fan
charts conditioned on history with their legend outside the panels, axis labels with units
and price basis from the labels file, and shock descriptions with the measured effect."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import sd  # noqa: E402
from sd.report import plots  # noqa: E402
from tests.conftest import KUZBASS  # noqa: E402

FORECASTS = KUZBASS.parent.parent / "forecasts"
STUDIES = Path(__file__).parent / "studies"


# -- palette -----------------------------------------------------------------


def test_twelve_scenario_colours_are_far_apart():
    names = [f"s{i}" for i in range(12)]
    palette = plots.scenario_palette(names)
    distances = [
        plots.ciede2000(palette[a], palette[b]) for a, b in itertools.combinations(names, 2)
    ]
    assert min(distances) >= 22.9  # CIEDE2000: 20 and more is told apart at a glance
    # and none is close to the black of recorded history
    assert min(plots.ciede2000(c, (0, 0, 0)) for c in palette.values()) >= 20


def test_ciede2000_equals_an_independent_implementation():
    from coloraide import Color

    colours = [plots.scenario_palette([f"s{i}" for i in range(10)])[f"s{i}"] for i in range(10)]
    colours += [(0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (0.5, 0.5, 0.5), (0.2, 0.9, 0.1)]
    for a, b in itertools.combinations(colours, 2):
        ours = plots.ciede2000(a, b)
        theirs = Color("srgb", list(a)).delta_e(Color("srgb", list(b)), method="2000")
        # coloraide derives the D65 white from its chromaticity: differences of 0.003
        assert ours == pytest.approx(theirs, abs=0.01)
    # seaborn's colorblind palette, the old default, has a near-identical pair
    import seaborn as sns

    old = sns.color_palette("colorblind", 10)
    assert min(plots.ciede2000(a, b) for a, b in itertools.combinations(old, 2)) < 12


# -- history overlays --------------------------------------------------------


def test_history_line_breaks_at_every_gap():
    record = pd.Series(
        [7.42, 57.62, 82.62, 299.8, 227.6, 200.1], index=[2000.0, 2009, 2010, 2022, 2024, 2025]
    )
    shown = plots.with_gaps(record)
    finite = shown.dropna()
    pd.testing.assert_series_equal(finite, record, check_names=False)
    # a NaN right after each record followed by a gap, none inside runs of years
    assert list(shown[shown.isna()].index) == [2001.0, 2011.0, 2023.0]
    fig, ax = plt.subplots()
    plots.history_overlay(ax, record, 2000, 2050)
    (line,) = ax.get_lines()
    x, y = line.get_xdata(), line.get_ydata()
    # no segment joins two records more than a year apart
    for i in range(len(x) - 1):
        if np.isfinite(y[i]) and np.isfinite(y[i + 1]):
            assert x[i + 1] - x[i] == 1
    plt.close(fig)


# -- the Kuzbass fan charts --------------------------------------------------


@pytest.fixture(scope="module")
def kuzbass():
    from sd.study.study import check_study, load_study

    model = sd.load(KUZBASS)
    return model, check_study(load_study(FORECASTS / "kuzbass.toml"), model)


@pytest.fixture(scope="module")
def bands(kuzbass):
    """Percentiles of 100 runs per scenario of the study's own uncertainty spec."""
    from sd.analysis.ensemble import ensemble, percentiles
    from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty

    model, study = kuzbass
    spec = check_uncertainty(load_uncertainty(study.uncertainty.file), model)
    sample = draw(spec, 100, study.uncertainty.seed, end=2050)
    return percentiles(ensemble(study, model, sample, variables=list(study.variables)))


def _relative_width(bands, variable, year):
    row = bands[
        (bands["variable"] == variable)
        & (bands["scenario"] == "baseline")
        & (bands["time"] == year)
    ].iloc[0]
    return (row["p95"] - row["p5"]) / abs(row["p50"])


def test_bands_are_narrow_in_the_recorded_past(kuzbass, bands):
    """The uncertain inputs act only after the last record, so the runs agree with the
    past and the band opens at the forecast start."""
    _, study = kuzbass
    for var in study.variables:
        past, future = _relative_width(bands, var, 2020.0), _relative_width(bands, var, 2050.0)
        assert future > 0.1, var  # a real band in 2050 (16% of the median for population)
        assert past < 0.01 * future, (var, past, future)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_fan_chart_text_legend_and_history(kuzbass, bands, lang):
    from sd.report.labels import load_labels
    from sd.report.text import TEXT

    model, study = kuzbass
    labels = load_labels(model, lang)
    t = TEXT[lang]
    display = {s: sc.label(lang) for s, sc in study.scenarios.items()}
    shown = bands.assign(scenario=bands["scenario"].map(display))
    palette = plots.scenario_palette(list(display.values()))
    var = "Regional Budget Revenue"
    words = {k: t[f"fan_{k}"] for k in ("median", "band50", "band90", "base_median")}
    words["recorded"] = t["recorded"]
    with plots.theme():
        fig = plots.fan_panels(
            shown,
            var,
            scenarios=list(display.values()),
            palette=palette,
            base=display["baseline"],
            history=study.history[var].load(),
            forecast_start=study.forecast_start,
            units=labels.axis(var),
            title=labels.name(var),
            words=words,
        )
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [
        "\n".join(__import__("textwrap").wrap(n, 34)) for n in display.values()
    ]  # one labelled panel per scenario
    title = fig._suptitle.get_text()
    basis = {
        "en": "current prices to 2023, 2023 prices after",
        "ru": "в текущих ценах до 2023 г., далее в ценах 2023 г.",
    }[lang]
    assert labels.name(var) in title and basis in title
    texts = [ax.get_xlabel() for ax in axes] + [ax.get_ylabel() for ax in axes] + [title]
    assert not any("Dmnl" in x or "time (" in x for x in texts)
    # the legend is under every panel, covering none
    (legend,) = fig.legends
    box = legend.get_window_extent()
    assert all(box.y1 <= ax.get_window_extent().y0 for ax in axes)
    assert [x.get_text() for x in legend.get_texts()][-1] == t["recorded"]
    # each panel shows the record, broken at its gaps (2000 alone, then 2009-2010, ...)
    for ax in axes:
        (rec,) = [ln for ln in ax.get_lines() if ln.get_label() == "recorded"]
        x, y = rec.get_xdata(), rec.get_ydata()
        assert 2005.0 not in x[np.isfinite(y)]
        joined = [
            (x[i], x[i + 1])
            for i in range(len(x) - 1)
            if np.isfinite(y[i]) and np.isfinite(y[i + 1])
        ]
        assert all(b - a == 1 for a, b in joined) and (2009.0, 2010.0) in joined
    plt.close(fig)


def test_scenario_plot_axes_have_no_raw_units(kuzbass):
    model, study = kuzbass
    from sd.analysis.forecast import run_study

    small = type(study)(
        **{**study.__dict__, "scenarios": {"baseline": study.scenarios["baseline"]}}
    )
    results = run_study(small, model)
    fig, ax = plt.subplots()
    plots.scenario_plot(results, "Processing Share of GRP", ax=ax, forecast_start=2026)
    assert results.units["Processing Share of GRP"] == "Dmnl"
    assert ax.get_ylabel() == "" and ax.get_xlabel() == "Year"
    plt.close(fig)


def test_money_labels_state_their_price_basis(kuzbass):
    from sd.report.labels import load_labels

    model, _ = kuzbass
    for lang, words in (("en", ("prices", "inflation")), ("ru", ("ценах", "инфляции"))):
        labels = load_labels(model, lang)
        for var in labels.names:
            units = model.variables[var].units
            if "bnRUB" in units or units.startswith(("USD/t", "RUB/(")):  # money, not rates
                assert any(w in labels.axis(var) for w in words), (lang, var, labels.axis(var))
    # units stay short (table headers); the basis follows them on axes
    labels = load_labels(model, "en")
    assert labels.unit("GRP") == "bn RUB/year"
    assert labels.axis("GRP") == "bn RUB/year, current prices to 2023, 2023 prices after"
    assert labels.axis("Processing Share of GRP") == "share"


# -- shock descriptions ------------------------------------------------------


@pytest.fixture(scope="module")
def shock_study():
    from sd.analysis.forecast import run_study
    from sd.study.study import check_study, load_study

    model = sd.load(Path(__file__).parent / "models" / "shock_effect.mdl")
    study = check_study(load_study(STUDIES / "shock_effect.toml"), model)
    return model, study, run_study(study, model)


def test_shock_effect_is_measured_not_read_from_the_parameter(shock_study):
    from sd.report.builder import shock_effect

    _, study, results = shock_study
    (shock,) = study.scenarios["crash"].shocks
    bottom = shock_effect(study, results, "crash", shock)
    assert bottom["variable"] == "Price" and bottom["year"] == 4.0  # start 2 + duration 2
    assert bottom["change"] == pytest.approx(0.55**0.5 - 1, rel=1e-12)  # -25.8%, not -45%
    later = shock_effect(study, results, "crash", shock, year=10)
    multiplier = 1 - 0.45 * 2 ** (-(10 - 4) / 2)  # the gap halves every 2 years
    assert later["change"] == pytest.approx(multiplier**0.5 - 1, rel=1e-12)
    assert shock_effect(study, results, "baseline", shock) is None


@pytest.mark.parametrize(
    "lang, expected",
    [
        (
            "en",
            [
                "multiplier falling linearly from 1 in 2 to 0.55 in 4",
                "4: 74.16",
                "(-26%)",
                "10: 97.15",
                "(-3%)",
                "against Baseline",
            ],
        ),
        ("ru", ["до 0,55 в 4 г.", "4 г.: 74,16", "(\u221226%)", "(\u22123%)", "«Базовый»"]),
    ],
)
def test_shock_text_states_parameter_and_effect(shock_study, lang, expected):
    from sd.report.builder import _shock_text
    from sd.report.labels import load_labels

    model, study, results = shock_study
    (shock,) = study.scenarios["crash"].shocks
    text = _shock_text(shock, load_labels(model, lang), study, results, "crash")
    for part in expected:
        assert part in text, (part, text)
    assert "45%" not in text


def test_effects_table_names_model_variables(tmp_path):
    from sd.errors import SDError
    from sd.study.study import check_study, load_study

    bad = (
        (STUDIES / "shock_effect.toml")
        .read_text()
        .replace('"Price Shock Multiplier" = "Price"\n', '"Price Shock Multiplier" = "Prise"\n')
    )
    path = tmp_path / "bad.toml"
    path.write_text(bad.replace("../models/", str(Path(__file__).parent / "models") + "/"))
    model = sd.load(Path(__file__).parent / "models" / "shock_effect.mdl")
    with pytest.raises(SDError, match=r"\[effects\].*Prise"):
        check_study(load_study(path), model)


def test_long_price_basis_goes_under_the_panel_title(kuzbass):
    from sd.report.labels import load_labels

    model, _ = kuzbass
    labels = load_labels(model, "ru")
    fig, ax = plt.subplots()
    plots.label_axes(ax, labels.name("GRP"), labels.axis("GRP"))
    assert ax.get_ylabel() == "млрд руб./год"
    assert ax.get_title() == (
        "Валовой региональный продукт\nв текущих ценах до 2023 г., далее в ценах 2023 г."
    )
    plots.label_axes(ax, labels.name("Population"), labels.axis("Population"))
    assert ax.get_ylabel() == "чел." and ax.get_title() == "Численность населения"
    plt.close(fig)
