"""One parameter table for every engine (sd.engine.table, sd.engine.engines).

``tests/models/decay.mdl``: Stock' = steady inflow - decay rate * Stock, steady inflow 5,
decay rate 0.1, initial stock 100 (Euler, 0 to 20). ``tests/models/failing.mdl``:
Level = 1 - drain rate * Time (Euler, step 1, 0 to 10), Root = SQRT(Level), so a run fails
exactly when drain rate > 0.1.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import sd
from sd.analysis.ensemble import chunk_table, make_chunks
from sd.analysis.options import RunOptions
from sd.engine.engines import ENGINES, PySDEngine, VectorizedEngine
from sd.engine.table import ParamTable, step_times
from sd.engine.vectorized.core import PerRunSeries
from sd.errors import ParameterError
from sd.model.model import TimeSettings
from sd.study.study import ENGINE_NAMES, compile_scenario
from sd.study.uncertainty import draw
from tests.conftest import TEST_MODELS
from tests.test_ensemble import load_decay

INFLOW = "steady inflow"


@pytest.fixture(scope="module")
def decay():
    return load_decay()


@pytest.fixture(scope="module")
def crash_table(decay):
    """Six runs of the 'crash' scenario: the inflow is shocked and has an AR(1) path."""
    model, study, spec = decay
    sample = draw(spec, 6, seed=5, end=20)
    (chunk,) = make_chunks(
        study, model, sample, engine="vectorized", variables=["Stock", "outflow"],
        scenarios=["crash"], chunk_size=6,
    )
    return chunk, chunk_table(chunk, model), sample


def test_row_and_columns_hold_the_same_numbers(decay, crash_table):
    model, study, _ = decay
    chunk, table, sample = crash_table
    cols = table.columns()
    grid = step_times(study.time.apply(model.time))
    np.testing.assert_array_equal(table.times, grid)
    assert isinstance(cols[INFLOW], PerRunSeries) and cols[INFLOW].values.shape == (6, len(grid))
    shocked = compile_scenario(study, study.scenarios["crash"], model)[INFLOW]
    times, mult = sample.paths[INFLOW]
    for k in range(table.n):
        row = table.row(k)
        assert set(row) == set(cols)
        series = row[INFLOW]
        np.testing.assert_array_equal(series.index.to_numpy(), cols[INFLOW].times)
        np.testing.assert_array_equal(series.to_numpy(), cols[INFLOW].values[k])
        # an independent path: the shocked series times run k's multipliers on the grid
        expected = np.interp(grid, shocked.index, shocked.to_numpy()) * np.interp(
            grid, times, mult[k], left=1.0
        )
        np.testing.assert_allclose(series.to_numpy(), expected, rtol=1e-15)
        for name in sample.values.columns:
            assert row[name] == cols[name][k] == sample.values[name].iloc[k]
    # the multipliers start at year 5: before it every run sees the shocked series itself
    before = grid < times[0]
    assert before.any() and np.all(
        cols[INFLOW].values[:, before] == np.interp(grid[before], shocked.index, shocked)
    )
    assert not np.allclose(cols[INFLOW].values[0], cols[INFLOW].values[1])


def test_a_multiplier_is_applied_once(decay):
    model, study, _ = decay
    grid = step_times(study.time.apply(model.time))
    n = 3
    mult_times = np.array([5.0, 10.0, 15.0, 20.0])
    twice = np.full((n, len(mult_times)), 2.0)
    table = ParamTable.build(
        n=n, times=grid, base={}, constants={}, multipliers={INFLOW: (mult_times, twice)},
        defaults=model.defaults,
    )
    base = model.defaults[INFLOW]
    assert base == 5.0  # tests/models/decay.mdl: steady inflow = 5
    expected = np.where(grid < 5.0, base, 2.0 * base)  # 1 before the first multiplier time
    for k in range(n):
        np.testing.assert_array_equal(table.paths[INFLOW][k], expected)
        np.testing.assert_array_equal(table.row(k)[INFLOW].to_numpy(), expected)
        np.testing.assert_array_equal(table.columns()[INFLOW].values[k], expected)
    # and once more through an engine: the model's inflow is 5, then 10 from year 5
    times, out, causes = ENGINES["vectorized"].run_many(
        model, table, time=study.time, variables=["inflow"]
    )
    assert causes == {}
    np.testing.assert_array_equal(out["inflow"][:, times >= 5], 10.0)
    np.testing.assert_array_equal(out["inflow"][:, times < 5], 5.0)


def test_a_path_multiplies_the_runs_own_sampled_value(decay):
    """An input both sampled and given a path: the path multiplies the run's sampled value
    (as a single run of it sees it), in both engines."""
    model, study, _ = decay
    grid = step_times(study.time.apply(model.time))
    table = ParamTable.build(
        n=2, times=grid, base={}, constants={INFLOW: np.array([1.0, 3.0])},
        multipliers={INFLOW: (np.array([0.0, 20.0]), np.full((2, 2), 2.0))},
        defaults=model.defaults,
    )
    np.testing.assert_array_equal(table.paths[INFLOW][0], 2.0)
    np.testing.assert_array_equal(table.paths[INFLOW][1], 6.0)
    for engine in ENGINES.values():
        _, out, _ = engine.run_many(model, table, time=study.time, variables=["inflow"])
        assert (out["inflow"][0] == 2.0).all() and (out["inflow"][1] == 6.0).all()


def test_the_engines_agree_on_one_table(decay, crash_table):
    model, study, _ = decay
    chunk, table, _ = crash_table
    kw = {"time": study.time, "variables": ["Stock", "outflow"], "scenario": "crash"}
    t_vec, vec, vec_causes = VectorizedEngine().run_many(model, table, **kw)
    t_pysd, pysd, pysd_causes = PySDEngine().run_many(model, table, **kw)
    np.testing.assert_array_equal(t_vec, t_pysd)
    assert vec_causes == pysd_causes == {}
    for name in ("Stock", "outflow"):
        assert vec[name].shape == pysd[name].shape == (6, len(t_vec))
        np.testing.assert_allclose(vec[name], pysd[name], rtol=1e-9, atol=0)
    # and each row is a single run of row k's overrides
    single = sd.run(model, table.row(4), time=study.time, variables=["Stock"]).wide()
    np.testing.assert_allclose(vec["Stock"][4], single["Stock"].to_numpy(), rtol=1e-9)


def test_a_failed_run_is_a_nan_row_with_its_cause():
    model = sd.load(TEST_MODELS / "failing.mdl")
    grid = step_times(TimeSettings().apply(model.time))
    table = ParamTable.build(
        n=3, times=grid, base={}, constants={"drain rate": np.array([0.05, 0.2, 0.08])},
        multipliers={}, defaults=model.defaults,
    )
    kw = {"time": TimeSettings(), "variables": ["Root", "Doubled"], "scenario": "s"}
    times, pysd, causes = ENGINES["pysd"].run_many(model, table, **kw)
    _, vec, _ = ENGINES["vectorized"].run_many(model, table, **kw)
    assert list(causes) == [1] and "'Root' becomes NaN" in causes[1]
    assert "scenario 's'" in causes[1]
    for out in (pysd, vec):
        assert out["Root"].shape == (3, len(times))  # the failed run is kept, as NaN
        assert np.isnan(out["Root"][1]).all() and np.isnan(out["Doubled"][1]).all()
        # Level(10) = 1 - 10 * rate
        np.testing.assert_allclose(out["Root"][[0, 2], -1], np.sqrt([0.5, 0.2]), rtol=1e-12)
    # all runs fail: NaN rows on the saved grid
    bad = table.take([1, 1])
    times, out, causes = ENGINES["pysd"].run_many(model, bad, **kw)
    np.testing.assert_array_equal(times, np.arange(0.0, 11.0))
    assert np.isnan(out["Root"]).all() and out["Root"].shape == (2, 11) and set(causes) == {0, 1}


def test_the_table_is_checked_frozen_and_picklable(crash_table):
    _, table, _ = crash_table
    with pytest.raises(ValueError):
        table.paths[INFLOW][0, 0] = 1.0
    with pytest.raises(TypeError):
        table.constants["decay rate"] = np.zeros(6)  # type: ignore[index]
    again = pickle.loads(pickle.dumps(table))
    for k in (0, 5):
        a, b = table.row(k), again.row(k)
        assert set(a) == set(b)
        for name in a:
            if isinstance(a[name], pd.Series):
                pd.testing.assert_series_equal(a[name], b[name])
            else:
                assert a[name] == b[name]
    with pytest.raises(ParameterError, match=r"shape \(5,\), not \(6,\)"):
        ParamTable(n=6, times=table.times, base={}, constants={"x": np.zeros(5)}, paths={})
    sub = table.take([4, 0])
    np.testing.assert_array_equal(sub.paths[INFLOW], table.paths[INFLOW][[4, 0]])


def test_engine_names_come_from_the_registry():
    assert tuple(ENGINES) == ENGINE_NAMES  # the study reader cannot import the engine stage
    assert RunOptions(engine="pysd").engine == "pysd"
    with pytest.raises(ParameterError, match="unknown engine 'numba'; use one of vectorized, pysd"):
        RunOptions(engine="numba")
