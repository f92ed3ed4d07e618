"""Calibration recovers known parameters; backtests never see held-out years."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd
from sd.analysis.calibration import Objective, calibrate, check_spec, load_spec, spec_files
from sd.study.specfile import SpecError
from tests.conftest import TEST_MODELS

TRUE = {"decay rate": 0.15, "steady inflow": 7.0}


def _write_case(folder: Path, *, noise: float = 0.01, seed: int = 1) -> Path:
    """Synthetic history from decay.mdl with known parameters, and a spec to fit it."""
    model = sd.load(TEST_MODELS / "decay.mdl")
    truth = sd.run(model, TRUE).wide()
    rng = np.random.default_rng(seed)
    stock = truth["Stock"] * (1 + noise * rng.standard_normal(len(truth)))
    outflow = truth["outflow"] * (1 + noise * rng.standard_normal(len(truth)))
    (folder / "history.csv").write_text(
        "year,stock,outflow\n"
        + "".join(
            f"{t:g},{s!r},{o!r}\n" for t, s, o in zip(truth.index, stock, outflow, strict=True)
        )
    )
    spec = folder / "calibration.toml"
    spec.write_text(
        f"""
[calibration]
model = "{(TEST_MODELS / "decay.mdl").as_posix()}"
period = [0, 20]
starts = 3
seed = 7
max_runs = 600

[parameters."decay rate"]
bounds = [0.01, 0.5]
why = "any plausible first-order outflow"

[parameters."steady inflow"]
bounds = [0, 20]

[targets.Stock]
file = "history.csv"
column = "stock"

[targets.outflow]
file = "history.csv"
column = "outflow"
weight = 0.5

