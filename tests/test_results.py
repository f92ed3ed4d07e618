"""Results: wide tables, concatenation, and files that carry provenance and parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sd
from sd.files import atomic_path
from tests.conftest import TEST_MODELS


@pytest.fixture(scope="module")
def two_scenarios() -> sd.Results:
    model = sd.load(TEST_MODELS / "decay.mdl")
    base = sd.run(model, variables=["Stock", "outflow"])
    fast = sd.run(model, {"decay rate": 0.3}, variables=["Stock", "outflow"], scenario="fast")
    return sd.Results.concat([base, fast])


def test_wide_and_series(two_scenarios):
    wide = two_scenarios.wide("fast")
    assert list(wide.columns) == ["Stock", "outflow"] and wide.index.name == "time"
    assert two_scenarios.series("Stock", "base").iloc[0] == 100
    with pytest.raises(ValueError, match="several scenarios"):
        two_scenarios.wide()
    with pytest.raises(sd.UnknownVariableError, match="Did you mean"):
        two_scenarios.series("Stok", "base")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".nc"])
def test_round_trip_keeps_numbers_parameters_and_provenance(two_scenarios, tmp_path, suffix):
    path = two_scenarios.save(tmp_path / f"results{suffix}")
    back = sd.Results.load(path)
    pd.testing.assert_frame_equal(back.data, two_scenarios.data, check_exact=True)
    assert dict(back.provenance) == dict(two_scenarios.provenance)
    assert back.scenarios == ["base", "fast"]
    fast = back.parameters.set_index("scenario").loc["fast"]
    assert fast["decay rate"] == 0.3 and fast["run"] == 0
    assert np.isnan(back.parameters.set_index("scenario").loc["base", "decay rate"])


def test_save_replaces_only_when_complete(two_scenarios, tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old contents")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("simulated failure while writing")
    assert path.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temp file left
    two_scenarios.save(path)
    assert path.read_text().startswith("scenario,run,time,variable,value\n")  # plain CSV


def test_load_rejects_foreign_files(tmp_path):
    foreign = tmp_path / "x.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(sd.ResultsFileError, match="not a results file"):
        sd.Results.load(foreign)
    with pytest.raises(sd.ResultsFileError, match="no such results file"):
        sd.Results.load(tmp_path / "missing.parquet")
