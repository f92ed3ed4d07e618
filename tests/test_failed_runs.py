"""Runs that fail are counted, named and refused above a bar; never silently dropped.

``tests/models/failing.mdl``: ``Level = 1 - drain rate * Time`` (Euler, TIME STEP 1, 0 to
10) and ``Root = SQRT(Level)``, so a run fails (NaN) exactly when ``drain rate > 0.1``,
first at the first whole year ``k`` with ``1 - k * rate < 0``. A Latin hypercube of ``n``
runs puts one draw in each stratum ``[i/n, (i+1)/n)``, so with ``drain rate`` uniform on
``[0, 0.125]`` exactly 20% of 100 runs fail (``u > 0.8``), and with ``[0, 0.1/0.99]``
exactly one (``u > 0.99``): the failing fraction is known by construction.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sd
from sd.analysis.calibration import Objective, calibrate, load_spec
from sd.analysis.ensemble import ensemble, percentiles
from sd.analysis.sensitivity import sensitivity
from sd.errors import ParameterError, SimulationError
from sd.pipeline import forecast
from sd.study.study import check_study, load_study
from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty
from tests.conftest import REPO, TEST_MODELS

N = 100


def _case(folder: Path, upper: float) -> tuple[Path, Path]:
    study = folder / "study.toml"
    study.write_text(
        f"""
[study]
name = "failing"
title = "Failing runs"
model = "{(TEST_MODELS / "failing.mdl").as_posix()}"
base = "baseline"

[run]
final = 10
variables = ["Root", "Doubled"]

[scenarios.baseline]
description = "The model as it is."
"""
    )
    spec = folder / "uncertain.toml"
    spec.write_text(
        f"""
[parameters."drain rate"]
distribution = "uniform"
lower = 0.0
upper = {upper!r}
why = "a range that crosses the rate at which Level goes negative (0.1)"
"""
    )
    return study, spec


def _setup(folder: Path, upper: float, n: int = N, seed: int = 42):
    study_path, spec_path = _case(folder, upper)
    model = sd.load(TEST_MODELS / "failing.mdl")
    study = check_study(load_study(study_path), model)
    spec = check_uncertainty(load_uncertainty(spec_path), model)
    return study, model, draw(spec, n, seed, end=10.0), spec


def _first_negative_year(rate: float) -> int:
    """The first whole year at which 1 - k * rate < 0 (Euler with a step of 1)."""
    return next(k for k in range(11) if 1 - k * rate < 0)


def _cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m sd``; stderr with its line breaks (the CLI wraps at 100) as spaces."""
    done = subprocess.run(
        [sys.executable, "-m", "sd", *args], capture_output=True, text=True, cwd=REPO
    )
    done.stderr = " ".join(done.stderr.split())
    return done


@pytest.mark.parametrize("engine", ["vectorized", "pysd"])
def test_failed_fraction_is_the_constructed_one(tmp_path, engine):
    study, model, sample, _ = _setup(tmp_path, 0.125)
    with pytest.raises(SimulationError) as err:
        ensemble(study, model, sample, engine=engine)
    rates = sample.values["drain rate"].to_numpy()
    expected = np.flatnonzero(rates > 0.1)
    assert len(expected) == 20  # the Latin hypercube puts 20 of 100 draws above 0.8 * 0.125
    message = str(err.value)
    assert "20 of 100 runs (20.0%) failed" in message and "--allow-failed" in message
    # the first failure: its run index, its sampled value, the variable and the year
    first = int(expected[0])
    year = _first_negative_year(rates[first])
    assert f"run {first} (drain rate={rates[first]:.6g})" in message
    assert f"'Root' becomes NaN at time {year}" in message

    res = ensemble(study, model, sample, engine=engine, allow_failed=0.2)
    failed = res.provenance["ensemble"]["failed"]
    assert failed["count"] == 20 and failed["total"] == N and failed["allowed"] == 0.2
    assert failed["runs"] == {"baseline": expected.tolist()}
    kept = sorted(res.data["run"].unique())
    assert kept == sorted(set(range(N)) - set(expected.tolist()))
    assert np.isfinite(res.data["value"]).all()


def test_kept_runs_give_the_percentiles(tmp_path):
    study, model, sample, _ = _setup(tmp_path, 0.125)
    res = ensemble(study, model, sample, allow_failed=0.2)
    bands = percentiles(res)
    rates = sample.values["drain rate"].to_numpy()
    ok = rates <= 0.1
    final = bands[(bands["variable"] == "Doubled") & (bands["time"] == 10)].iloc[0]
    # Doubled = 2 * (1 - 10 * rate) at year 10, over the 80 runs that worked
    assert final["p50"] == pytest.approx(np.median(2 * (1 - 10 * rates[ok])), rel=1e-12)
    assert final["p5"] == pytest.approx(np.quantile(2 * (1 - 10 * rates[ok]), 0.05), rel=1e-12)


def test_one_percent_passes_with_a_notice(tmp_path):
    study, model, sample, _ = _setup(tmp_path, 0.1 / 0.99)
    notes: list[str] = []
    res = ensemble(study, model, sample, notice=notes.append)
    failed = res.provenance["ensemble"]["failed"]
    rates = sample.values["drain rate"].to_numpy()
    assert failed["count"] == 1 == int((rates > 0.1).sum())
    assert len(notes) == 1 and "1 of 100 runs (1.0%) failed" in notes[0]
    assert "left out" in notes[0] and "'Root'" in notes[0]
    with pytest.raises(SimulationError, match="1 of 100 runs"):
        ensemble(study, model, sample, allow_failed=0.0)


