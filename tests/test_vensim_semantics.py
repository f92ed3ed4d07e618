"""Vensim's numbers, not PySD's quirks: float states, delay orders, PULSE TRAIN ends."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import sd
from sd.engine.vectorized.core import build
from tests.conftest import CONFORMANCE, TEST_MODELS

DT = 0.5
TIMES = np.arange(0, 6 + DT / 2, DT)


def _x(t: float) -> float:
    return 10.5 + 2 * t


def _cascade(init: list[float], stage_time: float) -> list[list[float]]:
    """Euler on a chain of first-order smooths: stage i moves towards stage i-1 (x first)."""
    state = list(init)
    path = []
    for t in TIMES:
        path.append(list(state))
        targets = [_x(t), *state[:-1]]
        state = [s + DT * (g - s) / stage_time for s, g in zip(state, targets, strict=True)]
    return path


def _delay_chain(init: float, delay: float, order: int) -> list[float]:
    """Vensim's DELAYnI: ``order`` stocks, each holding init * delay / order at the start."""
    stage = delay / order
    stocks = [init * stage] * order
    out = []
    for t in TIMES:
        outflows = [s / stage for s in stocks]
        out.append(outflows[-1])
        inflows = [_x(t), *outflows[:-1]]
        stocks = [s + DT * (i - o) for s, i, o in zip(stocks, inflows, outflows, strict=True)]
    return out


def _trend(avg: float, init_trend: float) -> list[float]:
    """Vensim's TREND: (x - AV) / (avg * |AV|), AV = SMOOTHI(x, avg, x / (1 + init*avg))."""
    av = _x(0) / (1 + init_trend * avg)
    out = []
    for t in TIMES:
        out.append((_x(t) - av) / (avg * abs(av)))
        av += DT * (_x(t) - av) / avg
    return out


def _integ(init: float) -> list[float]:
    stock, out = init, []
    for t in TIMES:
        out.append(stock)
        stock += DT * _x(t)
    return out


def expected() -> dict[str, list[float]]:
    first = [p[-1] for p in _cascade([1.0], 2)]
    return {
        "smooth1": first,
        "smooth const": first,
        "smooth active": first,
        "smooth3": [p[-1] for p in _cascade([1.0] * 3, 1.0)],
        "smoothn": [p[-1] for p in _cascade([1.0] * 2, 1.5)],
        "delay1": _delay_chain(1.0, 2, 1),
        "delay3": _delay_chain(1.0, 3, 3),
        "trend1": _trend(2, 0),
        "stock": _integ(1.0),
    }


@pytest.fixture(scope="module")
def model() -> sd.Model:
    return sd.load(TEST_MODELS / "int_states.mdl")


def test_integer_initial_values_give_vensims_float_states(model):
    wide = sd.run(model).wide()
    np.testing.assert_array_equal(wide.index.to_numpy(float), TIMES)
    for name, values in expected().items():
        np.testing.assert_allclose(wide[name].to_numpy(float), values, rtol=1e-12, err_msg=name)
    # the truncating path would start SMOOTHI(10.5, 2, 1) at 1 + 0.5 * (10 - 1) / 2
    assert wide["smooth1"].iloc[1] == pytest.approx(1 + 0.5 * 9.5 / 2, rel=1e-15)


def test_vectorized_engine_gives_the_same_float_states(model):
    names = list(expected())
    times, out = build(model).run(n=2, variables=names)
    np.testing.assert_array_equal(times, TIMES)
    for name, values in expected().items():
        np.testing.assert_allclose(out[name][0], values, rtol=1e-12, err_msg=name)
        np.testing.assert_array_equal(out[name][0], out[name][1])


# -- functions where PySD and Vensim differ ----------------------------------------------------

FUNCTIONS = TEST_MODELS / "vensim_functions.mdl"


def _delay3_of_time(delay: float, steps: int, dt: float = 1.0) -> list[float]:
    """Vensim's DELAY3(Time, delay) by hand: three stocks of delay/3, never fewer."""
    stage = delay / 3
    stocks = [0.0] * 3  # input at the start (Time = 0) times each stage's delay
    out = []
    for k in range(steps):
        outflows = [s / stage for s in stocks]
        out.append(outflows[-1])
        inflows = [k * dt, *outflows[:-1]]
        stocks = [s + dt * (i - o) for s, i, o in zip(stocks, inflows, outflows, strict=True)]
    return out


def test_delay3_keeps_its_order_when_the_delay_is_short():
    wide = sd.run(sd.load(FUNCTIONS)).wide()
    n = len(wide)
    # north: delay 2 < 3 time steps (PySD would use 2 stages, for every element)
    np.testing.assert_allclose(wide["delayed[north]"], _delay3_of_time(2, n), rtol=1e-12)
    np.testing.assert_allclose(wide["delayed[south]"], _delay3_of_time(29, n), rtol=1e-12)
    np.testing.assert_allclose(wide["delayed one"], _delay3_of_time(2, n), rtol=1e-12)


