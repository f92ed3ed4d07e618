"""Runs: analytic solutions, isolation between runs, overrides, time settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sd
from tests.conftest import TEST_MODELS

DECAY = TEST_MODELS / "decay.mdl"


@pytest.fixture(scope="module")
def decay() -> sd.Model:
    return sd.load(DECAY)


def euler_decay(t, *, s0=100.0, inflow=5.0, k=0.1, dt=0.125):
    """Euler-exact stock: S_{n+1} = S_n + dt (I - k S_n) = S* + (S0 - S*) (1 - k dt)^n."""
    steady = inflow / k
    n = np.round(np.asarray(t) / dt)
    return steady + (s0 - steady) * (1 - k * dt) ** n


def test_euler_solution_to_1e9(decay):
    res = sd.run(decay)
    stock = res.series("Stock")
    np.testing.assert_allclose(stock.to_numpy(), euler_decay(stock.index), rtol=1e-9, atol=0)
    assert list(stock.index) == [float(t) for t in range(21)]


def test_stock_equals_initial_plus_integrated_flows(decay):
    res = sd.run(decay, time=sd.TimeSettings(saveper=0.125))
    w = res.wide()
    # Euler: S(t_n) = S(0) + sum_{i<n} dt * (inflow_i - outflow_i)
    net = (w["inflow"] - w["outflow"]).to_numpy()
    integrated = 100 + np.concatenate([[0], np.cumsum(net[:-1] * 0.125)])
    np.testing.assert_allclose(w["Stock"], integrated, rtol=1e-12)
    cum = np.concatenate([[0], np.cumsum(w["outflow"].to_numpy()[:-1] * 0.125)])
    np.testing.assert_allclose(w["Cumulative Outflow"], cum, rtol=1e-12, atol=1e-12)


def test_overrides_and_time_settings(decay):
    res = sd.run(
        decay,
        {"decay rate": 0.2, "Steady_Inflow": 2},
        time=sd.TimeSettings(initial=5, final=15, step=0.25, saveper=0.5),
        variables=["Stock"],
    )
    stock = res.series("Stock")
    assert stock.index[0] == 5 and stock.index[-1] == 15 and len(stock) == 21
    expected = euler_decay(stock.index - 5, inflow=2, k=0.2, dt=0.25)
    np.testing.assert_allclose(stock.to_numpy(), expected, rtol=1e-9)
    assert res.variables == ["Stock"]
    assert res.parameters.loc[0, "decay rate"] == 0.2


def test_time_series_override(decay):
    inflow = pd.Series([0.0, 10.0], index=[0.0, 20.0])
    res = sd.run(decay, {"steady inflow": inflow}, variables=["inflow"])
    np.testing.assert_allclose(res.series("inflow").to_numpy(), np.arange(21) * 0.5)
    assert "time series" in res.parameters.loc[0, "steady inflow"]


def test_no_state_leaks_between_runs(decay):
    base = sd.run(decay)
    shocked = sd.run(
        decay,
        {"decay rate": 0.5, "steady inflow": pd.Series([1.0, 9.0], index=[0.0, 20.0])},
        time=sd.TimeSettings(initial=3, step=0.5),
    )
    again = sd.run(decay)
    assert not shocked.data["value"].equals(base.data["value"])
    pd.testing.assert_frame_equal(base.data, again.data)


def test_saveper_follows_time_step_when_model_says_so():
    model = sd.load(TEST_MODELS / "decay.mdl")
    assert model.time.saveper == 1  # decay.mdl has SAVEPER = 1, so it stays
    res = sd.run(model, time=sd.TimeSettings(step=0.5))
    assert len(res.series("Stock")) == 21


def test_tidy_results_layout(decay):
    res = sd.run(decay, scenario="low", run_id=7, variables=["Stock", "outflow"])
    assert list(res.data.columns) == ["scenario", "run", "time", "variable", "value"]
    assert set(res.data["scenario"]) == {"low"} and set(res.data["run"]) == {7}
    assert res.data["value"].dtype == np.float64
    assert res.units == {"Stock": "Widget", "outflow": "Widget/Year"}
    prov = res.provenance
    assert prov["pysd_version"] and prov["sd_version"] == sd.__version__
    assert len(prov["model_sha256"]) == 64 and prov["time"]["step"] == 0.125
    with pytest.raises(TypeError):
        res.provenance["x"] = 1  # frozen
