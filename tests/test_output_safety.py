"""Outputs never delete what the toolkit did not write; workbook text never becomes a formula."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sd.cli.commands import main
from sd.errors import OutputError
from sd.files import (
    MARKER,
    check_replaceable,
    distinct_slugs,
    name_problem,
    remove_stale,
    slug,
    staged_folder,
)
from sd.study.specfile import SpecError
from sd.study.study import load_study
from tests.conftest import HERE, REPO, TEST_MODELS

USER_FILE = "thesis.txt"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """tests/studies and tests/models side by side, and a user's folder with a file in it."""
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    user = tmp_path / "user"
    user.mkdir()
    (user / USER_FILE).write_text("two years of work")
    return tmp_path


def _study(work: Path, name: str, *, replace: tuple[str, str] | None = None) -> Path:
    """A copy of the decay study with ``[study] name = name`` (and one more edit)."""
    text = (work / "studies" / "decay_study.toml").read_text(encoding="utf-8")
    old = 'name = "decay-demo"'
    assert old in text
    text = text.replace(old, f"name = {json.dumps(name)}")  # a JSON string is a TOML string
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    path = work / "studies" / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _cli(args: list[str], capsys) -> tuple[int, str]:
    """Exit status and stderr with all white space removed (the CLI wraps long lines)."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, "".join(err.split())


def _squeeze(text: object) -> str:
    return "".join(str(text).split())


def _user_file_intact(work: Path) -> None:
    assert (work / "user" / USER_FILE).read_text() == "two years of work"
    assert sorted(p.name for p in (work / "user").iterdir()) == [USER_FILE]


# -- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["ABS", "../user", "..", ".", "", "   ", "a/b", "a\\b", "x" * 101, "tab\there", "NUL", ".hid"],
)
@pytest.mark.parametrize("command", ["forecast", "ensemble", "sensitivity", "report"])
def test_bad_study_names_are_refused_and_nothing_is_deleted(work, capsys, name, command):
    name = str(work / "user") if name == "ABS" else name
    other = work / "studies" / "output" / "other-study"  # '.' or '' would have wiped it
    other.mkdir(parents=True)
    (other / "keep.csv").write_text("year,value\n")
    study = _study(work, name)
    extra = {
        "forecast": [],
        "ensemble": ["--uncertain", work / "studies" / "decay_uncertainty.toml"],
        "sensitivity": ["--uncertain", work / "studies" / "decay_uncertainty.toml"],
        "report": [],
    }[command]
    code, err = _cli([command, study, *extra], capsys)
    assert code == 2
    assert _squeeze(f"{study}: [study] name") in err
    _user_file_intact(work)
    assert (other / "keep.csv").read_text() == "year,value\n"
    assert sorted(p.name for p in (work / "studies" / "output").iterdir()) == ["other-study"]


def test_name_rules():
    for ok in ("decay-demo", "Базовый сценарий", "crash 2027", "a.b", "x" * 100):
        assert name_problem(ok) is None, ok
    for bad, why in [
        ("", "empty"),
        ("..", "folder reference"),
        ("a/../b", "'/'"),
        ("C:x", "':'"),
        ("x" * 101, "101 characters"),
        ("a\x00b", "control"),
        ("a\u202eb", "control"),  # right-to-left override: spoofs the shown name
        ("trailing ", "space"),
        ("com1", "reserved"),
        (5, "not text"),
    ]:
        problem = name_problem(bad)
        assert problem is not None and why in problem, (bad, problem)


def test_slugs_keep_cyrillic_and_two_names_for_one_file_are_refused():
    assert slug("Добыча угля, млн т") == "добыча_угля_млн_т"
    assert slug("Coal Price") == "coal_price"
    assert len(slug("ы" * 300)) == 100
    assert distinct_slugs(["Базовый", "Обвал"], "scenarios") == {
        "Базовый": "базовый",
        "Обвал": "обвал",
    }
    with pytest.raises(OutputError, match=r"'Coal Price' and 'coal-price' both .* 'coal_price'"):
        distinct_slugs(["Coal Price", "coal-price"], "variables")
    with pytest.raises(OutputError, match=r"own file 'overview' and 'Overview'"):
        distinct_slugs(["Stock", "Overview"], "variables", taken=["overview"])


def test_cyrillic_scenario_names_give_distinct_files(work):
    study = _study(
        work,
        "кириллица",
        replace=("[scenarios.crash]\n", '[scenarios."Обвал"]\n'),
    )
    text = study.read_text(encoding="utf-8").replace(
        '[scenarios.crash_and_step]\ninherits = "crash"', '[scenarios."Шок"]\ninherits = "Обвал"'
    )
    study.write_text(text, encoding="utf-8")
    from sd.pipeline import forecast

    done = forecast(study, figures=False, ensembles=False)
    assert done.folder == work / "studies" / "output" / "кириллица"
    files = sorted(p.name for p in (done.folder / "scenarios").iterdir())
    assert files == ["baseline.csv", "default_again.csv", "обвал.csv", "шок.csv"]
    a = pd.read_csv(done.folder / "scenarios" / "обвал.csv")
    b = pd.read_csv(done.folder / "scenarios" / "шок.csv")
    assert not a.equals(b)  # two scenarios, two files, not one overwritten by the other


@pytest.mark.parametrize(
    ("first", "second"), [("Crash", "crash"), ("Обвал цен", "обвал-цен"), ("a b", "a_b")]
)
def test_two_scenario_names_for_one_file_are_refused(work, first, second):
    text = (work / "studies" / "decay_study.toml").read_text(encoding="utf-8")
    text = text.replace("[scenarios.crash]\n", f'[scenarios."{first}"]\n')
    text = text.replace("[scenarios.crash_and_step]\n", f'[scenarios."{second}"]\n')
    text = text.replace('inherits = "crash"', f'inherits = "{first}"')
    path = work / "studies" / "clash.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_study(path)
    msg = str(err.value)
    assert str(path) in msg and repr(first) in msg and repr(second) in msg


def test_scenario_name_with_a_path_is_refused(work):
    text = (work / "studies" / "decay_study.toml").read_text(encoding="utf-8")
    path = work / "studies" / "p.toml"
    path.write_text(text.replace("[scenarios.default_again]", '[scenarios."../../x"]'))
    with pytest.raises(SpecError, match=r"\[scenarios\.\.\./\.\./x\]: the name '\.\./\.\./x'"):
        load_study(path)


# -- -o onto existing folders and files --------------------------------------------------


def _calibration_spec(work: Path) -> Path:
    (work / "history.csv").write_text("year,stock\n0,100\n5,80\n10,70\n")
    spec = work / "calibration.toml"
    spec.write_text(
        f"""