@pytest.mark.parametrize(
    "path",
    [
        "arguments/test_arguments.mdl",  # DELAY3(Time, 2) at TIME STEP = 1: three stages
        "delay_pipeline/test_pipeline_delays.mdl",  # DELAY N(.., 1.25, .., 3) at 0.5: two
        "subscripted_delays/test_subscripted_delays.mdl",  # delay times per element
    ],
)
def test_delay_orders_match_vensims_output_on_conformance_models(path):
    mdl_path = CONFORMANCE / path
    if not mdl_path.is_file():
        pytest.skip(f"{mdl_path} not present")
    ours = sd.run(sd.load(mdl_path)).wide()
    out = mdl_path.parent / "output.tab"
    if out.is_file():
        vensim = pd.read_csv(out, sep="\t", index_col=0)
    else:
        text = "\n".join((mdl_path.parent / "output.csv").read_text().splitlines())
        vensim = pd.read_csv(io.StringIO(text), index_col=0)
    ours.columns = [c.lower().replace("_", " ") for c in ours.columns]
    vensim.columns = [c.strip('"').lower().replace("_", " ") for c in vensim.columns]
    vensim.index = vensim.index.astype(float)
    compared = 0
    for name in vensim.columns:
        if name in ours:
            ref = vensim[name].reindex(ours.index).to_numpy(float)
            known = np.isfinite(ref)  # Vensim writes constants at the first time only
            peak = max(np.abs(ref[known]).max(), 1.0)
            diff = np.abs(ours[name].to_numpy(float)[known] - ref[known])
            assert diff.max() < 1e-5 * peak, name
            compared += 1
    assert compared >= 6


def test_pulse_train_includes_its_end_time():
    wide = sd.run(sd.load(FUNCTIONS)).wide()
    # PULSE TRAIN(1, 1.5, 2, 5): pulses from 1 and 3 for 1.5, and one starting at 5 (= end)
    expected = [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    np.testing.assert_array_equal(wide["train"], expected)


def test_vectorized_engine_follows_vensim_on_delays_and_pulse_trains(tmp_path):
    text = FUNCTIONS.read_text(encoding="utf-8")
    scalar = (
        text.split("delayed one =")[0].split("region:")[0]
        + "delayed one ="
        + text.split("delayed one =")[1]
    )
    path = tmp_path / "scalar_functions.mdl"
    path.write_text(scalar, encoding="utf-8")
    times, out = build(sd.load(path)).run(n=1, variables=["delayed one", "train"])
    np.testing.assert_allclose(out["delayed one"][0], _delay3_of_time(2, len(times)), rtol=1e-12)
    np.testing.assert_array_equal(out["train"][0], [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])


def test_simlin_agrees_on_delays_and_pulse_trains():
    simlin = pytest.importorskip("simlin")
    ours = sd.run(sd.load(FUNCTIONS)).wide()
    theirs = simlin.load(FUNCTIONS).run(analyze_loops=False).results
    for name in ("delayed[north]", "delayed[south]", "delayed one", "train"):
        np.testing.assert_allclose(
            ours[name].to_numpy(), theirs[name.replace(" ", "_")].to_numpy(), rtol=1e-12
        )


RANDOM_MODEL = """{UTF-8}
noise = RANDOM UNIFORM(2, 3, SEED)
	~	dmnl
	~	|
stock = INTEG(noise, 0)
	~	dmnl
	~	|
INITIAL TIME = 0
	~	Month
	~	|
FINAL TIME = 20
	~	Month
	~	|
TIME STEP = 1
	~	Month
	~	|
SAVEPER = TIME STEP
	~	Month
	~	|
"""


def test_random_functions_with_a_seed_repeat_at_every_run(tmp_path):
    paths = []
    for seed in (7, 8):
        paths.append(tmp_path / f"noise{seed}.mdl")
        paths[-1].write_text(RANDOM_MODEL.replace("SEED", str(seed)), encoding="utf-8")
    model = sd.load(paths[0])
    before = np.random.get_state()[1].copy()
    first = sd.run(model).wide()
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # the caller's stream
    np.random.rand(3)  # whatever ran in between
    second = sd.run(model).wide()
    pd.testing.assert_frame_equal(first, second)
    assert ((first["noise"] >= 2) & (first["noise"] <= 3)).all()
    assert first["noise"].nunique() == len(first)  # noise, not a constant
    np.testing.assert_allclose(first["stock"].diff().iloc[1:], first["noise"].iloc[:-1])
    other = sd.run(sd.load(paths[1])).wide()
    assert not np.allclose(other["noise"], first["noise"])  # another seed, another stream
