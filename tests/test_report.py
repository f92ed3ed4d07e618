"""Reports: HTML checked in a real headless browser, workbook numbers equal the results."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.cli.commands import main
from sd.pipeline import report as build_report
from tests.conftest import TEST_MODELS, decay_sobol

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
        "Ключевые годы",
        "Базовый",
        "default_again",
        "Обвал",
        "crash_and_step",
        "Допущения",
        "Происхождение",
    ]
    rows = list(book["Обвал"].iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "Год" and "Запас изделий (шт.)" in header
    col = header.index("Запас изделий (шт.)")
    got = np.array([r[col] for r in rows[1:]], dtype=float)
    want = results.wide("crash")["Stock"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    keys = list(book["Ключевые годы"].iter_rows(values_only=True))
    assert keys[0][:4] == ("переменная модели", "показатель", "сценарий", "единицы")
    row = next(r for r in keys if r[0] == "Stock" and r[2] == "Обвал")
    assert row[keys[0].index("20")] == pytest.approx(results.wide("crash").loc[20.0, "Stock"])
    # the English workbook keeps the English names and the study's scenario ids
    book = openpyxl.load_workbook(build_report(study, lang="en").workbook, read_only=True)
    assert book.sheetnames == [
        "Key years",
        "Baseline",
        "default_again",
        "crash",
        "crash_and_step",
        "Assumptions",
        "Provenance",
    ]
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


@pytest.mark.slow
def test_main_study_report_in_both_languages(tmp_path):
    """The Kuzbass study (on a copy with a 40-run ensemble, to keep the test short)."""
    import openpyxl

    root = HERE.parent
    shutil.copytree(
        root / "forecasts", tmp_path / "forecasts", ignore=shutil.ignore_patterns("output")
    )
    shutil.copytree(root / "models", tmp_path / "models")
    study = tmp_path / "forecasts" / "kuzbass.toml"
    study.write_text(
        study.read_text(encoding="utf-8").replace("samples = 1000", "samples = 40"),
        encoding="utf-8",
    )
    for lang in ("en", "ru"):
        rep = build_report(study, lang=lang)
        widths = check_in_browser(rep.html, tmp_path / f"kuzbass_{lang}.png")
        # overview + 8 variables + 8 fan charts + 6 calibration fits (if calibrated) + 7 views
        assert len(widths) >= 1 + 8 + 8 + 7 and all(w > 0 for w in widths)
        html = rep.html.read_text(encoding="utf-8")
        assert 'id="calibration"' in html  # fit statistics from kuzbass_calibrated.toml
        if lang == "ru":
            assert "Кузбасс до 2050 года" in html and "Добыча угля в Кузбассе" in html
            from tests.test_report_language import check_russian

            results = sd.Results.load(
                tmp_path / "forecasts" / "output" / "kuzbass" / "results.parquet"
            )
            model = sd.load(tmp_path / "models" / "kuzbass.mdl")
            check_russian(rep, model, results, extra_files={"kuzbass_uncertainty.toml"})
        book = openpyxl.load_workbook(rep.workbook, read_only=True)
        assert len(book.sheetnames) == 1 + 11 + 2  # overview, 11 scenarios, 2 tables
    results = sd.Results.load(tmp_path / "forecasts" / "output" / "kuzbass" / "results.parquet")
    sheet = list(book[book.sheetnames[1]].iter_rows(values_only=True))
    col = sheet[0].index("Мировая цена угля (Ньюкасл) (долл./т)")
    got = np.array([r[col] for r in sheet[1:]], dtype=float)
    np.testing.assert_allclose(got, results.wide("baseline")["Coal Price"].to_numpy(), rtol=1e-12)


def test_bad_labels_tables_are_explained(tmp_path):
    from sd.errors import SDError
    from sd.report.labels import load_labels

    shutil.copytree(TEST_MODELS, tmp_path / "models")
    table = tmp_path / "models" / "decay_labels.csv"
    model = sd.load(tmp_path / "models" / "decay.mdl")
    table.write_text("variable,name_en,units_en,name_ru,units_ru\nStok,a,b,c,d\n", encoding="utf-8")
    with pytest.raises(SDError, match=r"row 2: 'Stok' is not a variable.*Did you mean: 'Stock'"):
        load_labels(model, "ru")
    table.write_text(
        "variable,name_en,units_en,name_ru,units_ru\nStock,a,b,c, d,e\n", encoding="utf-8"
    )
    with pytest.raises(SDError, match="row 2: 6 cells where the header has 5. Quote cells"):
        load_labels(model, "ru")


def test_calibration_section_draws_fits_and_warns_of_bounds(study, tmp_path):
    """Fit figures from the calibration's fitted run, and the parameter on its bound named."""
    import json

    from sd.report.labels import load_labels
    from tests.test_calibration import _at_bound_spec

    folder = tmp_path / "cal"
    folder.mkdir()
    spec = _at_bound_spec(folder)
    spec.write_text(
        spec.read_text().replace("max_runs = 600", 'max_runs = 600\nparameters_file = "pub.toml"')
    )
    study.write_text(
        study.read_text().replace(
            'base = "baseline"', f'base = "baseline"\ncalibration = {json.dumps(str(spec))}', 1
        )
    )
    assert main(["calibrate", str(spec), "--starts", "1", "--write-calibrated"]) == 0
    for lang, words in (("en", "upper bound"), ("ru", "верхней границе")):
        rep = build_report(study, lang=lang)
        html = rep.html.read_text(encoding="utf-8")
        section = html[
            html.index('id="calibration"') : html.index(
                "</section>", html.index('id="calibration"')
            )
        ]
        assert section.count("<img") == 1  # one panel per series: Stock and outflow
        labels = load_labels(sd.load(study.parent.parent / "models" / "decay.mdl"), lang)
        assert f"{labels.name('steady inflow')} = " in section and words in section
        svg = next(p for p in rep.figures if p.name == "fit_overview.svg").read_text("utf-8")
        for var in ("Stock", "outflow"):  # a panel per calibrated series, with its MAPE
            assert labels.name(var) in svg
        assert svg.count("MAPE") == 2
    # a calibration output with other values than the study includes: the study's values
    pub = folder / "pub.toml"
    text = pub.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith('"decay rate" = '))
    pub.write_text(text.replace(line, '"decay rate" = 0.2'), encoding="utf-8")
    html = build_report(study, lang="en").html.read_text(encoding="utf-8")
    section = html[html.index('id="calibration"') :]
    section = section[: section.index("</section>")]
    assert "holds other values than the study includes (pub.toml)" in section
    assert section.count("<img") == 1
    pub.write_text(text, encoding="utf-8")
    # without the calibration's output folder: the published values, evaluated in one run
    shutil.rmtree(folder / "output")
    rep = build_report(study, lang="en")
    html = rep.html.read_text(encoding="utf-8")
    section = html[html.index('id="calibration"') :]
    assert section[: section.index("</section>")].count("<img") == 1
    assert "upper bound" in section


