"""The package's shape (issue 12): stages as folders, no import cycle, few top-level modules,
and imports inside functions only for optional heavy dependencies.

The layer rules themselves (which stage may import which, only the engine touches PySD)
are import-linter contracts in ``pyproject.toml``, run by ``make test`` (``lint-imports``);
the test here runs the same contracts, so that ``pytest`` alone also fails on a broken one.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
SD = ROOT / "sd"
#: third-party packages that are heavy to import (or optional) and may be imported lazily
HEAVY = {
    "matplotlib", "SALib", "dask", "distributed", "pysimlin", "ema_workbench", "scipy",
    "pysd", "tornado", "playwright", "openpyxl", "pyarrow", "netCDF4", "jinja2", "plotly",
    "frictionless", "tomli_w", "seaborn", "xarray", "tqdm", "platformdirs", "pandas",
    "numpy", "simlin", "psutil", "parsimonious",
}
#: the command line imports each stage only when its subcommand runs (``sd --help`` and
#: ``sd info`` stay fast); these are the only modules allowed to import ``sd`` lazily
LAZY_DISPATCH = {"sd/cli/commands.py", "sd/cli/studies.py", "sd/cli/decision.py",
                 "sd/app/cli.py"}


def _modules() -> list[Path]:
    return sorted(SD.rglob("*.py"))


def test_at_most_ten_top_level_modules_and_the_stage_folders() -> None:
    top = sorted(p.name for p in SD.glob("*.py"))
    assert len(top) <= 10, top
    stages = {p.name for p in SD.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"model", "engine", "study", "analysis", "check", "report", "cli"} <= stages
    assert (SD / "pipeline.py").exists()


def _cycles() -> list[list[str]]:
    graph = grimp.build_graph("sd", exclude_type_checking_imports=True)
    mods = sorted(m for m in graph.modules if m != "sd")
    edges = {m: set(graph.find_modules_directly_imported_by(m)) - {"sd"} for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for m in mods:
        if m not in index:
            visit(m)
    return found


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "sd"  # a throw-away package named like ours, with a -> b -> a
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from sd import b\n")
    (pkg / "b.py").write_text("from sd import a\n")
    (pkg / "c.py").write_text("from sd import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "sd" or m.startswith("sd.")]:
        monkeypatch.delitem(sys.modules, name)
    assert _cycles() == [["sd.a", "sd.b"]]


def _lazy_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                out.append((node.lineno, name))
    return out


def test_imports_inside_functions_only_for_heavy_dependencies() -> None:
    bad = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        for line, name in _lazy_imports(path):
            top = name.split(".")[0]
            if top == "sd" and rel in LAZY_DISPATCH:
                continue
            if top not in HEAVY:
                bad.append(f"{rel}:{line} imports {name} inside a function")
    assert bad == []


def test_import_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", done.stdout), done.stdout[-3000:]
