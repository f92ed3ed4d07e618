"""Loop dominance (Loops That Matter through pysimlin).

tests/models/logistic.mdl: Growth = P * r * (1 - P/K). The reinforcing loop P -> Growth
-> P scores r(1 - P/K) against the balancing loop through Fractional Growth, r P / K, so
the balancing loop takes over when P = K/2: at the inflection point, in closed form at
t* = ln((K - P0) / P0) / r = ln(99) / 0.5 = 9.19 years.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import sd
from sd.analysis.loops import dominance, inline_data
from sd.cli.commands import main
from tests.conftest import KUZBASS, TEST_MODELS


def test_logistic_switches_at_the_inflection_point():
    model = sd.load(TEST_MODELS / "logistic.mdl")
    dom = dominance(model)
    periods = dom.periods.set_index("loop")
    assert list(dom.periods["loop"]) == ["R1", "B1"]
    assert periods.loc["R1", "polarity"] == "R" and periods.loc["B1", "polarity"] == "B"
    switch = periods.loc["B1", "start"]
    t_star = math.log(99) / 0.5
    dt = model.time.step
    assert abs(switch - t_star) < 0.25  # Euler with dt = 1/16, scores lag one step
    pop = sd.run(model).wide()["Population"]
    assert pop[switch - dt] == pytest.approx(500, rel=0.02)  # P = K/2 at the switch
    assert pop[switch - 2 * dt] < 500 < pop[switch]
    assert "Growth engine" in periods.loc["R1", "label"]  # named from the model's views


def test_overrides_move_the_switch(tmp_path: Path):
    # K = 2000: t* = ln(199) / 0.5 = 10.59 years
    out = tmp_path / "loops"
    args = ["loops", str(TEST_MODELS / "logistic.mdl"), "--no-figures", "-o", str(out)]
    assert main([*args, "--set", "Carrying Capacity=2000"]) == 0
    summary = pd.read_csv(out / "dominance_summary.csv").set_index("loop")
    assert abs(summary.loc["B1", "start"] - math.log(199) / 0.5) < 0.25


def test_cli_writes_tables_and_figure(tmp_path: Path, capsys):
    out = tmp_path / "loops"
    assert main(["loops", str(TEST_MODELS / "logistic.mdl"), "-o", str(out)]) == 0
    summary = pd.read_csv(out / "dominance_summary.csv")
    assert list(summary["loop"]) == ["R1", "B1"]
    assert (out / "figures" / "loops_population.png").is_file()
    assert main(["loops", str(TEST_MODELS / "logistic.mdl"), "--variable", "Popul"]) == 2
    assert "Did you mean" in capsys.readouterr().err


@pytest.mark.skipif(not KUZBASS.is_file(), reason="models/kuzbass.mdl missing")
def test_runs_on_kuzbass_with_inline_data():
    model = sd.load(KUZBASS)
    text = inline_data(model, KUZBASS.read_text(encoding="utf-8"))
    assert "GET DIRECT" not in text.upper()
    dom = dominance(model, ["Coal Price", "Kuzbass Coal Production"])
    assert len(dom.loops) > 10
    assert set(dom.periods["variable"]) == {"Coal Price", "Kuzbass Coal Production"}
    # the price adjustment loop is on the 'Coal market' view
    assert dom.periods["label"].str.contains("Coal market").any()