[backtest]
cutoffs = [8, 12]
"""
    )
    return spec


def test_recovers_known_parameters_from_noisy_data(tmp_path):
    spec = load_spec(_write_case(tmp_path, noise=0.01))
    cal = calibrate(spec)
    assert cal.values["decay rate"] == pytest.approx(TRUE["decay rate"], rel=0.03)
    assert cal.values["steady inflow"] == pytest.approx(TRUE["steady inflow"], rel=0.03)
    # the truth lies within about three standard errors of the estimate
    for name, value in TRUE.items():
        assert abs(cal.values[name] - value) < 4 * cal.std_errors[name] + 1e-9
    assert cal.converged and cal.runs > 10 and len(cal.starts) == 4  # own values + 3 LHS
    assert cal.stats["Stock"].mape < 0.02 and cal.stats["Stock"].r2 > 0.99
    s = cal.stats["outflow"]
    assert s.um + s.us + s.uc == pytest.approx(1.0)


def test_exact_data_is_fitted_exactly(tmp_path):
    cal = calibrate(load_spec(_write_case(tmp_path, noise=0.0)))
    assert cal.values["decay rate"] == pytest.approx(0.15, rel=1e-5)
    assert cal.objective < 1e-12


def test_fit_never_sees_observations_after_the_cutoff(tmp_path):
    path = _write_case(tmp_path)
    spec = check_spec(load_spec(path), sd.load(TEST_MODELS / "decay.mdl"))
    model = sd.load(TEST_MODELS / "decay.mdl")
    obj = Objective(spec, model, fit_end=8)
    assert all(s.index.max() <= 8 for s in obj.obs.values())
    before = calibrate(spec, model, fit_end=8, starts=1)
    # wreck every held-out observation: the fit must not change at all
    text = (tmp_path / "history.csv").read_text().splitlines()
    wrecked = [text[0]] + [
        line if float(line.split(",")[0]) <= 8 else line.split(",")[0] + ",1e9,-1e9"
        for line in text[1:]
    ]
    (tmp_path / "history.csv").write_text("\n".join(wrecked) + "\n")
    after = calibrate(load_spec(path), model, fit_end=8, starts=1)
    assert dict(after.values) == dict(before.values)
    assert after.runs == before.runs


def test_relative_target_scores_each_point_over_its_own_observation(tmp_path):
    """With relative = true a residual is weight * (sim - obs) / |obs| / sqrt(n), so a small
    early point weighs as much as a large late one; without it, (sim - obs) over the series'
    mean magnitude. Checked by hand at a point away from the truth."""
    path = _write_case(tmp_path, noise=0.0)
    path.write_text(path.read_text().replace("weight = 0.5\n", "weight = 0.5\nrelative = true\n"))
    model = sd.load(TEST_MODELS / "decay.mdl")
    spec = check_spec(load_spec(path), model)
    assert [t.relative for t in spec.targets] == [False, True]
    obj = Objective(spec, model)
    x = np.array([0.3, 7.0])
    run = sd.run(model, {"decay rate": 0.3, "steady inflow": 7.0}).wide()
    stock, out = obj.obs["Stock"], obj.obs["outflow"]
    sim_s = run["Stock"].reindex(stock.index).to_numpy()
    sim_o = run["outflow"].reindex(out.index).to_numpy()
    by_hand = np.concatenate(
        [
            (sim_s - stock.to_numpy()) / (np.abs(stock.to_numpy()).mean() * np.sqrt(len(stock))),
            0.5 * (sim_o - out.to_numpy()) / (np.abs(out.to_numpy()) * np.sqrt(len(out))),
        ]
    )
    np.testing.assert_allclose(obj.residuals(x), by_hand, rtol=1e-12)
    # the fit on exact data still finds the truth
    cal = calibrate(spec, model)
    assert cal.values["decay rate"] == pytest.approx(0.15, rel=1e-5)


def test_relative_target_refuses_a_zero_observation_or_a_non_boolean(tmp_path):
    path = _write_case(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("weight = 0.5\n", 'weight = 0.5\nrelative = "yes"\n'))
    with pytest.raises(SpecError, match="relative must be true or false"):
        load_spec(path)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    head, first, *rest = lines
    year, stock, _ = first.split(",")
    (tmp_path / "history.csv").write_text("\n".join([head, f"{year},{stock},0", *rest]) + "\n")
    path.write_text(text.replace("weight = 0.5\n", "weight = 0.5\nrelative = true\n"))
    with pytest.raises(SpecError, match="zero observation in 0"):
        load_spec(path)


def test_base_spec_lends_its_parameters_and_targets(tmp_path):
    """`[calibration] base` takes the base's [parameters] and [targets] (their files relative to
    the base), the spec's own entries replace them by name or add to them, the base counts
    among the fit's files, and a missing base or a chain of bases is refused."""
    base = _write_case(tmp_path)
    sub = tmp_path / "sub"
    sub.mkdir()
    spec_file = sub / "backtest.toml"
    model = (TEST_MODELS / "decay.mdl").as_posix()
    spec_file.write_text(
        f"""
[calibration]
model = "{model}"
period = [0, 20]
base = "../calibration.toml"

[parameters."steady inflow"]
bounds = [0, 20]
fixed = 7.0

[targets.outflow]
file = "../history.csv"
column = "outflow"
weight = 0.0
"""
    )
    own, parent = load_spec(spec_file), load_spec(base)
    assert [p.name for p in own.parameters] == ["decay rate", "steady inflow"]
    assert own.parameters[0] == parent.parameters[0]
    assert own.parameters[1].fixed == 7.0
    assert own.targets[0] == parent.targets[0]  # Stock, its file found next to the base
    assert own.targets[1].weight == 0.0
    assert own.base == base and spec_files(own)["base spec"] == base
    assert parent.base is None and "base spec" not in spec_files(parent)
    spec_file.write_text(spec_file.read_text().replace("../calibration.toml", "../none.toml"))
    with pytest.raises(SpecError, match="base '../none.toml' does not exist"):
        load_spec(spec_file)
    chained = tmp_path / "chained.toml"
    chained.write_text(base.read_text().replace("seed = 7", 'seed = 7\nbase = "x.toml"'))
    spec_file.write_text(spec_file.read_text().replace("../none.toml", "../chained.toml"))
    with pytest.raises(SpecError, match="has a base of its own"):
        load_spec(spec_file)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[targets.Stock]", "[targets.Stok]", "Did you mean: 'Stock'"),
        ('column = "stock"', 'column = "stck"', "'stck' is not a column"),
        ("bounds = [0.01, 0.5]", "bounds = [0.5, 0.01]", "start after end"),
        ('[parameters."steady inflow"]', '[parameters."outflow"]', "only constants can be fitted"),
        ("period = [0, 20]", "period = [30, 40]", "has no value"),
    ],
)
def test_bad_specs(tmp_path, old, new, message):
    path = _write_case(tmp_path)
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(SpecError, match=message):
        calibrate(load_spec(path))


