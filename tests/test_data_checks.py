"""Bad cells in the data files a model or study reads are errors naming the file and cell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.errors import DataFileError
from sd.study import shocks
from sd.study.specfile import SeriesSpec
from tests.conftest import REPO

# tests/models/data/vec_inputs.csv (read by vec_data.mdl, times in column A from row 2):
# year,level,held,forward,raw / 2000,10,1,5,100 / 2001,12,2,6,101 / 2003,9,,8,103 / ...
INPUTS = "data/vec_inputs.csv"
TABLE = "data/vec_table.csv"  # x,y / 0,1 / 10,2 / 20,5 / 40,6


def _edit(models: Path, name: str, old: str, new: str) -> None:
    path = models / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _cli(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "sd", *args], capture_output=True, text=True, cwd=REPO
    )
    done.stderr = " ".join(done.stderr.split())
    return done


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            INPUTS,
            "2003,9,",
            "2003,abc,",
            "'level data' (line 2) reads data/vec_inputs.csv: cell B4"
            " holds 'abc', which is not a number",
        ),
        (INPUTS, "2003,9,", "2003,NaN,", "cell B4 holds 'NaN'"),
        (INPUTS, "2003,9,", "2003,inf,", "cell B4 holds 'inf'"),
        (INPUTS, "2003,", "x2003,", "cell A4 holds 'x2003', which is not a year"),
        (INPUTS, "2003,", ",", "cell A4 is empty, but the years go on after it"),
        (INPUTS, "2004,15", "2003,15", "year 2003 appears twice (cells A4 and A5)"),
        (INPUTS, "2010,25,7,10,110", "2010,25,7,10,110\n,,,,99", "cell E9 has the value '99'"),
        (
            TABLE,
            "10,2",
            "0,2",
            "'price table' (line 32) reads data/vec_table.csv: x 0 appears "
            "twice (cells A2 and A3); a lookup table needs each x once",
        ),
        (TABLE, "10,2", "10,zz", "cell B3 holds 'zz', which is not a number"),
        (TABLE, "10,2", "10,", "cell B3 is empty; every point of a lookup table needs its y"),
        (
            "data/vec_constants.csv",
            "scale,1.5",
            "scale,abc",
            "'scale' (line 38) reads "
            "data/vec_constants.csv, cell B2: the constant is 'abc', not a number",
        ),
    ],
)
def test_bad_cells_in_model_data(models_copy, name, old, new, message):
    _edit(models_copy, name, old, new)
    with pytest.raises(DataFileError) as err:
        sd.load(models_copy / "vec_data.mdl")
    assert message in " ".join(str(err.value).split())


def test_an_empty_column_is_an_error(models_copy):
    (models_copy / INPUTS).write_text("year,level,held,forward,raw\n2000,,1,5,100\n2001,,2,6,1\n")
    with pytest.raises(DataFileError, match="the series starting at cell B2 has no values"):
        sd.load(models_copy / "vec_data.mdl")


def test_empty_data_cells_are_vensim_gaps(models_copy):
    """An empty cell of a data series is a year without a value (interpolated across)."""
    model = sd.load(models_copy / "vec_data.mdl")  # 'held' has no 2003 value: allowed
    assert model.data_notices == ()
    res = sd.run(model, variables=["level data"], time=sd.TimeSettings(initial=2000, final=2010))
    level = res.series("level data")
    assert level[2002] == pytest.approx((12 + 9) / 2)  # 2001: 12, 2003: 9, linear between


def test_unsorted_lookup_is_a_notice_and_sorted(models_copy):
    _edit(models_copy, TABLE, "10,2\n20,5", "20,5\n10,2")
    model = sd.load(models_copy / "vec_data.mdl")
    assert len(model.data_notices) == 1
    assert (
        "'price table' (line 32) reads data/vec_table.csv: the x values are not in "
        "increasing order" in model.data_notices[0]
    )
    sorted_model = sd.load(REPO / "tests" / "models" / "vec_data.mdl")
    a = sd.run(model, variables=["price"], time=sd.TimeSettings(initial=2000, final=2010))
    b = sd.run(sorted_model, variables=["price"], time=sd.TimeSettings(initial=2000, final=2010))
    np.testing.assert_array_equal(a.data["value"], b.data["value"])


INLINE = """{UTF-8}
tbl(
\t[(0,0)-(10,10)],(1,1),(1,2),(3,4))
\t~\tDmnl
\t~\tA lookup with x = 1 twice.
\t|

