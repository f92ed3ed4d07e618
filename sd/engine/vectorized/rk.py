"""Runge-Kutta steps for the vectorized engine (Vensim's RK4 and RK2 fixed-step methods).

Vensim's "RK4" is the classical fourth-order Runge-Kutta method: derivatives at the start
of the step (``k1``), twice at the midpoint (``k2`` from ``y + dt/2 k1``, ``k3`` from
``y + dt/2 k2``) and at the end (``k4`` from ``y + dt k3``), then
``y + dt (k1 + 2 k2 + 2 k3 + k4) / 6``. "RK2" is the two-stage method that takes an
Euler step to the end of the interval and averages the derivatives at both ends
(Heun): ``y + dt (k1 + k2) / 2`` with ``k2`` from ``y + dt k1``. At every stage the
auxiliaries the derivatives need are recomputed at the stage's time and states; saved
values are those at the start of each step, as with Euler.

:func:`runge_kutta` writes the body of the time loop after the outputs are stored; it is
called by :mod:`sd.engine.vectorized.assembly` with the states to integrate, the code of the
auxiliaries they need and the function writing each state's derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sd.engine.vectorized.support import Unsupported

#: (stage times as fractions of dt, weights of the stage derivatives, their divisor)
TABLEAUX = {
    "rk4": ((0.0, 0.5, 0.5, 1.0), (1, 2, 2, 1), 6),
    "rk2": ((0.0, 1.0), (1, 1), 2),
}
NAMES = {"rk4": "RK4", "rk2": "RK2"}
_INTEGRATED = ("integ", "smooth", "delay", "delayn", "trend", "forecast")
_DISCRETE = {
    "fixed": "DELAY FIXED",
    "sit": "SAMPLE IF TRUE",
    "nonneg": "a non-negative stock",
}


def runge_kutta(
    method: str,
    states: Sequence[Any],
    core: Sequence[str],
    ddt: Callable[[Any], list[str]],
    label: Callable[[str], str],
) -> list[str]:
    """Loop-body lines of one Runge-Kutta step of ``states`` (``core``: auxiliaries' code)."""
    if method not in TABLEAUX:
        raise Unsupported(f"integration method {method!r}", "the model's settings")
    for state in states:
        if state.kind in _DISCRETE:
            raise Unsupported(
                f"{_DISCRETE[state.kind]} under {NAMES[method]} integration", label(state.sid)
            )
    moving = [s for s in states if s.kind in _INTEGRATED]
    times, weights, divisor = TABLEAUX[method]
    lines = ["_tk = t"]
    for stage, frac in enumerate(times, start=1):
        if stage > 1:
            for s in moving:
                lines.append(f"{s.sid} = {s.sid}_y0 + ({frac!r} * _dt) * {s.sid}_r{stage - 1}")
            lines.append(f"t = _tk + {frac!r} * _dt")
            lines += list(core)
        for s in moving:
            lines += ddt(s)
        for s in moving:
            if stage == 1:
                lines.append(f"{s.sid}_y0 = {s.sid}")
            lines.append(f"{s.sid}_r{stage} = d_{s.sid}")
    for s in moving:
        terms = " + ".join(
            f"{w} * {s.sid}_r{i}" if w != 1 else f"{s.sid}_r{i}"
            for i, w in enumerate(weights, start=1)
        )
        lines.append(f"{s.sid} = {s.sid}_y0 + (_dt / {divisor}) * ({terms})")
    return lines