def test_naive_forecasts_by_hand():
    import pandas as pd

    from sd.analysis.backtest import naive_forecasts

    insample = pd.Series([1.0, 3.0, 5.0], index=[0.0, 1.0, 2.0])
    out = naive_forecasts(insample, np.array([3.0, 4.0]))
    np.testing.assert_allclose(out["last_value"], [5, 5])
    np.testing.assert_allclose(out["linear_trend"], [7, 9])


def test_backtest_starts_zero_means_the_models_own_values_only(tmp_path):
    path = _write_case(tmp_path)
    assert load_spec(path).backtest_starts == 2  # the default
    path.write_text(path.read_text().replace("cutoffs = [8, 12]", "cutoffs = [8, 12]\nstarts = 0"))
    assert load_spec(path).backtest_starts == 0


def test_backtest_table_and_summary(tmp_path):
    from sd.analysis.backtest import backtest

    spec = load_spec(_write_case(tmp_path, noise=0.01))
    bt = backtest(spec, starts=1)
    assert set(bt.calibrations) == {8.0, 12.0}
    t = bt.table
    assert set(t["method"]) == {"model", "last_value", "linear_trend"}
    row = t[(t.cutoff == 8) & (t.series == "Stock") & (t.method == "model")].iloc[0]
    assert row.n_held_out == 12 and row.first_year == 9 and row.last_year == 20
    # the model (right structure, ~1% noise) beats both naive forecasts out of sample
    s = bt.summary.set_index("series")
    assert s.loc["Stock", "mape_model"] < 0.03
    assert s.loc["Stock", "mape_model"] < s.loc["Stock", "mape_last_value"]
    assert s.loc["Stock", "mape_model"] < s.loc["Stock", "mape_linear_trend"]
    assert s.loc["Stock", "cutoffs"] == 2


def test_backtest_freeze_sets_constants_to_each_cutoff_in_fit_and_forecast(tmp_path):
    """[backtest] freeze: the named constant is the cut-off year in the fit and the scoring."""
    import pandas as pd

    from sd.analysis.backtest import backtest
    from sd.analysis.fitstats import mape

    path = _write_case(tmp_path, noise=0.01)
    path.write_text(path.read_text() + 'freeze = ["initial stock"]\n')
    spec = load_spec(path)
    assert spec.freeze == ("initial stock",)
    bt = backtest(spec, starts=0)
    model = sd.load(TEST_MODELS / "decay.mdl")
    history = pd.read_csv(tmp_path / "history.csv").set_index("year")["stock"]
    for cut in (8.0, 12.0):
        cal = bt.calibrations[cut]
        assert cal.spec.inputs["initial stock"] == cut
        # the scored forecast is a run with the stock starting at the cut-off year's value
        params = {**cal.values, "initial stock": cut}
        sim = sd.run(model, params).series("Stock")
        held = history[history.index > cut]
        row = bt.table.query("cutoff == @cut and series == 'Stock' and method == 'model'")
        assert row["mape"].iloc[0] == pytest.approx(mape(sim.reindex(held.index), held), rel=1e-9)
        inside = history[history.index <= cut]
        assert row["mape_in_sample"].iloc[0] == pytest.approx(
            mape(sim.reindex(inside.index), inside), rel=1e-9
        )
    # an initial stock of 8 or 12 instead of 100 is a different fit: the freeze was applied
    assert bt.calibrations[8.0].values["decay rate"] != pytest.approx(0.15, rel=0.1)


