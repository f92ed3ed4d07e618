"""The vectorized engine gives, run by run, what sd.run (PySD) gives."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sd
from sd.engine.vectorized.core import PerRunSeries, Unsupported, build
from tests.conftest import CONFORMANCE, KUZBASS, TEST_MODELS, need_shared

# PySD warns (to stderr) when it casts delay orders; those runs are compared all the same
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pysd")

RTOL = 1e-9
ATOL = 1e-12


def assert_runs_equal(
    model: sd.Model,
    engine_params: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    *,
    variables: Sequence[str] | None = None,
    time_settings: sd.TimeSettings | None = None,
) -> dict[str, np.ndarray]:
    """Run all parameter sets at once and compare run i with sd.run(model, runs[i])."""
    times, out = build(model).run(
        engine_params, n=len(runs), time=time_settings, variables=variables
    )
    for i, params in enumerate(runs):
        ref = sd.run(model, params, time=time_settings, variables=variables).wide()
        np.testing.assert_array_equal(times, ref.index.to_numpy(float))
        assert set(out) == set(ref.columns)
        for name, values in out.items():
            np.testing.assert_allclose(
                values[i], ref[name].to_numpy(float), rtol=RTOL, atol=ATOL, err_msg=name
            )
    return out


def per_run(runs: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
    """[{name: value}, ...] -> {name: array of one value per run}."""
    return {name: np.array([run[name] for run in runs]) for name in runs[0]}


# -- the project's test models ------------------------------------------------------------------


def test_decay_per_run_arrays_equal_sd_run_of_each_value():
    model = sd.load(TEST_MODELS / "decay.mdl")
    assert_runs_equal(model, {}, [{}])  # the model's own values
    runs = [
        {"decay rate": rate, "initial stock": stock, "steady inflow": inflow}
        for rate, stock, inflow in [(0.1, 100, 5), (0.35, 20, 0), (0.0, 1e-3, 12.5), (0.9, 1e6, 3)]
    ]
    assert_runs_equal(model, per_run(runs), runs)


def test_decay_scalar_and_time_settings():
    model = sd.load(TEST_MODELS / "decay.mdl")
    settings = sd.TimeSettings(initial=2, final=9.5, step=0.25, saveper=0.75)
    runs = [{"decay rate": 0.2}] * 3
    assert_runs_equal(model, {"decay rate": 0.2}, runs, time_settings=settings)


def test_lookups_and_direct_data():
    model = sd.load(TEST_MODELS / "lookups.mdl")
    assert_runs_equal(model, {}, [{}, {}])
    table = pd.Series([0.2, 1.0, 3.0], index=[0.0, 4.0, 8.0])
    level = pd.Series([5.0, 30.0, 10.0], index=[1990.0, 2005.0, 2021.0])
    assert_runs_equal(
        model,
        {"effect table": table, "level data": level},
        [{"effect table": table, "level data": level}] * 2,
    )


FUNCTION_RUNS = [
    {},
    {"growth rate": 0.05, "switch time": 0.0, "pulse start": 2.3, "pulse width": 0.25,
     "train interval": 0.0, "train start": 4.5},
    {"growth rate": 0.1, "switch time": 12.0, "train interval": 2.5, "train width": 1.0,
     "train end": 30.0, "ramp slope": -1.0, "ramp end": 30.0, "step time": 0.0625,
     "threshold": 0.0},
    {"growth rate": 0.0, "initial level": 0.001, "pulse width": 0.0625, "step time": 20.0,
     "ramp start": 25.0, "threshold": 1e6},
]  # fmt: skip


def _complete(model: sd.Model, runs: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
    """Every run sets the same constants (the model's values where a run gives none)."""
    names = sorted({name for run in runs for name in run})
    return [{name: run.get(name, model.defaults[name]) for name in names} for run in runs]


def test_functions_with_per_run_parameters():
    model = sd.load(TEST_MODELS / "vec_functions.mdl")
    assert_runs_equal(model, {}, [{}])
    runs = _complete(model, FUNCTION_RUNS)
    out = assert_runs_equal(model, per_run(runs), runs)
    # the untaken branches (x/0 before the switch, LN of a negative number) never leak
    assert np.isfinite(out["safe ratio"]).all() and np.isfinite(out["log branch"]).all()
    assert out["safe ratio"][2, 0] == -1  # divisor still 0 at time 0 in run 2


def test_series_input_same_for_all_runs_equals_sd_run():
    model = sd.load(TEST_MODELS / "vec_functions.mdl")
    growth = pd.Series([0.0, 0.08, 0.02], index=[0.0, 7.5, 20.0])
    assert_runs_equal(model, {"growth rate": growth}, [{"growth rate": growth}] * 2)


def test_per_run_time_paths_equal_sd_run_with_each_series():
    model = sd.load(TEST_MODELS / "vec_functions.mdl")
    times = np.array([0.0, 3.3, 9.0, 14.0])
    paths = np.array([[0.0, 0.05, 0.05, 0.0], [0.1, 0.0, 0.02, 0.04], [0.03, 0.03, 0.03, 0.03]])
    runs = [{"growth rate": pd.Series(row, index=times)} for row in paths]
    assert_runs_equal(model, {"growth rate": PerRunSeries(times, paths)}, runs)


DELAY_RUNS = [
    {},
    {"delay time": 0.6, "delay order": 3, "fixed delay": 0.3, "base smooth time": 0.5},
    {"delay time": 0.3, "delay order": 2.7, "fixed delay": 4.13, "sample time": 0.1,
     "pulse start": 0.125},
    {"delay time": 7, "delay order": 8, "fixed delay": 0.125, "step height": -3,
     "ramp slope": 0},
]  # fmt: skip


def test_smooths_delays_trend_forecast_sample():
    model = sd.load(TEST_MODELS / "vec_delays.mdl")
    # the model's own values: SMOOTHI's integer initial value gives a float state in both
    assert_runs_equal(model, {}, [{}])
    runs = _complete(model, DELAY_RUNS)  # short delay times lower the delay orders per run
    assert_runs_equal(model, per_run(runs), runs)


def test_run_that_pysd_cannot_finish_is_nan():
    model = sd.load(TEST_MODELS / "vec_delays.mdl")
    # a DELAY N order below 1 leaves no stage: PySD fails (IndexError). (A short delay time
    # no longer lowers DELAY3's order: Vensim keeps it, sd.engine.vensim_functions.)
    _, out = build(model).run({"delay order": np.array([3.0, 0.5])}, n=2)
    assert np.isfinite(out["delayed3"][0]).all()
    assert all(np.isnan(values[1]).all() for values in out.values())


DATA_VARIABLES = [
    "level data",
    "held data",
    "forward data",
    "raw checked",
    "price",
    "Stock",
    "scale",
    "demand",
]


def test_data_keywords_file_lookups_and_constants():
    model = sd.load(TEST_MODELS / "vec_data.mdl")
    runs = [{"demand": 3.0}, {"demand": 5.5}]
    assert_runs_equal(model, per_run(runs), runs, variables=DATA_VARIABLES)


def test_raw_data_nan_fails_like_sd_run():
    model = sd.load(TEST_MODELS / "vec_data.mdl")
    with pytest.raises(sd.SimulationError):
        sd.run(model, variables=["raw data"])
    _, out = build(model).run({}, n=2, variables=["raw data", "Stock"])
    assert np.isnan(out["raw data"]).all() and np.isnan(out["Stock"]).all()


def test_time_series_replace_constants_lookups_and_data():
    model = sd.load(TEST_MODELS / "vec_data.mdl")
    times = np.array([1999.0, 2003.0, 2006.5, 2011.0])
    paths = np.array([[1.0, 4.0, 2.0, 8.0], [2.0, 1.0, 7.0, 3.0], [0.5, 0.5, 9.0, 9.0]])
    names = ["demand", "response", "held data", "level data"]
    runs = [{name: pd.Series(row, index=times) for name in names} for row in paths]
    engine = {name: PerRunSeries(times, paths) for name in names}
    assert_runs_equal(model, engine, runs, variables=DATA_VARIABLES)
    shared = {name: pd.Series(paths[0], index=times) for name in names}
    assert_runs_equal(model, shared, [shared] * 2, variables=DATA_VARIABLES)


def test_numbers_replace_lookups_and_data():
    model = sd.load(TEST_MODELS / "vec_data.mdl")
    runs = [
        {"response": 2.0, "forward data": 3.0, "scale": 0.5},
        {"response": 1.5, "forward data": -1.0, "scale": 2.0},
    ]
    assert_runs_equal(model, per_run(runs), runs, variables=DATA_VARIABLES)


def test_larger_model_with_per_run_parameters():
    model = sd.load(TEST_MODELS / "vec_large.mdl")
    assert_runs_equal(model, {}, [{}])
    runs = [
        {"demand growth": 0.05, "construction time": 0.5, "price adjustment time": 0.7,
         "tax rate": 0.3, "policy start": 2010.3, "coupling": 0.2, "reference price": 120},
        {"demand growth": -0.01, "construction time": 8, "price adjustment time": 5,
         "tax rate": 0.0, "policy start": 2060, "coupling": 0.0, "reference price": 100},
    ]  # fmt: skip
    assert_runs_equal(model, per_run(runs), runs, variables=["total revenue", "Capacity 3"])


# -- the API ----------------------------------------------------------------------------------


def test_control_variables_can_be_kept():
    model = sd.load(TEST_MODELS / "decay.mdl")
    settings = sd.TimeSettings(final=4, step=0.5)
    names = ["TIME STEP", "SAVEPER", "FINAL TIME", "INITIAL TIME", "Stock"]
    assert_runs_equal(model, {}, [{}], variables=names, time_settings=settings)


def test_build_is_cached_per_model():
    model = sd.load(TEST_MODELS / "vec_large.mdl")
    build(model)
    start = time.perf_counter()
    again = build(sd.load(TEST_MODELS / "vec_large.mdl"))
    assert time.perf_counter() - start < 0.5
    times, out = again.run({}, n=2, variables=["Capacity 1"])
    assert out["Capacity 1"].shape == (2, len(times)) and out["Capacity 1"].dtype == np.float64


def test_bad_parameters_are_refused():
    model = sd.load(TEST_MODELS / "decay.mdl")
    vm = build(model)
    with pytest.raises(sd.ParameterError, match="shape"):
        vm.run({"decay rate": np.ones(3)}, n=2)
    with pytest.raises(sd.ParameterError, match="NaN"):
        vm.run({"decay rate": np.array([0.1, np.nan])}, n=2)
    with pytest.raises(sd.ParameterError, match="computed by an equation"):
        vm.run({"Stock": 3.0}, n=1)
    with pytest.raises(sd.UnknownVariableError, match="Did you mean"):
        vm.run({"decay rat": 0.1}, n=1)
    with pytest.raises(sd.ParameterError, match="shape"):
        vm.run({"decay rate": PerRunSeries(np.array([0.0, 1.0]), np.ones((3, 2)))}, n=2)
    with pytest.raises(sd.ParameterError, match="positive"):
        vm.run({}, n=0)


# -- fallback: what the engine does not run -----------------------------------------------------


def test_unsupported_function_is_named():
    model = sd.load(TEST_MODELS / "vec_unsupported.mdl")
    sd.run(model)  # PySD runs it
    with pytest.raises(Unsupported, match="GET TIME VALUE") as err:
        build(model)
    assert isinstance(err.value, sd.SDError)
    assert str(err.value).startswith("vectorized engine: ") and "\n" not in str(err.value)


def test_sample_if_true_reading_an_updated_stock_is_refused():
    # PySD updates the stock before SAMPLE IF TRUE reads it; the engine refuses the model
    model = sd.load(TEST_MODELS / "vec_sample_stock.mdl")
    with pytest.raises(Unsupported, match="SAMPLE IF TRUE"):
        build(model)


@pytest.mark.parametrize(
    ("path", "construct"),
    [
        ("get_time_value/test_get_time_value_simple.mdl", "GET TIME VALUE"),
        ("delays/test_delays.mdl", "DELAY N with a time-varying delay time"),
    ],
)
def test_unsupported_conformance_models(path, construct):
    mdl = CONFORMANCE / path
    need_shared(mdl)
    with pytest.raises(Unsupported, match=construct):
        build(sd.load(mdl))


# -- Vensim conformance models without subscripts -----------------------------------------------

CONFORMANCE_MODELS = [
    "abs/test_abs.mdl",
    "active_initial/test_active_initial.mdl",
    "active_initial_circular/test_active_initial_circular.mdl",
    "arguments/test_arguments.mdl",
    "builtin_max/builtin_max.mdl",
    "builtin_min/builtin_min.mdl",
    "case_sensitive_extension/teacup-upper.MDL",
    "chained_initialization/test_chained_initialization.mdl",
    "constant_expressions/test_constant_expressions.mdl",
    "control_vars/test_control_vars.mdl",
    "delay_fixed/test_delay_fixed.mdl",
    "delay_numeric_error/test_delay_numeric_error.mdl",
    "delay_parentheses/test_delay_parentheses.mdl",
    "delay_pipeline/test_pipeline_delays.mdl",
    "dynamic_final_time/test_dynamic_final_time.mdl",
    "euler_step_vs_saveper/test_euler_step_vs_saveper.mdl",
    "exp/test_exp.mdl",
    "exponentiation/exponentiation.mdl",
    "fully_invalid_names/test_fully_invalid_names.mdl",
    "function_capitalization/test_function_capitalization.mdl",
    "game/test_game.mdl",
    "if_stmt/if_stmt.mdl",
    "initial_function/test_initial.mdl",
    "input_functions/test_inputs.mdl",
    "limits/test_limits.mdl",
    "line_breaks/test_line_breaks.mdl",
    "line_continuation/test_line_continuation.mdl",
    "ln/test_ln.mdl",
    "log/test_log.mdl",
    "logicals/test_logicals.mdl",
    "lookups/test_lookups.mdl",
    "lookups_funcnames/test_lookups_funcnames.mdl",
    "lookups_inline/test_lookups_inline.mdl",
    "lookups_inline_bounded/test_lookups_inline_bounded.mdl",
    "lookups_inline_spaces/test_lookups_inline_spaces.mdl",
    "lookups_with_expr/test_lookups_with_expr.mdl",
    "lookups_without_range/test_lookups_without_range.mdl",
    "macro_cross_reference/test_macro_cross_reference.mdl",  # macros are expanded first
    "macro_expression/test_macro_expression.mdl",
    "macro_multi_expression/test_macro_multi_expression.mdl",
    "macro_multi_macros/test_macro_multi_macros.mdl",
    "macro_stock/test_macro_stock.mdl",
    "macro_trailing_definition/test_macro_trailing_definition.mdl",
    "model_doc/model_doc.mdl",
    "nested_functions/test_nested_functions.mdl",
    "number_handling/test_number_handling.mdl",
    "odd_number_quotes/teacup_3quotes.mdl",
    "parentheses/test_parens.mdl",
    "reference_capitalization/test_reference_capitalization.mdl",
    "rounding/test_rounding.mdl",
    "smooth/test_smooth.mdl",
    "smooth_and_stock/test_smooth_and_stock.mdl",
    "special_characters/test_special_variable_names.mdl",
    "sqrt/test_sqrt.mdl",
    "time/test_time.mdl",
    "trend/test_trend.mdl",
    "trig/test_trig.mdl",
    "unchangeable_constant/test_unchangeable_constant.mdl",
    "unicode_characters/unicode_test_model.mdl",
    "variable_ranges/test_variable_ranges.mdl",
    "xidz_zidz/xidz_zidz.mdl",
    "zeroled_decimals/test_zeroled_decimals.mdl",
]


@pytest.mark.parametrize("path", CONFORMANCE_MODELS)
def test_conformance_model(path):
    mdl = CONFORMANCE / path
    need_shared(mdl)
    model = sd.load(mdl)  # translated into the test cache, nothing written beside the model
    assert_runs_equal(model, {}, [{}])
    if model.defaults:  # every constant changed, one value per run
        runs = [
            {name: value * 1.1 + 0.01 for name, value in model.defaults.items()},
            {name: value * 0.9 for name, value in model.defaults.items()},
        ]
        assert_runs_equal(model, per_run(runs), runs)


def test_conformance_model_pysd_cannot_finish():
    mdl = CONFORMANCE / "na" / "test_na.mdl"
    need_shared(mdl)
    model = sd.load(mdl)
    with pytest.raises(sd.SimulationError):
        sd.run(model)
    _, out = build(model).run({}, n=1)
    assert all(np.isnan(values).all() for values in out.values())


# -- the Kuzbass model --------------------------------------------------------------------------


def test_kuzbass_model():
    assert KUZBASS.is_file()
    model = sd.load(KUZBASS)
    assert_runs_equal(model, {}, [{}])
    # every constant but the years (calendar switches) moves by up to 10%, run by run
    constants = {k: v for k, v in model.defaults.items() if not 1900 <= v <= 2100}
    rng = np.random.default_rng(7)
    runs = [
        {name: value * factor for name, value, factor in zip(
            constants, constants.values(), rng.uniform(0.9, 1.1, len(constants)), strict=True
        )}
        for _ in range(3)
    ]  # fmt: skip
    vm = build(model)
    _, out = vm.run(per_run(runs) if constants else {}, n=3)
    for i, params in enumerate(runs):
        try:
            ref = sd.run(model, params).wide()
        except sd.SimulationError:  # PySD cannot finish this run: the engine gives NaN
            assert all(np.isnan(values[i]).all() for values in out.values())
            continue
        for name, values in out.items():
            np.testing.assert_allclose(
                values[i], ref[name].to_numpy(float), rtol=RTOL, atol=ATOL, err_msg=name
            )
