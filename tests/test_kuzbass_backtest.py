"""The Kuzbass backtests are ex ante: a cut-off's fit and forecast use only what was known then.

On a copy of the Kuzbass model whose data files, and the targets' file, are changed after the
cut-off (every recorded driver and every target value after it tripled), a backtest must find
the same constants and forecast the same path; a change of one record before the cut-off must
move the constants (so that the test can fail).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sd
from sd.analysis.backtest import at_cutoff, backtest
from sd.analysis.calibration import CalibrationSpec, Objective, check_spec, load_spec
from tests.conftest import KUZBASS

pytestmark = pytest.mark.slow

SPEC = KUZBASS.parent.parent / "forecasts" / "kuzbass_backtest_calibration.toml"
CUT = 2012
#: a few parameters that move output, GRP, the budget and population, to keep the test short
FREE = (
    "Capacity Growth Multiplier",
    "Output Adjustment Time",
    "Regional Services Multiplier",
    "Other Own Revenue Share of GRP",
    "Reference Net Migration Rate",
)
SHOWN = ("Kuzbass Coal Production", "GRP", "Regional Budget Revenue", "Population")


def _altered_copy(src: Path, dest: Path, after: float, factor: float) -> None:
    """Copy a year-indexed CSV with every value of a year after ``after`` times ``factor``."""
    table = pd.read_csv(src)
    later = table["year"] > after
    numbers = [c for c in table.columns if c != "year" and pd.api.types.is_numeric_dtype(table[c])]
    table.loc[later, numbers] = table.loc[later, numbers] * factor
    table.to_csv(dest, index=False)


def _spec(model: sd.Model, model_path: Path, series_file: Path) -> CalibrationSpec:
    """The shipped backtest spec on ``model_path``, its targets read from ``series_file``."""
    spec = load_spec(SPEC)
    params = tuple(
        p if p.name in FREE or p.fixed is not None else replace(p, fixed=model.defaults[p.name])
        for p in spec.parameters
    )
    targets = tuple(
        replace(t, series=replace(t.series, file=series_file))
        if t.series.file.name == series_file.name
        else t
        for t in spec.targets
    )
    spec = replace(spec, model_path=model_path, parameters=params, targets=targets, max_runs=120)
    return check_spec(spec, model)


def _forecast(spec: CalibrationSpec, model: sd.Model, values) -> pd.DataFrame:
    cut = at_cutoff(spec, CUT)
    x = np.array([values[p.name] for p in cut.free])
    sim = Objective(cut, model).simulate(x, until=2025)
    return pd.DataFrame({v: sim.series(v) for v in SHOWN})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Backtests at 2012 on the shipped data, on data changed after 2012, and before it."""
    root = tmp_path_factory.mktemp("kuzbass_backtest")
    series = KUZBASS.parent / "data" / "kemerovo_regional_series.csv"
    out = {}
    for case in ("shipped", "later", "earlier"):
        folder = root / case
        shutil.copytree(KUZBASS.parent / "data", folder / "data")
        shutil.copy(KUZBASS, folder / KUZBASS.name)
        targets = folder / "targets" / series.name
        targets.parent.mkdir()
        shutil.copy(series, targets)
        if case == "later":  # every file the model or the targets read, after the cut-off
            for csv in sorted((folder / "data").glob("*.csv")):
                if "year" in pd.read_csv(csv, nrows=0).columns:
                    _altered_copy(csv, csv, CUT, 3.0)
            _altered_copy(series, targets, CUT, 3.0)
        elif case == "earlier":  # one recorded GRP value inside the fit
            table = pd.read_csv(series)
            table.loc[table["year"] == 2008, "kemerovo_grp_current"] *= 1.3
            table.to_csv(targets, index=False)
        model = sd.load(folder / KUZBASS.name)
        spec = _spec(model, folder / KUZBASS.name, targets)
        result = backtest(spec, model, cutoffs=[CUT], starts=0)
        out[case] = (spec, model, result)
    return out


def test_data_after_the_cutoff_changes_neither_the_fit_nor_the_forecast(runs):
    spec, model, shipped = runs["shipped"]
    spec_l, model_l, later = runs["later"]
    fit, fit_l = shipped.calibrations[CUT], later.calibrations[CUT]
    assert fit.runs > 20 and fit.converged or fit.runs >= 100  # a real fit took place
    assert dict(fit.values) == dict(fit_l.values)  # bit for bit
    assert fit.objective == fit_l.objective
    # the forecast after the cut-off: drivers frozen at 2012, so tripled records do not reach it
    pd.testing.assert_frame_equal(
        _forecast(spec, model, fit.values), _forecast(spec_l, model_l, fit_l.values)
    )
    # ... while the altered held-out records were read: the out-of-sample errors differ,
    # the in-sample ones do not
    a = shipped.table.set_index(["series", "method"])
    b = later.table.set_index(["series", "method"])
    key = ("Kuzbass Coal Production", "model")
    assert a.loc[key, "mape_in_sample"] == b.loc[key, "mape_in_sample"]
    assert b.loc[key, "mape"] != pytest.approx(a.loc[key, "mape"], rel=0.05)


def test_data_before_the_cutoff_moves_the_fit(runs):
    fit = runs["shipped"][2].calibrations[CUT]
    fit_e = runs["earlier"][2].calibrations[CUT]
    moved = [abs(fit.values[p] - fit_e.values[p]) / abs(fit.values[p]) for p in FREE]
    assert max(moved) > 1e-3


def test_the_freeze_list_sets_the_drivers_years_to_the_cutoff(runs):
    spec = runs["shipped"][0]
    cut = at_cutoff(spec, CUT)
    assert {cut.inputs[name] for name in spec.freeze} == {float(CUT)}
    frozen = {"Last Price Year", "Last Recorded Year", "Last Demography Data Year"}
    assert set(spec.freeze) == frozen
    # the exchange rate after the cut-off stays at its 2012 record (no shock in the spec)
    x = np.array([runs["shipped"][2].calibrations[CUT].values[p.name] for p in cut.free])
    sim = sd.run(
        runs["shipped"][1],
        Objective(cut, runs["shipped"][1]).params(x),
        time=sd.TimeSettings(final=2025),
        variables=["Exchange Rate"],
    ).series("Exchange Rate")
    rate = pd.read_csv(KUZBASS.parent / "data" / "wdi_rub_per_usd_annual.csv").set_index("year")
    assert sim.loc[2013:].to_numpy() == pytest.approx(rate.iloc[:, 0].loc[CUT], rel=1e-12)


def test_backtest_fits_what_the_main_calibration_fits():
    """The backtest spec takes the main calibration's parameters, bounds, fixed values and
    targets through `[calibration] base` (only the scored-only world price is added)."""
    main = load_spec(SPEC.with_name("kuzbass_calibration.toml"))
    bt = load_spec(SPEC)
    assert bt.parameters == main.parameters
    scored = {t.variable: t for t in bt.targets if t.weight > 0}
    assert scored == {t.variable: t for t in main.targets}
    assert {t.variable for t in bt.targets if t.weight == 0} == {"Coal Price"}
