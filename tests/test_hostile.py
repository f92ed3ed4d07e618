"""Hostile model files: nothing in a .mdl ever runs (issue 11).

Each file of ``tests/hostile/`` carries a payload that creates ``PWNED-<tag>`` in the
current folder when it runs. ``test_payload_is_live_under_bare_pysd`` shows that the
live ones do run under PySD alone; every other test runs the toolkit on them (in a
private folder and cache) and asserts that no marker appears.
"""

from __future__ import annotations

import ast
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.cli.commands import main
from sd.errors import TranslationError
from sd.model.cache import translated
from sd.model.verify import check_engine_source, verify_translation
from tests.conftest import TEST_MODELS

HOSTILE = Path(__file__).parent / "hostile"
FILES = sorted(p.name for p in HOSTILE.glob("*.mdl"))
#: files whose payload runs under bare PySD 3.14 (translation, import or run)
LIVE = [
    "comment.mdl",
    "data_argument.mdl",
    "data_name.mdl",
    "lookup_range.mdl",
    "timestep_comment.mdl",
    "with_lookup_range.mdl",
]
#: files the toolkit refuses (exit 2, message naming the line); the others run
REFUSED = {
    "data_argument.mdl": "line 53",
    "data_name.mdl": "line 52",
    "equation.mdl": "line 52",
    "lookup_range.mdl": "line 53",
    "with_lookup_range.mdl": "line 52",
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private folder with the hostile files and a data file; it is the current folder."""
    shutil.copytree(HOSTILE, tmp_path / "m")
    shutil.copytree(TEST_MODELS / "data", tmp_path / "m" / "data", dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path / "m")
    monkeypatch.setenv("SD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "m"


def _markers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("PWNED*"))


def test_corpus_is_complete():
    assert set(LIVE) <= set(FILES) and set(REFUSED) <= set(FILES)
    assert len(FILES) >= 9


@pytest.mark.parametrize("name", LIVE)
def test_payload_is_live_under_bare_pysd(workdir, name):
    """The payloads are real: PySD alone runs them (so the tests below can fail)."""
    import pysd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pysd.read_vensim(str(workdir / name)).run()
        except Exception:  # noqa: BLE001 - many payloads break the model after running
            pass
    assert _markers(workdir) == [f"PWNED-{name.removesuffix('.mdl').replace('_', '-')}"]


@pytest.mark.parametrize("name", FILES)
def test_cli_commands_run_nothing(workdir, capsys, name):
    study = workdir / "study.toml"
    study.write_text(
        f'[study]\nname = "hostile"\nmodel = "{name}"\nbase = "baseline"\n'
        '[run]\nfinal = 5\nvariables = ["Stock"]\n[scenarios.baseline]\n',
        encoding="utf-8",
    )
    codes = [
        main(["info", name]),
        main(["run", name, "--vars", "Stock"]),
        main(["check", name]),
        main(["forecast", str(study)]),
    ]
    err = capsys.readouterr().err
    assert _markers(workdir) == []
    assert "Traceback" not in err
    if name in REFUSED:
        assert codes[0] == codes[1] == codes[3] == 2 and codes[2] != 0, (codes, err)
        assert f"{name}, {REFUSED[name]}" in err
    else:
        assert codes[0] == 0 and codes[1] == 0 and codes[3] == 0, (codes, err)


@pytest.mark.parametrize("name", sorted(set(FILES) - set(REFUSED)))
def test_load_keeps_the_users_text(workdir, name):
    """sd.load runs nothing and shows comments and units as the user's file has them."""
    model = sd.load(workdir / name)
    result = sd.run(model, variables=["Stock"]).wide()
    assert result["Stock"].iloc[0] == pytest.approx(100.0)
    assert _markers(workdir) == []
    text = (workdir / name).read_text(encoding="utf-8")
    for var in model.variables.values():
        if var.comment:
            assert var.comment in text, var.name
    if name == "comment.mdl":
        assert model.variables["steady inflow"].comment.endswith('"PWNED-comment").touch();"""')
    if name == "units.mdl":
        assert model.variables["steady inflow"].units.startswith("Widget'+str(__import__(")
    if name == "timestep_comment.mdl":
        assert '"""' in model.variables["TIME STEP"].comment


def test_vectorized_engine_runs_hostile_names_and_comments(workdir):
    """Names with quotes and payload comments through the generated numpy engine."""
    from sd.engine.vectorized.core import build

    for name in ("names.mdl", "comment.mdl", "units.mdl", "timestep_comment.mdl"):
        model = sd.load(workdir / name)
        engine = build(model)
        times, out = engine.run({"decay rate": np.array([0.1, 0.2])}, n=2, variables=["Stock"])
        ref = sd.run(model, {"decay rate": 0.2}, variables=["Stock"]).wide()["Stock"]
        np.testing.assert_allclose(out["Stock"][1], ref.to_numpy(), rtol=1e-12)
        check_engine_source(engine.source(), name)
    assert _markers(workdir) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "x = 1 if 1 else __import__('os')",
        "x = [c for c in ()].__class__",
        "value = np.load('x.npy', allow_pickle=True)",
        "value = open('x')",
        "value = getattr(np, 'load')",
        "value = eval('1')",
        "exec('1')",
        "value = f'{x}'",
        "np = 1",
    ],
)
def test_engine_guard_refuses_foreign_code(snippet):
    with pytest.raises(TranslationError, match="m.mdl: the vectorized engine's generated"):
        check_engine_source(f"def _simulate(x):\n    {snippet}\n", "m.mdl")


