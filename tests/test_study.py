"""Study files: validation with clear messages, compilation, forecast outputs, watch."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sd
from sd.cli.commands import main
from sd.pipeline import forecast
from sd.study.specfile import SpecError
from sd.study.study import check_study, compile_scenario, load_study
from sd.study.watch import watch
from tests.conftest import TEST_MODELS

HERE = Path(__file__).parent
STUDY = HERE / "studies" / "decay_study.toml"


@pytest.fixture
def study_copy(tmp_path: Path) -> Path:
    """tests/studies and tests/models side by side in a temporary folder."""
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    return tmp_path / "studies" / "decay_study.toml"


def _edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def test_inheritance_and_compiled_inputs():
    model = sd.load(TEST_MODELS / "decay.mdl")
    study = check_study(load_study(STUDY), model)
    assert list(study.scenarios) == ["baseline", "default_again", "crash", "crash_and_step"]
    both = study.scenarios["crash_and_step"]
    assert [s.shape for s in both.shocks] == ["crash", "step", "ramp"]  # parent's first
    params = compile_scenario(study, both, model)
    inflow = params["steady inflow"]
    t = inflow.index.to_numpy()
    crash = sd.study.shocks.crash(t, start=5, depth=0.4, duration=2, half_life=3)
    step = sd.study.shocks.step(t, start=12, size=0.5)
    np.testing.assert_allclose(inflow.to_numpy(), 5 * (1 + crash) * (1 + step), rtol=1e-15)
    np.testing.assert_allclose(params["decay rate"].loc[10.0], 0.1 + 0.05)
    assert t[1] - t[0] == model.time.step  # on the model's time grid


def test_shocked_run_uses_the_compiled_series():
    model = sd.load(TEST_MODELS / "decay.mdl")
    study = check_study(load_study(STUDY), model)
    params = compile_scenario(study, study.scenarios["crash"], model)
    res = sd.run(model, params, variables=["inflow"])
    got = res.series("inflow")
    np.testing.assert_allclose(got.to_numpy(), params["steady inflow"].loc[got.index].to_numpy())


def test_forecast_outputs_and_default_equals_baseline(tmp_path):
    out = tmp_path / "out"
    done = forecast(STUDY, output_dir=out)
    names = {str(p.relative_to(out)) for p in done.files}
    assert {
        "results.csv",
        "results.parquet",
        "key_years.csv",
        "key_years.md",
        "provenance.json",
        "scenarios/crash.csv",
        "figures/overview.png",
        "figures/overview.svg",
        "figures/stock.png",
    } <= names
    assert all(p.exists() for p in done.files)
    res = sd.Results.load(out / "results.parquet")
    base = res.wide("baseline")
    pd.testing.assert_frame_equal(base, res.wide("default_again"), check_exact=True)
    assert not base.equals(res.wide("crash"))
    keys = pd.read_csv(out / "key_years.csv")
    assert list(keys.columns) == ["variable", "scenario", "units", "5", "10", "20"]
    row = keys[(keys.variable == "Stock") & (keys.scenario == "baseline")].iloc[0]
    assert row["20"] == pytest.approx(base.loc[20.0, "Stock"], rel=1e-6)
    assert res.provenance["study"]["scenarios"]["crash"].startswith("Inflow falls 40%")
    wide = pd.read_csv(out / "scenarios" / "crash.csv")
    assert wide.columns[0] == "time" and "Stock" in wide.columns


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '"steady inflow" = "multiplicative"',
            '"steady inflw" = "multiplicative"',
            "Did you mean: 'steady inflow'",
        ),
        ('inherits = "crash"', 'inherits = "crsh"', "inherits 'crsh', which is not a scenario"),
        (
            'inherits = "baseline"\ndescription = "Sets',
            'inherits = "crash_and_step"\ndescription = "Sets',
            None,
        ),  # not a cycle: default_again -> crash_and_step
        ('shape = "step"', 'shape = "stpe"', "unknown shock shape 'stpe'. Did you mean: 'step'"),
        ("duration = 2, ", "", "shape 'crash' needs duration"),
        ("start = 12", "start = 1999", "outside the simulated time 0-20"),
        ("depth = 0.4", 'depth = "big"', "depth = 'big' is not a number"),
        ("[run]", "[runn]", "unknown key 'runn'"),
        ("final = 20", "final = 20\nfinal = 30", "TOML syntax error"),
        ('"decay rate" = "additive"', "", "say how shocks on 'decay rate' compose"),
        ('variables = ["Stock", "outflow"]', 'variables = ["Stok"]', "Did you mean: 'Stock'"),
        ('column = "stock"', 'column = "stok"', "'stok' is not a column"),
        ('set = { "decay rate" = 0.1 }', 'set = { "outflow" = 0.1 }', "'outflow' is a flow"),
    ],
)
def test_bad_study_files(study_copy, old, new, message):
    _edit(study_copy, old, new)
    if message is None:
        forecast(study_copy, figures=False)
        return
    with pytest.raises(SpecError, match=message) as err:
        forecast(study_copy, figures=False)
    assert str(study_copy) in str(err.value)
    assert not (study_copy.parent / "output").exists() or not any(
        (study_copy.parent / "output").iterdir()
    )


def test_toml_error_names_the_line(study_copy):
    _edit(study_copy, "final = 20", "final = = 20")
    line = study_copy.read_text().splitlines().index("final = = 20") + 1
    with pytest.raises(SpecError, match=rf"line {line}, column 9"):
        load_study(study_copy)


def test_inheritance_cycle(study_copy):
    _edit(
        study_copy,
        '[scenarios.crash]\ninherits = "baseline"',
        '[scenarios.crash]\ninherits = "crash_and_step"',
    )
    with pytest.raises(SpecError, match="cycle: crash -> crash_and_step -> crash"):
        load_study(study_copy)


def test_negative_stock_is_reported_and_no_output_written(study_copy, tmp_path):
    # a negative inflow drains the stock towards -20 / 0.1 = -200 widgets
    _edit(study_copy, 'set = { "decay rate" = 0.1 }', 'set = { "steady inflow" = -20 }')
    out = tmp_path / "out"
    with pytest.raises(sd.SimulationError, match=r"'default_again'.*'Stock' goes below .* time"):
        forecast(study_copy, output_dir=out)
    assert not out.exists() and list(tmp_path.glob(".out*")) == []


def test_cli_forecast_and_bad_study(study_copy, capsys):
    assert main(["forecast", str(study_copy), "--no-figures"]) == 0
    assert "4 scenarios run" in capsys.readouterr().out
    _edit(study_copy, 'shape = "step"', 'shape = "stpe"')
    assert main(["forecast", str(study_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_watch_reruns_after_an_edit(study_copy, tmp_path):
    runs: list[float] = []
    log: list[str] = []
    stop = threading.Event()

    def action(path):
        runs.append(
            forecast(path, output_dir=tmp_path / "w", figures=False)
            .results.series("decay rate", "baseline")
            .iloc[0]
        )

    thread = threading.Thread(
        target=watch,
        args=(study_copy, action),
        kwargs={"log": log.append, "interval": 0.05, "stop": stop, "max_runs": 4},
    )
    thread.start()
    try:
        _wait(lambda: len(runs) == 1)
        _edit(study_copy.parent.parent / "models" / "decay.mdl", "0.1\n", "0.3\n")
        _wait(lambda: len(runs) == 2)
        _edit(study_copy, 'shape = "step"', 'shape = "stpe"')  # a broken edit
        _wait(lambda: any(m.startswith("error:") for m in log))
        _edit(study_copy, 'shape = "stpe"', 'shape = "step"')
        _wait(lambda: len(runs) == 3)
    except AssertionError:
        raise AssertionError(f"runs={runs} log={log}") from None
    finally:
        stop.set()
        thread.join(timeout=30)
    assert runs == [0.1, 0.3, 0.3]
    assert any("decay.mdl" in m for m in log if m.startswith("changed:"))
    assert "still watching" in " ".join(log)


def _wait(cond, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)