[calibration]
model = "{(work / "models" / "decay.mdl").as_posix()}"
period = [0, 10]
starts = 1
max_runs = 50

[parameters."decay rate"]
bounds = [0.01, 0.5]

[targets.Stock]
file = "history.csv"
column = "stock"
"""
    )
    return spec


@pytest.mark.parametrize(
    "command", ["forecast", "ensemble", "sensitivity", "report", "calibrate", "backtest"]
)
def test_output_onto_a_user_folder_is_refused(work, capsys, command):
    study = work / "studies" / "decay_study.toml"
    unc = work / "studies" / "decay_uncertainty.toml"
    args = {
        "forecast": ["forecast", study],
        "ensemble": ["ensemble", study, "--uncertain", unc],
        "sensitivity": ["sensitivity", study, "--uncertain", unc],
        "report": ["report", study],
        "calibrate": ["calibrate", _calibration_spec(work)],
        "backtest": ["backtest", _calibration_spec(work), "--cutoffs", "5"],
    }[command]
    code, err = _cli([*args, "-o", work / "user"], capsys)
    assert code == 2
    assert _squeeze(work / "user") in err and "-o" in err and "yourself" in err
    _user_file_intact(work)
    assert not list(work.glob(".user.*"))  # nothing staged: refused before any work


def test_output_onto_a_file_or_a_link_is_refused(work, capsys):
    study = work / "studies" / "decay_study.toml"
    target = work / "user" / USER_FILE
    code, err = _cli(["forecast", study, "--no-figures", "-o", target], capsys)
    assert code == 2 and "itisafile" in err
    _user_file_intact(work)
    link = work / "link"
    link.symlink_to(work / "user")
    code, err = _cli(["forecast", study, "--no-figures", "-o", link], capsys)
    assert code == 2 and "symboliclink" in err
    _user_file_intact(work)


def test_toolkit_folder_is_replaced_and_user_files_added_to_it_are_kept(work, capsys):
    study = work / "studies" / "decay_study.toml"
    out = work / "out"
    out.mkdir()  # an empty folder may be used
    assert main(["forecast", str(study), "--no-figures", "-o", str(out)]) == 0
    marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    assert marker["tool"] == "kuzbass-sd" and marker["command"] == "forecast"
    assert {"results.csv", "scenarios/baseline.csv", "provenance.json"} <= set(marker["files"])
    assert set(marker["files"]) == {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER
    }
    (out / "results.csv").write_text("stale")
    assert main(["forecast", str(study), "--no-figures", "-o", str(out)]) == 0  # replaced
    assert (out / "results.csv").read_text() != "stale"
    (out / "scenarios" / "my notes.txt").write_text("mine")
    code, err = _cli(["forecast", study, "--no-figures", "-o", out], capsys)
    assert code == 2 and "scenarios/mynotes.txt" in err
    assert (out / "scenarios" / "my notes.txt").read_text() == "mine"
    capsys.readouterr()


def test_forged_or_broken_markers_are_not_trusted(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "data.csv").write_text("1\n")
    forged = ('{"tool": "other", "files": ["data.csv"]}', '{"tool": "kuzbass-sd"}')
    for body in ("", "not json", *forged):
        (folder / MARKER).write_text(body)
        with pytest.raises(OutputError, match="not written by kuzbass-sd"):
            check_replaceable(folder)
    (folder / MARKER).write_text('{"tool": "kuzbass-sd", "files": ["data.csv"]}')
    assert check_replaceable(folder) == "ours"


def test_a_file_that_appears_during_the_run_is_kept(tmp_path):
    target = tmp_path / "out"
    target.mkdir()  # empty when the run starts ...
    with pytest.raises(OutputError, match="not written by kuzbass-sd"):
        with staged_folder(target) as stage:
            (stage / "a.csv").write_text("1\n")
            (target / "mine.txt").write_text("mine")  # ... but not when it ends
    assert (target / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- staging folders of killed runs ------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_staging_folder_of_a_killed_run_is_removed_by_the_next_run(tmp_path):
    target = tmp_path / "out"
    code = (
        "import os, signal, sys\n"
        "from sd.files import staged_folder\n"
        "with staged_folder(sys.argv[1]) as stage:\n"
        "    (stage / 'half.csv').write_text('1,')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(target)], cwd=REPO, check=False)
    assert done.returncode == -signal.SIGKILL
    left = list(tmp_path.glob(".out.tmp-*"))
    assert len(left) == 1 and (left[0] / "half.csv").is_file()
    with staged_folder(target) as stage:
        (stage / "whole.csv").write_text("1,2\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (target / "whole.csv").is_file()


def test_only_stale_staging_folders_of_dead_processes_are_removed(tmp_path):
    from sd.files import _host

    target = tmp_path / "out"
    dead, live = _dead_pid(), os.getpid()
    folders = {
        "dead": tmp_path / f".out.tmp-{_host()}-{dead}-0123abcd",
        "dead_old": tmp_path / f".out.old-{_host()}-{dead}-0123abce",
        "live": tmp_path / f".out.tmp-{_host()}-{live}-0123abcf",
        "other_host": tmp_path / f".out.tmp-elsewhere-{dead}-0123abd0",
        "other_name": tmp_path / f".outs.tmp-{_host()}-{dead}-0123abd1",
        "user_lookalike": tmp_path / f".out.tmp-{_host()}-{dead}-0123abd2",
    }
    for name, path in folders.items():
        path.mkdir()
        (path / "file.csv").write_text("1\n")
        if name == "dead_old":
            (path / MARKER).write_text('{"tool": "kuzbass-sd", "files": ["file.csv"]}')
        elif name != "user_lookalike":
            (path / ".kuzbass-sd-staging").write_text("{}")
    removed = remove_stale(target)
    assert sorted(removed) == sorted([folders["dead"], folders["dead_old"]])
    kept = {n for n, p in folders.items() if p.is_dir()}
    assert kept == {"live", "other_host", "other_name", "user_lookalike"}


# -- spreadsheets ----------------------------------------------------------------------

HOSTILE = {
    "label": '=HYPERLINK("http://example.invalid/x","click")',
    "description": "-40% price, then +2% a year",
    "description_ru": "@SUM(1+1)*cmd|' /C calc'!A0",
    "name": "+crash",
}


def test_plain_openpyxl_would_store_a_formula():
    """The hazard the workbook writer guards against (so the next test can fail)."""
    book = openpyxl.Workbook()
    book.active["A1"] = HOSTILE["label"]
    assert book.active["A1"].data_type == "f"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_report_workbook_stores_formula_looking_text_as_text(work, capsys, lang):
    study = work / "studies" / "decay_study.toml"
    text = study.read_text(encoding="utf-8")
    old = (
        '[scenarios.crash]\ninherits = "baseline"\nlabel_ru = "Обвал"\n'
        'description_ru = "Поступление падает на 40% за 2 года с 5-го года и восстанавливается."\n'
        'description = "Inflow falls 40% over 2 years from year 5, recovers with a 3-year '
        'half-life."\n'
    )
    assert old in text
    new = (
        f'[scenarios."{HOSTILE["name"]}"]\ninherits = "baseline"\n'
        f"label = {json.dumps(HOSTILE['label'])}\nlabel_ru = {json.dumps(HOSTILE['label'])}\n"
        f"description = {json.dumps(HOSTILE['description'])}\n"
        f"description_ru = {json.dumps(HOSTILE['description_ru'])}\n"
    )
    text = text.replace(old, new).replace('inherits = "crash"', f'inherits = "{HOSTILE["name"]}"')
    study.write_text(text, encoding="utf-8")
    code = main(["report", str(study), "--lang", lang])
    capsys.readouterr()
    assert code == 0
    out = work / "studies" / "output" / f"decay-demo_report_{lang}"
    book = openpyxl.load_workbook(out / "report.xlsx")
    texts, numbers = {}, 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts[cell.value] = cell
                    if cell.value[:1] in "=+-@":
                        assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
                elif isinstance(cell.value, int | float):
                    numbers += 1
    description = HOSTILE["description" if lang == "en" else "description_ru"]
    for value in (HOSTILE["label"], description, HOSTILE["name"]):
        assert value in texts, value  # the visible text is unchanged
    assert numbers > 100  # trajectories and key years stay numbers
    sheet = book[next(n for n in book.sheetnames if "HYPERLINK" in n)]
    assert sheet.cell(2, 2).data_type == "n" and isinstance(sheet.cell(3, 2).value, float)


def test_sd_run_workbook_keeps_numbers_and_protects_text(tmp_path):
    from sd.report.xlsx import excel_writer

    table = pd.DataFrame({"time": [0.0, 1.0], "=Stock": [1.5, -2.0], "note": ["-x", "ok"]})
    with excel_writer(tmp_path / "t.xlsx") as xl:
        table.to_excel(xl, index=False, sheet_name="run")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["run"]
    assert [c.value for c in sheet[1]] == ["time", "=Stock", "note"]
    assert sheet["B1"].data_type == "s" and sheet["B1"].quotePrefix
    assert sheet["B3"].value == -2.0 and sheet["B3"].data_type == "n"
    assert sheet["C2"].value == "-x" and sheet["C2"].quotePrefix
    assert not sheet["C3"].quotePrefix


def test_calibrate_never_overwrites_a_parameters_file_it_did_not_write(work, capsys):
    spec = _calibration_spec(work)
    mine = work / "user" / USER_FILE
    spec.write_text(
        spec.read_text().replace("max_runs = 50\n", f'max_runs = 50\nparameters_file = "{mine}"\n')
    )
    code, err = _cli(["calibrate", spec, "--write-calibrated"], capsys)
    assert code == 2 and _squeeze(mine) in err and "parameters_file" in err
    _user_file_intact(work)
    assert not (work / "output").exists()  # refused before any work
    ours = work / "calibrated.toml"
    spec.write_text(spec.read_text().replace(str(mine), str(ours)))
    assert main(["calibrate", str(spec), "--write-calibrated"]) == 0
    first = ours.read_text()
    assert main(["calibrate", str(spec), "--write-calibrated"]) == 0  # its own file is replaced
    assert ours.read_text().splitlines()[4:] == first.splitlines()[4:]
    capsys.readouterr()


def test_longest_cyrillic_names_fit_in_file_names(work, monkeypatch):
    import sd.files
    from sd.pipeline import forecast

    monkeypatch.setattr(sd.files, "_host", lambda: "h" * 32)  # the longest host name kept

    name = "ы" * 100  # 200 bytes in UTF-8
    done = forecast(_study(work, name), figures=False, ensembles=False)
    assert done.folder.name == name and (done.folder / MARKER).is_file()
    target = work / f"{name}_sensitivity_morris"  # the longest folder a study name gives
    for _ in range(2):  # created, then replaced
        with staged_folder(target) as stage:
            (stage / f"morris_{slug('ж' * 300)}_time.svg").write_text("<svg/>")
    assert [p.name for p in work.iterdir() if "ы" in p.name] == [target.name]  # no staging left
