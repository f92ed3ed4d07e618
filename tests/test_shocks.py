"""Each shock shape against hand-computed values, and their composition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sd.study import shocks

T = np.arange(0.0, 6.0)  # 0, 1, ..., 5


def test_step():
    np.testing.assert_array_equal(shocks.step(T, start=2, size=3), [0, 0, 3, 3, 3, 3])


def test_pulse():
    np.testing.assert_array_equal(
        shocks.pulse(T, start=1, duration=2, size=-1.5), [0, -1.5, -1.5, 0, 0, 0]
    )


def test_ramp():
    np.testing.assert_array_equal(shocks.ramp(T, start=1, end=3, size=4), [0, 0, 2, 4, 4, 4])


def test_crash_falls_linearly_then_halves_every_half_life():
    d = shocks.crash(T, start=1, depth=0.4, duration=2, half_life=1)
    np.testing.assert_allclose(d, [0, 0, -0.2, -0.4, -0.2, -0.1], rtol=1e-15)
    no_recovery = shocks.crash(T, start=1, depth=0.4, duration=2, half_life=math.inf)
    np.testing.assert_allclose(no_recovery[3:], -0.4)


def test_trend_change():
    mult = shocks.trend_change(T, start=1, rate=math.log(2))  # doubling each year
    np.testing.assert_allclose(mult, [0, 0, 1, 3, 7, 15], rtol=1e-12)
    add = shocks.trend_change(T, start=1, rate=-0.5, combine="additive")
    np.testing.assert_allclose(add, [0, 0, -0.5, -1, -1.5, -2])


def test_series_from_csv(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("year,pct\n1,10\n3,30\n")
    d = shocks.series(T, file=csv, column="pct", scale=0.01)
    np.testing.assert_allclose(d, [0, 0.1, 0.2, 0.3, 0.3, 0.3])
    with pytest.raises(ValueError, match="no column 'nope'"):
        shocks.series(T, file=csv, column="nope")


def test_composition():
    a = shocks.step(T, start=2, size=0.5)
    b = shocks.crash(T, start=1, depth=0.4, duration=2, half_life=1)
    mult = shocks.combine(10.0, [a, b], "multiplicative")
    np.testing.assert_allclose(mult, 10 * (1 + a) * (1 + b))
    assert mult[3] == pytest.approx(10 * 1.5 * 0.6)  # +50% step and -40% at the bottom
    add = shocks.combine(10.0, [a, b], "additive")
    np.testing.assert_allclose(add, [10, 10, 10.3, 10.1, 10.3, 10.4])
    with pytest.raises(ValueError, match="combine must be"):
        shocks.combine(1.0, [a], "max")


@pytest.mark.parametrize(
    ("func", "kwargs", "message"),
    [
        (shocks.ramp, {"start": 3, "end": 3, "size": 1}, "end > start"),
        (shocks.pulse, {"start": 1, "duration": 0, "size": 1}, "duration must be > 0"),
        (shocks.crash, {"start": 1, "depth": -1, "duration": 1, "half_life": 1}, "depth"),
        (shocks.crash, {"start": 1, "depth": 1, "duration": 1, "half_life": 0}, "half_life"),
    ],
)
def test_bad_shape_parameters(func, kwargs, message):
    with pytest.raises(ValueError, match=message):
        func(T, **kwargs)
