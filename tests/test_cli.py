"""The `sd` command: info, run, files, and one-paragraph errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from sd.cli.commands import main
from tests.conftest import TEST_MODELS

DECAY = str(TEST_MODELS / "decay.mdl")


def test_info_lists_variables_with_units_and_comments(capsys):
    assert main(["info", DECAY]) == 0
    out = capsys.readouterr().out
    assert "decay rate  [constant]  1/Year" in out
    assert "Fraction of the stock leaving per year." in out
    assert "Stock  [stock]  Widget" in out and "outflow  [flow]" in out
    assert "time: 0 to 20 Year, step 0.125, saved every 1" in out


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".nc", ".xlsx"])
def test_run_writes_wide_table(tmp_path, capsys, suffix):
    out = tmp_path / f"run{suffix}"
    args = ["run", DECAY, "--set", "decay rate=0.2", "--vars", "Stock,outflow", "-o", str(out)]
    assert main(args + ["--stop", "10", "--step", "0.25", "--saveper", "0.5"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    if suffix == ".csv":
        table = pd.read_csv(out)
    elif suffix == ".parquet":
        table = pd.read_parquet(out)
    elif suffix == ".xlsx":
        table = pd.read_excel(out, engine="openpyxl")
    else:
        import xarray as xr

        with xr.open_dataset(out) as ds:
            assert ds["Stock"].attrs["units"] == "Widget"
            table = ds.to_dataframe().reset_index()
    assert list(table.columns) == ["time", "Stock", "outflow"]
    assert len(table) == 21 and table["time"].iloc[-1] == 10
    assert table["outflow"].iloc[0] == pytest.approx(20.0)  # 100 widgets * 0.2 / year


def test_run_without_output_prints_summary(capsys):
    assert main(["run", DECAY, "--vars", "Stock"]) == 0
    out = capsys.readouterr().out
    assert "21 saved times from 0 to 20" in out and "Stock" in out and "Widget" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.mdl"], "no such file"),
        (["run", DECAY, "--set", "decay rte=0.2"], "Did you mean: 'decay rate'"),
        (["run", DECAY, "--set", "decay rate=fast"], "is not a number"),
        (["run", DECAY, "--set", "decay rate"], "NAME=VALUE"),
        (["run", DECAY, "--vars", "Stok"], "Did you mean: 'Stock'"),
        (["run", DECAY, "--start", "10", "--stop", "5"], "before the initial time"),
        (["run", DECAY, "--step", "0"], "time step must be positive"),
        (["run", DECAY, "-o", "no/such/folder/out.csv"], "does not exist"),
        (["run", DECAY, "-o", "out.json"], "use one of"),
    ],
)
def test_bad_input_exits_2_with_one_paragraph(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in " ".join(err.split())
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no partial output


def test_failed_run_keeps_existing_output(tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    code = main(["run", DECAY, "--set", "decay rate=-1e308", "-o", str(out)])
    assert code == 2 and "becomes" in capsys.readouterr().err
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_python_dash_m_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "sd", "run", DECAY, "--set", "decay rate=oops"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def _help_actions():
    """(command, parser, action) for the top-level parser and every subcommand."""
    import argparse

    from sd.cli.commands import _parser

    top = _parser()
    yield "sd", top, None
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        for action in parser._actions:
            yield name, parser, action
    for action in top._actions:
        yield "sd", top, action


def test_help_defaults_are_the_parsers_defaults():
    """A default named in a --help text is the parser's own (written as %(default)s)."""
    import argparse
    import re

    checked = 0
    for command, parser, action in _help_actions():
        if action is None or not action.help or action.help == argparse.SUPPRESS:
            continue
        text = parser._get_formatter()._expand_help(action)
        default = action.default
        literal = isinstance(default, int | float | str) and not isinstance(default, bool)
        literal = literal and default not in (argparse.SUPPRESS, "")
        where = f"sd {command} {'/'.join(action.option_strings) or action.dest}"
        if literal:
            # one place for the value: argparse's default, shown through %(default)s
            assert "%(default)s" in action.help, f"{where}: help does not show its default"
        for match in re.finditer(r"default:?\s+([^\s,;)]+)", text):
            token = match.group(1)
            if literal:
                assert token == str(action.default), f"{where}: help says {token}"
            else:  # no parser default: the help may describe one, but not as a number
                assert not re.fullmatch(r"[-+]?\d[\d.e+-]*", token), f"{where}: help says {token}"
            checked += 1
    assert checked >= 20


def test_help_texts_name_the_defaults_the_code_uses():
    """Defaults that are not argparse values: compared with the constants the code uses."""
    from sd.analysis.failures import DEFAULT_ALLOWED
    from sd.analysis.seek import DEFAULT_SCALE_RANGE
    from sd.cli.commands import _parser

    def help_of(*argv):
        with pytest.raises(SystemExit):
            _parser().parse_args([*argv, "--help"])

    import contextlib
    import io

    def text(*argv) -> str:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            help_of(*argv)
        return " ".join(buf.getvalue().split())

    lo, hi = DEFAULT_SCALE_RANGE
    assert f"{lo:g}:{hi:g} for a shock scale" in text("seek")
    assert f"(default {DEFAULT_ALLOWED})" in text("forecast")
    assert "output/<study>_report_<lang>" in text("report")
    assert "output/<study>_sensitivity_<method>" in text("sensitivity")
    assert "output/<study>_ensemble" in text("ensemble")
    assert "calibration/ in the spec's output folder" in text("calibrate")
    assert "the spec's [backtest] starts, else 2" in text("backtest")
