"""sd.run on the vectorized engine (sd.engine.fastrun) equals PySD's run, its oracle, to 1e-12."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sd
from sd.engine import fastrun
from sd.engine.params import check_params
from sd.engine.pysd_run import _run_pysd
from sd.engine.run import _selection
from tests.conftest import CONFORMANCE, KUZBASS, TEST_MODELS, need_shared

#: test models the engine cannot run (sd.run uses PySD for them): why
NOT_FAST = {
    "vec_unsupported.mdl": "GET TIME VALUE",
    "vec_sample_stock.mdl": "SAMPLE IF TRUE of a stock PySD updates first",
}
OWN = sorted(p.name for p in TEST_MODELS.glob("*.mdl"))
CONFORMANCE_MODELS = [
    "vector_select",
    "allocate_available",
    "allocate_by_priority",
    "subscript_aggregation",
    "subscripted_delays",
    "subscripted_smooth",
    "subscripted_lookups",
    "subscript_mapping_vensim",
    "smooth",
    "smooth_and_stock",
    "lookups",
    "subscript_subranges",
    "xidz_zidz",
    "trend",
    "sample_if_true",
]


def _both(model: sd.Model, params: dict | None = None, variables=None):
    overrides = check_params(model, params)
    grid = model.time
    names = _selection(model, variables)
    return (
        fastrun.run_frame(model, overrides, grid, names),
        _run_pysd(model, overrides, grid, names),
    )


def assert_frames_equal(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    """Same columns and times; values within 1e-12 of each series' peak (a value PySD
    computes as 0 may come out as 4e-16 from numpy's other order of additions)."""
    assert list(fast.columns) == list(slow.columns)
    np.testing.assert_array_equal(fast.index.to_numpy(), slow.index.to_numpy())
    a = fast.to_numpy(dtype=float)
    b = slow.to_numpy(dtype=float)
    peak = np.maximum(np.abs(b).max(axis=0), 1e-300)
    assert (np.abs(a - b) <= 1e-12 * peak).all(), np.abs(a - b).max(axis=0) / peak


@pytest.mark.parametrize("name", OWN)
def test_own_models_equal_pysd(name: str) -> None:
    model = sd.load(TEST_MODELS / name)
    if model.time.method != "euler":  # RK4/RK2: the engine's own run (sd.engine.integration)
        from sd.engine.integration import run_frame

        names = _selection(model, None)
        fast = fastrun.run_frame(model, {}, model.time, names)
        assert fast is not None
        assert_frames_equal(fast, run_frame(model, {}, model.time, names))
        return
    try:
        fast, slow = _both(model)
    except sd.SDError:
        assert name in NOT_FAST  # PySD itself refuses: the fast path must not hide it
        return
    if name in NOT_FAST or not np.isfinite(slow.to_numpy(dtype=float)).all():
        assert fast is None  # a NaN run goes to PySD, which names the variable and time
    else:
        assert fast is not None, "the fast path did not run this model"
        assert_frames_equal(fast, slow)


@pytest.mark.parametrize("case", CONFORMANCE_MODELS)
def test_conformance_models_equal_pysd(case: str) -> None:
    folder = need_shared(CONFORMANCE / case)
    model = sd.load(next(folder.glob("*.mdl")))
    fast, slow = _both(model)
    assert fast is not None, "the fast path did not run this model"
    assert_frames_equal(fast, slow)


def test_kuzbass_equals_pysd_with_overrides() -> None:
    model = sd.load(KUZBASS)
    lookup = next(v.name for v in model.of_kind("lookup"))
    data = next((v.name for v in model.of_kind("data")), None)
    const = next(v.name for v in model.of_kind("constant"))
    params: dict = {const: model.defaults[const] * 1.3 + 0.01}
    params[lookup] = pd.Series([0.5, 1.0, 2.0], index=[0.0, 1.0, 5.0])
    if data is not None:
        params[data] = pd.Series([1.0, 3.0], index=[2000.0, 2050.0])
    fast, slow = _both(model, params)
    assert fast is not None
    assert_frames_equal(fast, slow)
    # and sd.run gives the fast numbers
    res = sd.run(model, params)
    np.testing.assert_array_equal(res.wide("base")[list(fast.columns)].to_numpy(), fast.to_numpy())


def test_constant_as_series_and_time_settings(tmp_path: Path) -> None:
    model = sd.load(TEST_MODELS / "decay.mdl")
    const = next(v.name for v in model.of_kind("constant"))
    series = pd.Series([0.1, 0.3], index=[0.0, 10.0])
    time = sd.TimeSettings(final=7, step=0.5, saveper=1)
    fast = sd.run(model, {const: series}, time=time)
    grid = time.apply(model.time)
    names = _selection(model, None)
    slow = _run_pysd(model, check_params(model, {const: series}), grid, names)
    assert_frames_equal(fast.wide("base")[list(slow.columns)], slow)
    assert fast.data["time"].max() == 7


def test_generated_code_is_kept_in_the_cache_and_checked(tmp_path: Path) -> None:
    src = TEST_MODELS / "logistic.mdl"
    mdl = tmp_path / "logistic.mdl"
    shutil.copy(src, mdl)
    model = sd.load(mdl, cache_dir=tmp_path / "cache")
    first = sd.run(model)
    folder = Path(model.entry.folder) / "engine"
    files = sorted(p.name for p in folder.glob("*.json"))
    assert files, "no generated code written"
    fastrun._MEMO.clear()
    again = sd.load(mdl, cache_dir=tmp_path / "cache")
    assert again.entry.folder == model.entry.folder  # the entry is still intact
    pd.testing.assert_frame_equal(sd.run(again).data, first.data)
    # a tampered source is refused, never executed
    meta_file = folder / files[0]
    meta = json.loads(meta_file.read_text())
    meta["source"] = meta["source"].replace(
        "def _simulate(_env):", "def _simulate(_env):\n    __import__('os')"
    )
    meta_file.write_text(json.dumps(meta))
    fastrun._MEMO.clear()
    with pytest.raises(sd.SDError):
        sd.run(sd.load(mdl, cache_dir=tmp_path / "cache"))


def test_unsupported_model_is_remembered_and_run_by_pysd(tmp_path: Path) -> None:
    mdl = tmp_path / "vec_unsupported.mdl"
    shutil.copy(TEST_MODELS / "vec_unsupported.mdl", mdl)
    model = sd.load(mdl, cache_dir=tmp_path / "cache")
    res = sd.run(model)
    assert not res.data.empty
    marks = list((Path(model.entry.folder) / "engine").glob("unsupported-*.json"))
    assert len(marks) == 1
    assert "GET TIME VALUE" in json.loads(marks[0].read_text())["construct"]


def test_failing_run_falls_back_to_pysd_which_names_the_variable() -> None:
    model = sd.load(TEST_MODELS / "failing.mdl")
    params = check_params(model, {"drain rate": 0.2})  # Level < 0 at year 5: SQRT is NaN
    assert fastrun.run_frame(model, params, model.time, _selection(model, None)) is None
    with pytest.raises(sd.SDError, match="'Root' becomes NaN at time 6"):
        sd.run(model, {"drain rate": 0.2})
