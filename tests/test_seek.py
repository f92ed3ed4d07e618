"""Goal seeking on tests/models/policy.mdl, whose answers are closed-form.

With TIME STEP 1 (Euler), a constant Support L from 2020 gives Capital(2030) = 10 L; the
scenario 'support' shocks Support by 10 from 2024, so scaling that shock by s gives
Capital(2030) = 60 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sd
from sd.analysis.seek import OutOfReach, Target, parse_target, seek
from sd.cli.commands import main
from sd.errors import ParameterError
from sd.study.study import check_study, compile_scenario, load_study
from tests.conftest import TEST_MODELS

STUDY = Path(__file__).parent / "studies" / "policy_study.toml"


@pytest.fixture(scope="module")
def setup():
    model = sd.load(TEST_MODELS / "policy.mdl")
    return check_study(load_study(STUDY), model), model


def test_constant_lever_closed_form(setup):
    study, model = setup
    res = seek(
        study, model, scenario="baseline", lever="support", target=Target("Capital", 35, 2030)
    )
    assert res.mode == "constant"
    assert res.lever_range == (0, 50)  # the Vensim range of Support
    assert res.level == pytest.approx(3.5, rel=1e-9)
    assert res.achieved == pytest.approx(35, rel=1e-9)
    assert res.crossings == 1
    # cost: balance 0.5*3.5*(y-2020) - 3.5 in 2024..2030, discounted at 10% (end of year)
    by_hand = sum((1.75 * k - 3.5) / 1.1 ** (k - 3) for k in range(4, 11))
    assert res.cost == pytest.approx(by_hand, rel=1e-9)
    assert res.cost_unit == "bnRUB"


def test_shock_scale_closed_form(setup):
    study, model = setup
    res = seek(
        study, model, scenario="support", lever="Support", target=Target("Capital", 45, 2030)
    )
    assert res.mode == "shock scale"
    assert res.level == pytest.approx(0.75, rel=1e-9)
    assert res.crossings == 1
    # between two scanned levels: brentq refines it
    res = seek(
        study, model, scenario="support", lever="Support", target=Target("Capital", 40, 2030)
    )
    assert res.level == pytest.approx(2 / 3, rel=1e-9)
    assert res.achieved == pytest.approx(40, rel=1e-9)


def test_out_of_reach_says_the_reachable_interval(setup):
    study, model = setup
    with pytest.raises(OutOfReach, match=r"within \[0, 50\].*\[0, 500\]"):
        seek(
            study, model, scenario="baseline", lever="Support", target=Target("Capital", 600, 2030)
        )
    res = seek(
        study,
        model,
        scenario="baseline",
        lever="Support",
        target=Target("Capital", 600, 2030),
        lever_range_=(0, 100),
    )
    assert res.level == pytest.approx(60, rel=1e-9)


def test_unsupported_model_is_scanned_with_pysd_after_a_notice(setup, monkeypatch):
    from sd.engine.vectorized import core as vectorized

    def refuse(m):
        raise vectorized.Unsupported("GET TIME VALUE")

    monkeypatch.setattr(vectorized, "build", refuse)
    study, model = setup
    notices: list[str] = []
    res = seek(
        study,
        model,
        scenario="support",
        lever="Support",
        target=Target("Capital", 40, 2030),
        notice=notices.append,
    )
    assert res.level == pytest.approx(2 / 3, rel=1e-9)  # Capital(2030) = 60 s, on PySD
    assert res.achieved == pytest.approx(40, rel=1e-9)
    # one notice per scan: the 41 levels, then each of brentq's runs
    assert set(notices) == {
        "vectorized engine: GET TIME VALUE is not supported; scanning with PySD instead"
    }
    assert len(notices) == res.runs - 41


def test_a_pysd_scan_run_that_raises_is_a_missing_level(setup, monkeypatch):
    import sd.engine.engines as engines
    from sd.engine.vectorized import core as vectorized

    def refuse(m):
        raise vectorized.Unsupported("GET TIME VALUE")

    original = engines.run

    def run(model, params, **kw):  # not a SimulationError: seek still treats it as NaN
        if params["Support"] == 50.0:
            raise ParameterError("refused")
        return original(model, params, **kw)

    monkeypatch.setattr(vectorized, "build", refuse)
    monkeypatch.setattr(engines, "run", run)
    study, model = setup
    # levels 0, 1.25, ..., 50 and Capital(2030) = 10 L: without the failed level 50, the
    # largest value reached is 487.5
    with pytest.raises(OutOfReach, match=r"\[0, 487\.5\]"):
        seek(
            study, model, scenario="baseline", lever="Support", target=Target("Capital", 600, 2030)
        )


def test_bad_targets_and_levers(setup, capsys):
    study, model = setup
    for text in ("Capital=35", "Capital@2030", "Capital=x@2030"):
        with pytest.raises(ParameterError, match="--target"):
            parse_target(text)
    assert parse_target(" Capital = 35 @ 2030 ") == Target("Capital", 35.0, 2030.0)
    with pytest.raises(ParameterError, match="is a stock"):
        seek(study, model, scenario="baseline", lever="Capital", target=Target("Debt", 1, 2030))
    args = ["seek", str(STUDY), "--lever", "Support", "--target", "Capital=600@2030"]
    assert main(args) == 2
    assert "[0, 500]" in capsys.readouterr().err
    assert main([*args[:-1], "Capital=35@2030"]) == 0
    out = capsys.readouterr().out
    assert "= 3.5" in out and "cost" in out


@pytest.mark.slow
def test_kuzbass_seek_within_one_percent():
    from tests.conftest import KUZBASS

    model = sd.load(KUZBASS)
    study = check_study(load_study(KUZBASS.parent.parent / "forecasts" / "kuzbass.toml"), model)
    res = seek(
        study,
        model,
        scenario="neo_industrialization",
        lever="State Support for Processing",
        target=Target("Processing Share of GRP", 0.25, 2035),
    )
    assert res.mode == "shock scale"
    # the declared ramp (scale 1) run on its own says which side of 1 the level lies
    scenario = study.scenarios["neo_industrialization"]
    declared = sd.run(model, compile_scenario(study, scenario, model))
    at_one = declared.wide().loc[2035.0, "Processing Share of GRP"]
    assert 0 < res.level < 2 and at_one != pytest.approx(0.25, rel=0.01)
    assert (res.level > 1) == (at_one < 0.25), (res.level, at_one)
    assert res.relative_error < 0.01
    assert res.cost is not None and res.cost < 0  # support costs the budget
