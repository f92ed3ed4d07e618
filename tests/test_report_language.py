"""The Russian report is Russian: every visible word of the page, its figures and its
workbook, apart from units, the model's variable names, file names and proper names."""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

import sd
from sd.cli.commands import main
from sd.pipeline import report as build_report
from tests.conftest import TEST_MODELS

HERE = Path(__file__).parent

#: names that stay as they are in a Russian text (tools, methods, statistics, formats)
PROPER = {
    "PySD", "Vensim", "Sobol", "SALib", "PRIM", "EMA", "Workbench", "Loops", "That", "Matter",
    "SHA", "UTC", "kuzbass", "sd", "MAPE", "RMSE", "R", "U", "M", "S", "C", "ST", "n",
    "WDI",  # the World Bank's World Development Indicators, a data source's name
}  # fmt: skip


class _Text(HTMLParser):
    """Visible text nodes, ``alt`` and ``title`` attributes, and embedded SVG images."""

    SKIP = {"style", "script", "metadata"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.svgs: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        for key, value in attrs:
            if key in ("alt", "title") and value:
                self.texts.append(value)
            if key == "src" and value and value.startswith("data:image/svg+xml;base64,"):
                self.svgs.append(base64.b64decode(value.split(",", 1)[1]).decode("utf-8"))

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data)


def visible_text(html: str) -> tuple[list[str], list[str]]:
    parser = _Text()
    parser.feed(html)
    return parser.texts, parser.svgs


def svg_text(svg: str) -> list[str]:
    """The text a matplotlib SVG draws (``svg.fonttype = none``: text stays text)."""
    texts, _ = visible_text(svg)
    return texts


def english_words(texts: list[str], allowed: set[str], file_names: set[str]) -> set[str]:
    """Latin words that are not allowed; chunks with digits (hashes, versions) are skipped."""
    found = set()
    for text in texts:
        text = re.sub(r"[\w.-]+/[\w./-]+\.\w+", " ", text)  # a path such as models/x.mdl
        for name in sorted(file_names, key=len, reverse=True):
            text = text.replace(name, " ")
        text = re.sub(r"`[^`]*`|--[\w-]+", " ", text)  # commands and their options are code
        for chunk in re.split(r"[\s,;:()\[\]«»=/]+", text):
            if re.search(r"\d", chunk):
                continue
            found |= {w for w in re.findall(r"[A-Za-z]+", chunk) if w not in allowed}
    return found


def allow_list(model: sd.Model, results: sd.Results) -> tuple[set[str], set[str]]:
    """Words of the model's variable names and units, proper names; file names."""
    words = set(PROPER)
    for name, var in model.variables.items():
        words |= set(re.findall(r"[A-Za-z]+", name))
        words |= set(re.findall(r"[A-Za-z]+", var.units or ""))
    for unit in results.units.values():
        words |= set(re.findall(r"[A-Za-z]+", unit))
    prov = results.provenance
    files = {Path(f).name for f in prov.get("data_files", {})}
    files |= {Path(prov["model"]).name, Path(prov["study"]["file"]).name}
    return words, files


def check_russian(report, model: sd.Model, results: sd.Results, extra_files=()) -> None:
    import openpyxl

    allowed, files = allow_list(model, results)
    files |= set(extra_files)
    html = report.html.read_text(encoding="utf-8")
    texts, svgs = visible_text(html)
    assert english_words(texts, allowed, files) == set()
    for svg in svgs:  # the model's diagrams
        assert english_words(svg_text(svg), allowed, files) == set()
    pngs = html.count("data:image/png;base64,")
    drawn = sorted(p for p in report.figures if p.suffix == ".svg")
    # every figure of the page was drawn by the report, in its language (none copied)
    assert pngs + len(svgs) == len(drawn)
    for path in drawn:
        words = english_words(svg_text(path.read_text(encoding="utf-8")), allowed, files)
        assert words == set(), path.name
    book = openpyxl.load_workbook(report.workbook, read_only=True)
    heads = list(book.sheetnames)
    for sheet in book.worksheets:
        heads += [str(c) for c in next(sheet.iter_rows(values_only=True)) if c is not None]
    assert english_words(heads, allowed, files) == set()


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """The decay study with an ensemble, a Sobol analysis and Russian names everywhere."""
    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    path = tmp_path / "studies" / "decay_study.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "[scenarios.default_again]\n",
        '[scenarios.default_again]\nlabel_ru = "Снова по умолчанию"\n'
        'description_ru = "Норма выбытия по умолчанию: равен базовому."\n',
    ).replace(
        "[scenarios.crash_and_step]\n",
        '[scenarios.crash_and_step]\nlabel_ru = "Обвал и скачок"\n'
        'description_ru = "Обвал, затем рост поступления на 50% с 12-го года."\n',
    )
    text = text.replace(
        "[combine]",
        '[uncertainty]\nfile = "decay_uncertainty.toml"\nsamples = 30\nseed = 7\n\n[combine]',
    )
    path.write_text(text, encoding="utf-8")
    uncertain = tmp_path / "studies" / "decay_sobol.toml"
    uncertain.write_text(
        '[parameters."decay rate"]\ndistribution = "uniform"\nlower = 0.05\nupper = 0.2\n'
        '[parameters."initial stock"]\ndistribution = "uniform"\nlower = 80\nupper = 120\n',
        encoding="utf-8",
    )
    args = ["sensitivity", str(path), "--uncertain", str(uncertain), "--samples", "8"]
    assert main([*args, "--years", "20"]) == 0
    return path


