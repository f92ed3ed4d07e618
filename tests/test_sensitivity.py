"""Sobol and Morris through the whole pipeline, on the Ishigami function (known indices)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sd
from sd.analysis.sensitivity import sensitivity
from sd.study.study import check_study, load_study
from sd.study.uncertainty import check_uncertainty, load_uncertainty

HERE = Path(__file__).parent
# Ishigami (a = 7, b = 0.1): analytic first- and total-order indices
S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


@pytest.fixture(scope="module")
def setup():
    study = load_study(HERE / "studies" / "ishigami.toml")
    model = sd.load(study.model_path)
    study = check_study(study, model)
    spec = check_uncertainty(
        load_uncertainty(HERE / "studies" / "ishigami_uncertainty.toml"), model
    )
    return study, model, spec


def test_sobol_indices_match_the_analytic_values(setup):
    sens = sensitivity(*setup, method="sobol", n=4096, seed=1)
    at = sens.at(1.0).set_index("parameter")
    assert sens.runs == 4096 * 5
    for name in S1:
        assert at.loc[name, "S1"] == pytest.approx(S1[name], abs=0.04)
        assert at.loc[name, "ST"] == pytest.approx(ST[name], abs=0.04)
        assert at.loc[name, "ST_conf"] < 0.05


def test_morris_ranks_x1_and_x2_above_x3(setup):
    sens = sensitivity(*setup, method="morris", n=200, seed=1)
    mu = sens.at(1.0).set_index("parameter")["mu_star"]
    assert mu["x3"] < mu["x1"] and mu["x3"] < mu["x2"]