@pytest.mark.parametrize(
    ("freeze", "extra", "message"),
    [
        ('["outflow"]', "", "only a constant"),
        ('["initial stock"]', '\n[inputs]\n"initial stock" = 5\n', "both in \\[inputs\\]"),
        ('"initial stock"', "", "must be a list"),
    ],
)
def test_bad_freeze(tmp_path, freeze, extra, message):
    path = _write_case(tmp_path)
    path.write_text(path.read_text() + f"freeze = {freeze}\n" + extra)
    from sd.analysis.backtest import backtest

    with pytest.raises(SpecError, match=message):
        backtest(load_spec(path), starts=0)


@pytest.mark.parametrize("engine", ["pysd", "vectorized"])
def test_ctrl_c_keeps_the_best_point_so_far(tmp_path, engine):
    spec = load_spec(_write_case(tmp_path, noise=0.0))

    def interrupt_after_30(objective):
        if objective.runs == 30:
            raise KeyboardInterrupt

    cal = calibrate(spec, on_run=interrupt_after_30, engine=engine)
    assert cal.interrupted and not cal.converged and cal.runs == 30
    # the values returned are the best point evaluated, and its objective is reported
    model = sd.load(TEST_MODELS / "decay.mdl")
    obj = Objective(check_spec(spec, model), model)
    x = np.array([cal.values[p.name] for p in obj.free])
    r = obj.residuals(x)
    assert cal.objective == pytest.approx(0.5 * float(r @ r), rel=1e-12)


# -- the vectorized engine against the serial PySD path ----------------------------------------


@pytest.mark.parametrize("noise", [0.01, 0.0])
def test_vectorized_fit_follows_the_serial_fit(tmp_path, noise):
    spec = load_spec(_write_case(tmp_path, noise=noise))
    serial = calibrate(spec, engine="pysd")
    fast = calibrate(spec, engine="vectorized")
    assert (serial.engine, fast.engine) == ("pysd", "vectorized")
    for name, value in serial.values.items():
        assert fast.values[name] == pytest.approx(value, rel=1e-6)
        assert fast.std_errors[name] == pytest.approx(serial.std_errors[name], rel=1e-4)
    assert fast.objective == pytest.approx(serial.objective, rel=1e-6, abs=1e-20)
    # the same steps: the same evaluations, start by start
    assert fast.runs == serial.runs
    assert [s.runs for s in fast.starts] == [s.runs for s in serial.starts]
    assert sum(s.runs for s in fast.starts) == fast.runs


def test_batched_jacobian_is_scipys_2_point_jacobian(tmp_path):
    from scipy.optimize._numdiff import approx_derivative  # what least_squares' '2-point' calls

    from sd.analysis.calibration_batch import Batched, forward_steps

    model = sd.load(TEST_MODELS / "decay.mdl")
    spec = check_spec(load_spec(_write_case(tmp_path)), model)
    obj = Objective(spec, model)
    obj.vector = sd.engine.vectorized.core.build(model)
    batched = Batched(obj.residuals_many, obj.lower, obj.upper, 1e-4)
    lb, ub = obj.lower, obj.upper
    # inside the bounds, on the upper bound (the step is reversed) and at 0 (absolute step)
    for x in (np.array([0.2, 5.0]), np.array([0.5, 20.0]), np.array([0.3, 0.0])):
        expected = approx_derivative(
            obj.residuals, x, method="2-point", rel_step=1e-4, bounds=(lb, ub)
        )
        batched.fun(x)
        before = obj.runs
        jac = batched.jac(x)
        assert obj.runs - before == 2  # one run per parameter, in one engine call
        np.testing.assert_allclose(jac, expected, rtol=1e-7, atol=1e-9 * np.abs(expected).max())
    h = forward_steps(np.array([0.5, 20.0, 0.0]), np.zeros(3), np.array([0.5, 20, 1]), 1e-4)
    assert h[0] == pytest.approx(-0.5e-4) and h[1] == pytest.approx(-20e-4)
    assert h[2] == pytest.approx(np.finfo(float).eps ** 0.5)  # zero: scipy's absolute step


