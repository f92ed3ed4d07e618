"""Shared fixtures: every test translates into a temporary cache and works on copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent
TEST_MODELS = HERE / "models"
SHARED = REPO.parent / "shared"
CONFORMANCE = SHARED / "vensim" / "test-models" / "tests"
KUZBASS = REPO / "models" / "kuzbass.mdl"
#: CI sets SD_REQUIRE_SHARED=1: tests that need ../shared then fail instead of skipping
REQUIRE_SHARED = os.environ.get("SD_REQUIRE_SHARED", "") not in ("", "0")


def need_shared(path: Path) -> Path:
    """``path`` under ../shared, or skip the test (fail it under SD_REQUIRE_SHARED=1)."""
    if not path.exists():
        message = f"{path} not present (the read-only ../shared folder)"
        if REQUIRE_SHARED:
            pytest.fail(message + "; SD_REQUIRE_SHARED=1 makes this an error", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory):
    """Keep translations out of the user's cache: one cache folder for the test session."""
    old = os.environ.get("SD_CACHE_DIR")
    os.environ["SD_CACHE_DIR"] = str(tmp_path_factory.mktemp("sd-cache"))
    yield
    if old is None:
        os.environ.pop("SD_CACHE_DIR", None)
    else:
        os.environ["SD_CACHE_DIR"] = old


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    """A private copy of tests/models (models and their data) to edit freely."""
    dest = tmp_path / "models"
    shutil.copytree(TEST_MODELS, dest)
    return dest


def decay_sobol(study: Path, tmp_path: Path) -> Path:
    """``sd sensitivity`` of the decay study (2 uniform constants, 8 base samples) into its
    default Sobol folder, which the report shows; returns that folder."""
    from sd.cli.commands import main

    out = study.parent / "output" / "decay-demo_sensitivity_sobol"
    unc = tmp_path / "unc.toml"
    unc.write_text(
        '[parameters."decay rate"]\ndistribution = "uniform"\nlower = 0.05\nupper = 0.2\n'
        '[parameters."steady inflow"]\ndistribution = "uniform"\nlower = 3\nupper = 7\n'
    )
    args = ["sensitivity", str(study), "--uncertain", str(unc), "--samples", "8", "-o", str(out)]
    assert main(args) == 0
    return out
