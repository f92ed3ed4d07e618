"""Regression tests for defaults that used to be silently replaced, and forwarded options."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sd
from sd.study.specfile import SpecError
from sd.study.study import load_study
from tests.conftest import REPO
from tests.test_calibration import _write_case

STUDIES = REPO / "tests" / "studies"


def _study_with(tmp_path: Path, uncertainty: str) -> Path:
    """A copy of the decay study (and its models) with an ``[uncertainty]`` table."""
    shutil.copytree(STUDIES, tmp_path / "studies")
    shutil.copytree(REPO / "tests" / "models", tmp_path / "models")
    study = tmp_path / "studies" / "decay_study.toml"
    text = study.read_text(encoding="utf-8")
    study.write_text(
        text + '\n[uncertainty]\nfile = "decay_uncertainty.toml"\n' + uncertainty,
        encoding="utf-8",
    )
    return study


def test_seed_zero_is_kept(tmp_path):
    study = load_study(_study_with(tmp_path, "samples = 5\nseed = 0\n"))
    assert study.uncertainty.seed == 0 and study.uncertainty.samples == 5


@pytest.mark.parametrize(
    "line, message",
    [
        ("samples = 0\n", "samples = 0 must be a whole number >= 1"),
        ("seed = -1\n", "seed = -1 must be a whole number >= 0"),
        ("samples = 2.5\n", "samples = 2.5 must be a whole number"),
        ('engine = "vectorised"\n', "engine = 'vectorised' is not an engine"),
    ],
)
def test_bad_ensemble_settings_are_refused_when_the_study_is_read(tmp_path, line, message):
    with pytest.raises(SpecError, match=message):
        load_study(_study_with(tmp_path, line))


def test_ensemble_reloads_from_the_cache_the_model_came_from(tmp_path, monkeypatch):
    from sd.analysis.ensemble import ensemble
    from sd.study.study import check_study
    from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty

    other = tmp_path / "user-cache"
    monkeypatch.setenv("SD_CACHE_DIR", str(other))
    mine = tmp_path / "mine"
    study = load_study(STUDIES / "decay_study.toml")
    model = sd.load(study.model_path, cache_dir=mine)
    study = check_study(study, model)
    spec = check_uncertainty(load_uncertainty(STUDIES / "decay_uncertainty.toml"), model)
    res = ensemble(study, model, draw(spec, 4, 1, end=20), engine="pysd", scenarios=["baseline"])
    assert set(res.data["run"]) == {0, 1, 2, 3}
    assert not other.exists()  # nothing translated again into the user's cache


def test_calibrate_writes_only_its_output_folder_unless_asked(tmp_path):
    spec = _write_case(tmp_path)
    text = spec.read_text(encoding="utf-8").replace(
        "max_runs = 600", 'max_runs = 60\nparameters_file = "published.toml"'
    )
    spec.write_text(text, encoding="utf-8")
    published = tmp_path / "published.toml"
    cmd = [sys.executable, "-m", "sd", "calibrate", str(spec), "--starts", "1"]
    done = subprocess.run([*cmd, "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "calibrated.toml").is_file() and not published.exists()
    again = subprocess.run(
        [*cmd, "-o", str(tmp_path / "out2"), "--write-calibrated"], capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert published.read_text(encoding="utf-8") == (
        tmp_path / "out2" / "calibrated.toml"
    ).read_text(encoding="utf-8")


def test_missing_shared_files_skip_or_fail(monkeypatch, tmp_path):
    import tests.conftest as conftest

    missing = tmp_path / "no-such-shared-folder"
    monkeypatch.setattr(conftest, "REQUIRE_SHARED", False)
    with pytest.raises(pytest.skip.Exception):
        conftest.need_shared(missing)
    monkeypatch.setattr(conftest, "REQUIRE_SHARED", True)
    with pytest.raises(pytest.fail.Exception, match="SD_REQUIRE_SHARED=1"):
        conftest.need_shared(missing)
    assert conftest.need_shared(tmp_path) == tmp_path