def test_start_points_are_one_engine_call(tmp_path, monkeypatch):
    from sd.engine.vectorized.core import VectorModel

    calls: list[int] = []
    original = VectorModel.run

    def spy(self, params=None, *, n, **kw):
        calls.append(n)
        return original(self, params, n=n, **kw)

    monkeypatch.setattr(VectorModel, "run", spy)
    cal = calibrate(load_spec(_write_case(tmp_path)), engine="vectorized")
    assert calls[0] == 4  # the model's own values and 3 Latin hypercube points
    assert sum(calls) == cal.runs  # every evaluation went through the engine
    # the starts run side by side: every later call serves the longest start (and others)
    assert len(calls) - 1 <= max(s.runs for s in cal.starts) < cal.runs / 3
    assert max(calls[1:]) >= 4  # requests of several starts in one call


def test_unsupported_model_is_fitted_with_pysd_after_a_notice(tmp_path, caplog):
    # vec_unsupported.mdl: Stock = 1 + inflow * t (GET TIME VALUE elsewhere in the model)
    (tmp_path / "history.csv").write_text(
        "year,stock\n" + "".join(f"{t},{1 + 3.0 * t!r}\n" for t in range(11))
    )
    spec = tmp_path / "calibration.toml"
    spec.write_text(
        f"""
[calibration]
model = "{(TEST_MODELS / "vec_unsupported.mdl").as_posix()}"
period = [0, 10]
starts = 2

[parameters.inflow]
bounds = [0, 10]

[targets.Stock]
file = "history.csv"
column = "stock"
"""
    )
    with caplog.at_level("WARNING", logger="sd"):
        cal = calibrate(load_spec(spec))
    assert cal.engine == "pysd"
    assert cal.values["inflow"] == pytest.approx(3.0, rel=1e-6)
    notes = [r.getMessage() for r in caplog.records if r.name == "sd"]
    assert notes == [
        "vectorized engine: GET TIME VALUE is not supported (in 'clock'); calibrating "
        "vec_unsupported.mdl "
        "with PySD instead"
    ]


def test_interrupt_during_the_start_points_keeps_the_best(tmp_path):
    spec = load_spec(_write_case(tmp_path, noise=0.0))

    def interrupt_at_3(objective):
        if objective.runs == 3:
            raise KeyboardInterrupt

    cal = calibrate(spec, on_run=interrupt_at_3, engine="vectorized")
    assert cal.interrupted and cal.runs == 3 and not cal.converged
    model = sd.load(TEST_MODELS / "decay.mdl")
    obj = Objective(check_spec(spec, model), model)
    points = sd.analysis.calibration.start_points(obj.spec, model, 3, obj.spec.seed)[:3]
    costs = [0.5 * float(r @ r) for r in (obj.residuals(x) for x in points)]
    assert cal.objective == pytest.approx(min(costs), rel=1e-12)


def test_backtest_on_both_engines_agrees(tmp_path):
    from sd.analysis.backtest import backtest

    spec = load_spec(_write_case(tmp_path, noise=0.01))
    serial = backtest(spec, starts=1, engine="pysd").table
    fast = backtest(spec, starts=1, engine="vectorized").table
    assert list(serial.columns) == list(fast.columns) and len(serial) == len(fast) == 12
    np.testing.assert_allclose(
        fast[["mape", "rmse"]].to_numpy(), serial[["mape", "rmse"]].to_numpy(), rtol=1e-6
    )


