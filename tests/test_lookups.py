"""The numpy lookup path gives exactly PySD's own numbers, ten to a hundred times faster."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sd
from sd.engine.lookups import outside_range
from tests.conftest import CONFORMANCE, TEST_MODELS, need_shared

LOOKUPS = TEST_MODELS / "lookups.mdl"


def _pair(path):
    """The same PySD model twice: once with PySD's xarray lookups, once accelerated."""
    slow = sd.load(path, fast_lookups=False).new_pysd()
    fast = sd.load(path).new_pysd()
    for m in (slow, fast):
        m.initialize()
    return slow, fast


def test_hardcoded_lookup_calls_equal_pysd():
    slow, fast = _pair(LOOKUPS)
    xs = np.concatenate([[-3, 0.999, 1, 2, 4, 7, 9, 9.0001, 50], np.linspace(-1, 11, 241)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_obj = slow.components._hardcodedlookup_effect_table
        f_obj = fast.components._hardcodedlookup_effect_table
        assert type(f_obj).__name__ == "FastHardcodedLookups"
        assert [f_obj(x) for x in xs] == [s_obj(x) for x in xs]  # bit for bit
    below, above = outside_range(fast)["_hardcodedlookup_effect_table"]
    assert (below, above) == ((xs < 1).sum(), (xs > 9).sum())  # calls outside [1, 9]


def test_data_calls_equal_pysd_all_interpolation_modes():
    slow, fast = _pair(LOOKUPS)
    times = np.concatenate([[1990, 2000, 2002, 2005, 2010, 2030], np.arange(1995, 2020.01, 0.25)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("_ext_data_level_data", "_ext_data_rate_data"):
            s_obj = getattr(slow.components, name)
            f_obj = getattr(fast.components, name)
            assert [f_obj(t) for t in times] == [s_obj(t) for t in times]
    # hold backward keeps the last recorded value until the next record
    rate = fast.components._ext_data_rate_data
    assert rate(2004.9) == rate(2002) and rate(2005) == 3.0


@pytest.mark.parametrize("fast", [True, False])
def test_overrides_of_lookups_and_data_are_used(fast):
    # plain PySD 3.14 run(params=...) re-reads lookups and data files after setting them
    model = sd.load(LOOKUPS, fast_lookups=fast)
    table = pd.Series([0.0, 10.0], index=[0.0, 10.0])  # new lookup table, y = x
    level = pd.Series([0.0, 50.0], index=[1995.0, 2020.0])
    res = sd.run(
        model,
        {"effect table": table, "level data": level, "rate data": 7},
        variables=["effect", "sweep", "level data", "rate data"],
    )
    w = res.wide()
    np.testing.assert_allclose(w["effect"], w["sweep"].clip(0, 10), rtol=1e-12)
    np.testing.assert_allclose(w["level data"], (w.index - 1995) * 2, rtol=1e-12)
    assert (w["rate data"] == 7).all()
    base = sd.run(model, variables=["effect", "level data", "rate data"]).wide()
    assert base["effect"].iloc[0] == 0.5  # the next run is back to the model's own table
    assert base["level data"].iloc[-1] == 5.0 and base["rate data"].iloc[-1] == 4.0  # and data


def test_whole_run_equals_pysd_run():
    fast = sd.run(sd.load(LOOKUPS))
    slow = sd.run(sd.load(LOOKUPS, fast_lookups=False))
    pd.testing.assert_frame_equal(fast.data, slow.data, check_exact=True)


CONFORMANCE_MODELS = [
    "lookups",
    "lookups_inline",
    "lookups_inline_bounded",
    "lookups_with_expr",
    "lookups_without_range",
    "lookups_funcnames",
    "with_lookup",
    "time",
    "smooth_and_stock",
    "builtin_max",
]


def _vensim_output(folder):
    for name in ("output.tab", "output.csv"):
        path = folder / name
        if path.exists():
            sep = "\t" if name.endswith(".tab") else ","
            table = pd.read_csv(path, sep=sep, index_col=0)
            if str(table.index.name).lower() != "time":
                table = table.T  # variables as rows, times as columns
            table.index = table.index.astype(float)
            return table
    return None


@pytest.mark.parametrize("name", CONFORMANCE_MODELS)
def test_conformance_models_fast_equals_pysd_and_vensim(name):
    folder = CONFORMANCE / name
    need_shared(folder)
    mdl = sorted(folder.glob("*.mdl"), key=lambda p: not p.name.startswith("test_"))[0]
    try:
        fast_model = sd.load(mdl)
    except sd.SDError as err:
        pytest.skip(f"not loadable here: {err}")
    fast = sd.run(fast_model)
    slow = sd.run(sd.load(mdl, fast_lookups=False))
    pd.testing.assert_frame_equal(fast.data, slow.data, check_exact=True)
    vensim = _vensim_output(folder)
    if vensim is None:
        return
    mine = fast.wide()
    common = [c for c in mine.columns if c in vensim.columns]
    assert common, "no variable in common with Vensim's output"
    times = mine.index.intersection(vensim.index)
    got = mine.loc[times, common].to_numpy(float)
    want = vensim.loc[times, common].to_numpy(float)
    recorded = ~np.isnan(want)  # Vensim leaves :NA: / raw-data gaps empty
    # Vensim writes about four significant digits
    np.testing.assert_allclose(got[recorded], want[recorded], rtol=2e-3, atol=1e-5)
