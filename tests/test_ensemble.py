"""Sampling and ensembles: reproducible, equal to single runs, the same on every executor."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sd
from sd.analysis.ensemble import ensemble, percentiles
from sd.study.specfile import SpecError
from sd.study.study import check_study, compile_scenario, load_study
from sd.study.uncertainty import Distribution, check_uncertainty, draw, fit_ar1, load_uncertainty
from tests.conftest import TEST_MODELS

HERE = Path(__file__).parent
STUDY = HERE / "studies" / "decay_study.toml"
UNCERTAIN = HERE / "studies" / "decay_uncertainty.toml"


def load_decay():
    """The decay model, its checked study and uncertainty spec."""
    model = sd.load(TEST_MODELS / "decay.mdl")
    study = check_study(load_study(STUDY), model)
    spec = check_uncertainty(load_uncertainty(UNCERTAIN), model)
    return model, study, spec


@pytest.fixture(scope="module")
def setup():
    return load_decay()


def test_latin_hypercube_is_stratified_and_seeded(setup):
    model, study, spec = setup
    a = draw(spec, 50, seed=3, end=20)
    b = draw(spec, 50, seed=3, end=20)
    c = draw(spec, 50, seed=4, end=20)
    pd.testing.assert_frame_equal(a.values, b.values)
    np.testing.assert_array_equal(a.paths["steady inflow"][1], b.paths["steady inflow"][1])
    assert not a.values.equals(c.values)
    # one sample in each of the 50 equal-probability strata of the triangular distribution
    tri = Distribution("x", "triangular", {"lower": 0.05, "mode": 0.1, "upper": 0.2})
    edges = tri.ppf(np.linspace(0, 1, 51))
    counts = np.histogram(a.values["decay rate"], bins=edges)[0]
    assert (counts == 1).all()
    assert set(a.values["initial stock"]) <= {80.0, 100.0, 120.0}
    times, mult = a.paths["steady inflow"]
    assert times[0] == 5 and mult.shape == (50, len(times)) and (mult[:, 0] == 1).all()


def test_choice_weights_and_ar1_fit():
    d = Distribution("x", "choice", {"values": [1.0, 2.0, 3.0], "weights": [1, 2, 1]})
    u = (np.arange(4000) + 0.5) / 4000
    counts = pd.Series(d.ppf(u)).value_counts().sort_index()
    assert list(counts) == [1000, 2000, 1000]
    rng = np.random.default_rng(0)
    x = np.zeros(4000)
    for k in range(1, 4000):
        x[k] = 0.7 * x[k - 1] + 0.1 * rng.standard_normal()
    series = pd.Series(np.exp(0.01 * np.arange(4000) + x), index=np.arange(4000.0))
    phi, sigma = fit_ar1(series)
    assert phi == pytest.approx(0.7, abs=0.03) and sigma == pytest.approx(0.1, rel=0.05)


def test_each_ensemble_run_equals_a_single_run(setup):
    model, study, spec = setup
    sample = draw(spec, 4, seed=11, end=20)
    res = ensemble(study, model, sample, engine="pysd", scenarios=["crash"])
    assert set(res.data["run"]) == {0, 1, 2, 3}
    base = compile_scenario(study, study.scenarios["crash"], model)
    for i in (0, 3):
        params = dict(base)
        params.update({k: float(v) for k, v in sample.values.iloc[i].items()})
        times, mult = sample.paths["steady inflow"]
        grid = base["steady inflow"].index.to_numpy()
        params["steady inflow"] = pd.Series(
            base["steady inflow"].to_numpy() * np.interp(grid, times, mult[i], left=1.0),
            index=grid,
        )
        single = sd.run(model, params, variables=["Stock", "outflow"])
        mine = res.wide("crash", i)
        np.testing.assert_allclose(mine["Stock"], single.series("Stock"), rtol=1e-12)
    table = res.parameters
    assert list(table.columns[:2]) == ["scenario", "run"] and len(table) == 4


def test_scenario_values_win_over_uncertain_ones(setup):
    model, study, spec = setup
    sample = draw(spec, 3, seed=1, end=20)
    res = ensemble(
        study, model, sample, engine="pysd", scenarios=["default_again"], variables=["decay rate"]
    )
    assert (res.data["value"] == 0.1).all()  # the scenario sets it: no sampling
    assert (res.parameters["decay rate"] == 0.1).all()


def test_percentiles(setup):
    model, study, spec = setup
    res = ensemble(
        study, model, draw(spec, 20, seed=2, end=20), engine="pysd", scenarios=["baseline"]
    )
    bands = percentiles(res)
    row = bands[(bands.variable == "Stock") & (bands.time == 20)].iloc[0]
    values = res.data[(res.data.variable == "Stock") & (res.data.time == 20)]["value"]
    assert row["p50"] == pytest.approx(np.median(values))
    assert row["p5"] <= row["p25"] <= row["p50"] <= row["p75"] <= row["p95"]


def test_same_results_in_a_process_pool_and_on_a_dask_cluster(setup):
    from distributed import LocalCluster

    model, study, spec = setup
    sample = draw(spec, 6, seed=5, end=20)
    kw = {"engine": "pysd", "scenarios": ["baseline", "crash"], "chunk_size": 2}
    local = ensemble(study, model, sample, **kw)
    pool = ensemble(study, model, sample, workers=2, **kw)
    pd.testing.assert_frame_equal(local.data, pool.data, check_exact=True)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = ensemble(study, model, sample, scheduler=cluster.scheduler_address, **kw)
    pd.testing.assert_frame_equal(local.data, remote.data, check_exact=True)


def test_bad_uncertainty_specs(tmp_path, setup):
    model = setup[0]
    path = tmp_path / "u.toml"
    cases = [
        ('[parameters.x]\ndistribution = "unifrm"\nlower = 0\nupper = 1\n', "Did you mean"),
        (
            '[parameters."decay rate"]\ndistribution = "uniform"\nlower = 1\nupper = 0\n',
            "lower must be below upper",
        ),
        ('[parameters."decay rate"]\ndistribution = "normal"\nmean = 1\n', "needs sd"),
        ('[paths."steady inflow"]\nphi = 0.5\nsigma = 0.1\n', "needs start"),
    ]
    for text, message in cases:
        path.write_text(text)
        with pytest.raises(SpecError, match=message):
            load_uncertainty(path)
    path.write_text('[parameters.outflow]\ndistribution = "uniform"\nlower = 0\nupper = 1\n')
    with pytest.raises(SpecError, match="only constants can be uncertain"):
        check_uncertainty(load_uncertainty(path), model)


def test_vectorized_engine_equals_pysd_engine_run_by_run(setup):
    model, study, spec = setup
    sample = draw(spec, 12, seed=9, end=20)
    kw = {"scenarios": ["baseline", "crash_and_step"], "chunk_size": 5}
    fast = ensemble(study, model, sample, engine="vectorized", **kw)
    slow = ensemble(study, model, sample, engine="pysd", **kw)
    assert fast.provenance["ensemble"]["engine"] == "vectorized"
    pd.testing.assert_frame_equal(fast.data, slow.data, check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(fast.parameters, slow.parameters)


def test_kuzbass_ensemble_vectorized_equals_pysd():
    from tests.conftest import KUZBASS

    root = KUZBASS.parent.parent / "forecasts"
    model = sd.load(KUZBASS)
    study = check_study(load_study(root / "kuzbass.toml"), model)
    spec = check_uncertainty(load_uncertainty(root / "kuzbass_uncertainty.toml"), model)
    sample = draw(spec, 3, seed=4, end=2050)
    kw = {"scenarios": ["baseline", "combined_stress"]}
    fast = ensemble(study, model, sample, engine="vectorized", **kw)
    slow = ensemble(study, model, sample, engine="pysd", **kw)
    pd.testing.assert_frame_equal(fast.data, slow.data, check_exact=False, rtol=1e-9, atol=1e-9)


def test_unsupported_model_falls_back_to_pysd_with_a_notice(setup):
    model, study, spec = setup
    from sd.engine.vectorized import core as vectorized

    notices: list[str] = []
    original = vectorized.build

    def refuse(m):
        raise vectorized.Unsupported("GET TIME VALUE")

    vectorized.build = refuse
    try:
        res = ensemble(
            study,
            model,
            draw(spec, 2, seed=1, end=20),
            engine="vectorized",
            scenarios=["baseline"],
            notice=notices.append,
        )
    finally:
        vectorized.build = original
    assert res.provenance["ensemble"]["engine"] == "vectorized (fell back to pysd)"
    assert notices == [
        "vectorized engine: GET TIME VALUE is not supported; running decay.mdl with PySD instead"
    ]


def test_included_calibrated_values_are_sampled_but_scenario_values_are_not(tmp_path, setup):
    model = setup[0]
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    study_file = tmp_path / "studies" / "decay_study.toml"
    (tmp_path / "studies" / "fit.toml").write_text('[parameters]\n"decay rate" = 0.12\n')
    study_file.write_text('include = ["fit.toml"]\n' + study_file.read_text())
    study = check_study(load_study(study_file), model)
    spec = check_uncertainty(load_uncertainty(UNCERTAIN), model)
    res = ensemble(
        study,
        model,
        draw(spec, 5, seed=3, end=20),
        engine="pysd",
        scenarios=["baseline", "default_again"],
        variables=["decay rate"],
    )
    rate = res.data[res.data["time"] == 0].set_index(["scenario", "run"])["value"]
    assert rate.loc["baseline"].nunique() == 5  # the calibrated 0.12 is a centre, not fixed
    assert (rate.loc["default_again"] == 0.1).all()  # the scenario's own value is fixed