def test_cli_engine_option(tmp_path):
    import pandas as pd

    from sd.cli.commands import main

    spec = _write_case(tmp_path, noise=0.01)
    tables = {}
    for engine in ("pysd", "vectorized"):
        out = tmp_path / engine
        assert main(["calibrate", str(spec), "-o", str(out), "--engine", engine]) == 0
        tables[engine] = pd.read_csv(out / "parameters.csv").set_index("parameter")["value"]
    np.testing.assert_allclose(tables["vectorized"], tables["pysd"], rtol=1e-6)
    with pytest.raises(SystemExit) as err:
        main(["calibrate", str(spec), "--engine", "numba"])
    assert err.value.code == 2


def test_calibration_keeps_its_fitted_run_and_draws_from_it(tmp_path, monkeypatch):
    from sd.analysis import fitstats
    from sd.report.calibration import write_calibration

    cal = calibrate(load_spec(_write_case(tmp_path, noise=0.01)), starts=1)
    model = sd.load(TEST_MODELS / "decay.mdl")
    # an independent path: a plain run at the fitted values equals the kept run
    again = sd.run(model, dict(cal.values), variables=["Stock", "outflow"])
    np.testing.assert_allclose(
        cal.fitted.series("Stock", "calibrated").to_numpy(),
        again.series("Stock").to_numpy(),
        rtol=1e-12,
    )
    assert cal.fitted.series("Stock", "calibrated").index.max() == 20  # the fitting period
    history = np.loadtxt(tmp_path / "history.csv", delimiter=",", skiprows=1)
    st = fitstats.fit_stats(cal.fitted.series("Stock", "calibrated").to_numpy(), history[:, 1])
    assert st.mape == pytest.approx(cal.stats["Stock"].mape, rel=1e-12)

    def no_run(*args, **kwargs):
        raise AssertionError("the figures re-simulated the fit")

    monkeypatch.setattr(Objective, "simulate", no_run)
    out = tmp_path / "out"
    files = write_calibration(cal, out)
    assert out / "fitted.csv" in files
    assert {p.name for p in (out / "figures").iterdir()} >= {"fit_stock.png", "fit_outflow.png"}
    saved = sd.Results.load(out / "fitted.csv")
    np.testing.assert_array_equal(
        saved.series("outflow", "calibrated").to_numpy(),
        cal.fitted.series("outflow", "calibrated").to_numpy(),
    )


def _at_bound_spec(tmp_path: Path) -> Path:
    """The true inflow (7) lies above the upper bound (5): the fit must end on that bound."""
    spec = _write_case(tmp_path, noise=0.0)
    spec.write_text(
        spec.read_text().replace(
            '[parameters."steady inflow"]\nbounds = [0, 20]',
            '[parameters."steady inflow"]\nbounds = [0, 5]',
        )
    )
    return spec


def test_a_parameter_on_its_bound_is_warned_about_everywhere(tmp_path, capsys):
    from sd.analysis.calibration import BOUND_TOLERANCE, at_bounds
    from sd.cli.commands import main

    spec = _at_bound_spec(tmp_path)
    cal = calibrate(load_spec(spec), starts=1)
    assert cal.values["steady inflow"] == pytest.approx(5.0, abs=BOUND_TOLERANCE * 5)
    [bound] = cal.at_bounds()
    assert (bound.name, bound.side, bound.bound) == ("steady inflow", "upper", 5.0)
    table = cal.parameter_table().set_index("parameter")
    assert table.loc["steady inflow", "bound"] == "upper"
    assert table.loc["decay rate", "bound"] == "" and not table.loc["decay rate", "at_bound"]
    # the tolerance: 0.1% of the width inside the bound counts, 0.2% does not
    checked = check_spec(load_spec(spec), sd.load(TEST_MODELS / "decay.mdl"))
    assert at_bounds(checked, {"decay rate": 0.2, "steady inflow": 5 - 0.001 * 5})
    assert not at_bounds(checked, {"decay rate": 0.2, "steady inflow": 5 - 0.002 * 5})
    assert main(["calibrate", str(spec), "--starts", "1", "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "warning: 'steady inflow' = 5 is at its upper bound 5" in err
    toml = (tmp_path / "out" / "calibrated.toml").read_text(encoding="utf-8")
    assert "# warning: 'steady inflow' = 5 is at its upper bound 5" in toml
