"""The report's inputs from other commands come as objects the pipeline checked (issue 12).

``sd.pipeline.report`` loads the Sobol indices, calibration, ensemble bands and robustness
tables, leaves out (with a stage line) those made from another model, data, software or
input file, and the report stage (``sd/report/``) opens none of those files itself.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pandas as pd
import pytest

import sd
from sd.analysis.sensitivity import Sensitivity
from sd.cli.commands import main
from sd.pipeline import input_stale
from sd.pipeline import report as build_report
from tests.conftest import TEST_MODELS, decay_sobol

HERE = Path(__file__).parent
REPORT = HERE.parent / "sd" / "report"


@pytest.fixture
def study(tmp_path: Path) -> Path:
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    return tmp_path / "studies" / "decay_study.toml"


def _section(html: str, name: str) -> str:
    start = html.index(f'id="{name}"')
    return html[start : html.index("</section>", start)]


def test_current_sensitivity_is_shown_with_its_numbers(study, tmp_path):
    from sd.report.labels import load_labels

    out = decay_sobol(study, tmp_path)
    lines: list[str] = []
    html = build_report(study, lang="en", log=lines.append).html.read_text(encoding="utf-8")
    assert not any("skipped" in line for line in lines)
    section = _section(html, "sensitivity")
    idx = pd.read_csv(out / "indices.csv")
    labels = load_labels(sd.load(study.parent.parent / "models" / "decay.mdl"), "en")
    for output in ("Stock", "outflow"):  # the top parameter of each output at 20, the last key year
        at = idx[(idx["time"] == 20.0) & (idx["output"] == output)]
        top = at.sort_values("ST", ascending=False).iloc[0]
        assert f"{labels.name(top.parameter)} ({top.ST:.2f} ± {top.ST_conf:.2f})" in section
    # Saltelli's design without second order: N (d + 2) runs, 8 * (2 + 2)
    assert "from 32 model runs (8 base samples)" in section


def test_stale_sensitivity_is_left_out_and_the_log_says_why(study, tmp_path):
    out = decay_sobol(study, tmp_path)
    model = study.parent.parent / "models" / "decay.mdl"
    model.write_text(model.read_text().replace("0.1\n", "0.2\n", 1))
    lines: list[str] = []
    rep = build_report(study, lang="en", log=lines.append)
    assert 'id="sensitivity"' not in rep.html.read_text(encoding="utf-8")
    said = "sensitivity indices skipped: the model changed since `sd sensitivity` ran; run it again"
    assert sum(said in line for line in lines) == 1, lines
    assert (out / "indices.csv").is_file()  # left as `sd sensitivity` wrote it
    # the uncertainty spec it was drawn from changes: stale too (and the check names it)
    model.write_text(model.read_text().replace("0.2\n", "0.1\n", 1))
    sens = Sensitivity.load(out)
    current = sd.load(model)
    assert sens is not None and input_stale(sens.provenance, current, study) == []
    unc = tmp_path / "unc.toml"
    unc.write_text(unc.read_text().replace("upper = 7", "upper = 8"))
    assert input_stale(sens.provenance, current, study) == ["the uncertainty file unc.toml changed"]
    lines.clear()
    rep = build_report(study, lang="en", log=lines.append)
    assert 'id="sensitivity"' not in rep.html.read_text(encoding="utf-8")
    assert any(
        "sensitivity indices skipped: the uncertainty file unc.toml changed" in line
        for line in lines
    ), lines
    # indices written before the provenance was recorded are not trusted either
    meta = out / "sensitivity.json"
    meta.unlink()
    assert input_stale(Sensitivity.load(out).provenance, current, study) == [
        "it records no provenance (written by an older version)"
    ]


# -- the report stage opens no other command's output ----------------------------------

#: names of files other commands write that the report shows (and the folders' suffixes)
OUTPUT_NAMES = (
    "results.parquet",
    "ensemble.parquet",
    "percentiles.csv",
    "bands.json",
    "indices.csv",
    "sensitivity.json",
    "fit_statistics.csv",
    "parameters.csv",
    "fitted.csv",
    "calibration.json",
    "robustness.csv",
    "prim_boxes.csv",
    "explore.json",
    "_sensitivity_",
    "_explore",
)
#: calls that read a file (or test that it is there)
READS = {
    "read_csv",
    "read_parquet",
    "read_excel",
    "read_json",
    "read_text",
    "read_bytes",
    "read_toml",
    "load",
    "loads",
    "load_spec",
    "open",
    "is_file",
    "exists",
}
#: the reads the report stage may make, each of its own inputs: the model (and its sketch),
#: the labels table, the study file and its history series, and its own figures
ALLOWED = {
    ("builder.py", "_context", "load"),  # the study's history series (spec.load())
    ("builder.py", "_fans", "load"),  # the same
    ("builder.py", "_diagrams", "read_bytes"),  # the SVG it just drew
    ("calibration.py", "_simulate_fit", "load"),  # the spec's model
    ("calibration.py", "draw_fit", "load"),  # the recorded series
    ("calibration.py", "check_parameters_file", "exists"),  # `sd calibrate`'s own target
    ("calibration.py", "check_parameters_file", "is_file"),
    ("calibration.py", "check_parameters_file", "open"),
    ("decision.py", "_explore_blocks", "read_toml"),  # the study's goal labels
    ("forecast_outputs.py", "write_figures", "load"),  # the study's history series
    ("labels.py", "load_labels", "is_file"),  # the model's labels table
    ("labels.py", "load_labels", "open"),
    ("plots.py", "save_figure", "exists"),  # its own figure files
    ("uncertainty.py", "fan_figures", "load"),  # the study's history series
}


def _functions(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (f for f in node.body if isinstance(f, ast.FunctionDef))


def output_reads(source: str, module: str = "module.py") -> list[str]:
    """Functions of ``source`` that read a file and name another command's output, and
    reads outside :data:`ALLOWED`."""
    problems = []
    for fn in _functions(ast.parse(source)):
        calls = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in READS:
                    calls.add(name)
        named = {
            f
            for node in ast.walk(fn)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            for f in OUTPUT_NAMES
            if f in node.value
        }
        if calls and named:
            problems.append(f"{module} {fn.name}: {sorted(calls)} of {sorted(named)}")
        problems += [
            f"{module} {fn.name}: {call} (not an allowed read)"
            for call in sorted(calls)
            if (module, fn.name, call) not in ALLOWED
        ]
    return problems


#: what the report's fan charts did before issue 12 was closed
OLD_FANS = """
def _fans(study, shown, labels, outputs, figdir, palette, display, files):
    path = outputs / "ensemble" / "percentiles.csv"
    if not path.is_file():
        return []
    bands = pd.read_csv(path)
