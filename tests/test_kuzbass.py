"""The Kuzbass model (second edition): contract, conservation, extreme conditions, the region's
dependence on coal, policy response, one-year jumps and the fit to the regional records."""

from __future__ import annotations

import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest

import sd
from sd.analysis.fitstats import mape
from sd.check.checks import _integ_terms, check_model
from tests.conftest import KUZBASS

DATA = KUZBASS.parent / "data"
FORECASTS = KUZBASS.parent.parent / "forecasts"
CONTRACT = {
    "Coal Price": "USD/t",
    "Kuzbass Coal Production": "Mt/Year",
    "Kuzbass Coal Exports": "Mt/Year",
    "Regional Budget Revenue": "bnRUB/Year",
    "Regional Budget Expenditure": "bnRUB/Year",
    "Regional Budget Balance": "bnRUB/Year",
    "GRP": "bnRUB/Year",
    "Processing Share of GRP": "Dmnl",
    "Raw Material Share of GRP": "Dmnl",
    "Environmental Damage": "bnRUB/Year",
    "CO2 Emissions": "MtCO2/Year",
    "Population": "Person",
    "Net Migration": "Person/Year",
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
    "Sanctions Relief",
    "Research Centre Spending",
    "Additional Eastern Rail Capacity",
    "Interest Subsidy Rate",
    "Loan Guarantee Share",
]
#: measured MAPEs of this edition's calibrated baseline (rounded up); the tests keep them
KUZ_MAX, GRP_MAX, POP_MAX, CO2_MAX, EMI_MAX = 0.075, 0.10, 0.024, 0.06, 0.06
PRICE_FREE_MAX = 0.25  # the model's own world price, Recorded Price Switch 0
#: a lasting collapse of the world price from 2026 (95 % below the market's own price)
COLLAPSE = {
    "Coal Price Shock Multiplier": pd.Series([1.0, 1.0, 0.05, 0.05], [2000, 2025.9, 2026, 2050])
}


def _calibrated_parameters() -> dict[str, float]:
    params: dict[str, float] = {}
    for name in ("kuzbass_calibrated.toml", "kuzbass_market_calibrated.toml"):
        with open(FORECASTS / name, "rb") as fh:
            params.update(tomllib.load(fh)["parameters"])
    return params


@pytest.fixture(scope="module")
def model() -> sd.Model:
    return sd.load(KUZBASS)


@pytest.fixture(scope="module")
def params() -> dict[str, float]:
    return _calibrated_parameters()


@pytest.fixture(scope="module")
def base(model, params) -> pd.DataFrame:
    """The calibrated baseline the studies use."""
    return sd.run(model, params).wide()


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    """Recorded and derived regional series (plans and targets excluded)."""
    return pd.read_csv(DATA / "kemerovo_regional_series.csv", index_col="year")


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
        assert var.units.split("[")[0].strip() == units, name
    for name in LEVERS:
        assert model.variables[name].kind == "constant", name
    assert model.defaults["World Demand Multiplier"] == 1
    assert model.defaults["Sanctions Relief"] == 0


def test_every_stock_equals_initial_plus_integrated_flows(model):
    res = sd.run(model, time=sd.TimeSettings(saveper=model.time.step)).wide()
    text = KUZBASS.read_text(encoding="utf-8")
    entries = {e.name: e for e in sd.model.mdl.entries(text)}
    dt = model.time.step
    checked = 0
    for stock in model.of_kind("stock"):
        terms = _integ_terms(entries[stock.name].equation)
        names = {sd.model.mdl.normalize(n): n for n in res.columns}
        if not terms or any(t not in names for t in terms):
            continue
        net = sum(sign * res[names[t]].to_numpy() for t, sign in terms.items())
        integrated = res[stock.name].iloc[0] + np.concatenate([[0], np.cumsum(net[:-1] * dt)])
        scale = np.abs(res[stock.name]).max() or 1.0
        np.testing.assert_allclose(res[stock.name], integrated, atol=1e-9 * scale, rtol=0)
        checked += 1
    assert checked >= 20  # stocks whose rate is a sum of flow variables


