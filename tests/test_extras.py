"""Optional parts (issue 12): a missing extra is a one-paragraph error naming its pip line."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from sd.cli.commands import main
from sd.errors import EXTRAS, MissingExtraError, optional

ROOT = Path(__file__).resolve().parents[1]
MODELS = Path(__file__).parent / "models"


@pytest.mark.parametrize("module", sorted(EXTRAS))
def test_a_missing_extra_names_its_install_line(module, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import of it now fails
    dist, extra = EXTRAS[module]
    with pytest.raises(MissingExtraError) as err:
        optional(module, "This part")
    text = str(err.value)
    assert f"pip install 'kuzbass-sd[{extra}]'" in text and f"'{dist}'" in text
    assert "\n" not in text


def test_every_extra_is_declared_and_all_installs_them() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for dist, extra in EXTRAS.values():
        assert any(req.startswith(dist) for req in extras[extra]), (dist, extra)
        assert extra in extras["all"][0]
        assert not any(req.startswith(dist) for req in project["dependencies"])


def test_sd_check_without_pysimlin_exits_2_with_the_line(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "simlin", None)
    assert main(["check", str(MODELS / "decay.mdl")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'kuzbass-sd[check]'" in err
