"""The Kuzbass model: contract, conservation, extreme conditions, policy response, history."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sd
from sd.check import _integ_terms, check_model
from sd.fitstats import mape
from tests.conftest import KUZBASS

DATA = KUZBASS.parent / "data"
CONTRACT = {
    "Coal Price": "USD/t",
    "Kuzbass Coal Production": "Mt/Year",
    "Kuzbass Coal Exports": "Mt/Year",
    "Regional Budget Revenue": None,
    "Regional Budget Expenditure": None,
    "Regional Budget Balance": None,
    "GRP": None,
    "Processing Share of GRP": "Dmnl",
    "Raw Material Share of GRP": "Dmnl",
    "Environmental Damage": None,
    "CO2 Emissions": None,
    "Population": "Person",
}
LEVERS = [
    "World Demand Multiplier",
    "Energy Transition Rate",
    "Export Logistics Limit Factor",
    "Russian Coal Price Discount",
    "Exchange Rate Shock Multiplier",
    "Carbon Border Tax",
    "Share of Mining Profit Reinvested in Processing",
    "State Support for Processing",
    "Green Investment Share",
    "Coal Price Shock Multiplier",
]


@pytest.fixture(scope="module")
def model() -> sd.Model:
    return sd.load(KUZBASS)


@pytest.fixture(scope="module")
def base(model) -> pd.DataFrame:
    return sd.run(model).wide()


@pytest.fixture(scope="module")
def calibrated(model) -> pd.DataFrame:
    """The model with the calibrated values the forecasts use."""
    import tomllib

    path = KUZBASS.parent.parent / "forecasts" / "kuzbass_calibrated.toml"
    with open(path, "rb") as fh:
        params = tomllib.load(fh)["parameters"]
    return sd.run(model, params).wide()


def test_translates_without_warnings_and_runs_finite(model, base):
    assert model.translation_warnings == ()
    with warnings.catch_warnings():
        for cat in (UserWarning, SyntaxWarning, RuntimeWarning):
            warnings.simplefilter("error", cat)
        res = sd.run(model)
    assert np.isfinite(res.data["value"]).all()
    assert base.index[0] == 2000 and base.index[-1] == 2050 and len(base) == 51
    assert model.time.step <= 0.25


def test_contract_variables_and_levers(model):
    for name, units in CONTRACT.items():
        var = model.variables[name]
        assert var.units and var.comment, name
        if units:
            assert var.units == units, name
    for name in LEVERS:
        assert model.variables[name].kind == "constant", name
    assert 0 < model.defaults["World Demand Multiplier"] == 1


def test_every_stock_equals_initial_plus_integrated_flows(model):
    res = sd.run(model, time=sd.TimeSettings(saveper=model.time.step)).wide()
    text = KUZBASS.read_text(encoding="utf-8")
    entries = {e.name: e for e in sd.mdl.entries(text)}
    dt = model.time.step
    checked = 0
    for stock in model.of_kind("stock"):
        terms = _integ_terms(entries[stock.name].equation)
        names = {sd.mdl.normalize(n): n for n in res.columns}
        if not terms or any(t not in names for t in terms):
            continue
        net = sum(sign * res[names[t]].to_numpy() for t, sign in terms.items())
        integrated = res[stock.name].iloc[0] + np.concatenate([[0], np.cumsum(net[:-1] * dt)])
        scale = np.abs(res[stock.name]).max() or 1.0
        np.testing.assert_allclose(res[stock.name], integrated, atol=1e-9 * scale, rtol=0)
        checked += 1
    assert checked >= 10  # stocks whose rate is a sum of flow variables


def _at(frame: pd.DataFrame, year: float, name: str) -> float:
    return float(frame.loc[year, name])


@pytest.mark.parametrize("lever", ["World Demand Multiplier", "Coal Price Shock Multiplier"])
def test_price_or_demand_near_zero(model, base, lever):
    low = sd.run(model, {lever: 0.01}).wide()
    for name in ("Kuzbass Coal Production", "Mining Profit Tax Revenue", "Regional Budget Revenue"):
        assert _at(low, 2030, name) < _at(base, 2030, name), name
    assert _at(low, 2030, "Mining Profit Tax Revenue") < 0.5 * _at(
        base, 2030, "Mining Profit Tax Revenue"
    )
    _no_negative_stocks(model, low)


def test_tenfold_price_stays_finite(model):
    high = sd.run(model, {"Coal Price Shock Multiplier": 10}).wide()
    assert np.isfinite(high.to_numpy()).all()
    _no_negative_stocks(model, high)


def _no_negative_stocks(model, frame):
    for stock in model.of_kind("stock"):
        lower = stock.limits[0] if stock.limits else None
        if lower is not None and lower >= 0:
            assert frame[stock.name].min() >= lower - 1e-9, stock.name


def test_neo_industrialization_raises_processing_share(model, base):
    policy = sd.run(
        model,
        {
            "Share of Mining Profit Reinvested in Processing": 0.3,
            "State Support for Processing": 20,
        },
    ).wide()
    assert (
        _at(policy, 2050, "Processing Share of GRP")
        > _at(base, 2050, "Processing Share of GRP") + 0.02
    )
    assert (
        0 <= policy["Processing Share of GRP"].min()
        and policy["Processing Share of GRP"].max() <= 1
    )


def _recorded(file: str, column: str, scale: float = 1.0) -> pd.Series:
    table = pd.read_csv(DATA / file)
    table = table[(table["year"] >= 2000) & (table["year"] <= 2024)][["year", column]].dropna()
    return pd.Series(table[column].to_numpy() * scale, index=table["year"].astype(float))


@pytest.mark.parametrize(
    ("variable", "file", "column", "scale", "max_mape"),
    [
        (
            "Coal Price",
            "wb_pinksheet_coal_annual_from_monthly.csv",
            "coal_price_australia_newcastle_usd_per_t",
            1.0,
            0.35,
        ),
        (
            "Russia Coal Production",
            "ei_coal_production_mt.csv",
            "coal_production_russia_mt",
            1.0,
            0.10,
        ),
        ("Population", "kemerovo_population.csv", "population_kemerovo_persons", 1.0, 0.05),
        ("CO2 Emissions", "kemerovo_co2_xiao2021.csv", "co2_emissions_kemerovo_t", 1e-6, 0.10),
    ],
)
def test_history_is_in_range_of_the_records(
    base, calibrated, variable, file, column, scale, max_mape
):
    rec = _recorded(file, column, scale)
    fitted = calibrated[variable].reindex(rec.index)
    assert mape(fitted.to_numpy(), rec.to_numpy()) < max_mape
    for run in (base, calibrated):  # the model's own values stay in the range of the records
        sim = run[variable].reindex(rec.index)
        assert sim.min() > 0.5 * rec.min() and sim.max() < 2 * rec.max()


def test_model_passes_sd_check():
    findings = check_model(KUZBASS)
    assert [str(f) for f in findings if f.severity != "info"] == []