def test_sensitivity_section_states_design_runs_and_convergence(study, tmp_path):
    out = decay_sobol(study, tmp_path)
    import json

    meta = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    rows = len(__import__("pandas").read_csv(out / "indices.csv"))
    assert meta["runs"] != rows
    rep = build_report(study, lang="en")
    html = rep.html.read_text(encoding="utf-8")
    section = html[html.index('id="sensitivity"') :]
    section = section[: section.index("</section>")]
    assert f"from {meta['runs']} model runs (8 base samples)" in section
    assert f"from {rows} runs" not in section
    from sd.analysis.sensitivity import convergence_issues

    idx = __import__("pandas").read_csv(out / "indices.csv")
    at = 20.0  # the study's last key year
    issues = convergence_issues(idx, "sobol", [at])
    assert len(issues) > 0  # 8 samples: wide intervals
    assert section.count("<li>") == len(issues)


def test_report_prints_its_stages_on_stderr_unless_quiet(study, capsys):
    assert main(["report", str(study), "--lang", "en"]) == 0
    err = capsys.readouterr().err
    stages = [line for line in err.splitlines() if line.startswith("report (en): ")]
    for what in (
        "loading the model decay.mdl",
        "running the study first: there are no results yet",
        "drawing the scenario figures (3)",
        "drawing the fan charts",
        "drawing the model's diagrams",
        "writing report.html",
        "writing the workbook report.xlsx",
        "done: ",
    ):
        assert any(what in line for line in stages), what
    # in order, each with the seconds since the start, never decreasing
    seconds = [float(line.rsplit("[", 1)[1].split(" s]")[0]) for line in stages]
    assert seconds == sorted(seconds) and stages[-1].count("done: ") == 1
    # the default folder is the one --help names: output/<study>_report_<lang>
    assert (study.parent / "output" / "decay-demo_report_en" / "report.html").is_file()
    assert main(["report", str(study), "--lang", "en", "--quiet"]) == 0
    assert "report (en)" not in capsys.readouterr().err
