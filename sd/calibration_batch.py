"""Calibration on the vectorized engine: many parameter sets in one engine call.

:func:`scipy.optimize.least_squares` asks for the residuals at one point, then for the
Jacobian there. :class:`Batched` gives it both: ``fun`` evaluates one point (or takes it
from the points evaluated ahead, such as all the multi-start points in one call), and
``jac`` runs the ``p`` forward-difference points in one call of the vectorized engine,
with the steps scipy's own ``'2-point'`` scheme takes (:func:`forward_steps`), so the fit
follows the serial PySD path to rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sd.run import TimeSettings

if TYPE_CHECKING:
    from sd.calibration import Objective


def simulate_many(objective: Objective, points: np.ndarray) -> tuple[dict, np.ndarray]:
    """Run each row of ``points`` in one vectorized call.

    Returns target name -> ``(k, len(obs))`` simulated values at the observation times
    (NaN where the model saves no such time, as ``reindex`` gives on the serial path),
    and which runs failed (a NaN or infinite value, or a run the engine stopped).
    """
    k = len(points)
    base = objective.params(points[0])
    params: dict = {name: value for name, value in base.items()}
    for j, p in enumerate(objective.free):
        params[p.name] = np.ascontiguousarray(points[:, j])
    final = max(s.index.max() for s in objective.obs.values())
    names = [t.variable for t in objective.spec.targets]
    times, out = objective.vector.run(
        params,
        n=k,
        time=TimeSettings(initial=objective.model.time.initial, final=final),
        variables=names,
    )
    failed = np.zeros(k, dtype=bool)
    for values in out.values():
        failed |= ~np.isfinite(values.reshape(k, -1)).all(axis=1)
    labels = pd.Index(times)
    sims = {}
    for name, obs in objective.obs.items():
        where = labels.get_indexer(obs.index)
        values = out[name]
        sim = np.full((k, len(obs)), np.nan)
        sim[:, where >= 0] = values[:, where[where >= 0]]
        sims[name] = sim
    return sims, failed


def forward_steps(x0: np.ndarray, lb: np.ndarray, ub: np.ndarray, rel_step: float) -> np.ndarray:
    """The absolute steps of scipy's ``'2-point'`` Jacobian with ``diff_step=rel_step``.

    As ``scipy.optimize._numdiff``: ``h = rel_step * sign(x0) * |x0|`` (sign +1 at 0),
    where that step vanishes ``h = eps**0.5 * sign(x0) * max(1, |x0|)``; a step that
    leaves the bounds is reversed when the reversed one fits, else it goes to the
    farther bound.
    """
    sign = (x0 >= 0).astype(float) * 2 - 1
    h = rel_step * sign * np.abs(x0)
    dx = (x0 + h) - x0
    h = np.where(dx == 0, np.finfo(np.float64).eps ** 0.5 * sign * np.maximum(1.0, np.abs(x0)), h)
    if np.all((lb == -np.inf) & (ub == np.inf)):
        return h
    lower, upper = x0 - lb, ub - x0
    x = x0 + h
    violated = (x < lb) | (x > ub)
    fitting = np.abs(h) <= np.maximum(lower, upper)
    h = h.copy()
    h[violated & fitting] *= -1
    forward = (upper >= lower) & ~fitting
    h[forward] = upper[forward]
    backward = (upper < lower) & ~fitting
    h[backward] = -lower[backward]
    return h


class Batched:
    """``fun`` and ``jac`` callables for least_squares over :meth:`Objective.residuals_many`."""

    def __init__(self, objective: Objective, rel_step: float) -> None:
        self.objective = objective
        self.rel_step = rel_step
        self.lb, self.ub = objective.lower, objective.upper
        self._ahead: dict[bytes, np.ndarray] = {}  # points evaluated before they are asked
        self._last: tuple[bytes, np.ndarray] | None = None

    def prefetch(self, points: np.ndarray) -> None:
        """Evaluate ``points`` in one call; ``fun`` then returns them without a run."""
        for x, f in zip(points, self.objective.residuals_many(points), strict=True):
            self._ahead[np.asarray(x, dtype=float).tobytes()] = f

    def fun(self, x: np.ndarray) -> np.ndarray:
        key = np.asarray(x, dtype=float).tobytes()
        f = self._ahead.pop(key, None)
        if f is None:
            f = self.objective.residuals_many(np.asarray(x, dtype=float)[None, :])[0]
        self._last = (key, f)
        return f

    def jac(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        h = forward_steps(x, self.lb, self.ub, self.rel_step)
        points = np.repeat(x[None, :], len(x), axis=0)
        idx = np.arange(len(x))
        points[idx, idx] = x + h
        key = x.tobytes()
        if self._last is not None and self._last[0] == key:
            f0 = self._last[1]
            rows = self.objective.residuals_many(points)
        else:  # least_squares always asks fun(x) first; kept for any other caller
            rows = self.objective.residuals_many(np.vstack([x[None, :], points]))
            f0, rows = rows[0], rows[1:]
        dx = (x + h) - x
        return ((rows - f0[None, :]) / dx[:, None]).T
