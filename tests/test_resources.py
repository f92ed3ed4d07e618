"""Work that would not fit in memory is refused before it starts, with the numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import sd
from sd.analysis.ensemble import ensemble
from sd.model import resources
from sd.model.resources import BYTES_PER_VALUE, MAX_MODEL_BYTES, ResourceError
from sd.study.study import check_study, load_study
from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty
from tests.conftest import REPO, TEST_MODELS
from tests.test_failed_runs import _case


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "sd", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    done.stderr = " ".join(done.stderr.split())
    return done


def test_estimate_is_runs_variables_times(tmp_path, monkeypatch):
    study_path, spec_path = _case(tmp_path, 0.09)
    model = sd.load(TEST_MODELS / "failing.mdl")
    study = check_study(load_study(study_path), model)
    sample = draw(check_uncertainty(load_uncertainty(spec_path), model), 50, 1, end=10.0)
    need = 50 * 2 * 11 * BYTES_PER_VALUE  # 50 runs x Root, Doubled x years 0..10
    assert resources.ensemble_bytes(50, 2, 11) == need
    monkeypatch.setattr(resources, "available_memory", lambda: need - 1)
    with pytest.raises(ResourceError) as err:
        ensemble(study, model, sample)
    message = str(err.value)
    assert "50 runs x 2 variables x 11 saved times" in message and "is available" in message
    monkeypatch.setattr(resources, "available_memory", lambda: need)
    assert ensemble(study, model, sample).data["run"].nunique() == 50


def test_available_memory_is_known():
    have = resources.available_memory()
    assert have is not None and have > 0
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        line = next(x for x in meminfo.read_text().splitlines() if x.startswith("MemAvailable"))
        assert have == pytest.approx(int(line.split()[1]) * 1024, rel=0.2)


def test_cli_refuses_a_huge_ensemble_before_drawing(tmp_path):
    study, spec = _case(tmp_path, 0.09)
    out = tmp_path / "out"
    done = _cli(
        "ensemble", str(study), "--uncertain", str(spec), "--samples", "1000000000", "-o", str(out)
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "1,000,000,000 runs x 2 variables x 11 saved times would need about" in done.stderr
    assert not out.exists()
    done = _cli("sensitivity", str(study), "--uncertain", str(spec), "--samples", "400000000")
    assert done.returncode == 2 and "1,200,000,000 runs" in done.stderr


_PEAK = """
import runpy, sys
sys.argv = ["sd", *sys.argv[1:]]
try:
    runpy.run_module("sd", run_name="__main__", alter_sys=True)
finally:
    # VmHWM: this process's own peak resident memory (getrusage would include the RSS
    # of the forked parent before exec)
    hwm = next(x for x in open("/proc/self/status") if x.startswith("VmHWM"))
    print("PEAK_KB", hwm.split()[1], file=sys.stderr)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_huge_model_file_is_refused_in_little_memory(tmp_path):
    """A 50 MB comment: refused before PySD's parser (which needs ~420x the text)."""
    text = (TEST_MODELS / "decay.mdl").read_text()
    big = tmp_path / "big.mdl"
    big.write_text(text.replace("Initial value of the stock.", "x" * (50 * 2**20), 1))
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, "info", str(big)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "SD_CACHE_DIR": str(tmp_path / "cache")},
    )
    stderr = " ".join(done.stderr.split())
    assert done.returncode == 2 and "Traceback" not in stderr
    assert "the model file is 50.0 MiB, more than the 2.0 MiB" in stderr
    assert "SD_MAX_MODEL_MB" in stderr
    peak_mib = int(stderr.split("PEAK_KB")[1].split()[0]) / 1024
    # measured: 242 MiB (an ordinary model: about 180); PySD's parser would take ~20 GiB
    assert peak_mib < 250 + 3 * 50  # the interpreter and libraries, and a few copies of the text
    assert not any((tmp_path / "cache").glob("big-*"))  # nothing cached


def test_model_size_limit_can_be_raised(tmp_path, monkeypatch):
    path = tmp_path / "decay.mdl"
    path.write_text((TEST_MODELS / "decay.mdl").read_text())
    monkeypatch.setenv("SD_MAX_MODEL_MB", "0.0001")
    with pytest.raises(ResourceError, match="more than the 104 bytes"):
        sd.load(path, cache_dir=tmp_path / "c")
    monkeypatch.setenv("SD_MAX_MODEL_MB", str(MAX_MODEL_BYTES / 2**20))
    assert sd.load(path, cache_dir=tmp_path / "c").variables