def test_budget_identities(model, base):
    """Revenue is the sum of its sources, the balance is revenue minus spending, and the debt
    accumulates the deficits."""
    taxes = base[
        [
            "Mining Profit Tax Revenue",
            "Other Profit Tax Revenue",
            "Personal Income Tax Revenue",
            "Property Tax Revenue",
            "MET Revenue",
        ]
    ].sum(axis=1)
    # the oblast kept a share of today's division of taxes that rises linearly from its 2000
    # value to 1 in the completion year, and all of it after
    start, end = model.time.initial, model.defaults["Tax Assignment Completion Year"]
    first = base.loc[start, "Oblast Tax Revenue"] / taxes.loc[start]
    done = base.index >= end
    np.testing.assert_allclose(base.loc[done, "Oblast Tax Revenue"], taxes[done], rtol=1e-12)
    share = base["Oblast Tax Revenue"] / taxes
    np.testing.assert_allclose(
        share.loc[start:end],
        first + (1 - first) * (share.loc[start:end].index - start) / (end - start),
        rtol=1e-12,
    )
    own = base["Oblast Tax Revenue"] + base["Other Own Revenue"]
    np.testing.assert_allclose(base["Own Budget Revenue"], own, rtol=1e-12)
    np.testing.assert_allclose(
        base["Regional Budget Revenue"], own + base["Federal Transfers"], rtol=1e-12
    )
    np.testing.assert_allclose(
        base["Regional Budget Balance"],
        base["Regional Budget Revenue"] - base["Regional Budget Expenditure"],
        rtol=1e-12,
    )
    grp = base[["Mining Value Added", "Processing Value Added", "Services Value Added"]].sum(axis=1)
    np.testing.assert_allclose(base["GRP"], grp, rtol=1e-12)


def _at(frame: pd.DataFrame, year: float, name: str) -> float:
    return float(frame.loc[year, name])


def _no_negative_stocks(model, frame):
    for stock in model.of_kind("stock"):
        lower = stock.limits[0] if stock.limits else None
        if lower is not None and lower >= 0:
            assert frame[stock.name].min() >= lower - 1e-9, stock.name
    for name in (
        "Kuzbass Mining Capacity",
        "Population",
        "Disturbed Land",
        "Eastern Rail Capacity",
    ):
        assert frame[name].min() > 0, name


@pytest.mark.parametrize("lever", ["World Demand Multiplier", "Coal Price Shock Multiplier"])
def test_price_or_demand_near_zero(model, params, base, lever):
    path = pd.Series([1.0, 1.0, 0.01, 0.01], [2000, 2025.9, 2026, 2050])  # from 2026
    low = sd.run(model, {**params, lever: path}).wide()
    for name in ("Kuzbass Coal Production", "Kuzbass Coal Revenue", "Regional Budget Revenue"):
        assert _at(low, 2035, name) < _at(base, 2035, name), name
    assert _at(low, 2035, "Kuzbass Coal Exports") < 0.05 * _at(base, 2035, "Kuzbass Coal Exports")
    _no_negative_stocks(model, low)


def test_zero_price_leaves_no_exports_and_no_coal_profit_tax(model, params, base):
    """Extreme condition: a world price of zero from 2026 leaves nothing to export (netback 0)
    and, once the carried-forward losses are no help, no coal profit tax."""
    zero = sd.run(
        model,
        {**params, "Coal Price Shock Multiplier": COLLAPSE["Coal Price Shock Multiplier"] * 0},
    ).wide()
    after = zero.loc[2030:]
    assert after["Kuzbass Coal Exports"].max() < 1e-6
    assert after["Kuzbass Export Netback"].max() < 1e-6
    # history is untouched: the recorded price drives it
    pd.testing.assert_series_equal(zero.loc[:2025, "GRP"], base.loc[:2025, "GRP"])


def test_tenfold_price_stays_finite(model, params):
    high = sd.run(model, {**params, "Coal Price Shock Multiplier": 10}).wide()
    assert np.isfinite(high.to_numpy()).all()
    _no_negative_stocks(model, high)


def test_lasting_collapse_cuts_budget_and_grp_by_coal_weight(model, params, base):
    """A lasting 95 % price collapse from 2026 cuts own (tax and non-tax) revenue of the oblast
    by about coal's recorded weight: coal gave about 31 % of oblast tax revenue in 2023 and 13 %
    in 2025 (issue 14; not in the data files), so by 2035 the cut lies between 13 % and 1.5 times
    31 %. GRP falls by at least a third of coal's share of GRP in 2025 and at most all of it
    (domestic sales continue at domestic prices). Equalisation transfers cushion the budget."""
    crash = sd.run(model, {**params, **COLLAPSE}).wide()
    y = 2035
    cut = 1 - crash.loc[y, "Own Budget Revenue"] / base.loc[y, "Own Budget Revenue"]
    assert 0.13 <= cut <= 1.5 * 0.31, cut
    raw = base.loc[2025, "Raw Material Share of GRP"]
    grp_cut = 1 - crash.loc[y, "GRP"] / base.loc[y, "GRP"]
    assert raw / 3 <= grp_cut <= raw, (grp_cut, raw)
    assert crash.loc[y, "Kuzbass Coal Exports"] < 0.05 * base.loc[y, "Kuzbass Coal Exports"]
    total_cut = 1 - crash.loc[y, "Regional Budget Revenue"] / base.loc[y, "Regional Budget Revenue"]
    assert 0 < total_cut < cut
    assert crash.loc[y, "Equalisation Transfers"] > base.loc[y, "Equalisation Transfers"]