def test_no_failure_records_zero(tmp_path):
    study, model, sample, _ = _setup(tmp_path, 0.09)
    res = ensemble(study, model, sample, allow_failed=0.0)
    assert res.provenance["ensemble"]["failed"]["count"] == 0
    assert res.data["run"].nunique() == N


@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan, "0.1", True])
def test_allow_failed_must_be_a_fraction(tmp_path, value):
    study, model, sample, _ = _setup(tmp_path, 0.09, n=4)
    with pytest.raises(ParameterError, match="allow_failed"):
        ensemble(study, model, sample, allow_failed=value)


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_sensitivity_refuses_any_failed_run(tmp_path, method):
    study, model, _, spec = _setup(tmp_path, 0.125)
    with pytest.raises(SimulationError, match="none may fail") as err:
        sensitivity(study, model, spec, method=method, n=16)
    assert "'Root' becomes NaN" in str(err.value)


def test_cli_ensemble_exit_2_and_allow_failed(tmp_path):
    study, spec = _case(tmp_path, 0.125)
    out = tmp_path / "out"
    args = ["ensemble", str(study), "--uncertain", str(spec), "--samples", str(N)]
    done = _cli(*args, "-o", str(out))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "20 of 100 runs (20.0%) failed" in done.stderr and "'Root'" in done.stderr
    assert not out.exists()

    done = _cli(*args, "-o", str(out), "--allow-failed", "0.2")
    assert done.returncode == 0, done.stderr
    assert "note: 20 of 100 runs (20.0%) failed" in done.stderr
    assert "20 failed runs left out" in done.stdout
    res = sd.Results.load(out / "ensemble.parquet")
    assert res.provenance["ensemble"]["failed"]["count"] == 20
    assert res.data["run"].nunique() == 80
    bands = pd.read_csv(out / "percentiles.csv")
    assert np.isfinite(bands.filter(like="p").to_numpy()).all()

    done = _cli(*args, "-o", str(tmp_path / "x"), "--allow-failed", "2")
    assert done.returncode == 2 and "between 0 and 1" in done.stderr


def test_cli_sobol_refuses(tmp_path):
    study, spec = _case(tmp_path, 0.125)
    done = _cli("sensitivity", str(study), "--uncertain", str(spec), "--samples", "16")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "none may fail" in done.stderr


@pytest.mark.parametrize("engine", ["pysd", "vectorized"])
def test_calibration_penalises_and_counts_failed_runs(tmp_path, monkeypatch, engine):
    truth = sd.run(sd.load(TEST_MODELS / "failing.mdl"), {"drain rate": 0.05}).wide()
    (tmp_path / "history.csv").write_text(
        "year,root\n" + "".join(f"{t:g},{v!r}\n" for t, v in truth["Root"].items())
    )
    (tmp_path / "calibration.toml").write_text(
        f"""
[calibration]
model = "{(TEST_MODELS / "failing.mdl").as_posix()}"
period = [0, 10]
starts = 4
seed = 3
max_runs = 400

[parameters."drain rate"]
bounds = [0.0, 0.2]
why = "half of the range makes Level negative, and Root fail"

[targets.Root]
file = "history.csv"
column = "root"
"""
    )
    tried: list[float] = []
    original = Objective._record  # every evaluation of either engine is recorded here

    def spy(self, x, out, failure):
        tried.append(float(x[0]))
        return original(self, x, out, failure)

    monkeypatch.setattr(Objective, "_record", spy)
    cal = calibrate(load_spec(tmp_path / "calibration.toml"), engine=engine)
    assert cal.engine == engine
    assert cal.values["drain rate"] == pytest.approx(0.05, rel=1e-6)
    expected = sum(r > 0.1 for r in tried)
    assert expected > 0 and cal.failed == expected and cal.runs == len(tried)
    first = next(r for r in tried if r > 0.1)
    assert f"drain rate={first:.6g}" in cal.first_failure
    assert f"'Root' becomes NaN at time {_first_negative_year(first)}" in cal.first_failure

    from sd.report.calibration import parameters_toml

    assert f"# {cal.failed} of {cal.runs} runs failed and were penalised" in parameters_toml(cal)


def test_forecast_records_failed_runs(tmp_path):
    study, spec = _case(tmp_path, 0.125)
    text = study.read_text().replace(
        "[run]", f'[uncertainty]\nfile = "{spec.name}"\nsamples = {N}\n\n[run]'
    )
    study.write_text(text)
    with pytest.raises(SimulationError, match="20 of 100"):
        forecast(study, output_dir=tmp_path / "o1", figures=False)
    assert not (tmp_path / "o1").exists()
    forecast(study, output_dir=tmp_path / "o2", figures=False, allow_failed=0.2)
    res = sd.Results.load(tmp_path / "o2" / "ensemble" / "ensemble.parquet")
    assert json.loads(json.dumps(res.provenance["ensemble"]["failed"]))["count"] == 20
