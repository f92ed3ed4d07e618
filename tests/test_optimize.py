"""Lever optimisation on tests/models/policy.mdl, answers in closed form.

A constant Support L from 2020 (Euler, TIME STEP 1): Capital(y) = L (y - 2020), the balance
0.5 Capital - L is -L, -L/2, 0, ... so Debt peaks at 50 + 1.5 L; GRP = 100 + Capital.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sd
from sd.analysis.optimize import load_problem, optimize, pareto_mask
from sd.cli.commands import main
from sd.study.specfile import SpecError
from sd.study.study import check_study, load_study
from tests.conftest import TEST_MODELS

HERE = Path(__file__).parent
STUDY = HERE / "studies" / "policy_optimize.toml"


@pytest.fixture
def study_copy(tmp_path: Path) -> Path:
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    return tmp_path / "studies" / "policy_optimize.toml"


def _solve(path: Path):
    model = sd.load(TEST_MODELS / "policy.mdl")
    study = check_study(load_study(path), model)
    return optimize(study, model, load_problem(study, model))


def test_constrained_optimum_closed_form():
    # max sum of GRP 2024-2030 s.t. 50 + 1.5 L <= 65: L = 10, GRP sum 700 + 10 * (4 + ... + 10)
    best = _solve(STUDY).best
    assert best["Support (value)"] == pytest.approx(10, abs=1e-3)
    assert best["sum of GRP 2024-2030"] == pytest.approx(1190, abs=0.01)
    assert best["constraint: max of Debt 2020-2030"] <= 65 + 1e-9


def test_start_year_lever(study_copy: Path):
    # the 'support' shock (10 a year) starting in year S raises Debt to 60 after one year and
    # 65 after two: with Debt <= 60 the latest start 2029 is the only one that adds GRP
    text = study_copy.read_text()
    text = text.replace('scenario = "baseline"', 'scenario = "support"')
    text = text.replace(
        '[{ input = "Support", kind = "value", lower = 0, upper = 50 }]',
        '[{ input = "Support", kind = "start", lower = 2020, upper = 2030 }]',
    )
    study_copy.write_text(text.replace("max = 65", "max = 60"))
    best = _solve(study_copy).best
    assert best["Support (start)"] == 2029
    assert best["sum of GRP 2024-2030"] == pytest.approx(700 + 10)


def test_pareto_table(study_copy: Path):
    text = study_copy.read_text().replace(
        'objectives = [{ variable = "GRP", feature = "sum", sense = "max" }]',
        'objectives = [{ variable = "GRP", feature = "sum", sense = "max" },\n'
        '  { variable = "Debt", feature = "max", from = 2020, sense = "min" }]\nsamples = 50',
    )
    study_copy.write_text(text)
    table = _solve(study_copy).table
    # more support: more GRP and more debt, so every feasible level (L <= 10) is Pareto-optimal
    levels = table["Support (value)"].to_numpy()
    # a Latin hypercube of 50 levels in [0, 50] puts one level in each unit interval: ten of
    # them are feasible, and all ten are on the Pareto front
    assert len(table) == 10
    assert (levels <= 10).all()
    np.testing.assert_allclose(table["max of Debt 2020-2030"], 50 + 1.5 * levels, rtol=1e-9)
    assert table["sum of GRP 2024-2030"].is_monotonic_decreasing


def test_pareto_mask_brute_force():
    rng = np.random.default_rng(0)
    v = rng.random((60, 2))
    mask = pareto_mask(v)
    for i in range(len(v)):
        dominated = any((v[j] >= v[i]).all() and (v[j] > v[i]).any() for j in range(len(v)))
        assert mask[i] == (not dominated)


def test_cli_and_bad_tables(study_copy: Path, tmp_path: Path, capsys):
    out = tmp_path / "opt"
    assert main(["optimize", str(study_copy), "-o", str(out)]) == 0
    assert pd.read_csv(out / "best.csv")["Support (value)"].iloc[0] == pytest.approx(10, abs=1e-3)
    text = study_copy.read_text()
    study_copy.write_text(text.replace('kind = "value"', 'kind = "scale"'))
    with pytest.raises(SpecError, match="no shock on 'Support'"):
        _solve(study_copy)
    study_copy.write_text(text.replace("max = 65", "max = 10"))
    assert main(["optimize", str(study_copy)]) == 2
    assert "meets the constraints" in capsys.readouterr().err
