"""The studies, calibration and uncertainty specs we ship load and validate against the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd
from sd.analysis.calibration import check_spec, load_spec
from sd.study.study import check_study, compile_scenario, load_study
from sd.study.uncertainty import check_uncertainty, load_uncertainty

FORECASTS = Path(__file__).parent.parent / "forecasts"
STUDIES = sorted(
    p
    for p in FORECASTS.glob("*.toml")
    if not p.stem.endswith(("_calibration", "_calibrated", "_uncertainty"))
)


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_study_loads_validates_and_compiles(path):
    study = load_study(path)
    model = sd.load(study.model_path)
    study = check_study(study, model)
    assert study.base in study.scenarios and len(study.scenarios) >= 8
    for scenario in study.scenarios.values():
        assert scenario.description and scenario.label("ru") != scenario.name
        params = compile_scenario(study, scenario, model)
        for name, value in params.items():
            assert model.variables[name].kind == "constant"
            assert np.isfinite(np.asarray(value, dtype=float)).all()
    if study.uncertainty:
        check_uncertainty(load_uncertainty(study.uncertainty.file), model)
    if study.calibration:
        spec = check_spec(load_spec(study.calibration), model)
        calibrated = set(load_study(path).scenarios[study.base].set)
        assert {p.name for p in spec.parameters} <= calibrated  # the study uses the fit


def test_main_study_has_the_required_scenarios():
    study = load_study(FORECASTS / "kuzbass.toml")
    names = set(study.scenarios)
    assert {
        "baseline",
        "neo_industrialization",
        "green_neo_industrialization",
        "coal_price_crash",
        "sanctions_logistics",
        "energy_transition",
        "combined_stress",
    } <= names
