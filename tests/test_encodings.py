"""Model files in UTF-8 and in cp1251 (Vensim on Russian Windows) with Cyrillic names.

``clean.mdl`` with its population renamed in Russian is written once as UTF-8 with the
``{UTF-8}`` marker and once as cp1251 without it (as Vensim saves on a Russian system);
both must read the same through ``sd.load``, ``sd info``, ``sd run``, ``sd check``,
``sd diagram`` and the reports.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

import sd
from sd.cli.commands import main
from sd.errors import ModelFileError
from sd.model import mdl
from sd.report.diagram import render
from tests.conftest import TEST_MODELS

RENAMES = {
    "Population": "Население",
    "births": "рождения",
    "deaths": "смерти",
    "Births per person per year.": "Рождений на человека в год.",
}


def _russian_text() -> str:
    text = (TEST_MODELS / "clean.mdl").read_text(encoding="utf-8")
    for old, new in RENAMES.items():
        text = text.replace(old, new)
    return text


@pytest.fixture(params=["utf-8", "cp1251"])
def ru_model(request, tmp_path: Path) -> tuple[Path, str]:
    text = _russian_text()
    if request.param == "cp1251":
        text = text.removeprefix("{UTF-8}")
    path = tmp_path / "ru.mdl"
    path.write_bytes(text.encode(request.param))
    return path, request.param


def test_load_reads_cyrillic_names_and_comments(ru_model, caplog):
    path, encoding = ru_model
    before = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="sd"):
        model = sd.load(path)
    notes = [r.getMessage() for r in caplog.records if r.name == "sd"]
    if encoding == "cp1251":
        assert notes == [f"{path} has no {{UTF-8}} marker and is not UTF-8: read it as cp1251 "
                         "(Windows Cyrillic)."]  # fmt: skip
    else:
        assert notes == []
    assert {"Население", "рождения", "смерти"} <= set(model.variables)
    assert model.variables["birth rate"].comment == "Рождений на человека в год."
    assert model.variables["Население"].kind == "stock"
    assert model.variables["рождения"].line == 14
    assert path.read_bytes() == before  # the user's file is never rewritten
    wide = sd.run(model, variables=["Население", "рождения"]).wide()
    english = sd.run(sd.load(TEST_MODELS / "clean.mdl"), variables=["Population"]).wide()
    assert wide["Население"].tolist() == english["Population"].tolist()


def test_cli_info_run_check_diagram(ru_model, tmp_path, capsys):
    path, encoding = ru_model
    assert main(["info", str(path)]) == 0
    captured = capsys.readouterr()
    assert "Население  [stock]" in captured.out
    assert "Рождений на человека в год." in captured.out
    assert ("note: " in captured.err and "cp1251" in captured.err) == (encoding == "cp1251")
    assert main(["run", str(path), "--vars", "Население,смерти"]) == 0
    assert "Население" in capsys.readouterr().out
    assert main(["check", str(path)]) == 0  # no false pipe error on Cyrillic flows
    out = capsys.readouterr().out
    assert " 0 errors" in out and "pipe" not in out
    assert (
        main(["diagram", str(path), "--view", "Stock and flows", "-o", str(tmp_path / "d.svg")])
        == 0
    )
    svg = (tmp_path / "d.svg").read_text("utf-8")
    assert "Население" in svg and "рождения" in svg


def test_cyrillic_diagram_png(tmp_path):
    path = tmp_path / "ru.mdl"
    path.write_bytes(_russian_text().removeprefix("{UTF-8}").encode("cp1251"))
    out = render(path, tmp_path / "ru.png", view="Stock and flows")
    assert out[0].read_bytes().startswith(b"\x89PNG") and out[0].stat().st_size > 5000


def test_cyrillic_report(tmp_path):
    from sd.pipeline import report as build_report

    models = tmp_path / "models"
    models.mkdir()
    (models / "ru.mdl").write_bytes(_russian_text().removeprefix("{UTF-8}").encode("cp1251"))
    study = tmp_path / "ru.toml"
    study.write_text(
        '[study]\nname = "ru"\ntitle = "Население"\nmodel = "models/ru.mdl"\nbase = "base"\n'
        '[run]\nfinal = 50\nvariables = ["Население", "рождения"]\nkey_years = [10, 50]\n'
        '[scenarios.base]\nlabel = "База"\n',
        encoding="utf-8",
    )
    rep = build_report(study, lang="ru")
    html = rep.html.read_text(encoding="utf-8")
    assert "Население" in html and "рождения" in html


def test_marked_utf8_file_with_other_bytes_is_refused(tmp_path, capsys):
    path = tmp_path / "bad.mdl"
    text = _russian_text()  # keeps {UTF-8}
    path.write_bytes(text.encode("cp1251"))
    with pytest.raises(ModelFileError, match=r"bad.mdl, line 11: the file is marked \{UTF-8\}"):
        sd.load(path)
    assert main(["info", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_latin1_fallback_for_bytes_cp1251_lacks(tmp_path):
    """0x98 is unassigned in cp1251: such a file is read as Latin-1 (as before)."""
    raw = (TEST_MODELS / "decay.mdl").read_bytes().replace(b"{UTF-8}", b"")
    raw = raw.replace(b"Inflow rate.", b"Inflow rate \x98.")
    path = tmp_path / "old.mdl"
    path.write_bytes(raw)
    assert mdl.decode(raw) == (raw.decode("latin-1"), "latin-1")
    shutil.copyfile(path, tmp_path / "old2.mdl")
    assert sd.load(tmp_path / "old2.mdl").variables["steady inflow"].comment == "Inflow rate \x98."


def test_syntax_error_in_cp1251_file_names_line_and_cyrillic_name(tmp_path, capsys):
    text = _russian_text().removeprefix("{UTF-8}")
    text = text.replace("Население * birth rate", "Население * * birth rate")
    path = tmp_path / "bad_ru.mdl"
    path.write_bytes(text.encode("cp1251"))
    assert main(["info", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "bad_ru.mdl, line 14: syntax error in the equation of 'рождения'" in err
    assert "Traceback" not in err
