"""Each input that used to end in a traceback gives one paragraph and exit status 2.

Every case runs through the command line (``sd.cli.commands.main``) and checks the exit status,
that no traceback is printed, and that the message names the culprit (the variables of
a cycle, the line, the study key, the folder...).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import sd
from sd.cli.commands import main
from sd.model.cache import _python_hashes
from sd.study.specfile import SpecError
from tests.conftest import TEST_MODELS

DECAY = TEST_MODELS / "decay.mdl"
CLEAN = TEST_MODELS / "clean.mdl"
STUDIES = TEST_MODELS.parent / "studies"


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("SD_DEBUG", raising=False)


def _cli(capsys, *args) -> tuple[int, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    err = capsys.readouterr().err
    return code, " ".join(err.split())


def _refused(capsys, *args) -> str:
    """Run the command; it must fail with exit 2 and one message, no traceback."""
    code, err = _cli(capsys, *args)
    assert "Traceback" not in err, err
    assert code == 2, err
    assert "error: " in err
    return err


def _line_of(path: Path, needle: str) -> int:
    """The first line holding ``needle`` (or equal to it, for an equation's first line)."""
    lines = Path(path).read_text().splitlines()
    exact = [i for i, t in enumerate(lines, 1) if t == needle]
    return exact[0] if exact else next(i for i, t in enumerate(lines, 1) if needle in t)


def _edit(src: Path, dest: Path, *pairs: tuple[str, str]) -> Path:
    text = src.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    dest.write_text(text, encoding="utf-8")
    return dest


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    """Copies of tests/studies and tests/models, as the studies expect them."""
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    shutil.copytree(STUDIES, tmp_path / "studies")
    return tmp_path / "studies"


# -- the model file ----------------------------------------------------------------


def test_pipe_in_a_comment_names_the_line_and_is_not_cached(tmp_path, capsys):
    path = _edit(
        DECAY,
        tmp_path / "pipe.mdl",
        ("Fraction of the stock leaving", "Fraction | of the stock leaving"),
    )
    cache = tmp_path / "cache"
    err = _refused(capsys, "--cache-dir", cache, "run", path)
    line = _line_of(path, "| of the stock leaving")
    assert f"{path}, line {line}:" in err
    assert "'of the stock leaving per year.' is not an equation" in err
    assert "comment of 'decay rate'" in err
    assert not cache.exists() or not any(cache.iterdir())  # nothing was cached
    # the same through sd check (a finding) and sd info
    assert f"line {line}" in _refused(capsys, "--cache-dir", cache, "info", path)


def test_pipe_in_a_units_field(tmp_path, capsys):
    path = _edit(DECAY, tmp_path / "units.mdl", ("1/Year [0,1]", "1/Year | [0,1]"))
    err = _refused(capsys, "run", path)
    assert f"line {_line_of(path, '[0,1]')}" in err and "'decay rate'" in err


def test_a_pipe_inside_a_quoted_name_is_allowed(tmp_path):
    from sd.model import mdl

    text = DECAY.read_text().replace("decay rate", '"decay|rate"')
    assert mdl.stray_fragments(text) == []


def test_circular_definition_names_the_cycle(tmp_path, capsys):
    path = _edit(
        DECAY,
        tmp_path / "circular.mdl",
        ("\tsteady inflow\n\t~\tWidget/Year\n", "\toutflow * 0.5\n\t~\tWidget/Year\n"),
        ("Stock * decay rate", "inflow * decay rate"),
    )
    err = _refused(capsys, "run", path)
    assert "circular definition" in err
    assert "'inflow' -> 'outflow' -> 'inflow'" in err
    assert f"line {_line_of(path, 'inflow=')}" in err
    with pytest.raises(sd.CircularDefinitionError, match="'outflow'"):
        sd.load(path)


def test_circular_initialisation_names_the_cycle(tmp_path, capsys):
    path = _edit(
        DECAY,
        tmp_path / "circular_init.mdl",
        (
            "\t100\n\t~\tWidget [0,?]\n\t~\tInitial value",
            "\tINITIAL(Stock)\n\t~\tWidget [0,?]\n\t~\tInitial value",
        ),
    )
    err = _refused(capsys, "run", path)
    assert "circular initialisation" in err
    assert "'initial stock' -> 'Stock' -> 'initial stock'" in err


def test_a_stock_breaks_a_loop(tmp_path):
    # outflow reads Stock, Stock integrates outflow: a feedback loop, not a cycle
    assert sd.run(sd.load(DECAY)).wide()["Stock"].iloc[-1] > 0


def test_index_error_in_a_translated_model_names_the_variable(tmp_path, capsys):
    # Vensim requires a DELAY N order of at least 1; PySD's DelayN fails with IndexError
    path = _edit(
        DECAY,
        tmp_path / "order0.mdl",
        (
            "\tsteady inflow\n\t~\tWidget/Year\n",
            "\tDELAY N(steady inflow, 2, 0, 0)\n\t~\tWidget/Year\n",
        ),
    )
    err = _refused(capsys, "run", path)
    assert f"{path}, line {_line_of(path, 'inflow=')}" in err
    assert "while computing 'inflow'" in err and "IndexError" in err


def test_name_error_in_a_translated_model_names_the_variable(tmp_path, capsys):
    path = shutil.copy(DECAY, tmp_path / "decay.mdl")
    cache = tmp_path / "cache"
    model = sd.load(path, cache_dir=cache)
    py = model.entry.py_file
    code = py.read_text()
    assert code.count("return steady_inflow()") == 1
    py.write_text(code.replace("return steady_inflow()", "return steady_inflw()"))
    # the cache rebuilds tampered code (sd.model.cache hashes what it verified): re-bless this edit
    meta_file = model.entry.folder / "entry.json"
    meta = json.loads(meta_file.read_text())
    meta["verified"] = _python_hashes(model.entry.folder)
    meta_file.write_text(json.dumps(meta))
    err = _refused(capsys, "--cache-dir", cache, "run", path)
    assert "while computing 'inflow'" in err and "NameError" in err
    assert f"line {_line_of(Path(path), 'inflow=')}" in err


# -- studies and options -----------------------------------------------------------


def test_model_that_is_not_a_string(study_dir, capsys):
    study = _edit(
        study_dir / "decay_study.toml",
        study_dir / "bad.toml",
        ('model = "../models/decay.mdl"', "model = 5"),
    )
    err = _refused(capsys, "forecast", study, "-o", study_dir / "out")
    assert f"{study}: [study] model = 5 is not a file name" in err


def test_key_years_that_are_not_numbers(study_dir, capsys):
    study = _edit(
        study_dir / "decay_study.toml",
        study_dir / "bad.toml",
        ("key_years = [5, 10, 20]", 'key_years = ["five"]'),
    )
    err = _refused(capsys, "forecast", study, "-o", study_dir / "out")
    assert f"{study}: [run] key_years: 'five' is not a year" in err


def test_variables_that_are_not_names(study_dir, capsys):
    study = _edit(
        study_dir / "decay_study.toml",
        study_dir / "bad.toml",
        ('variables = ["Stock", "outflow"]', 'variables = ["Stock", 5]'),
    )
    assert "[run] variables: 5 is not a name" in _refused(capsys, "forecast", study)


def test_vars_that_name_nothing(study_dir, capsys):
    err = _refused(capsys, "run", DECAY, "--vars", ",,,")
    assert "--vars ',,,' names no variable" in err
    err = _refused(
        capsys,
        "ensemble",
        study_dir / "decay_study.toml",
        "--uncertain",
        study_dir / "decay_uncertainty.toml",
        "--vars",
        " , ",
        "-o",
        study_dir / "out",
    )
    assert "--vars ' , ' names no variable" in err
    assert not (study_dir / "out").exists()


def test_negative_seed(study_dir, capsys):
    err = _refused(
        capsys,
        "ensemble",
        study_dir / "decay_study.toml",
        "--uncertain",
        study_dir / "decay_uncertainty.toml",
        "--seed",
        "-1",
    )
    assert "--seed needs a whole number, 0 or more" in err and "'-1'" in err
    # the library and study files refuse it as well
    from sd.study.uncertainty import draw, load_uncertainty

    spec = load_uncertainty(study_dir / "decay_uncertainty.toml")
    with pytest.raises(SpecError, match="seed must be a whole number"):
        draw(spec, 10, -1, end=20)
    study = _edit(
        study_dir / "decay_study.toml",
        study_dir / "seeded.toml",
        (
            "[scenarios.baseline]",
            '[uncertainty]\nfile = "decay_uncertainty.toml"\nseed = -1\n\n[scenarios.baseline]',
        ),
    )
    assert "[uncertainty] seed = -1" in _refused(capsys, "forecast", study)


def test_unreachable_scheduler(study_dir, capsys):
    args = [
        "ensemble",
        study_dir / "decay_study.toml",
        "--uncertain",
        study_dir / "decay_uncertainty.toml",
        "--samples",
        "5",
        "-o",
        study_dir / "out",
    ]
    err = _refused(capsys, *args, "--scheduler", "tcp://127.0.0.1:1")
    assert "--scheduler tcp://127.0.0.1:1: no Dask scheduler answers" in err
    assert "--workers" in err  # says what to do instead
    assert "tcp://HOST:PORT" in _refused(capsys, *args, "--scheduler", "tcp://127.0.0.1:port")
    assert not (study_dir / "out").exists()


def test_scheduler_that_does_not_speak_dask(study_dir, capsys, monkeypatch):
    # a loopback port that accepts connections but never answers: Dask's own timeout
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("SD_SCHEDULER_TIMEOUT", "2")
    try:
        err = _refused(
            capsys,
            "ensemble",
            study_dir / "decay_study.toml",
            "--uncertain",
            study_dir / "decay_uncertainty.toml",
            "--samples",
            "5",
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
        )
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()
    assert f"--scheduler tcp://127.0.0.1:{port}: cannot connect to the Dask scheduler" in err


# -- disks ---------------------------------------------------------------------------


def _deny_writes_in(folder: Path, monkeypatch) -> None:
    """A read-only folder: chmod for ordinary users; root ignores it, so refuse as the OS would."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return
    real_mkdir, real_open = Path.mkdir, os.open

    def inside(p) -> bool:
        return Path(p).resolve().is_relative_to(folder.resolve())

    def mkdir(self, *args, **kwargs):
        if inside(self) and not self.exists():
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)
    import builtins

    real_builtin_open = builtins.open

    def builtin_open(file, mode="r", *args, **kwargs):
        if isinstance(file, str | os.PathLike) and inside(file) and set(mode) & set("wax+"):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_builtin_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", builtin_open)


def test_read_only_output_folder(study_dir, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    sd.load(DECAY)  # translated before the folder is locked (the cache is elsewhere)
    _deny_writes_in(locked, monkeypatch)
    try:
        err = _refused(capsys, "run", DECAY, "-o", locked / "run.csv")
        assert f"cannot write {locked / 'run.csv'}: permission denied" in err
        err = _refused(
            capsys, "forecast", study_dir / "decay_study.toml", "-o", locked / "fc", "--no-figures"
        )
        assert f"cannot write {locked / 'fc'}: permission denied" in err
        assert "-o FOLDER" in err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_full_disk(study_dir, tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "run.csv"
    err = _refused(capsys, "run", DECAY, "-o", out)
    assert f"cannot write {out}: the disk is full" in err and "Free some space" in err
    assert list(disk.iterdir()) == []  # no partial file
    folder = disk / "fc"
    err = _refused(capsys, "forecast", study_dir / "decay_study.toml", "-o", folder, "--no-figures")
    assert f"cannot write {folder}: the disk is full" in err
    assert list(disk.iterdir()) == []  # the staged folder was removed


def test_read_only_cache(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "cache"
    locked.mkdir()
    _deny_writes_in(locked, monkeypatch)
    try:
        path = shutil.copy(DECAY, tmp_path / "fresh.mdl")
        err = _refused(capsys, "--cache-dir", locked, "info", path)
        assert f"cannot write {locked}" in err and "--cache-dir" in err
    finally:
        locked.chmod(0o755)


# -- reality checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consequence", "message"),
    [
        ("Population is 100", "'is' in 'Population is 100' is not a Vensim operator"),
        ("MAX() <= 100", "MAX takes 2 arguments in Vensim; 'MAX() <= 100' gives it 0"),
        ("ABS(Population, 1) <= 100", "ABS takes 1 argument in Vensim"),
    ],
)
def test_reality_check_that_is_not_vensim(tmp_path, capsys, consequence, message):
    path = _edit(
        CLEAN,
        tmp_path / "rc.mdl",
        ("no births:IMPLIES:Population <= 100", f"no births:IMPLIES:{consequence}"),
    )
    err = _refused(capsys, "check", path, "--skip", "units,diagram")
    line = _line_of(path, ":THE CONDITION:")
    assert f"{path}, line {line}: the reality check 'population cannot grow" in err
    assert message in err


# -- figures -------------------------------------------------------------------------

HOSTILE = "$\\frac{$ costs $5 and $6"


def test_dollar_signs_in_labels_are_drawn_as_written(study_dir, capsys):
    study = _edit(
        study_dir / "decay_study.toml",
        study_dir / "dollars.toml",
        ('title = "Decay under shocks"', 'title = "$\\\\frac{$ title"'),
        ('label = "Baseline"', 'label = "$\\\\frac{$ costs $5 and $6"'),
        ('description = "The model as it is."', 'description = "$\\\\frac{$ description"'),
    )
    out = study_dir / "out"
    code, err = _cli(capsys, "forecast", study, "-o", out, "--no-ensemble")
    assert code == 0 and "Traceback" not in err, err
    svg = (out / "figures" / "overview.svg").read_text()
    assert HOSTILE in svg and "$\\frac{$ title" in svg  # the text itself, not TeX
    code, err = _cli(capsys, "report", study, "-o", study_dir / "report")
    assert code == 0 and "Traceback" not in err, err


def test_every_text_artist_is_plain(tmp_path):
    import matplotlib.pyplot as plt

    from sd.report.figtext import savefig

    assert matplotlib.rcParams["text.parse_math"]  # the default is left alone
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label=HOSTILE)
    ax.legend(title=HOSTILE)
    ax.set_title(HOSTILE)
    ax.set_xticks([0, 1], [HOSTILE, "$x$"])
    fig.suptitle(HOSTILE)
    savefig(fig, tmp_path / "f.svg")
    plt.close(fig)
    svg = (tmp_path / "f.svg").read_text()
    assert svg.count(HOSTILE) >= 4


# -- the last resort -----------------------------------------------------------------


def test_an_unexpected_exception_is_called_a_bug(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("division by zero in the toolkit")

    monkeypatch.setattr("sd.cli.commands.cmd_info", broken)
    code, err = _cli(capsys, "info", DECAY)
    assert code == 1 and "Traceback" not in err
    assert "internal error: ZeroDivisionError: division by zero in the toolkit" in err
    assert "bug in kuzbass-sd" in err and "SD_DEBUG=1" in err
    monkeypatch.setenv("SD_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["info", str(DECAY)])
