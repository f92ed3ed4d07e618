"""Policy comparison: NPV, payback and the other indicators against hand-computed values.

tests/models/policy.mdl with TIME STEP 1: support S from 2024 builds Capital(y) = S*(y-2024)
(Euler), the budget balance is 0.5*Capital - S, so against the baseline (no support) the
balance differs by d_k = 0.5*S*k - S in year 2024 + k, k = 0..6.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import sd
from sd.analysis.forecast import run_study
from sd.analysis.policy import comparison, load_policy, npv, payback_year
from sd.cli.commands import main
from sd.pipeline import forecast
from sd.study.specfile import SpecError
from sd.study.study import check_study, load_study
from tests.conftest import TEST_MODELS

HERE = Path(__file__).parent
STUDY = HERE / "studies" / "policy_study.toml"


@pytest.fixture
def study_copy(tmp_path: Path) -> Path:
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    return tmp_path / "studies" / "policy_study.toml"


def _table(path: Path = STUDY) -> pd.DataFrame:
    model = sd.load(TEST_MODELS / "policy.mdl")
    study = check_study(load_study(path), model)
    results = run_study(study, model)
    frame = comparison(study, model, results, load_policy(study, model))
    return frame.set_index(["scenario", "indicator"])["value"]


def test_npv_and_payback_by_hand():
    values = _table()
    # d = -10, -5, 0, 5, 10, 15, 20 in 2024..2030, discounted at 10% at the end of each year
    by_hand = (
        -10 / 1.1 - 5 / 1.1**2 + 0 / 1.1**3 + 5 / 1.1**4 + 10 / 1.1**5 + 15 / 1.1**6 + 20 / 1.1**7
    )
    assert values["support", "budget_balance_npv_diff"] == pytest.approx(by_hand, rel=1e-9)
    assert by_hand == pytest.approx(15.1314, abs=1e-4)
    # cumulative: -9.09, -13.22, -13.22, -9.81, -3.60, +4.87 -> positive first in 2029
    assert values["support", "payback_year"] == 2029
    assert values["small", "budget_balance_npv_diff"] == pytest.approx(by_hand / 2, rel=1e-9)
    assert values["small", "payback_year"] == 2029


def test_other_indicators_by_hand():
    values = _table()
    # GRP differs by Capital = 10k: 10 * (0 + 1 + ... + 6) = 210 bn RUB; income is GRP here
    assert values["support", "grp_cumulative_diff"] == pytest.approx(210)
    assert values["support", "income_cumulative_diff"] == pytest.approx(210)
    assert values["support", "jobs_2026_diff"] == pytest.approx(10 * 20)
    assert values["support", "jobs_2030_diff"] == pytest.approx(10 * 60)
    assert values["support", "processing_share_2030"] == pytest.approx(60 / 160)
    assert values["support", "processing_share_2026"] == pytest.approx(20 / 120)
    assert values["baseline", "processing_share_2030"] == 0
    damage = sum((1 + 0.1 * 10 * k) / 1.1 ** (k + 1) for k in range(7))
    assert values["support", "damage_npv"] == pytest.approx(damage, rel=1e-9)
    assert values["support", "damage_npv_diff"] == pytest.approx(
        sum(k / 1.1 ** (k + 1) for k in range(7)), rel=1e-9
    )
    # debt 50, +10 (2024 deficit), +5 (2025) -> 65, then repaid
    assert values["support", "debt_peak"] == pytest.approx(65)
    assert values["support", "debt_peak_diff"] == pytest.approx(15)
    assert ("baseline", "budget_balance_npv_diff") not in values.index


def test_mid_year_convention(study_copy: Path):
    text = study_copy.read_text()
    text = text.replace("discount_rate = 0.1", 'discount_rate = 0.1\ntiming = "mid"')
    study_copy.write_text(text)
    values = _table(study_copy)
    d = [-10, -5, 0, 5, 10, 15, 20]
    by_hand = sum(v / 1.1 ** (k + 0.5) for k, v in enumerate(d))
    assert values["support", "budget_balance_npv_diff"] == pytest.approx(by_hand, rel=1e-9)


def test_payback_none_and_helpers():
    import numpy as np

    years = np.array([2024.0, 2025.0, 2026.0])
    assert payback_year(np.array([-1.0, -1.0, 1.5]), years, 2024, 0.0, "end") is None
    assert payback_year(np.array([-1.0, -1.0, 2.5]), years, 2024, 0.0, "end") == 2026
    assert npv(np.array([1.0, 1.0, 1.0]), years, 2024, 0.0, "end") == 3.0
    assert npv(np.array([1.1, 0, 0]), years, 2024, 0.1, "end") == pytest.approx(1.0)


def test_forecast_writes_policy_comparison(tmp_path: Path):
    out = forecast(STUDY, output_dir=tmp_path / "out", figures=False)
    table = pd.read_csv(out.folder / "policy_comparison.csv")
    assert list(table.columns) == ["scenario", "comparator", "indicator", "value", "unit", "note"]
    row = table[(table.scenario == "support") & (table.indicator == "budget_balance_npv_diff")]
    assert row["value"].iloc[0] == pytest.approx(15.1314, abs=1e-3)
    assert row["unit"].iloc[0] == "bnRUB"


def test_missing_variable_names_the_key(study_copy: Path, capsys):
    study_copy.write_text(study_copy.read_text().replace('debt = "Debt"', 'debt = "Public Debt"'))
    with pytest.raises(SpecError, match=r"\[policy\] debt = 'Public Debt'"):
        _table(study_copy)
    assert main(["forecast", str(study_copy), "--no-figures"]) == 2
    assert "[policy] debt" in capsys.readouterr().err


def test_default_variable_missing_names_the_key(study_copy: Path):
    study_copy.write_text(study_copy.read_text().replace('grp = "GRP"\n', ""))
    text = study_copy.read_text().replace('processing_share = "Processing Share"\n', "")
    study_copy.write_text(text)
    with pytest.raises(SpecError, match=r"processing_share = 'Processing Share of GRP' \(the def"):
        _table(study_copy)


def test_unknown_key_and_scenario(study_copy: Path):
    text = study_copy.read_text()
    study_copy.write_text(text.replace("discount_rate = 0.1", "discount_rat = 0.1"))
    with pytest.raises(SpecError, match="discount_rat"):
        _table(study_copy)
    study_copy.write_text(text.replace("[policy]", '[policy]\nbase = "basline"'))
    with pytest.raises(SpecError, match="Did you mean: 'baseline'"):
        _table(study_copy)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_report_shows_policy_section(study_copy: Path, lang: str):
    from sd.pipeline import report as build_report

    rep = build_report(study_copy, lang=lang)
    html = rep.html.read_text(encoding="utf-8")
    assert '<section id="policy">' in html
    npv_text = "15.13" if lang == "en" else "15,13"
    assert npv_text in html  # the support scenario's NPV, hand-computed above
    assert "2029" in html
