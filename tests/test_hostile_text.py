"""Hostile text outside the equations: reality checks and labels are data, never code or HTML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sd.cli.commands import main
from sd.pipeline import report as build_report
from tests.conftest import TEST_MODELS
from tests.test_report import check_in_browser

CLEAN = TEST_MODELS / "clean.mdl"
PAYLOADS = [
    '__import__("os").system("touch {marker}") <= 100',
    'eval("open(\'{marker}\', \'w\')") <= 100',
    "Population.__class__ <= 100",
    'exec("import os") <= 100',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_reality_checks_are_never_evaluated_as_python(tmp_path, payload, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    text = CLEAN.read_text(encoding="utf-8")
    old = "no births:IMPLIES:Population <= 100"
    assert old in text
    model = tmp_path / "rc.mdl"
    consequence = payload.format(marker=marker.as_posix())
    model.write_text(text.replace(old, f"no births:IMPLIES:{consequence}"), encoding="utf-8")
    code = main(["--cache-dir", str(tmp_path / "cache"), "check", str(model), "--skip", "units"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert not marker.exists()
    # never run: either refused (exit 2) or reported as a check that cannot be evaluated
    assert (code == 2 and "reality check" in err) or (
        code == 0 and "could not be run: cannot evaluate" in out
    ), (code, out, err)


HOSTILE_LABEL = '<img src=x onerror="document.title=\'PWNED\'">'
HOSTILE_SCENARIO = "<script>document.title='PWNED'</script>"


def test_hostile_labels_are_shown_as_text_in_the_report(tmp_path):
    shutil.copytree(TEST_MODELS.parent / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    labels = tmp_path / "models" / "decay_labels.csv"
    rows = labels.read_text(encoding="utf-8").splitlines()
    rows[1] = f'Stock,"{HOSTILE_LABEL.replace(chr(34), chr(34) * 2)}",widgets,Запас,шт.'
    labels.write_text("\n".join(rows) + "\n", encoding="utf-8")
    study = tmp_path / "studies" / "decay_study.toml"
    text = study.read_text(encoding="utf-8")
    study.write_text(
        text.replace('label = "Baseline"', f'label = "{HOSTILE_SCENARIO}"', 1), encoding="utf-8"
    )
    rep = build_report(study, lang="en")
    html = rep.html.read_text(encoding="utf-8")
    assert "<img src=x" not in html and "<script>document.title" not in html
    assert "&lt;img src=x" in html or "&lt;img src=x".replace("&lt;", "&#60;") in html
    check_in_browser(rep.html, tmp_path / "hostile.png")  # no console error, images render
    from playwright.sync_api import sync_playwright

    from tests.test_report import CHROMIUM

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(Path(rep.html).as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        assert page.title() != "PWNED"
        browser.close()
