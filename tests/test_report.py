"""Reports: HTML checked in a real headless browser, workbook numbers equal the results."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.cli import main
from sd.report import build_report
from tests.conftest import TEST_MODELS

HERE = Path(__file__).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def study(tmp_path: Path) -> Path:
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    return tmp_path / "studies" / "decay_study.toml"


def check_in_browser(html: Path, screenshot: Path) -> list[int]:
    """Open the page offline in Chromium; return image widths; fail on console errors."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(offline=True)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
        page.goto(html.as_uri(), wait_until="load")
        widths = page.evaluate(
            "Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
        )
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    assert problems == []
    return widths


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_report_builds_and_renders(study, lang, tmp_path):
    rep = build_report(study, lang=lang)
    assert rep.reran  # no results yet: the study ran first
    html = rep.html.read_text(encoding="utf-8")
    widths = check_in_browser(rep.html, tmp_path / f"report_{lang}.png")
    assert len(widths) == 3 and all(w > 0 for w in widths)  # overview + 2 variables, all drawn
    assert "http://" not in html and "https://" not in html  # nothing from the network
    assert (tmp_path / f"report_{lang}.png").stat().st_size > 50_000
    if lang == "ru":
        for text in ("Выбытие при шоках", "Запас изделий", "Обвал", "Ключевые годы", "шт./год"):
            assert text in html
    else:
        assert "Stock of widgets" in html and "Key years" in html
    assert {p.suffix for p in rep.figures} == {".png", ".svg"}
    again = build_report(study, lang=lang)
    assert not again.reran  # results are up to date now


def test_workbook_sheets_and_numbers(study):
    import openpyxl

    rep = build_report(study, lang="ru")
    results = sd.Results.load(study.parent / "output" / "decay-demo" / "results.parquet")
    book = openpyxl.load_workbook(rep.workbook, read_only=True)
    assert book.sheetnames == [
        "Key years",
        "Базовый",
        "default_again",
        "Обвал",
        "crash_and_step",
        "Assumptions",
        "Provenance",
    ]
    rows = list(book["Обвал"].iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "Год" and "Запас изделий (шт.)" in header
    col = header.index("Запас изделий (шт.)")
    got = np.array([r[col] for r in rows[1:]], dtype=float)
    want = results.wide("crash")["Stock"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    keys = list(book["Key years"].iter_rows(values_only=True))
    assert keys[0][:4] == ("variable", "name", "scenario", "units")
    row = next(r for r in keys if r[0] == "Stock" and r[2] == "crash")
    assert row[keys[0].index("20")] == pytest.approx(results.wide("crash").loc[20.0, "Stock"])


def test_stale_results_are_rerun(study):
    build_report(study, lang="en")
    model = study.parent.parent / "models" / "decay.mdl"
    model.write_text(model.read_text().replace("0.1\n", "0.2\n", 1))
    rep = build_report(study, lang="en")
    assert rep.reran
    results = sd.Results.load(study.parent / "output" / "decay-demo" / "results.parquet")
    assert results.series("decay rate", "baseline").iloc[0] == 0.2


def test_cli_report_and_bad_language(study, capsys):
    assert main(["report", str(study), "--lang", "ru"]) == 0
    assert "report.html" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["report", str(study), "--lang", "de"])
