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


# -- scalar code for one run (sd.engine.vectorized.scalar) ---------------------------------

#: own and conformance models without subscripts that sd.run runs as scalar code
SCALAR_CONFORMANCE = ["smooth", "smooth_and_stock", "lookups", "xidz_zidz", "trend",
                      "sample_if_true"]  # fmt: skip


def _scalar_and_numpy(model: sd.Model, params: dict | None = None):
    """sd.run's scalar code and the numpy code at one run, both on the same inputs."""
    from sd.engine.vectorized import core as vectorized
    from sd.engine.vectorized.core import execute

    vm = vectorized.build(model)
    overrides = check_params(model, params)
    values = vm._params(overrides, 1)
    kinds = {p: kind for p, (kind, _) in values.items()}
    names = _selection(model, None)
    outputs = [model.variables[n].py_name for n in names]
    runs = []
    for scalar in (True, False):
        fn, gen = vm._compiled(kinds, outputs, model.time.method, scalar=scalar)
        assert ("_env.block = _rec" in gen.source) == scalar
        times, arrays = execute(fn, gen, 1, values, model.time, [()] * len(names))
        runs.append(pd.DataFrame({n: a[0] for n, a in zip(names, arrays, strict=True)},
                                 index=pd.Index(times)))
    return runs[0], runs[1], _run_pysd(model, overrides, model.time, names)


def _scalar_cases() -> list:
    own = [TEST_MODELS / n for n in OWN if n not in NOT_FAST]
    shared = [CONFORMANCE / c for c in SCALAR_CONFORMANCE]
    return own + shared


@pytest.mark.parametrize("path", _scalar_cases(), ids=lambda p: p.name)
def test_scalar_code_equals_pysd_and_the_numpy_code(path: Path) -> None:
    from sd.engine.vectorized.core import Unsupported

    if path.suffix != ".mdl":
        path = next(need_shared(path).glob("*.mdl"))
    model = sd.load(path)
    if model.time.method != "euler":
        pytest.skip("RK4/RK2 runs are numpy code at one run (sd.engine.integration)")
    try:
        scalar, numpy_run, slow = _scalar_and_numpy(model)
    except Unsupported as err:  # subscripts: the numpy code at one run (tested above)
        assert "subscripts" in str(err) or model.variables, err
        pytest.skip(str(err))
    except sd.SDError:
        pytest.skip("PySD itself refuses this model (tested above)")
    if not np.isfinite(slow.to_numpy(dtype=float)).all():
        assert not np.isfinite(scalar.to_numpy()).all()  # NaN for the run, as numpy's code
        return
    assert_frames_equal(scalar[list(slow.columns)], slow)
    # the same arithmetic in the same order: equal to the numpy code bit for bit
    np.testing.assert_array_equal(scalar.to_numpy(), numpy_run.to_numpy())


def test_kuzbass_runs_as_scalar_code_equal_to_pysd_with_overrides() -> None:
    model = sd.load(KUZBASS)
    lookup = next(v.name for v in model.of_kind("lookup"))
    const = next(v.name for v in model.of_kind("constant"))
    params: dict = {const: model.defaults[const] * 1.3 + 0.01}
    params[lookup] = pd.Series([0.5, 1.0, 2.0], index=[0.0, 1.0, 5.0])
    scalar, numpy_run, slow = _scalar_and_numpy(model, params)
    assert_frames_equal(scalar[list(slow.columns)], slow)
    np.testing.assert_array_equal(scalar.to_numpy(), numpy_run.to_numpy())


def test_sd_run_keeps_scalar_code_and_its_compiled_code_in_the_cache(tmp_path: Path) -> None:
    mdl = tmp_path / "logistic.mdl"
    shutil.copy(TEST_MODELS / "logistic.mdl", mdl)
    model = sd.load(mdl, cache_dir=tmp_path / "cache")
    first = sd.run(model)
    folder = Path(model.entry.folder) / "engine"
    (meta_file,) = [p for p in folder.glob("*.json") if not p.name.startswith("load-")]
    meta = json.loads(meta_file.read_text())
    assert "_env.block = _rec" in meta["source"]  # scalar code
    code = meta_file.with_suffix(".code")
    assert code.is_file() and meta["code"]["sha256"]
    # compiled code that is not the recorded one is not used: the source is compiled again
    code.write_bytes(b"\xe3not code")
    fastrun._MEMO.clear()
    again = sd.run(sd.load(mdl, cache_dir=tmp_path / "cache"))
    pd.testing.assert_frame_equal(again.data, first.data)


def test_hidden_division_by_zero_stops_sd_run_as_vensim_does(tmp_path: Path) -> None:
    """Vensim stops a simulation on a floating point error (a division by zero): so does
    sd.run, also when MIN hides the infinite quotient and the engine's code comes from
    the cache (only a first run is checked against PySD); ZIDZ is the guard."""
    mdl = tmp_path / "divzero.mdl"
    mdl.write_text(
        "{UTF-8}\nDivisor = 2 ~ Dmnl ~ |\nStock = INTEG(Inflow, 1) ~ units ~ |\n"
        "Inflow = 0.1 * Stock ~ units/Year ~ |\nCapped = MIN(1, Stock / Divisor) ~ Dmnl ~ |\n"
        "Guarded = MIN(1, ZIDZ(Stock, Divisor)) ~ Dmnl ~ |\nINITIAL TIME = 0 ~ Year ~ |\n"
        "FINAL TIME = 4 ~ Year ~ |\nTIME STEP = 1 ~ Year ~ |\nSAVEPER = TIME STEP ~ Year ~ |\n"
        "\\\\\\---/// Sketch information - do not modify anything except names\n",
        encoding="utf-8",
    )
    model = sd.load(mdl, cache_dir=tmp_path / "cache")
    stock = 1.1 ** np.arange(5)
    fine = sd.run(model, {"Divisor": 4.0}).wide("base")  # generates, checks, caches the code
    np.testing.assert_allclose(fine["Capped"].to_numpy(), np.minimum(1, stock / 4), rtol=1e-15)
    fastrun._MEMO.clear()  # as a new process: the same code, read from the cache
    with pytest.raises(sd.SDError, match="line 5: the run failed at time 0 while computing "
                                         "'Capped': ZeroDivisionError"):
        sd.run(model, {"Divisor": 0.0})
    guarded = sd.run(model, {"Divisor": 0.0}, variables=["Guarded", "Stock"]).wide("base")
    np.testing.assert_array_equal(guarded["Guarded"].to_numpy(), np.zeros(5))
    np.testing.assert_allclose(guarded["Stock"].to_numpy(), stock, rtol=1e-15)
