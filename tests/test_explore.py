"""Scenario discovery on a model whose failing region is a known box by construction.

tests/models/explore_box.mdl: Score = -1 + Relief inside a > 0.7 and b < 0.3, else
1 + Relief; c plays no role. The goal Score >= 0 fails exactly inside the box.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sd
from sd.analysis.explore import Goal, explore, feature, load_explore
from sd.cli.commands import main
from sd.study.specfile import SpecError
from sd.study.study import check_study, load_study
from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty
from tests.conftest import TEST_MODELS

HERE = Path(__file__).parent / "studies"
STUDY = HERE / "explore_box.toml"
SPEC = HERE / "explore_box_uncertainty.toml"


@pytest.fixture(scope="module")
def exploration():
    model = sd.load(TEST_MODELS / "explore_box.mdl")
    study = check_study(load_study(STUDY), model)
    config = load_explore(study, model)
    sample = draw(check_uncertainty(load_uncertainty(SPEC), model), 1000, 3, end=2)
    return sample, explore(study, model, sample, config)


def test_satisficing_and_regret_from_the_sample(exploration):
    sample, exp = exploration
    a, b = sample.values["a"].to_numpy(), sample.values["b"].to_numpy()
    inside = (a > 0.7) & (b < 0.3)
    rob = exp.robustness.set_index(["policy", "goal"])
    for policy in ("baseline", "partial"):
        assert rob.loc[(policy, "score"), "satisficing_rate"] == pytest.approx(1 - inside.mean())
        assert rob.loc[(policy, "level"), "satisficing_rate"] == pytest.approx(1 - inside.mean())
    # partial is 0.5 better in every future: its regret is 0, the baseline's 0.5
    assert rob.loc[("baseline", "score"), "mean_regret"] == pytest.approx(0.5)
    assert rob.loc[("partial", "score"), "max_regret"] == 0
    out = exp.outcomes[(exp.outcomes.policy == "baseline") & (exp.outcomes.goal == "level")]
    # first year Level < 0.5 from t = 1: 1 inside the box (Level(1) = -1), never (3) outside
    np.testing.assert_array_equal(out["value"].to_numpy(), np.where(inside, 1.0, 3.0))


def test_prim_recovers_the_box(exploration):
    _, exp = exploration
    box = exp.boxes[(exp.boxes.policy == "baseline") & (exp.boxes.goal == "score")]
    lims = box.set_index("input")
    assert set(lims.index) == {"a", "b"}  # c is not restricted
    assert lims.loc["a", "lower"] == pytest.approx(0.7, abs=0.05)
    assert lims.loc["a", "upper"] >= 0.95
    assert lims.loc["b", "upper"] == pytest.approx(0.3, abs=0.05)
    assert lims.loc["b", "lower"] <= 0.05
    assert box["coverage"].iloc[0] >= 0.9
    assert box["density"].iloc[0] >= 0.9


def test_features():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.array([[3.0, 2.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    g = Goal("g", "x", "first_below", 1, 3, None, 1.5, "max", 2)
    np.testing.assert_array_equal(feature(g, times, v), [2.0, 1.0])
    g = Goal("g", "x", "min", 0, 2, None, None, "max", 2)
    np.testing.assert_array_equal(feature(g, times, v), [1.0, 1.0])
    g = Goal("g", "x", "value_at", 0, 3, 2.5, None, "max", 2)
    np.testing.assert_array_equal(feature(g, times, v), [0.5, 1.0])


def test_cli_writes_tables_and_figures(tmp_path: Path, capsys):
    out = tmp_path / "exp"
    args = ["explore", str(STUDY), "--uncertain", str(SPEC), "--samples", "300", "-o", str(out)]
    assert main(args) == 0
    boxes = pd.read_csv(out / "prim_boxes.csv")
    assert {"policy", "goal", "coverage", "density", "input", "lower", "upper"} <= set(boxes)
    assert (out / "robustness.csv").is_file()
    assert (out / "figures" / "prim_baseline_score.png").is_file()


def test_bad_explore_tables(tmp_path: Path, capsys):
    text = STUDY.read_text()
    bad = tmp_path / "explore_box.toml"
    for old, new, msg in (
        ('feature = "value_at"', 'feature = "at"', "feature = 'at'"),
        ('variable = "Score"', 'variable = "Scor"', "Did you mean"),
        ("year = 2\n", "", "needs year"),
    ):
        body = text.replace(old, new).replace("../models/", f"{TEST_MODELS}/")
        bad.write_text(body.replace('file = "', f'file = "{HERE}/'))
        model = sd.load(TEST_MODELS / "explore_box.mdl")
        with pytest.raises(SpecError, match=msg):
            load_explore(check_study(load_study(bad), model), model)
    assert main(["explore", str(bad), "--uncertain", str(SPEC)]) == 2
    assert "[explore.goals.score]" in capsys.readouterr().err
