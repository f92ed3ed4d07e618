"""Calibration on the vectorized engine: many parameter sets in one engine call.

:func:`scipy.optimize.least_squares` asks for the residuals at one point, then for the
Jacobian there. :class:`Batched` gives it both: ``fun`` evaluates one point (or takes it
from the points evaluated ahead: all the multi-start points in one call), and ``jac``
runs the ``p`` forward-difference points in one call, with the steps scipy's own
``'2-point'`` scheme takes (:func:`forward_steps`), so the fit follows the serial PySD
path to rounding. :func:`fit_starts` runs the starts side by side, so that one engine
call serves every start's next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from sd.engine.engines import ENGINES
from sd.engine.table import ParamTable, step_times
from sd.model.model import TimeSettings

if TYPE_CHECKING:
    from sd.analysis.calibration import Objective


def simulate_many(objective: Objective, points: np.ndarray) -> tuple[dict, np.ndarray]:
    """Run each row of ``points`` in one call of the vectorized engine (``ENGINES``).

    Returns target name -> ``(k, len(obs))`` simulated values at the observation times
    (NaN where the model saves no such time, as ``reindex`` gives on the serial path),
    and which runs failed (a NaN or infinite value, or a run the engine stopped).
    """
    k = len(points)
    final = max(s.index.max() for s in objective.obs.values())
    time = TimeSettings(initial=objective.model.time.initial, final=final)
    free = [p.name for p in objective.free]
    base = {name: v for name, v in objective.params(points[0]).items() if name not in free}
    table = ParamTable(
        n=k,
        times=step_times(time.apply(objective.model.time)),
        base=base,
        constants={name: points[:, j] for j, name in enumerate(free)},
        paths={},
    )
    names = [t.variable for t in objective.spec.targets]
    times, out, _ = ENGINES["vectorized"].run_many(
        objective.model, table, time=time, variables=names, scenario="calibrated"
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
    """``fun`` and ``jac`` callables for least_squares over one ``evaluate(points)``."""

    def __init__(
        self,
        evaluate: Callable[[np.ndarray], np.ndarray],
        lower: np.ndarray,
        upper: np.ndarray,
        rel_step: float,
    ) -> None:
        self.evaluate = evaluate
        self.rel_step = rel_step
        self.lb, self.ub = lower, upper
        self._ahead: dict[bytes, np.ndarray] = {}  # points evaluated before they are asked
        self._last: tuple[bytes, np.ndarray] | None = None

    def given(self, x: np.ndarray, f: np.ndarray) -> None:
        """``f`` is already known at ``x``: ``fun(x)`` returns it without a run."""
        self._ahead[np.asarray(x, dtype=float).tobytes()] = f

    def fun(self, x: np.ndarray) -> np.ndarray:
        key = np.asarray(x, dtype=float).tobytes()
        f = self._ahead.pop(key, None)
        if f is None:
            f = self.evaluate(np.asarray(x, dtype=float)[None, :])[0]
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
            rows = self.evaluate(points)
        else:  # least_squares always asks fun(x) first; kept for any other caller
            rows = self.evaluate(np.vstack([x[None, :], points]))
            f0, rows = rows[0], rows[1:]
        dx = (x + h) - x
        return ((rows - f0[None, :]) / dx[:, None]).T


class _Abort(Exception):
    """Unwinds a start's least_squares when the fit stops (Ctrl-C or an error)."""


def fit_starts(
    objective: Objective, points: np.ndarray, options: dict[str, Any]
) -> tuple[list[tuple[np.ndarray, Any, int]], bool]:
    """Fit from every start point at once, on the vectorized engine.

    The start points are evaluated in one engine call. Then each start's least_squares
    runs in its own thread and, when it needs residuals (a trial point, or the ``p``
    points of a Jacobian), waits; once every unfinished start waits, this thread
    evaluates all their points in one engine call (rows in start order) and hands each
    start its rows. Each start takes exactly the steps it takes alone, so the result is
    that of fitting the starts one after the other. Returns, in start order, ``(start,
    fit, runs)`` of the finished starts and whether the fit was interrupted (Ctrl-C,
    also from ``on_run``): the starts still running are then stopped.
    """
    try:
        first = objective.residuals_many(points)
    except KeyboardInterrupt:
        return [], True
    k = len(points)
    cond = threading.Condition()
    pending: dict[int, np.ndarray] = {}
    answers: dict[int, np.ndarray | BaseException] = {}
    done: set[int] = set()
    fits: dict[int, Any] = {}
    errors: dict[int, BaseException] = {}
    runs = [1] * k  # each start's own point, evaluated above
    aborted = False

    def request(i: int, pts: np.ndarray) -> np.ndarray:
        with cond:
            if aborted:
                raise _Abort
            pending[i] = pts
            cond.notify_all()
            while i not in answers:
                cond.wait()
            answer = answers.pop(i)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def work(i: int) -> None:
        batched = Batched(lambda pts: request(i, pts), objective.lower, objective.upper,
                          options["diff_step"])
        batched.given(points[i], first[i])
        try:
            fits[i] = least_squares(batched.fun, points[i], jac=batched.jac, **options)
        except _Abort:
            pass
        except BaseException as err:  # noqa: BLE001 - re-raised by the coordinating thread
            errors[i] = err
        finally:
            with cond:
                done.add(i)
                cond.notify_all()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(k)]
    for t in threads:
        t.start()
    interrupted = False
    try:
        while True:
            with cond:
                while len(done) < k and len(pending) + len(done) < k:
                    cond.wait(0.05)  # a timeout, so that Ctrl-C reaches this thread
                if len(done) == k:
                    break
                batch = sorted(pending.items())
                pending.clear()
            rows = objective.residuals_many(np.vstack([pts for _, pts in batch]))
            at = 0
            with cond:
                for i, pts in batch:
                    answers[i] = rows[at:at + len(pts)]
                    runs[i] += len(pts)
                    at += len(pts)
                cond.notify_all()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        with cond:
            aborted = True
            for i in pending:
                answers[i] = _Abort()
            pending.clear()
            for i in range(k):
                if i not in done and i not in answers:
                    answers[i] = _Abort()
            cond.notify_all()
        for t in threads:
            t.join()
    if errors:
        raise errors[min(errors)]
    return [(points[i], fits[i], runs[i]) for i in range(k) if i in fits], interrupted