def test_neo_industrialization_raises_processing_share_after_construction(model, params, base):
    policy = {
        **params,
        "Share of Mining Profit Reinvested in Processing": pd.Series(
            [0.05, 0.05, 0.3, 0.3], [2000, 2025.9, 2026, 2050]
        ),
        "State Support for Processing": pd.Series([0, 0, 20, 20], [2000, 2025.9, 2026, 2050]),
    }
    run = sd.run(model, policy).wide()
    # the projects take Processing Construction Time (4 years) to build: little before 2028
    early = run.loc[2027, "Processing Value Added"] - base.loc[2027, "Processing Value Added"]
    late = run.loc[2040, "Processing Value Added"] - base.loc[2040, "Processing Value Added"]
    assert 0 <= early < 0.2 * late
    assert (
        _at(run, 2050, "Processing Share of GRP")
        > _at(base, 2050, "Processing Share of GRP") + 0.02
    )
    assert 0 <= run["Processing Share of GRP"].min() and run["Processing Share of GRP"].max() <= 1
    # state support is paid for, by debt or, near the Budget Code ceiling, by cutting other
    # spending: by 2035 the extra debt plus the social spending cut since 2026 exceed 50 bn RUB
    extra_debt = _at(run, 2035, "Regional Public Debt") - _at(base, 2035, "Regional Public Debt")
    social = "Social Expenditure"
    cut = (base.loc[2026:2035, social] - run.loc[2026:2035, social]).sum()
    assert extra_debt > 0 and cut > 0
    assert extra_debt + cut > 50, (extra_debt, cut)


def test_no_scenario_keeps_the_debt_above_the_budget_code_ceiling(model, study):
    """The oblast cuts spending as its debt nears one year of own revenue (the Budget Code
    ceiling, `Effect of Debt on Spending`), so no scenario of the main study exceeds it by more
    than 1 % (the cut acts on the excess within the year)."""
    from sd.study.study import compile_scenario

    for name, scenario in study.scenarios.items():
        run = sd.run(model, compile_scenario(study, scenario, model)).wide().loc[2025:]
        assert run["Debt to Own Revenue"].max() <= 1.01, name


def test_green_investment_costs_money(model, params, base):
    green = sd.run(model, {**params, "Green Investment Share": 0.02}).wide()
    assert _at(green, 2035, "CO2 Emissions") < _at(base, 2035, "CO2 Emissions")
    assert _at(green, 2035, "Stationary Emissions") < _at(base, 2035, "Stationary Emissions")
    assert _at(green, 2035, "Kuzbass Mining Profit") < _at(base, 2035, "Kuzbass Mining Profit")
    assert _at(green, 2035, "Regional Budget Expenditure") > _at(
        base, 2035, "Regional Budget Expenditure"
    )


#: the credit and insurance levers and the budget items they add (issue 14)
CREDIT_LEVERS = ("Interest Subsidy Rate", "Loan Guarantee Share")
CREDIT_COSTS = ("Interest Subsidy Expenditure", "Guarantee Fund Expenditure")
SPENDING = [
    "Social Expenditure",
    "Debt Interest",
    "Health Cost of Environmental Damage",
    "Environmental Protection Expenditure",
    "Processing Support Expenditure",
    "Budget Green Investment",
    "Research Centre Spending",
    *CREDIT_COSTS,
]


def _from_2026(value: float) -> pd.Series:
    return pd.Series([0.0, 0.0, value, value], [2000, 2025.9, 2026, 2050])


