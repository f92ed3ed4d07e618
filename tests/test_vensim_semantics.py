"""Vensim's numbers, not PySD's quirks: states initialised by integers stay float."""

from __future__ import annotations

import numpy as np
import pytest

import sd
from sd.vectorized import build
from tests.conftest import TEST_MODELS

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
