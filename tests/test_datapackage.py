"""Outputs any tool reads as they are: plain CSV, Frictionless metadata, no absolute paths."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import sd
from sd.datapackage import project_path
from sd.pipeline import forecast
from tests.conftest import REPO, TEST_MODELS

STUDY = REPO / "tests" / "studies" / "decay_study.toml"


@pytest.fixture(scope="module")
def decay_outputs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("decay-out") / "decay"
    forecast(STUDY, output_dir=out, figures=False)
    return out


def test_results_csv_is_a_plain_tidy_table(decay_outputs):
    table = pd.read_csv(decay_outputs / "results.csv")
    assert list(table.columns) == ["scenario", "run", "time", "variable", "value"]
    back = sd.Results.load(decay_outputs / "results.csv")
    pd.testing.assert_frame_equal(
        table.astype({"value": "float64", "time": "float64"}), back.data, check_dtype=False
    )
    parquet = sd.Results.load(decay_outputs / "results.parquet")
    assert dict(parquet.provenance) == dict(back.provenance)


def test_folder_package_lists_every_csv_with_types_and_units(decay_outputs):
    package = json.loads((decay_outputs / "datapackage.json").read_text(encoding="utf-8"))
    paths = {r["path"] for r in package["resources"]}
    csvs = {p.relative_to(decay_outputs).as_posix() for p in decay_outputs.rglob("*.csv")}
    assert paths == csvs
    results = next(r for r in package["resources"] if r["path"] == "results.csv")
    fields = {f["name"]: f["type"] for f in results["schema"]["fields"]}
    assert fields == {
        "scenario": "string",
        "run": "integer",
        "time": "number",
        "variable": "string",
        "value": "number",
    }
    assert results["sd:units"]["Stock"] == "Widget"
    assert len(results["sd:provenance"]["model_sha256"]) == 64
    wide = next(r for r in package["resources"] if r["path"] == "scenarios/crash.csv")
    stock = next(f for f in wide["schema"]["fields"] if f["name"] == "Stock")
    assert stock == {"name": "Stock", "type": "number", "unit": "Widget"}
    assert not list(decay_outputs.rglob("*.datapackage.json"))  # sidecars absorbed


def test_frictionless_validates_the_output_folder(decay_outputs):
    frictionless = pytest.importorskip("frictionless")
    report = frictionless.validate(str(decay_outputs / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_no_absolute_path_in_any_output(decay_outputs):
    roots = {str(REPO), str(REPO.resolve()), str(Path.home()), "/tmp"}
    for path in decay_outputs.rglob("*"):
        if path.suffix in {".csv", ".json", ".md", ".toml"}:
            text = path.read_text(encoding="utf-8")
            assert not any(r in text for r in roots), path
    prov = sd.Results.load(decay_outputs / "results.parquet").provenance
    assert prov["model"] == "tests/models/decay.mdl"
    assert prov["study"]["file"] == "tests/studies/decay_study.toml"


def test_project_path_is_relative_to_the_project_root(tmp_path):
    (tmp_path / "proj" / "models").mkdir(parents=True)
    (tmp_path / "proj" / "pyproject.toml").write_text("")
    assert project_path(tmp_path / "proj" / "models" / "m.mdl") == "models/m.mdl"
    (tmp_path / "loose").mkdir()
    assert project_path(tmp_path / "loose" / "m.mdl") == "m.mdl"
    assert project_path(TEST_MODELS / "decay.mdl") == "tests/models/decay.mdl"


def test_sidecar_of_a_single_results_file(tmp_path):
    model = sd.load(TEST_MODELS / "decay.mdl")
    res = sd.run(model, variables=["Stock"])
    path = res.save(tmp_path / "one.csv")
    sidecar = tmp_path / "one.datapackage.json"
    assert json.loads(sidecar.read_text())["resources"][0]["path"] == "one.csv"
    assert dict(sd.Results.load(path).provenance) == dict(res.provenance)
    sidecar.unlink()
    with pytest.raises(sd.ResultsFileError, match="one.datapackage.json"):
        sd.Results.load(path)
