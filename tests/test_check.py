"""sd check: each check catches its broken model and passes the clean one; sd diagram."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from sd.check.checks import check_model
from sd.cli.commands import main
from sd.engine.pysd_model import load
from sd.report.diagram import render
from tests.conftest import TEST_MODELS, need_shared

CLEAN = TEST_MODELS / "clean.mdl"


def _variant(tmp_path: Path, old: str, new: str, name: str = "broken.mdl") -> Path:
    text = CLEAN.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8", newline="")
    return path


def _errors(findings, check):
    return [f for f in findings if f.check == check and f.severity == "error"]


def test_clean_model_passes_every_check(capsys):
    findings = check_model(CLEAN)
    assert [f for f in findings if f.severity != "info"] == []
    assert main(["check", str(CLEAN)]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_wrong_units(tmp_path):
    path = _variant(tmp_path, "~	Person/Year\n	~	Inflow", "~	Person\n	~	Inflow")
    errors = _errors(check_model(path, checks=["units"]), "units")
    assert errors and errors[0].variable == "births" and errors[0].line == 14
    assert "person/year" in errors[0].message.lower() or "person" in errors[0].message


def test_undefined_variable(tmp_path):
    path = _variant(tmp_path, "Population * birth rate", "Population * birth rte")
    errors = _errors(check_model(path), "translation")
    assert errors and "'birth rte' is used in an equation but never defined" in errors[0].message


def test_a_function_of_placeholder(tmp_path):
    path = _variant(tmp_path, "Population * birth rate", "A FUNCTION OF(Population, birth rate)")
    errors = _errors(check_model(path, checks=["translation"]), "translation")
    assert any("A FUNCTION OF" in f.message and f.variable == "births" for f in errors)


def test_dangling_sketch_object(tmp_path):
    path = _variant(
        tmp_path,
        "10,13,average lifetime,540,230,49,11,8,3,0,0,0,0,0,0",
        "10,13,average lifetime,540,230,49,11,8,3,0,0,0,0,0,0\n"
        "10,30,old name,600,300,30,11,8,3,0,0,0,0,0,0",
    )
    errors = _errors(check_model(path, checks=["diagram"]), "diagram")
    assert any("'old name', which has no equation" in f.message for f in errors)


def test_arrow_into_a_shadow(tmp_path):
    path = _variant(
        tmp_path,
        "1,6,2,3,0,0,45,0,0,64,0,-1--1--1,,1|(235,230)|",
        "1,6,2,3,0,0,45,0,0,64,0,-1--1--1,,1|(235,230)|\n"
        "1,7,2,1,0,0,0,0,0,64,0,-1--1--1,,1|(150,200)|",
    )
    errors = _errors(check_model(path, checks=["diagram"]), "diagram")
    assert any("into the shadow variable 'Population'" in f.message for f in errors)


def test_arrow_to_a_missing_object_and_wrong_pipe(tmp_path):
    path = _variant(
        tmp_path,
        "1,21,15,11,0,0,43,0,0,64,0,-1--1--1,,1|(460,235)|",
        "1,21,15,99,0,0,43,0,0,64,0,-1--1--1,,1|(460,235)|",
    )
    assert any("missing object" in f.message for f in check_model(path, checks=["diagram"]))
    path = _variant(tmp_path, "	births-deaths,", "	births,", "pipe.mdl")
    errors = _errors(check_model(path, checks=["diagram"]), "diagram")
    assert any(
        "'deaths' to the stock 'Population', whose INTEG does not use it" in f.message
        for f in errors
    )


def test_missing_comment(tmp_path):
    path = _variant(tmp_path, "	~	Births per person per year.", "	~	")
    found = [f for f in check_model(path, checks=["documentation"])]
    assert [(f.severity, f.variable, f.line) for f in found] == [("warning", "birth rate", 8)]
    assert main(["check", str(path), "--skip", "behaviour"]) == 0
    assert main(["check", str(path), "--skip", "behaviour", "--strict"]) == 1


def test_failing_reality_check(tmp_path):
    path = _variant(
        tmp_path, "no births:IMPLIES:Population <= 100", "no births:IMPLIES:Population >= 100"
    )
    errors = _errors(check_model(path, checks=["behaviour"]), "behaviour")
    assert len(errors) == 1
    assert "reality check 'population cannot grow without births' fails" in errors[0].message
    assert "at time 0.25" in errors[0].message


UNGUARDED = (
    "MIN(Population / TIME STEP, XIDZ(Population, average lifetime, "
    "Population / TIME STEP\\\n\t\t) * mortality lookup(crowding))",
    "Population / average lifetime * mortality lookup(crowding)",
)


def test_extreme_condition_nan(tmp_path):
    # without the guards, zero lifetime divides by zero; the extreme runs test the ends of
    # the declared range, so this variant declares 0 a possible lifetime
    path = _variant(tmp_path, *UNGUARDED)
    path.write_text(path.read_text().replace("Year [1,120,1]", "Year [0,120,1]"))
    errors = _errors(check_model(path, checks=["behaviour"], strict=True), "behaviour")
    assert any("'average lifetime' = 0" in f.message for f in errors)


def test_json_output_and_exit_status(tmp_path, capsys):
    path = _variant(tmp_path, "Population * birth rate", "Population * birth rte")
    assert main(["check", str(path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["summary"]["error"] >= 1
    f = report["findings"][0]
    assert set(f) == {"severity", "check", "message", "variable", "line"}


def test_diagram_one_and_several_views(tmp_path, capsys):
    one = (
        render(
            TEST_MODELS.parent.parent.parent / "shared/vensim/examples/example.mdl",
            tmp_path / "one.svg",
        )
        if (TEST_MODELS.parent.parent.parent / "shared").is_dir()
        else render(CLEAN, tmp_path / "one.svg", view="Crowding")
    )
    assert len(one) == 1 and one[0].stat().st_size > 1000
    paths = render(CLEAN, tmp_path / "d.png")
    assert [p.name for p in paths] == ["d_stock_and_flows.png", "d_crowding.png"]
    assert main(["diagram", str(CLEAN), "--view", "crowding", "-o", str(tmp_path / "c.pdf")]) == 0
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    assert main(["diagram", str(CLEAN), "--view", "Crowdin", "-o", str(tmp_path / "x.svg")]) == 2
    assert "Did you mean: 'Crowding'" in capsys.readouterr().err


def test_diagram_draws_cyrillic_names(tmp_path):
    text = CLEAN.read_text(encoding="utf-8").replace("carrying capacity", "Ёмкость среды")
    path = tmp_path / "ru.mdl"
    path.write_text(text, encoding="utf-8", newline="")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        out = render(path, tmp_path / "ru.svg", view="Crowding")
    svg = out[0].read_text(encoding="utf-8")
    assert "Ёмкость среды" in svg and "&lt;Population&gt;" in svg


@pytest.mark.parametrize("name", ["example.mdl", "example_views.mdl"])
def test_shared_examples_translate_and_draw(name, tmp_path):
    path = TEST_MODELS.parent.parent.parent / "shared" / "vensim" / "examples" / name
    need_shared(path)
    findings = check_model(path, checks=["translation", "units", "diagram", "documentation"])
    assert [f for f in findings if f.severity == "error"] == []
    assert render(path, tmp_path / "x.svg")


def test_extreme_runs_use_the_declared_range(tmp_path, capsys, monkeypatch):
    # a lifetime declared [1,120] is tested at 1 and 120, where the unguarded equation
    # is fine; at 0 it would divide by zero
    import sd.check.behaviour as behaviour

    path = _variant(tmp_path, *UNGUARDED)
    tested: list[tuple[str, float]] = []
    real_run = behaviour.run

    def recording_run(model, params, **kwargs):
        tested.extend(params.items())
        return real_run(model, params, **kwargs)

    monkeypatch.setattr(behaviour, "run", recording_run)
    assert behaviour.extreme_findings(load(path), strict=True) == []
    # ranged constants at both ends of [min, max]; [1, ?] at 1 and 10x the default (1000)
    assert sorted(tested) == [
        ("average lifetime", 1.0),
        ("average lifetime", 120.0),
        ("birth rate", 0.0),
        ("birth rate", 0.1),
        ("carrying capacity", 1.0),
        ("carrying capacity", 10000.0),
    ]
    monkeypatch.setattr(behaviour, "run", real_run)
    assert main(["check", str(path), "--strict"]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_extreme_failures_are_warnings_unless_strict(tmp_path, capsys):
    # without a declared range the lifetime is tested at 0 (and 10x): 0 divides by zero
    path = _variant(tmp_path, *UNGUARDED)
    path.write_text(path.read_text().replace("Year [1,120,1]", "Year"))
    found = check_model(path, checks=["behaviour"], inputs=["average lifetime"])
    behaviour = [f for f in found if f.check == "behaviour"]
    assert [(f.severity, f.variable) for f in behaviour] == [("warning", "average lifetime")]
    assert "'average lifetime' = 0:" in behaviour[0].message
    assert "while computing 'deaths'" in behaviour[0].message
    strict = check_model(path, checks=["behaviour"], inputs=["average lifetime"], strict=True)
    assert [f.severity for f in strict if f.check == "behaviour"] == ["error"]
    args = ["check", str(path), "--skip", "documentation", "--inputs", "average lifetime"]
    assert main(args) == 0
    assert "warning: [behaviour] line 2: extreme condition 'average lifetime' = 0" in (
        capsys.readouterr().out
    )
    assert main([*args, "--strict"]) == 1
    assert "error: [behaviour] line 2" in capsys.readouterr().out


def test_extreme_values():
    from sd.check.behaviour import extreme_values
    from sd.model.model import Variable

    def const(limits):
        return Variable("x", "x", "constant", "", "", limits, "Normal", 1)

    assert extreme_values(const(()), 7.0) == (0.0, 70.0)
    assert extreme_values(const((None, None)), 7.0) == (0.0, 70.0)
    assert extreme_values(const((1.0, 120.0, 1.0)), 70.0) == (1.0, 120.0)
    assert extreme_values(const((None, 5.0)), 2.0) == (0.0, 5.0)
    assert extreme_values(const((2.0, None)), 2.0) == (20.0,)  # the default is not re-run