"""


def test_the_report_stage_reads_no_other_commands_outputs():
    # the scan finds the old code's reads (so that it can fail) ...
    assert output_reads(OLD_FANS, "builder.py") == [
        "builder.py _fans: ['is_file', 'read_csv'] of ['percentiles.csv']",
        "builder.py _fans: is_file (not an allowed read)",
        "builder.py _fans: read_csv (not an allowed read)",
    ]
    # ... and none in today's
    modules = sorted(REPORT.glob("*.py"))
    assert len(modules) >= 10
    problems = [p for m in modules for p in output_reads(m.read_text(encoding="utf-8"), m.name)]
    assert problems == []


def test_ensemble_bands_come_from_the_forecast_and_are_rerun_when_stale(study):
    """Fan charts from the forecast's bands: loaded when current, the forecast run again when
    the uncertainty spec changed since (the results alone are still current then)."""
    from sd.analysis.ensemble import EnsembleBands, percentiles

    text = study.read_text(encoding="utf-8")
    study.write_text(
        text.replace(
            "[combine]",
            '[uncertainty]\nfile = "decay_uncertainty.toml"\nsamples = 12\nseed = 3\n\n[combine]',
        ),
        encoding="utf-8",
    )
    first = build_report(study, lang="en")
    assert first.reran and any(p.name.startswith("fan_") for p in first.figures)
    folder = study.parent / "output" / "decay-demo" / "ensemble"
    bands = EnsembleBands.load(folder)
    ens = sd.Results.load(folder / "ensemble.parquet")
    # the saved bands are the ensemble's percentiles (to the 6 digits written), 12 runs
    want = percentiles(ens)
    assert bands.samples == 12 and list(bands.bands.columns) == list(want.columns)
    pd.testing.assert_frame_equal(
        bands.bands[["p5", "p50", "p95"]], want[["p5", "p50", "p95"]], rtol=1e-5
    )
    lines: list[str] = []
    assert not build_report(study, lang="en", log=lines.append).reran  # all current
    unc = study.parent / "decay_uncertainty.toml"
    unc.write_text(unc.read_text(encoding="utf-8").replace("upper = 0.2", "upper = 0.3", 1))
    lines.clear()
    rep = build_report(study, lang="en", log=lines.append)
    assert rep.reran
    said = (
        "running the study first: its ensemble bands are stale or missing (the uncertainty "
        "file decay_uncertainty.toml changed)"
    )
    assert any(said in line for line in lines), lines
    model = sd.load(study.parent.parent / "models" / "decay.mdl")
    assert input_stale(EnsembleBands.load(folder).provenance, model, study) == []


def test_stale_calibration_is_left_out_for_the_published_values(study, tmp_path):
    """A calibration whose recorded history changed since `sd calibrate` is not shown; without
    a published parameters file there is then no calibration section."""
    import json

    from sd.analysis.calibration import SavedCalibration, output_folder
    from sd.pipeline import calibration_inputs, open_study
    from tests.test_calibration import _at_bound_spec

    folder = tmp_path / "cal"
    folder.mkdir()
    spec = _at_bound_spec(folder)
    study.write_text(
        study.read_text().replace(
            'base = "baseline"', f'base = "baseline"\ncalibration = {json.dumps(str(spec))}', 1
        )
    )
    assert main(["calibrate", str(spec), "--starts", "1"]) == 0
    opened = open_study(study)
    lines: list[str] = []
    cal = calibration_inputs(opened, opened.model, lines.append)
    out = output_folder(cal.spec)
    table = pd.read_csv(out / "parameters.csv")
    assert dict(cal.values) == dict(zip(table["parameter"], table["value"], strict=True))
    pd.testing.assert_frame_equal(cal.stats, pd.read_csv(out / "fit_statistics.csv"))
    assert cal.values["steady inflow"] == pytest.approx(5.0, abs=5e-3)  # on its upper bound
    assert cal.fitted is not None and lines == [] and cal.unpublished is None
    history = folder / "history.csv"
    history.write_text(history.read_text().replace("\n1,", "\n1.0,", 1))  # same numbers
    reasons = input_stale(
        SavedCalibration.load(out).provenance, sd.load(TEST_MODELS / "decay.mdl"), spec
    )
    assert reasons == ["the history file history.csv changed"]
    assert calibration_inputs(opened, opened.model, lines.append) is None
    assert lines == [
        "calibration outputs skipped: the history file history.csv changed since "
        "`sd calibrate` ran; run it again"
    ]


def test_explore_tables_round_trip_and_go_stale_with_the_study(study, tmp_path):
    """What `sd explore` writes loads back with its numbers, current until the study changes."""
    from sd.analysis.explore import ExploreTables, explore, load_explore
    from sd.report.exploration import write_exploration
    from sd.study.study import check_study, load_study
    from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty

    box = study.parent / "explore_box.toml"
    unc = study.parent / "explore_box_uncertainty.toml"
    model = sd.load(study.parent.parent / "models" / "explore_box.mdl")
    opened = check_study(load_study(box), model)
    sample = draw(check_uncertainty(load_uncertainty(unc), model), 200, 3, end=2)
    exp = explore(opened, model, sample, load_explore(opened, model), uncertainty=unc)
    folder = tmp_path / "explore"
    folder.mkdir()
    write_exploration(exp, folder, figures=False)
    tables = ExploreTables.load(folder)
    inside = (sample.values["a"] > 0.7) & (sample.values["b"] < 0.3)  # the model's failing box
    rob = tables.robustness.set_index(["policy", "goal"])
    assert rob.loc[("baseline", "score"), "satisficing_rate"] == pytest.approx(1 - inside.mean())
    assert rob.loc[("baseline", "score"), "mean_regret"] == pytest.approx(0.5)
    assert len(tables.boxes) == len(exp.boxes) > 0
    assert input_stale(tables.provenance, model, box) == []
    box.write_text(box.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert input_stale(tables.provenance, model, box) == ["the study file explore_box.toml changed"]
    assert ExploreTables.load(tmp_path / "nothing") is None


def test_a_recorded_file_outside_the_project_is_never_read(tmp_path):
    """Provenance comes from output folders, which may be a stranger's: a recorded input file
    given as an absolute path or with '..' is never looked up (it counts as gone), even when
    such a file exists."""
    model = sd.load(TEST_MODELS / "decay.mdl")
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    near = tmp_path / "project" / "study.toml"
    near.parent.mkdir()
    for path in (str(outside), "../secret.txt"):
        prov = {"files": {"history": {"file": path, "sha256": "0" * 64}}}
        assert f"its history file {path} is gone" in input_stale(prov, model, near)
