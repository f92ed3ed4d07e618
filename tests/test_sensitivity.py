"""Sobol and Morris through the whole pipeline, on the Ishigami function (known indices)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
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


LINEAR = """{UTF-8}
a=
\t0
\t~\tDmnl
\t~\tNormal input (mean 0, sd 1 in the test).
\t|

b=
\t0
\t~\tDmnl [0,1]
\t~\tUniform input on [0, 1].
\t|

Y=
\ta + 2 * b
\t~\tDmnl
\t~\tLinear in both inputs.
\t|

********************************************************
\t.Control
********************************************************~
\t\tSimulation Control Parameters
\t|

INITIAL TIME  = 0
\t~\tYear
\t~\t|

FINAL TIME  = 1
\t~\tYear
\t~\t|

TIME STEP  = 1
\t~\tYear [0,?]
\t~\t|

SAVEPER  = TIME STEP
\t~\tYear [0,?]
\t~\t|
"""


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    """Y = a + 2 b with a ~ normal(0, 1) (unbounded) and b ~ uniform(0, 1)."""
    folder = tmp_path_factory.mktemp("linear")
    (folder / "linear.mdl").write_text(LINEAR, encoding="utf-8")
    (folder / "study.toml").write_text(
        '[study]\nname = "linear"\nmodel = "linear.mdl"\n[run]\nvariables = ["Y"]\n'
        '[scenarios.base]\ndescription = "as written"\n',
        encoding="utf-8",
    )
    (folder / "unc.toml").write_text(
        '[parameters.a]\ndistribution = "normal"\nmean = 0.0\nsd = 1.0\n'
        '[parameters.b]\ndistribution = "uniform"\nlower = 0.0\nupper = 1.0\n',
        encoding="utf-8",
    )
    study = load_study(folder / "study.toml")
    model = sd.load(study.model_path)
    study = check_study(study, model)
    return folder, study, model, check_uncertainty(load_uncertainty(folder / "unc.toml"), model)


def test_morris_truncates_an_unbounded_normal_and_gives_finite_indices(linear):
    from scipy.stats import norm

    from sd.analysis.sensitivity import MORRIS_TAILS

    _, study, model, spec = linear
    sens = sensitivity(study, model, spec, method="morris", n=20, seed=3)
    at = sens.at(1.0).set_index("parameter")
    assert np.isfinite(at[["mu_star", "mu_star_conf", "sigma"]].to_numpy()).all()
    # closed form: 4 levels, step 2/3 of the unit grid; the normal's levels are its
    # quantiles at 0.5% + 99% * (0, 1/3, 2/3, 1), and a step spans the same quantile distance
    lo, hi = MORRIS_TAILS
    step = norm.ppf(lo + (hi - lo) * 2 / 3) - norm.ppf(lo)
    assert at.loc["a", "mu_star"] == pytest.approx(step / (2 / 3), rel=1e-9)
    assert at.loc["b", "mu_star"] == pytest.approx(2.0, rel=1e-9)  # 2 * (2/3) / (2/3)
    assert sens.problem["morris_ranges"]["a"] == pytest.approx([norm.ppf(lo), norm.ppf(hi)])
    assert sens.problem["morris_ranges"]["b"] == [0.0, 1.0]  # bounded: its full range
    assert any("a: normal distribution truncated" in n for n in sens.notes)
    assert sens.runs == 20 * 3 and sens.samples == 20


def test_morris_cli_states_the_truncation(linear, capsys):
    from sd.cli.commands import main

    folder, *_ = linear
    out = folder / "morris_out"
    code = main(
        [
            "sensitivity",
            str(folder / "study.toml"),
            "--uncertain",
            str(folder / "unc.toml"),
            "--method",
            "morris",
            "--samples",
            "10",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "truncated for Morris at its 0.5% and 99.5% quantiles" in err
    meta = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    assert meta["runs"] == 30 and meta["samples"] == 10 and meta["method"] == "morris"
    assert meta["morris_ranges"]["a"][0] == pytest.approx(-2.5758293035489004)
    idx = pd.read_csv(out / "indices.csv")
    assert np.isfinite(idx["mu_star"]).all() and len(idx) == 2 * 2  # 2 times x 2 inputs


def test_sobol_metadata_counts_runs_not_rows_and_flags_unconverged_indices(setup, tmp_path):
    from sd.analysis.sensitivity import convergence_issues
    from sd.report.uncertainty import write_sensitivity

    small = sensitivity(*setup, method="sobol", n=8, seed=1)
    assert small.runs == 8 * (3 + 2) and small.samples == 8
    write_sensitivity(small, tmp_path, years=[1.0])
    meta = json.loads((tmp_path / "sensitivity.json").read_text(encoding="utf-8"))
    rows = len(pd.read_csv(tmp_path / "indices.csv"))
    assert meta["runs"] == 40 and rows == 2 * 3 != meta["runs"]
    issues = convergence_issues(small.indices, "sobol", [1.0])
    wide = issues[issues["kind"] == "wide_interval"]
    # every flagged index really has an interval wider than half of it
    assert len(wide) > 0 and (wide["conf"] > 0.5 * wide["value"].abs()).all()
    assert len(pd.read_csv(tmp_path / "convergence.csv")) >= len(issues)
    large = sensitivity(*setup, method="sobol", n=4096, seed=1)
    assert convergence_issues(large.indices, "sobol", [1.0]).empty


def test_first_order_sum_above_one_is_flagged():
    from sd.analysis.sensitivity import convergence_issues

    idx = pd.DataFrame(
        {
            "output": ["Y", "Y"],
            "time": [1.0, 1.0],
            "parameter": ["p", "q"],
            "S1": [0.7, 0.6],
            "S1_conf": [0.05, 0.05],
            "ST": [0.8, 0.5],
            "ST_conf": [0.02, 0.02],
        }
    )
    issues = convergence_issues(idx, "sobol")
    assert set(issues["kind"]) == {"s1_sum", "s1_above_st"}  # 1.3 > 1; q: 0.55 > 0.52
    assert issues.loc[issues["kind"] == "s1_sum", "value"].item() == pytest.approx(1.3)
