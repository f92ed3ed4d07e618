"""The policy simulator: settings checked, runs equal sd.run, saved scenarios reproducible,
and the page driven in Chromium over loopback."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.app.server import Server, check_host
from sd.app.session import SAVED_MARKER, AppInputError, AppSession
from sd.pipeline import forecast
from sd.study.study import check_study, compile_scenario, load_study
from tests.conftest import TEST_MODELS
from tests.test_report import CHROMIUM

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def study_file(tmp_path_factory) -> Path:
    """A copy of the decay study with an uncertainty spec and Russian labels for every lever."""
    root = tmp_path_factory.mktemp("app")
    shutil.copytree(HERE / "studies", root / "studies")
    shutil.copytree(TEST_MODELS, root / "models")
    study = root / "studies" / "decay_study.toml"
    study.write_text(
        study.read_text(encoding="utf-8")
        + '\n[uncertainty]\nfile = "decay_uncertainty.toml"\nsamples = 50\nseed = 3\n',
        encoding="utf-8",
    )
    labels = root / "models" / "decay_labels.csv"
    labels.write_text(
        labels.read_text(encoding="utf-8")
        + "initial stock,Initial stock,widgets,Начальный запас,шт.\n",
        encoding="utf-8",
    )
    return study


@pytest.fixture(scope="module")
def session(study_file) -> AppSession:
    return AppSession.open(study_file)


def _expected(session: AppSession, settings, variable: str) -> np.ndarray:
    """The same settings through the ordinary path: compile the scenario, sd.run (PySD)."""
    params = compile_scenario(session.study, session.scenario(settings), session.model)
    res = sd.run(session.model, params, time=session.study.time, variables=[variable])
    return res.series(variable).to_numpy()


def test_levers_come_from_the_declared_ranges(session):
    levers = {lv.name: lv for lv in session.levers}
    assert set(levers) == {"initial stock", "steady inflow", "decay rate"}
    rate = levers["decay rate"]
    assert (rate.low, rate.high, rate.default) == (0.0, 1.0, 0.1)  # [0,1] in decay.mdl
    inflow = levers["steady inflow"]
    assert inflow.low == 0 and inflow.high == 2 * inflow.default  # [0,?]: up to twice


def test_a_run_equals_sd_run_for_the_same_settings(session):
    settings = session.settings(
        {"scenario": "crash_and_step", "levers": {"decay rate": 0.25}, "strengths": [0.5, 0, 2]}
    )
    got = session.run(settings)["Stock"]
    np.testing.assert_allclose(got, _expected(session, settings, "Stock"), rtol=1e-12)
    base = session.run(session.default_settings("baseline"))["Stock"]
    assert not np.allclose(got, base)


def test_a_half_strength_crash_halves_its_depth(session):
    sc = session.scenario(session.settings({"scenario": "crash", "strengths": [0.5]}))
    (shock,) = sc.shocks
    assert shock.params["depth"] == pytest.approx(0.2)  # the study says 0.4
    off = session.scenario(session.settings({"scenario": "crash", "strengths": [0]}))
    assert off.shocks == ()
    np.testing.assert_array_equal(
        session.run(session.settings({"scenario": "crash", "strengths": [0]}))["Stock"],
        session.base_values["Stock"],
    )


@pytest.mark.parametrize(
    "raw, message",
    [
        ([], "JSON object"),
        ({"scenario": "nope"}, "scenario 'nope' is not in decay_study.toml"),
        ({"levers": {"__import__('os')": 1}}, "is not a lever"),
        ({"levers": {"decay rate": 5}}, "outside its range 0 to 1"),
        ({"levers": {"decay rate": "0.2"}}, "is not a number"),
        ({"levers": {"decay rate": True}}, "is not a number"),
        ({"scenario": "crash", "strengths": [1, 1]}, "list of 1 numbers"),
        ({"scenario": "crash", "strengths": [3]}, "outside its range"),
        ({"code": "print(1)"}, "unknown settings"),
    ],
)
def test_bad_settings_are_refused_with_a_message(session, raw, message):
    with pytest.raises(AppInputError, match=message):
        session.settings(raw)


def test_saved_scenario_runs_to_the_same_numbers_in_sd_forecast(session, tmp_path):
    settings = session.settings(
        {"scenario": "crash", "levers": {"decay rate": 0.2}, "strengths": [1.5]}
    )
    path = session.save_study(settings, "mine", "My run")
    assert path.name == "decay_study_mine.toml" and path.read_text().startswith(SAVED_MARKER)
    done = forecast(path, output_dir=tmp_path / "out", figures=False, ensembles=False)
    assert done.study.name == "decay-demo-mine"  # its outputs never replace the main study's
    np.testing.assert_allclose(
        done.results.series("Stock", "mine").to_numpy(), session.run(settings)["Stock"], rtol=1e-12
    )
    session.save_study(settings, "mine", "again")  # the simulator may replace its own file
    foreign = path.with_name("decay_study_theirs.toml")
    foreign.write_text("# someone's study\n")
    with pytest.raises(AppInputError, match="was not written by the simulator"):
        session.save_study(settings, "theirs")
    assert foreign.read_text() == "# someone's study\n"
    for bad in ("", "../x", "a b", "crash", "x" * 61):
        with pytest.raises(AppInputError):
            session.save_study(settings, bad)
    path.unlink()


def test_band_is_a_small_ensemble_around_the_settings(session):
    bands = session.band(session.default_settings("baseline"))
    stock = bands["Stock"]
    assert len(stock["x"]) == len(session.times)
    rows = zip(stock["p5"], stock["p50"], stock["p95"], strict=True)
    assert all(lo <= mid <= hi for lo, mid, hi in rows)
    assert stock["p95"][-1] > stock["p5"][-1]  # the uncertain decay rate spreads the runs


def test_loopback_only_by_default():
    assert check_host("127.0.0.1") and check_host("localhost") and check_host("::1")
    assert not check_host("0.0.0.0") and not check_host("192.168.1.5")
    done = sd.cli.commands.main(["app", "x.toml", "--host", "0.0.0.0"])
    assert done == 2


def _post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_malformed_requests_get_an_error_and_the_server_keeps_serving(session):
    server = Server(session).start()
    try:
        for body in (b"{not json", b'{"levers": {"decay rate": 1e9}}', b"[1,2]", b"\xff\xfe"):
            status, payload = _post(server.url + "api/run", body)
            assert status == 400 and payload["error"]
        status, payload = _post(server.url + "api/run", b"x" * 100_000)  # over the body limit
        assert status in (400, 413)
        status, payload = _post(server.url + "api/run", b'{"scenario": "crash"}')
        assert status == 200 and len(payload["series"]["Stock"]) == len(payload["times"])
        with urllib.request.urlopen(server.url + "api/config?lang=xx", timeout=10) as resp:
            pytest.fail(f"unknown language accepted: {resp.status}")
    except urllib.error.HTTPError as err:
        assert err.code == 400
    finally:
        server.stop()


def test_the_page_in_chromium(session, study_file, tmp_path):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    server = Server(session).start()
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(server.url, wait_until="load")
            page.wait_for_function("window.sdApp.runs >= 1", timeout=30_000)

            # move the decay-rate slider: the chart shows what sd.run gives
            index = [lv.name for lv in session.levers].index("decay rate")
            page.evaluate(
                """([i, v]) => { const s = document.getElementById(`lever-${i}`);
                s.value = v; s.dispatchEvent(new Event('input')); }""",
                [index, 0.3],
            )
            page.wait_for_function(
                "window.sdApp.runs >= 2 && window.sdApp.last.settings.levers['decay rate'] == 0.3"
            )
            chart = page.evaluate(
                """() => { const gd = document.querySelector('[data-variable="Stock"]');
                return gd.data.find(t => t.meta === 'current').y; }"""
            )
            settings = session.settings({"levers": {"decay rate": 0.3}})
            np.testing.assert_allclose(chart, _expected(session, settings, "Stock"), rtol=1e-9)

            # the uncertainty band
            page.check("#band")
            page.wait_for_function("window.sdApp.band !== null", timeout=30_000)

            # Russian: every label from the labels file and every word of the page
            page.click("#lang-ru")
            page.wait_for_function("document.documentElement.lang === 'ru'")
            page.wait_for_timeout(300)
            titles = page.evaluate(
                "Array.from(document.querySelectorAll('.chart .gtitle')).map(t => t.textContent)"
            )
            assert titles == ["Запас изделий", "Выбытие"]
            text = page.inner_text("#controls")
            for word in ("Норма выбытия", "Поступление", "Начальный запас", "Рычаги политики"):
                assert word in text
            for english in ("Decay rate", "Inflow", "Initial stock", "Policy levers", "Save"):
                assert english not in text
            page.screenshot(path=str(tmp_path / "app_ru.png"), full_page=True)

            # save as scenario from the page
            page.fill("#save-name", "from_page")
            page.click("#save")
            page.wait_for_function("window.sdApp.saved !== undefined", timeout=30_000)
            browser.close()
    finally:
        server.stop()
    assert problems == []
    saved = study_file.with_name("decay_study_from_page.toml")
    study = check_study(load_study(saved), session.model)
    assert study.scenarios["from_page"].set["decay rate"] == 0.3
    saved.unlink()


def test_policy_numbers_of_the_settings_equal_the_policy_comparison(tmp_path):
    """The page's NPV and payback come from sd.analysis.policy, as in policy_comparison.csv."""
    import pandas as pd

    shutil.copytree(HERE / "studies", tmp_path / "studies")
    shutil.copytree(TEST_MODELS, tmp_path / "models")
    study = tmp_path / "studies" / "policy_study.toml"
    session = AppSession.open(study)
    shown = {
        row["indicator"]: row
        for row in session.indicators(session.run(session.settings({"scenario": "support"})))
    }
    done = forecast(study, output_dir=tmp_path / "out", figures=False, ensembles=False)
    table = pd.read_csv(tmp_path / "out" / "policy_comparison.csv")
    expected = table[table.scenario == "support"].set_index("indicator")["value"]
    assert shown["payback_year"]["value"] == expected["payback_year"] == 2029
    for key in ("budget_balance_npv_diff", "processing_share_2030", "debt_peak"):
        assert shown[key]["value"] == pytest.approx(expected[key], rel=1e-5)
    assert shown["payback_year"]["label"]["ru"] == "Год окупаемости"
    assert done.study.name == "policy-test"
