"""The vectorized engine on subscripted models gives, run by run, what sd.run (PySD) gives."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

import sd
from sd.engine.vectorized.core import Unsupported, build, flat_columns
from tests.conftest import CONFORMANCE, TEST_MODELS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pysd")

RTOL = 1e-9
ATOL = 1e-12
OWN = TEST_MODELS / "vec_subscripts.mdl"


def assert_runs_equal(
    model: sd.Model,
    engine_params: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    *,
    variables: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """All parameter sets at once; run i equals sd.run(model, runs[i]), column by column."""
    vm = build(model)
    times, out = vm.run(engine_params, n=len(runs), variables=variables)
    cols = flat_columns(vm, out)
    for i, params in enumerate(runs):
        ref = sd.run(model, params, variables=variables).wide()
        np.testing.assert_array_equal(times, ref.index.to_numpy(float))
        assert set(cols) == set(ref.columns)
        for name, values in cols.items():
            np.testing.assert_allclose(
                values[i], ref[name].to_numpy(float), rtol=RTOL, atol=ATOL, err_msg=name
            )
    return out


def shared(path: str):
    mdl = CONFORMANCE / path
    if not mdl.is_file():
        if os.environ.get("SD_REQUIRE_SHARED") == "1":
            pytest.fail(f"{mdl} is missing and SD_REQUIRE_SHARED=1")
        pytest.skip(f"{mdl} not present")
    return mdl


# -- the project's subscripted model: coal grades x export directions ---------------------------


def test_own_model_default_run_equals_sd_run():
    model = sd.load(OWN)
    out = assert_runs_equal(model, {}, [{}])
    vm = build(model)
    assert out["Shipped"].shape == (1, 11, 2, 3)  # runs, saved times, grades, directions
    assert [d for d, _ in vm.coords("Shipped")] == ["Grade", "Direction"]


def test_own_model_ensemble_run_by_run():
    model = sd.load(OWN)
    runs = [
        {"port congestion": c, "price smoothing time": s, "unit value": u, "growth": g}
        for c, s, u, g in [(0.5, 3, 2.5, 0.02), (0.0, 1, 1.0, -0.01), (2.0, 6.5, 3.0, 0.06),
                           (1.2, 0.5, 2.0, 0.0), (0.1, 10, 2.7, 0.03)]
    ]  # fmt: skip
    engine = {name: np.array([r[name] for r in runs]) for name in runs[0]}
    out = assert_runs_equal(model, engine, runs)
    # independent checks on the engine's own arrays: SUM over directions, VMAX over both
    np.testing.assert_allclose(out["total shipped"], out["Shipped"].sum(axis=3), rtol=1e-12)
    np.testing.assert_allclose(out["largest flow"], out["Shipped"].max(axis=(2, 3)), rtol=0)
    # the rail direction (south) has a constant adjustment time of 1.5 in every run
    assert (out["adjustment time"][:, :, :, 2] == 1.5).all()
    # with no growth and no congestion the thermal price index stays where shipments put it
    assert out["price index"].shape == (5, 11, 2)


def test_own_model_first_step_by_hand():
    """The first Euler step of Shipped, computed by hand from the equations (growth 0)."""
    model = sd.load(OWN)
    names = ["Shipped", "price index", "adjustment time", "total shipped"]
    _, out = build(model).run(
        {"growth": 0.0}, n=1, variables=names, time=sd.TimeSettings(saveper=0.25)
    )
    # t0: coking ships 20+15+5 = 40 Mt; its own table gives 1.6 + (1.3-1.6) * 40/50 = 1.36;
    # thermal ships 100 Mt, a point of the shared table: 1.0
    assert out["total shipped"][0, 0].tolist() == [100.0, 40.0]
    np.testing.assert_allclose(out["price index"][0, 0], [1.0, 1.6 - 0.3 * 40 / 50], rtol=1e-12)
    # sea directions: 2 + 0.5 * Shipped / 50; south: 1.5
    np.testing.assert_allclose(
        out["adjustment time"][0, 0], [[2.6, 2.3, 1.5], [2.2, 2.15, 1.5]], rtol=1e-12
    )
    # coking south: 5 + 0.25 * (5 * 1.36 - 5) / 1.5 = 5.3; thermal east: demand met, 60
    assert out["Shipped"][0, 1, 1, 2] == pytest.approx(5.3, rel=1e-12)
    assert out["Shipped"][0, 1, 0, 0] == pytest.approx(60.0, rel=1e-12)
    assert out["Shipped"][0, 1, 1, 0] == pytest.approx(20 + 0.25 * (20 * 1.36 - 20) / 2.2)


def test_own_model_subscripted_constant_set_for_all_elements():
    model = sd.load(OWN)
    assert_runs_equal(model, {"growth": 0.05}, [{"growth": 0.05}], variables=["demand"])


# -- Vensim conformance models with subscripts ---------------------------------------------------

SUBSCRIPTED = [
    "allocate_available/test_allocate_available.mdl",
    "allocate_by_priority/test_allocate_by_priority.mdl",
    "elm_count/test_elm_count.mdl",
    "except/test_except.mdl",
    "except_subranges/test_except_subranges.mdl",
    "get_constants_subranges/test_get_constants_subranges.mdl",
    "get_data_args_3d_xls/test_get_data_args_3d_xls.mdl",
    "get_lookups_data_3d_xls/test_get_lookups_data_3d_xls.mdl",
    "invert_matrix/test_invert_matrix.mdl",
    "repeated_subscript/test_repeated_subscript.mdl",
    "subscript_1d_arrays/test_subscript_1d_arrays.mdl",
    "subscript_2d_arrays/test_subscript_2d_arrays.mdl",
    "subscript_3d_arrays/test_subscript_3d_arrays.mdl",
    "subscript_aggregation/test_subscript_aggregation.mdl",
    "subscript_copy/test_subscript_copy2.mdl",
    "subscript_element_name/test_subscript_element_name.mdl",
    "subscript_individually_defined_stocks/test_subscript_individually_defined_stocks.mdl",
    "subscript_mapping_simple/test_subscript_mapping_simple.mdl",
    "subscript_mapping_vensim/test_subscript_mapping_vensim.mdl",
    "subscript_multiples/test_multiple_subscripts.mdl",
    "subscript_numeric_range/test_subscript_numeric_range.mdl",
    "subscript_selection/subscript_selection.mdl",
    "subscript_subranges/test_subscript_subrange.mdl",
    "subscript_switching/subscript_switching.mdl",
    "subscript_transposition/test_subscript_transposition.mdl",
    "subscript_updimensioning/test_subscript_updimensioning.mdl",
    "subscripted_delays/test_subscripted_delays.mdl",
    "subscripted_flows/test_subscripted_flows.mdl",
    "subscripted_if_then_else/test_subscripted_if_then_else.mdl",
    "subscripted_lookups/test_subscripted_lookups.mdl",
    "subscripted_smooth/test_subscripted_smooth.mdl",
    "subscripted_trend/test_subscripted_trend.mdl",
    "subscripted_xidz/test_subscripted_xidz.mdl",
    "vector_order/test_vector_order.mdl",
    "vector_select/test_vector_select.mdl",
]


@pytest.mark.parametrize("path", SUBSCRIPTED)
def test_subscripted_conformance_model(path):
    model = sd.load(shared(path))
    assert_runs_equal(model, {}, [{}])
    if model.defaults:  # every scalar constant changed, one value per run
        runs = [
            {name: value * 1.1 + 0.01 for name, value in model.defaults.items()},
            {name: value * 0.9 for name, value in model.defaults.items()},
        ]
        engine = {name: np.array([r[name] for r in runs]) for name in runs[0]}
        assert_runs_equal(model, engine, runs)


def test_data_mixed_with_constants_falls_back_naming_it():
    model = sd.load(shared("get_mixed_definitions/test_get_mixed_definitions.mdl"))
    with pytest.raises(Unsupported, match="mixed with equations") as err:
        build(model)
    assert "'Variable'" in str(err.value) and "\n" not in str(err.value)