out=
\ttbl(Time)
\t~\tDmnl
\t~\tUses it.
\t|

FINAL TIME = 4
\t~\tYear
\t~\t|
INITIAL TIME = 0
\t~\tYear
\t~\t|
SAVEPER = 1
\t~\tYear
\t~\t|
TIME STEP = 1
\t~\tYear
\t~\t|
"""


def test_repeated_x_in_a_model_lookup(tmp_path):
    path = tmp_path / "dup.mdl"
    path.write_text(INLINE)
    with pytest.raises(DataFileError, match=r"dup.mdl, line 2: the lookup 'tbl' has x = 1 twice"):
        sd.load(path)
    done = _cli("run", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the lookup 'tbl' has x = 1 twice" in done.stderr


def test_unsorted_model_lookup_notice(tmp_path):
    path = tmp_path / "unsorted.mdl"
    path.write_text(INLINE.replace("(1,1),(1,2),(3,4)", "(1,1),(4,2),(3,4)"))
    model = sd.load(path)
    assert "the x values of the lookup 'tbl' are not in increasing order" in model.data_notices[0]
    # PySD sorts the points: at x = 3 the table gives 4, between 1 and 3 linear from 1 to 4
    res = sd.run(model).series("out")
    assert res[2] == pytest.approx(2.5) and res[3] == pytest.approx(4.0)
    done = _cli("run", str(path))
    assert done.returncode == 0 and "note:" in done.stderr and "not in increasing" in done.stderr


def test_cli_bad_data_cell_exit_2(models_copy):
    _edit(models_copy, INPUTS, "2003,9,", "2003,abc,")
    done = _cli("run", str(models_copy / "vec_data.mdl"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cell B4 holds 'abc'" in done.stderr


# -- study CSVs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("year,stock\n2000,1\n2001,abc\n", "line 3, column 'stock': 'abc' is not a number"),
        ("year,stock\n2000,1\n2001,NaN\n", "line 3, column 'stock': 'NaN' is not a number"),
        ("year,stock\n2000,1\ntwo,2\n", "line 3, column 'year': 'two' is not a year"),
        ("year,stock\n2000,1\n,2\n", "line 3: the value '2' in column 'stock' has no year"),
        (
            "year,stock\n2000,1\n2000,2\n",
            "year 2000 appears twice in column 'year' (lines 2 and 3)",
        ),
        ("year,stock\n2000,\n2001,\n", "column 'stock' has no values"),
        ("year,other\n2000,1\n", "has no column 'stock'"),
    ],
)
def test_bad_history_cells(tmp_path, text, message):
    file = tmp_path / "history.csv"
    file.write_text(text)
    with pytest.raises(DataFileError) as err:
        SeriesSpec("Stock", file, "stock").load()
    assert message in str(err.value) and "history.csv" in str(err.value)


def test_history_gaps_are_missing_years(tmp_path):
    file = tmp_path / "history.csv"
    file.write_text("year,stock\n2001,2\n2000,1\n2002,\n2003,4\n")
    series = SeriesSpec("Stock", file, "stock", scale=10).load()
    assert series.to_dict() == {2000.0: 10.0, 2001.0: 20.0, 2003.0: 40.0}


def test_series_shock_cells(tmp_path):
    file = tmp_path / "s.csv"
    times = np.arange(0.0, 4.0)
    file.write_text("year,pct\n1,10\n2,\n3,30\n")
    with pytest.raises(DataFileError, match="line 3, column 'pct' is empty; a series shock"):
        shocks.series(times, file=file, column="pct")
    file.write_text("year,pct\n1,10\n2,1O\n")
    with pytest.raises(DataFileError, match="line 3, column 'pct': '1O' is not a number"):
        shocks.series(times, file=file, column="pct")


def test_study_with_a_bad_history_cell_exits_2(tmp_path):
    studies = REPO / "tests" / "studies"
    text = (studies / "decay_study.toml").read_text()
    (tmp_path / "study.toml").write_text(
        text.replace("../models/decay.mdl", (REPO / "tests" / "models" / "decay.mdl").as_posix())
    )
    history = (studies / "stock_history.csv").read_text().splitlines()
    history[3] = history[3].split(",")[0] + ",12,5"  # a decimal comma splits the cell
    (tmp_path / "stock_history.csv").write_text("\n".join(history) + "\n")
    done = _cli("forecast", str(tmp_path / "study.toml"), "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "stock_history.csv" in done.stderr and "line 4" in done.stderr
    assert not (tmp_path / "out").exists()
