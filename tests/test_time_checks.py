"""Time settings that cannot be honoured exactly are errors naming the setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sd
from sd.errors import TimeSettingsError
from sd.model.model import MAX_STEPS
from sd.study.specfile import SpecError
from sd.study.study import check_study, load_study
from tests.conftest import REPO, TEST_MODELS

DECAY = TEST_MODELS / "decay.mdl"  # 0 to 20, TIME STEP 0.125, SAVEPER 1


def _cli(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "sd", *args], capture_output=True, text=True, cwd=REPO
    )
    done.stderr = " ".join(done.stderr.split())
    return done


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (sd.TimeSettings(step=0.3, saveper=0.3), "time step (TIME STEP or --step) 0.3 does not"),
        (sd.TimeSettings(final=20.1), "(160.8 steps)"),
        (sd.TimeSettings(saveper=0.3), "save step (SAVEPER or --saveper) 0.3 is not a multiple"),
        (sd.TimeSettings(final=1e12), "would take 8e+12 steps"),
    ],
)
def test_bad_grids_are_refused(settings, message):
    model = sd.load(DECAY)
    with pytest.raises(TimeSettingsError) as err:
        sd.run(model, time=settings)
    assert message in str(err.value)


def test_good_grids_still_run():
    model = sd.load(DECAY)
    # 0.1-type steps: 20 / 0.1 is 200.00000000000003 in floating point, still whole
    res = sd.run(model, time=sd.TimeSettings(step=0.1, saveper=0.5))
    assert res.data["time"].max() == pytest.approx(20)
    assert sd.TimeSettings(final=0.125 * MAX_STEPS).apply(model.time).final == 0.125 * MAX_STEPS


def test_the_step_suggestion_divides_the_run():
    model = sd.load(DECAY)
    with pytest.raises(TimeSettingsError, match="such as 0.25 or 0.5"):
        sd.run(model, time=sd.TimeSettings(step=0.3, saveper=1.5))


@pytest.mark.parametrize(
    "args",
    [["--stop", "1e12"], ["--step", "0.3"], ["--saveper", "0.2"]],
)
def test_cli_refuses_with_exit_2(args):
    done = _cli("run", str(DECAY), *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error:" in done.stderr and ("steps" in done.stderr)


def test_key_years_off_the_save_grid(tmp_path):
    text = (REPO / "tests" / "studies" / "decay_study.toml").read_text()
    study = tmp_path / "study.toml"
    study.write_text(
        text.replace("key_years = [5, 10, 20]", "key_years = [5, 10.5, 20]").replace(
            "../models/decay.mdl", DECAY.as_posix()
        )
    )
    (tmp_path / "stock_history.csv").write_text(
        (REPO / "tests" / "studies" / "stock_history.csv").read_text()
    )
    model = sd.load(DECAY)
    with pytest.raises(SpecError, match=r"key_years: 10.5 is not a saved time.*use 10 or 11"):
        check_study(load_study(study), model)
    done = _cli("forecast", str(study), "--no-figures", "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "10.5 is not a saved time" in done.stderr
