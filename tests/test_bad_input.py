"""Every bad input gets a clear error naming the file, line or variable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sd
from tests.conftest import TEST_MODELS

DECAY = TEST_MODELS / "decay.mdl"


def _edited(tmp_path: Path, old: str, new: str, name: str = "edited.mdl") -> Path:
    text = DECAY.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def test_missing_file(tmp_path):
    with pytest.raises(sd.ModelFileError, match="no such file"):
        sd.load(tmp_path / "nope.mdl")


def test_not_a_vensim_model(tmp_path):
    csv = tmp_path / "table.mdl"
    csv.write_text("year,value\n2000,1\n")
    with pytest.raises(sd.ModelFileError, match="not a Vensim model"):
        sd.load(csv)
    other = tmp_path / "model.xlsx"
    other.write_bytes(b"PK\x03\x04")
    with pytest.raises(sd.ModelFileError, match="Vensim .mdl"):
        sd.load(other)


def test_byte_order_mark(tmp_path):
    path = tmp_path / "bom.mdl"
    path.write_bytes(b"\xef\xbb\xbf" + DECAY.read_bytes())
    with pytest.raises(sd.ModelFileError, match="byte-order mark"):
        sd.load(path)


def test_syntax_error_names_line_and_equation(tmp_path):
    path = _edited(tmp_path, "Stock * decay rate", "Stock * * decay rate")
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t == "outflow=")
    with pytest.raises(sd.TranslationError) as err:
        sd.load(path)
    msg = str(err.value)
    assert f"line {line}" in msg and "'outflow'" in msg and "* * decay rate" in msg
    assert str(path) in msg


def test_unsupported_function_is_named(tmp_path):
    path = _edited(tmp_path, "Stock * decay rate", "Stock * FROBNICATE(decay rate)")
    with pytest.raises(sd.TranslationError, match=r"line \d+: the Vensim function FROBNICATE"):
        sd.load(path)


def test_undefined_variable_is_named(tmp_path):
    path = _edited(tmp_path, "Stock * decay rate", "Stock * decay rat")
    with pytest.raises(sd.TranslationError, match=r"line \d+: the variable 'decay rat' is used"):
        sd.load(path)


@pytest.fixture(scope="module")
def decay():
    return sd.load(DECAY)


def test_unknown_variable_suggests(decay):
    with pytest.raises(sd.UnknownVariableError, match="Did you mean: 'decay rate'"):
        sd.run(decay, {"decay rte": 0.2})
    with pytest.raises(sd.UnknownVariableError, match="'Stok'.*Did you mean: 'Stock'"):
        sd.run(decay, variables=["Stok"])


@pytest.mark.parametrize("value", ["abc", "0.2", None, True, [1, 2], float("nan"), float("inf")])
def test_value_that_is_not_a_number(decay, value):
    with pytest.raises(sd.ParameterError, match="decay rate"):
        sd.run(decay, {"decay rate": value})


def test_bad_time_series(decay):
    with pytest.raises(sd.ParameterError, match="NaN"):
        sd.run(decay, {"decay rate": pd.Series([0.1, float("nan")], index=[0, 10])})
    with pytest.raises(sd.ParameterError, match="must increase"):
        sd.run(decay, {"decay rate": pd.Series([0.1, 0.2], index=[10, 0])})


def test_computed_variables_cannot_be_set(decay):
    with pytest.raises(sd.ParameterError, match=r"'outflow' is a flow .*line \d+"):
        sd.run(decay, {"outflow": 1})
    with pytest.raises(sd.ParameterError, match="'Stock' is a stock"):
        sd.run(decay, {"Stock": 1})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (sd.TimeSettings(initial=10, final=5), "before the initial time"),
        (sd.TimeSettings(step=0), "time step must be positive"),
        (sd.TimeSettings(step=-1), "time step must be positive"),
        (sd.TimeSettings(saveper=0.01), "shorter than the time step"),
        (sd.TimeSettings(final=float("nan")), "finite"),
    ],
)
def test_bad_time_settings(decay, settings, message):
    with pytest.raises(sd.TimeSettingsError, match=message):
        sd.run(decay, time=settings)


def test_nan_is_reported_with_time_and_variable(decay):
    # 1/0 in Vensim is not a Python error in PySD: the stock becomes inf, then nan
    with pytest.raises(sd.SimulationError, match=r"'(Stock|outflow|Cumulative Outflow)' becomes"):
        sd.run(decay, {"decay rate": -1e308}, time=sd.TimeSettings(final=20))


def test_output_folder_missing(decay, tmp_path):
    res = sd.run(decay)
    with pytest.raises(sd.OutputError, match="does not exist"):
        res.save(tmp_path / "nowhere" / "out.csv")
    with pytest.raises(sd.OutputError, match="use one of"):
        res.save(tmp_path / "out.json")
