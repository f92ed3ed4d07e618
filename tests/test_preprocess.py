"""Preprocessing before PySD: macros, inline comments, indirect references, data variables."""

from __future__ import annotations

import numpy as np
import pytest

import sd
from sd.engine.vectorized.core import build
from sd.errors import ModelFileError, TranslationError
from sd.model import preprocess
from tests.conftest import TEST_MODELS

MACROS = TEST_MODELS / "macros.mdl"
EXPANDED = TEST_MODELS / "macros_expanded.mdl"
SHARED = ["x", "lagged x", "lagged twice", "population", "population doubling"]
SHARED += ["other population", "other doubling"]


def test_macro_model_matches_its_hand_expanded_copy():
    before = MACROS.read_bytes()
    ours = sd.run(sd.load(MACROS)).wide()
    hand = sd.run(sd.load(EXPANDED)).wide()
    assert MACROS.read_bytes() == before  # the user's file is never rewritten
    np.testing.assert_array_equal(ours.index, hand.index)
    for name in SHARED:
        np.testing.assert_allclose(ours[name], hand[name], rtol=1e-12, atol=1e-12, err_msg=name)
    # TIME STEP$ is the model's step: the macro returns its input one step earlier
    t = ours.index.to_numpy(float)
    np.testing.assert_allclose(ours["lagged x"], 3 + 2 * np.maximum(t - 0.5, 0), rtol=1e-12)
    np.testing.assert_allclose(ours["lagged twice"], 3 + 2 * np.maximum(t - 1, 0), rtol=1e-12)
    # the output after ':' is a variable of the model, computed by the macro's equation
    np.testing.assert_allclose(ours["population doubling"], np.log(2) / 0.05, rtol=1e-15)
    np.testing.assert_allclose(ours["other population"], 10 * 1.05 ** (2 * t), rtol=1e-12)


def test_macro_instances_have_unique_names_and_inline_comments_are_gone():
    text = preprocess.prepare(MACROS, MACROS.read_text(encoding="utf-8")).text
    eqs = text.split("\\\\\\---///")[0]
    assert ":MACRO:" not in eqs and "TIME STEP$" not in eqs
    assert "{" not in eqs.replace("{UTF-8}", "")
    names = [e.name for e in sd.model.mdl.entries(eqs)]
    assert len(names) == len(set(names))
    assert {"PREVIOUS VALUE 1", "PREVIOUS VALUE 2", "PREVIOUS VALUE 3"} <= set(names)
    assert "EXP GROWTH 2 growth" in names


def test_vectorized_engine_runs_expanded_macros():
    model = sd.load(MACROS)
    rates = np.array([0.05, 0.2])
    times, out = build(model).run({"growth rate": rates}, n=2, variables=SHARED)
    for i, rate in enumerate(rates):
        ref = sd.run(model, {"growth rate": rate}, variables=SHARED).wide()
        for name in SHARED:
            np.testing.assert_allclose(out[name][i], ref[name], rtol=1e-12, err_msg=name)


def test_wrong_number_of_macro_arguments_is_explained(tmp_path):
    bad = tmp_path / "bad.mdl"
    bad.write_text(MACROS.read_text().replace("PREVIOUS VALUE(x)\n", "PREVIOUS VALUE(x, 2)\n"))
    with pytest.raises(TranslationError, match="PREVIOUS VALUE takes 1 input.*called with 2"):
        sd.load(bad)


def _indirect_copy(models_copy):
    path = models_copy / "vec_data.mdl"
    path.write_text(path.read_text().replace("'data/vec_inputs.csv'", "'?inputs'"))
    return path


def test_indirect_reference_resolved_through_the_reference_map(models_copy):
    names = ["level data", "held data", "forward data"]
    reference = sd.run(sd.load(models_copy / "vec_data.mdl"), variables=names).wide()
    path = _indirect_copy(models_copy)
    path.with_name("vec_data.refs.toml").write_text('[files]\ninputs = "data/vec_inputs.csv"\n')
    ours = sd.run(sd.load(path), variables=names).wide()
    np.testing.assert_array_equal(ours.to_numpy(), reference.to_numpy())


def test_unresolved_indirect_reference_names_the_line_and_the_map(models_copy):
    path = _indirect_copy(models_copy)
    with pytest.raises(ModelFileError, match=r"line 2: .*'\?inputs'.*vec_data.refs.toml"):
        sd.load(path)


DATA_MODEL = """{UTF-8}
observed :INTERPOLATE:
	~	u
	~	A data variable without an equation.
	|
doubled = 2 * observed
	~	u
	~	|
INITIAL TIME = 0
	~	Month
	~	|
FINAL TIME = 3
	~	Month
	~	|
TIME STEP = 0.5
	~	Month
	~	|
SAVEPER = TIME STEP
	~	Month
	~	|
"""


def test_data_variable_without_equation_is_read_from_the_listed_file(tmp_path):
    path = tmp_path / "observed.mdl"
    path.write_text(DATA_MODEL)
    with pytest.raises(ModelFileError, match="line 2: the data variable 'observed' has no eq"):
        sd.load(path)
    (tmp_path / "observed.tab").write_text("Time\tobserved\n0\t1\n2\t5\n3\t4\n")
    path.with_name("observed.refs.toml").write_text('[data]\nfiles = ["observed.tab"]\n')
    wide = sd.run(sd.load(path)).wide()
    np.testing.assert_allclose(wide["observed"], [1, 2, 3, 4, 5, 4.5, 4])  # interpolated
    np.testing.assert_allclose(wide["doubled"], 2 * wide["observed"])


def test_malformed_reference_map_is_explained(tmp_path):
    path = tmp_path / "observed.mdl"
    path.write_text(DATA_MODEL)
    refs = path.with_name("observed.refs.toml")
    refs.write_text("[data]\nfiles = 'observed.tab'\n")
    with pytest.raises(ModelFileError, match="observed.refs.toml: \\[data\\] files must be a list"):
        sd.load(path)
    refs.write_text("[data\n")
    with pytest.raises(ModelFileError, match="observed.refs.toml: not a valid TOML file"):
        sd.load(path)
    refs.write_text('[data]\nfiles = ["missing.tab"]\n')
    with pytest.raises(ModelFileError, match="names the file 'missing.tab', which does not exist"):
        sd.load(path)
