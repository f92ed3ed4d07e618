"""Vensim's integration methods: RK4 and RK2 against closed forms and Simlin, or refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.engine.integration import IntegrationMethodError
from sd.engine.vectorized.core import build
from sd.model import mdl
from tests.conftest import TEST_MODELS

DECAY = TEST_MODELS / "rk4_decay.mdl"
LOGISTIC = TEST_MODELS / "rk4_logistic.mdl"


def with_method(path: Path, code: int, folder: Path, extra: str = "") -> Path:
    """A copy of ``path`` whose settings ask for integration code ``code``."""
    text = path.read_text(encoding="utf-8")
    assert "15:0,0,0,1,0,0" in text
    text = text.replace("15:0,0,0,1,0,0", f"15:0,0,0,{code},0,0").replace(
        "{UTF-8}\n", "{UTF-8}\n" + extra
    )
    out = folder / f"{path.stem}_{code}.mdl"
    out.write_text(text, encoding="utf-8", newline="")
    return out


def integrate(f, x0: float, t0: float, t1: float, dt: float, method: str) -> dict[float, float]:
    """An independent fixed-step integrator: every step's start value by time."""
    x, t, out = x0, t0, {}
    steps = round((t1 - t0) / dt)
    for i in range(steps + 1):
        t = t0 + i * dt
        out[round(t, 9)] = x
        if method == "rk4":
            k1 = f(x)
            k2 = f(x + dt / 2 * k1)
            k3 = f(x + dt / 2 * k2)
            k4 = f(x + dt * k3)
            x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        elif method == "rk2":
            k1 = f(x)
            k2 = f(x + dt * k1)
            x = x + dt / 2 * (k1 + k2)
        else:
            x = x + dt * f(x)
    return out


def test_settings_line_gives_the_method(tmp_path):
    assert mdl.integration_method(DECAY.read_text(encoding="utf-8")) == "rk4"
    assert mdl.integration_method(with_method(DECAY, 0, tmp_path).read_text()) == "euler"
    assert mdl.integration_method(with_method(DECAY, 3, tmp_path).read_text()) == "rk2"
    assert mdl.integration_method(with_method(DECAY, 2, tmp_path).read_text()) == "code 2"
    assert mdl.integration_method("x = 1 ~ ~ |") == "euler"  # no settings block
    assert sd.load(DECAY).time.method == "rk4"


def test_rk4_decay_matches_the_closed_form():
    wide = sd.run(sd.load(DECAY)).wide()
    t = wide.index.to_numpy(float)
    exact = 100 * np.exp(-0.1 * t)
    rel = np.abs(wide["Stock"].to_numpy() - exact) / exact
    assert rel.max() < 1e-8  # Euler at this step is 1e-2 off
    assert rel[-1] > 1e-13  # a real RK4, not the exponential itself
    ref = integrate(lambda x: -0.1 * x, 100.0, 0, 10, 0.25, "rk4")
    np.testing.assert_allclose(wide["Stock"], [ref[round(v, 9)] for v in t], rtol=1e-13)


def test_rk4_logistic_matches_the_closed_form_and_an_independent_rk4():
    wide = sd.run(sd.load(LOGISTIC)).wide()
    t = wide.index.to_numpy(float)
    exact = 1000 / (1 + 99 * np.exp(-0.8 * t))
    assert np.max(np.abs(wide["Population"] - exact) / exact) < 5e-5
    euler = integrate(lambda x: 0.8 * x * (1 - x / 1000), 10.0, 0, 15, 0.25, "euler")
    assert max(abs(euler[round(v, 9)] - e) / e for v, e in zip(t, exact, strict=True)) > 0.05
    ref = integrate(lambda x: 0.8 * x * (1 - x / 1000), 10.0, 0, 15, 0.25, "rk4")
    np.testing.assert_allclose(wide["Population"], [ref[round(v, 9)] for v in t], rtol=1e-12)


def test_rk2_is_heuns_method(tmp_path):
    model = sd.load(with_method(LOGISTIC, 3, tmp_path))
    assert model.time.method == "rk2"
    wide = sd.run(model).wide()
    ref = integrate(lambda x: 0.8 * x * (1 - x / 1000), 10.0, 0, 15, 0.25, "rk2")
    np.testing.assert_allclose(
        wide["Population"], [ref[round(v, 9)] for v in wide.index], rtol=1e-12
    )


def test_rk_runs_equal_simlins_which_honours_the_method(tmp_path):
    simlin = pytest.importorskip("simlin")
    for path in (DECAY, LOGISTIC, with_method(LOGISTIC, 3, tmp_path)):
        wide = sd.run(sd.load(path)).wide()
        theirs = simlin.load(path).run(analyze_loops=False).results
        for name in wide.columns:
            np.testing.assert_allclose(
                wide[name].to_numpy(),
                theirs[name.lower().replace(" ", "_")].reindex(wide.index).to_numpy(),
                rtol=1e-12,
                atol=1e-12,
                err_msg=f"{path.name}: {name}",
            )


def test_vectorized_rk4_runs_equal_single_runs():
    model = sd.load(DECAY)
    rates = np.array([0.1, 0.35, 0.0, 1.3])
    times, out = build(model).run({"k": rates}, n=len(rates), variables=["Stock"])
    for i, rate in enumerate(rates):
        exact = 100 * np.exp(-rate * times)
        np.testing.assert_allclose(out["Stock"][i], exact, rtol=3e-3)  # h = 0.325 at most
        single = sd.run(model, {"k": rate}, variables=["Stock"]).wide()["Stock"]
        np.testing.assert_array_equal(out["Stock"][i], single.to_numpy())


def test_unknown_method_is_refused(tmp_path):
    model = sd.load(with_method(DECAY, 2, tmp_path))
    with pytest.raises(IntegrationMethodError, match="integration method code 2.*Euler, RK4"):
        sd.run(model)


def test_rk4_model_the_engine_cannot_run_is_refused_not_run_with_euler(tmp_path):
    extra = "late = DELAY FIXED(Stock, 2, 0)\n\t~\twidgets\n\t~\t|\n"
    model = sd.load(with_method(DECAY, 1, tmp_path, extra))
    with pytest.raises(IntegrationMethodError, match="asks for RK4.*DELAY FIXED.*Euler"):
        sd.run(model)
    euler = sd.run(sd.load(with_method(DECAY, 0, tmp_path, extra))).wide()  # Euler still runs
    assert math.isclose(euler["Stock"].iloc[1], 100 * (1 - 0.025) ** 4, rel_tol=1e-12)