def test_sanitiser_hole_is_caught_by_the_ast_check(workdir, monkeypatch):
    """With the textual neutralisation switched off, the AST check still refuses, naming
    the variable and its line, and nothing is cached."""
    monkeypatch.setattr("sd.model.translation.neutralise", lambda text, path: text)
    for name, var, line in [
        ("comment.mdl", "steady inflow", 21),
        ("timestep_comment.mdl", "TIME STEP", 67),
        ("data_argument.mdl", "level data", 52),
    ]:
        with pytest.raises(TranslationError) as err:
            sd.load(workdir / name)
        assert f"{name}, line {line}: the code PySD wrote for '{var}'" in str(err.value)
    assert _markers(workdir) == []
    cache = workdir.parent / "cache"
    assert not any(p.name.endswith("entry.json") for p in cache.rglob("*"))


# a module as PySD writes it; each variant below adds one thing PySD never writes
_MODULE = '''"""
Python model 'm.py'
Translated using PySD
"""

from pathlib import Path
import numpy as np

from pysd.py_backend.statefuls import Integ
from pysd import Component

__pysd_version__ = "3.14.3"

__data = {"scope": None, "time": lambda: 0}

_root = Path(__file__).parent

component = Component()


def _init_outer_references(data):
    for key in data:
        __data[key] = data[key]


@component.add(name="Time")
def time():
    """
    Current time of the model.
    """
    return __data["time"]()


@component.add(name="Stock", comp_type="Stateful", depends_on={"_integ_stock": 1})
def stock():
    """
    A stock.
    """
    BODY
    return _integ_stock()


_integ_stock = Integ(lambda: np.maximum(1, 2), lambda: 100, "_integ_stock")
'''


@pytest.mark.parametrize(
    ("body", "culprit"),
    [
        ("x = np.load('a.npy', allow_pickle=True)", "the attribute .load"),
        ("x = __import__('os')", "the name __import__"),
        ("x = np.exp.__self__", "the attribute .__self__"),
        ("x = open('a', 'w')", "the name open"),
        ("x = getattr(np, 'exp')", "the name getattr"),
        ("x = eval('1')", "the name eval"),
        ("x = (lambda: 0).__globals__", "the attribute .__globals__"),
        ("x = _root.joinpath('../../etc/passwd')", "a path outside the translation folder"),
        ("x = [c for c in range(3)]", "a ListComp expression"),
        ("import os", "a Import statement in a function"),
        ("global _root", "a Global statement in a function"),
        ("exec(load_modules('m', _modules, _root, []))", "the name exec"),
        ("float = 1", "an assignment to float"),
    ],
)
def test_ast_check_refuses_what_pysd_never_writes(tmp_path, body, culprit):
    (tmp_path / "m.py").write_text(_MODULE.replace("BODY", body), encoding="utf-8")
    text = "Stock = INTEG(0, 100)\n~ ~ A stock.\n|\n"
    with pytest.raises(TranslationError) as err:
        verify_translation(tmp_path, text, tmp_path / "m.mdl")
    message = str(err.value)
    assert "m.mdl, line 1: the code PySD wrote for 'Stock' contains " + culprit in message


def test_ast_check_accepts_the_clean_module(tmp_path):
    (tmp_path / "m.py").write_text(_MODULE.replace("BODY", "x = 1"), encoding="utf-8")
    ast.parse((tmp_path / "m.py").read_text(encoding="utf-8"))
    verify_translation(tmp_path, "", tmp_path / "m.mdl")  # no error


@pytest.mark.parametrize(
    "extra",
    [
        "import os",
        "from pysd.py_backend.utils import os",
        "from pysd.py_backend.functions import load_outputs",
        "import numpy",
        "from subprocess import run",
    ],
)
def test_ast_check_refuses_foreign_imports(tmp_path, extra):
    (tmp_path / "m.py").write_text(
        _MODULE.replace("BODY", "x = 1").replace(
            "from pysd import Component", extra + "\nfrom pysd import Component"
        ),
        encoding="utf-8",
    )
    with pytest.raises(TranslationError, match="contains import of"):
        verify_translation(tmp_path, "", tmp_path / "m.mdl")