def test_russian_report_is_russian(study):
    rep = build_report(study, lang="ru")
    model = sd.load(study.parent.parent / "models" / "decay.mdl")
    results = sd.Results.load(study.parent / "output" / "decay-demo" / "results.parquet")
    html = rep.html.read_text(encoding="utf-8")
    assert 'id="sensitivity"' in html and 'id="uncertainty"' in html  # both sections shown
    check_russian(rep, model, results, extra_files={"decay_uncertainty.toml"})
    # the scenario label and its shock described in Russian (sd.study.shocks.describe)
    assert "Обвал и скачок" in html and "множитель падает линейно от 1 в 5 г. до 0,6" in html


def test_english_words_are_found():
    """The check itself: it finds English words and lets model names and units through."""
    allowed = {"Stock", "widgets"}
    texts = ["Stock of widgets: step (start 5)", "sha256 9f3a", "модель (models/decay.mdl)"]
    assert english_words(texts, allowed, set()) == {"of", "step", "start"}


def test_sheet_names_fit_excel():
    from sd.report.builder import _sheet_name

    used = {"ключевые годы"}
    names = [
        _sheet_name(label, used)
        for label in ["a/b:c*?[x]\\y", "'quoted'", "Ключевые годы", "Base", "base", "x" * 40]
    ]
    assert names == ["a-b-c---x--y", "quoted", "Ключевые годы-2", "Base", "base-2", "x" * 31]


def test_russian_numbers():
    from sd.report.text import number

    assert number(-1234.5, "ru") == "\u22121\u202f234,5"
    assert number(1234567.0, "ru") == "1\u202f234\u202f567"
    assert number(0.25, "ru", "g") == "0,25" and number(2022, "ru", "g") == "2022"
    assert number(15000, "ru", "tick") == "15\u202f000" and number(2030, "ru", "tick") == "2030"
    assert number(3.2e-5, "ru") == "3,2\u00b710\u207b\u2075"
    assert number(-1234.5, "en") == "-1\u2009234.5"


def test_no_row_mixes_decimal_marks(study):
    """No cell of the Russian page's tables has a decimal point (a decimal comma only)."""
    rep = build_report(study, lang="ru")
    html = rep.html.read_text(encoding="utf-8")
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        assert not any(re.search(r"\d\.\d", c) for c in cells), row


def test_workbook_formats(study):
    """Numbers stay numbers with a format per column; headers frozen; names fit Excel."""
    import openpyxl

    rep = build_report(study, lang="ru")
    book = openpyxl.load_workbook(rep.workbook)
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in book.sheetnames)
    sheet = book["Обвал"]
    assert sheet.freeze_panes == "B2"
    header = [c.value for c in sheet[1]]
    col = header.index("Запас изделий (шт.)") + 1
    cells = [sheet.cell(r, col) for r in range(2, sheet.max_row + 1)]
    assert all(isinstance(c.value, int | float) for c in cells)  # numbers, not text
    top = max(abs(c.value) for c in cells)  # the decay model's stock: 100 widgets and more
    assert top >= 100 and {c.number_format for c in cells} == {"#,##0.0"}
    assert {sheet.cell(r, 1).number_format for r in range(2, sheet.max_row + 1)} == {"0"}
    assert sheet.column_dimensions["B"].width >= 12
    keys = book["Ключевые годы"]
    assert keys.freeze_panes == "E2"
    assert [c.value for c in keys[1]][:4] == [
        "переменная модели",
        "показатель",
        "сценарий",
        "единицы",
    ]