def test_neutral_credit_levers_reproduce_the_model_without_them(model, params, base, tmp_path):
    """Independent path: a copy of the model with the bank-financed investment and the two
    lever costs taken out of Processing Investment and of the budget's expenditure runs exactly
    like the model with the levers at their neutral defaults (max abs difference 0 on every
    saved variable), so the baseline and its history fits do not move."""
    import shutil

    shutil.copytree(KUZBASS.parent, tmp_path / "models")
    copy = tmp_path / "models" / KUZBASS.name
    text = copy.read_text(encoding="utf-8")
    for term in (
        " + Bank Financed Processing Investment\n",
        " + Interest Subsidy Expenditure + Guarantee Fund Expenditure\n",
    ):
        assert text.count(term) == 1, term
        text = text.replace(term, "\n")
    copy.write_text(text, encoding="utf-8")
    without = sd.run(sd.load(copy), params).wide()
    assert model.defaults["Interest Subsidy Rate"] == 0
    assert model.defaults["Loan Guarantee Share"] == 0
    common = [c for c in without.columns if c in base.columns]
    assert len(common) > 250
    diff = np.abs(base[common].to_numpy() - without[common].to_numpy())
    assert diff.max() == 0
    for name in (
        "Bank Financed Processing Investment",
        "Processing Loans Outstanding",
        *CREDIT_COSTS,
    ):
        assert (base[name] == 0).all(), name


def test_interest_subsidy_builds_after_construction_and_costs_rate_times_loans(model, params, base):
    rate = 0.03
    run = sd.run(model, {**params, "Interest Subsidy Rate": _from_2026(rate)}).wide()
    # nothing moves before the lever starts
    pd.testing.assert_frame_equal(run.loc[:2025], base.loc[:2025])
    # investment answers at once (projects start), value added only after construction
    extra_inv = run["Processing Investment"] - base["Processing Investment"]
    extra_va = run["Processing Value Added"] - base["Processing Value Added"]
    assert extra_inv.loc[2026] > 1 and (extra_inv.loc[2026:] > 0).all()
    assert extra_va.loc[2026] == 0
    assert 0 < extra_va.loc[2027] < 0.1 * extra_va.loc[2035]
    assert extra_va.loc[2050] > extra_va.loc[2035] > 0
    # the required return falls by the subsidy: lending rate + risk premium - subsidy
    np.testing.assert_allclose(
        run.loc[2030, "Required Return on Processing Projects"],
        run.loc[2030, "Real Lending Rate"] + run.loc[2030, "Processing Risk Premium"] - rate,
        rtol=1e-12,
    )
    # the budget pays exactly the rate times the loan stock, and it is in the expenditure
    after = run.loc[2026:]
    np.testing.assert_allclose(
        after["Interest Subsidy Expenditure"],
        rate * after["Processing Loans Outstanding"],
        rtol=1e-12,
    )
    assert after.loc[2035, "Interest Subsidy Expenditure"] > 0.1
    np.testing.assert_allclose(
        run["Regional Budget Expenditure"], run[SPENDING].sum(axis=1), rtol=1e-12
    )
    assert (run["Guarantee Fund Expenditure"] == 0).all()
    # the loan stock: disbursed bank-financed investment, repaid over the term (first order),
    # step by step on the Euler grid
    dt = model.time.step
    fine = sd.run(
        model,
        {**params, "Interest Subsidy Rate": _from_2026(rate)},
        time=sd.TimeSettings(saveper=dt),
    ).wide()
    loans = fine["Processing Loans Outstanding"].to_numpy()
    flow = fine["Bank Financed Processing Investment"] - loans / fine["Processing Loan Term"]
    np.testing.assert_allclose(loans[1:], loans[:-1] + dt * flow.to_numpy()[:-1], rtol=1e-12)
    assert loans[-1] > 10
    # it is paid by debt or by cuts of other spending (the debt ceiling)
    extra_debt = _at(run, 2035, "Regional Public Debt") - _at(base, 2035, "Regional Public Debt")
    assert extra_debt > 0


