"""PySD's abstract model is kept in the translation cache (issue 12): the vectorized engine
builds without parsing the .mdl again, and never unpickles bytes the entry did not record."""

from __future__ import annotations

from pathlib import Path

import pytest
from pysd.translators.vensim import vensim_file

import sd
from sd.engine.vectorized import core
from sd.model.translation import ABSTRACT_FILE

MODELS = Path(__file__).parent / "models"


def _no_parse(self, *args, **kwargs):
    raise AssertionError("the .mdl was parsed a second time")


def test_the_engine_builds_from_the_kept_abstract_model(tmp_path, monkeypatch) -> None:
    model = sd.load(MODELS / "logistic.mdl", cache_dir=tmp_path)
    assert (model.entry.folder / ABSTRACT_FILE).is_file()
    monkeypatch.setattr(vensim_file.VensimFile, "parse", _no_parse)
    name = model.of_kind("stock")[0].name
    _, out = core.build(model).run({}, n=1, variables=[name])
    base = sd.run(model, variables=[name]).wide()
    assert out[name][0] == pytest.approx(base[name].to_numpy(), rel=1e-12)


def test_altered_bytes_are_never_unpickled(tmp_path, monkeypatch) -> None:
    model = sd.load(MODELS / "logistic.mdl", cache_dir=tmp_path)
    path = model.entry.folder / ABSTRACT_FILE
    path.write_bytes(path.read_bytes()[:-1] + b"X")  # no longer what the entry recorded
    unpickled = []
    monkeypatch.setattr(core.pickle, "loads", lambda data: unpickled.append(data))
    abstract = core._abstract_model(model)  # parsed again instead
    assert unpickled == [] and abstract.sections[0].elements