def test_module_list_of_split_views_must_be_plain_names(tmp_path):
    (tmp_path / "modules_m").mkdir()
    (tmp_path / "modules_m" / "_modules.json").write_text(
        json.dumps({"../../x": ["stock"]}), encoding="utf-8"
    )
    with pytest.raises(TranslationError, match="module file '../../x'"):
        verify_translation(tmp_path, "", tmp_path / "m.mdl")


def test_poisoned_cache_entry_is_rebuilt_not_run(workdir):
    """Code added to a cached translation after it was verified never runs: the entry
    no longer matches its recorded hashes and is translated again."""
    model_file = workdir / "decay.mdl"
    shutil.copyfile(TEST_MODELS / "decay.mdl", model_file)
    first = translated(model_file)
    source = first.py_file.read_text(encoding="utf-8")
    poisoned = source.replace(
        "    return 5\n",
        "    __import__('pathlib').Path('PWNED-cache').touch()\n    return 5\n",
    )
    assert poisoned != source
    first.py_file.write_text(poisoned, encoding="utf-8")
    model = sd.load(model_file)
    assert not model.entry.hit
    assert sd.run(model, variables=["Stock"]).wide()["Stock"].iloc[0] == 100
    assert _markers(workdir) == [] and "PWNED" not in model.entry.py_file.read_text("utf-8")
    assert translated(model_file).hit  # the rebuilt entry is reused


def test_neutralised_copy_keeps_line_numbers(workdir):
    """PySD reads a copy whose lines are those of the user's file (errors name them)."""
    entry = translated(workdir / "comment.mdl")
    copy = entry.folder / "comment.mdl"
    original = (workdir / "comment.mdl").read_text(encoding="utf-8")
    assert copy.read_text(encoding="utf-8").count("\n") == original.count("\n")
    assert '"""' not in copy.read_text(encoding="utf-8")
    assert (workdir / "comment.mdl").read_text(encoding="utf-8") == original


def _entry(equation: str, units: str = "Dmnl", comment: str = "c") -> str:
    return f"{{UTF-8}}\n{equation}\n\t~\t{units}\n\t~\t{comment}\n\t|\n"


@pytest.mark.parametrize(
    "equation",
    [
        "x = GET DIRECT DATA('data/series.csv', '\\t', 'A', 'B2')",  # tab-delimited file
        "Men's income = 5",  # an apostrophe inside a name is not a string
        "y = Men's income * 2",
        "t([(0,0)-(10,10)],(0,1),(5,3))",
        "t([(0,0)-(2,10),(-1,10),(1,0)],(0,10),(2,0))",  # points inside the range
        "w = WITH LOOKUP(Time, ([(-1e3,0)-(1.5E+3,.5)],(0,1),(5,3)))",
        'z = "strange \\"name\\" with \'quotes\'" * 2',
        "a[sub] = 1 {a comment with 'quotes' and [brackets(x)]}",
    ],
)
def test_sanitiser_accepts_ordinary_models(equation):
    from sd.model.sanitize import neutralise

    text = _entry(equation)
    assert neutralise(text, Path("m.mdl")) == text


@pytest.mark.parametrize(
    ("equation", "message"),
    [
        ("x = GET DIRECT DATA('C:\\data\\x.csv', ',', 'A', 'B2')", "line 2: the string"),
        ("x = GET XLS DATA('x.xlsx', 'S\"heet', 'A', 'B2')", "line 2: the string"),
        ("x = GET DIRECT CONSTANTS('x.csv', ',', 'B2\x01')", "line 2: the string"),
        ("t([os.system(1)],(0,1))", "line 2: the lookup range"),
        ("t(\n[(0,0)-(1,open(1))],(0,1))", "line 3: the lookup range"),
        ("\"s', x, '\": A1, A2", "line 2: the name"),
        ('"d\\\\" :INTERPOLATE:', "line 2: the name"),
    ],
)
def test_sanitiser_refuses_what_pysd_would_paste(equation, message):
    from sd.model.sanitize import neutralise

    with pytest.raises(TranslationError, match=f"m.mdl, {message}"):
        neutralise(_entry(equation), Path("m.mdl"))


def test_sanitiser_escapes_comments_and_units_keeping_lines():
    from sd.model.sanitize import neutral_text, neutralise, restored_text

    comment = 'a """ b \\ c \\\n d \x07 e'
    text = _entry("x = 1", units='W"""', comment=comment)
    safe = neutralise(text, Path("m.mdl"))
    assert safe.count("\n") == text.count("\n") and '"' not in safe.split("~", 1)[1]
    assert "\\" not in safe and "\x07" not in safe
    assert neutral_text(comment) == "a \u201d\u201d\u201d b \u2216 c \n d   e"
    assert restored_text(neutral_text('W"\\')) == 'W"\\'