def test_guarantee_fund_costs_its_capitalisation_and_expected_calls(model, params, base):
    share = 0.5
    run = sd.run(model, {**params, "Loan Guarantee Share": _from_2026(share)}).wide()
    after = run.loc[2026:]
    guaranteed = share * after["Processing Loans Outstanding"]
    np.testing.assert_allclose(after["Guaranteed Processing Loans"], guaranteed, rtol=1e-12)
    calls = after["Processing Loan Default Rate"] * guaranteed
    np.testing.assert_allclose(after["Expected Guarantee Calls"], calls, rtol=1e-12)
    np.testing.assert_allclose(
        after["Guarantee Fund Expenditure"],
        after["Guarantee Fund Capitalisation"] + calls,
        rtol=1e-12,
    )
    # the fund is capitalised to its reserve ratio of the growing guaranteed loans (a year late)
    reserve = after["Guarantee Reserve Ratio"] * guaranteed
    assert (after["Guarantee Fund Capital"] <= reserve + 1e-12).all()
    assert after.loc[2050, "Guarantee Fund Capital"] > 0.9 * reserve.loc[2050] > 0
    # the guarantee lowers the risk premium by the guaranteed share
    np.testing.assert_allclose(
        after["Required Return on Processing Projects"],
        after["Real Lending Rate"] + (1 - share) * after["Processing Risk Premium"],
        rtol=1e-12,
    )
    extra = run["Processing Investment"] - base["Processing Investment"]
    assert (extra.loc[2026:] > 0).all() and (extra.loc[:2025] == 0).all()
    assert (run["Interest Subsidy Expenditure"] == 0).all()
    np.testing.assert_allclose(
        run["Regional Budget Expenditure"], run[SPENDING].sum(axis=1), rtol=1e-12
    )


@pytest.mark.parametrize(
    "levers",
    [
        {"Interest Subsidy Rate": 0.5, "Loan Guarantee Share": 1.0},  # subsidy above the rate
        {"Interest Subsidy Rate": 0.2, "Loan Guarantee Share": 50.0},  # a guarantee of 50x
    ],
)
@pytest.mark.parametrize("reserve", [None, 1.0])  # a fund holding every guaranteed rouble
def test_extreme_credit_levers_keep_stocks_non_negative_and_finite(model, params, levers, reserve):
    huge = {} if reserve is None else {"Guarantee Reserve Ratio": reserve}
    run = sd.run(model, {**params, **huge, **{k: _from_2026(v) for k, v in levers.items()}}).wide()
    assert np.isfinite(run.to_numpy()).all()
    _no_negative_stocks(model, run)
    after = run.loc[2026:]
    assert (
        after["Required Return on Processing Projects"] >= after["Minimum Required Return"]
    ).all()
    assert (after["Guaranteed Processing Loans"] <= after["Processing Loans Outstanding"]).all()
    for name in ("Processing Loans Outstanding", "Guarantee Fund Capital", *CREDIT_COSTS):
        assert run[name].min() >= 0, name
    # the whole project pipeline is bankable, no more: at most the pipeline rate times capital
    assert (
        after["Bank Financed Processing Investment"]
        <= after["Processing Project Pipeline Rate"] * after["Processing Capital"] + 1e-9
    ).all()
    assert run.loc[2050, "Processing Share of GRP"] <= 1


SCENARIOS = [
    "baseline",
    "sanctions_lifted",
    "neo_industrialization",
    "credit_instruments",
    "green_neo_industrialization",
    "coal_price_crash",
    "sanctions_logistics",
    "energy_transition",
    pytest.param(
        "devaluation",
        marks=pytest.mark.xfail(
            strict=True, reason="issue 14 not met yet: a 59 % step devaluation lifts GRP 28 %"
        ),
    ),
    "combined_stress",
    "green_policy_under_stress",
]


@pytest.fixture(scope="module")
def study(model):
    from sd.study.study import check_study, load_study

    return check_study(load_study(FORECASTS / "kuzbass.toml"), model)


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_scenario_jumps_implausibly_in_a_single_year(model, study, name):
    """Kuzbass output changes by less than 1.5 times the largest recorded one-year change
    (2019-2020: -11.8 %, kuzbass_coal_production) and GRP, in constant prices after 2025, by
    less than 20 % a year."""
    from sd.study.study import compile_scenario

    scenario = study.scenarios[name]
    run = sd.run(model, compile_scenario(study, scenario, model)).wide().loc[2025:]
    out = run["Kuzbass Coal Production"].to_numpy()
    grp = run["GRP"].to_numpy()
    assert np.max(np.abs(np.diff(out) / out[:-1])) < 1.5 * 0.118
    assert np.max(np.abs(np.diff(grp) / grp[:-1])) < 0.20


def _mape(base: pd.DataFrame, variable: str, rec: pd.Series, first: int, last: int) -> float:
    rec = rec.dropna()
    rec = rec[(rec.index >= first) & (rec.index <= last)]
    return mape(base[variable].reindex(rec.index.astype(float)).to_numpy(), rec.to_numpy())


def _records() -> dict[str, pd.Series]:
    wide = pd.read_csv(DATA / "kemerovo_regional_series.csv", index_col="year")
    price = pd.read_csv(DATA / "wb_pinksheet_coal_annual_from_monthly.csv", index_col="year")
    co2 = pd.read_csv(DATA / "kemerovo_co2_xiao2021.csv", index_col="year")
    return {
        "Coal Price": price["coal_price_australia_newcastle_usd_per_t"],
        "Kuzbass Coal Production": wide["kuzbass_coal_production"],
        "GRP": wide["kemerovo_grp_current"],
        "Population": wide["population_jan1_persons"],
        "CO2 Emissions": co2["co2_emissions_kemerovo_t"] * 1e-6,
        "Stationary Emissions": wide["kemerovo_stationary_emissions"],
    }


# (variable, first year, last year, issue 14 target, measured level this edition must keep)
# (the historical coal price is not listed: history is driven by the recorded price, so its
# fit says nothing; the model's own market price is tested below)
FITS = [
    ("Kuzbass Coal Production", 2005, 2025, 0.05, KUZ_MAX),
    ("GRP", 2000, 2022, 0.10, GRP_MAX),
    ("Population", 2000, 2025, 0.01, POP_MAX),
    ("CO2 Emissions", 2005, 2019, 0.10, CO2_MAX),
    ("Stationary Emissions", 2000, 2022, 0.15, EMI_MAX),
]


@pytest.mark.parametrize(("variable", "first", "last", "target", "keep"), FITS)
def test_history_fit_keeps_its_measured_level(base, variable, first, last, target, keep):
    """The calibrated baseline against the records; `keep` is this edition's measured MAPE
    (rounded up), so a change that worsens the fit fails."""
    assert _mape(base, variable, _records()[variable], first, last) <= keep


@pytest.mark.parametrize(
    ("variable", "first", "last", "target"),
    [
        pytest.param(
            v,
            a,
            b,
            t,
            marks=[]
            if keep <= t
            else pytest.mark.xfail(strict=True, reason="issue 14 target not met yet"),
        )
        for v, a, b, t, keep in FITS
    ],
)
def test_history_fit_meets_the_issue_target(base, variable, first, last, target):
    assert _mape(base, variable, _records()[variable], first, last) <= target


def test_market_price_without_the_record(model, params):
    """The model's own world price (Recorded Price Switch 0) follows the record's swings: R2
    above 0.5 and MAPE below PRICE_FREE_MAX (the issue's 15 % is not met by the market
    structure itself; with the record driving history it is met by construction)."""
    free = sd.run(model, {**params, "Recorded Price Switch": 0}).wide()
    rec = _records()["Coal Price"].loc[2000:2025]
    sim = free["Coal Price"].reindex(rec.index.astype(float)).to_numpy()
    assert mape(sim, rec.to_numpy()) <= PRICE_FREE_MAX
    assert np.corrcoef(sim, rec.to_numpy())[0, 1] ** 2 > 0.5


@pytest.mark.xfail(strict=True, reason="issue 14 target not met yet: the market price's MAPE")
def test_market_price_meets_the_issue_target(model, params):
    """Issue 14: coal price MAPE <= 15% (2000-2025), for the model's own market price."""
    free = sd.run(model, {**params, "Recorded Price Switch": 0}).wide()
    rec = _records()["Coal Price"].loc[2000:2025]
    sim = free["Coal Price"].reindex(rec.index.astype(float)).to_numpy()
    assert mape(sim, rec.to_numpy()) <= 0.15


@pytest.mark.parametrize(
    "year",
    [
        2000,
        2009,
        2010,
        2022,
        2024,
        2025,
    ],
)
def test_budget_revenue_within_15_percent_at_executed_points(base, series, year):
    rec = series["kemerovo_budget_revenue_executed"].dropna()
    assert list(rec.index) == [2000, 2009, 2010, 2022, 2024, 2025]
    rel = base.loc[float(year), "Regional Budget Revenue"] / rec.loc[year] - 1
    assert abs(rel) <= 0.15, rel


def test_net_migration_has_the_recorded_sign_every_recorded_year(base, series):
    rec = series["kemerovo_net_migration"].dropna()
    sim = base["Net Migration"].reindex(rec.index.astype(float))
    signs = np.sign(sim.to_numpy()) == np.sign(rec.to_numpy())
    assert signs.all(), dict(zip(rec.index, sim, strict=True))


def test_model_passes_sd_check():
    findings = check_model(KUZBASS)
    assert [str(f) for f in findings if f.severity != "info"] == []
