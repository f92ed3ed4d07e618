"""Runtime helpers of the vectorized engine (see :mod:`sd.engine.vectorized.core`).

The generated simulation code calls these functions on float64 scalars or arrays
of shape ``(n,)`` (one value per run). Each one reproduces, element by element,
the formula PySD 3.14 applies to a single float in ``pysd.py_backend.functions``,
``lookups``, ``data`` and ``statefuls``, so that run ``i`` of the vectorized
engine gives what PySD gives for parameter set ``i``.
"""

from __future__ import annotations

import numpy as np

from sd.errors import SDError

#: what Vensim (and PySD) consider zero
SMALL = 1e-6


class Unsupported(SDError):
    """The model uses a construct the vectorized engine cannot run: fall back to PySD."""

    def __init__(self, construct: str, where: str = "") -> None:
        self.construct = construct
        self.where = where
        at = f" (in '{where}')" if where else ""
        super().__init__(f"vectorized engine: {construct} is not supported{at}")


# -- state helpers ----------------------------------------------------------------------------


def col(x: object, n: int | tuple[int, ...]) -> np.ndarray:
    """A fresh float64 array of shape (n,) (or ``n`` itself, subscripted) holding ``x``."""
    shape = n if isinstance(n, tuple) else (n,)
    return np.array(np.broadcast_to(np.asarray(x, dtype=np.float64), shape), dtype=np.float64)


def rows(x: object, k: int, n: int | tuple[int, ...]) -> np.ndarray:
    """A fresh (k, n) array whose rows all hold ``x`` (PySD's ``np.array([x] * k)``)."""
    out = np.empty((k, *(n if isinstance(n, tuple) else (n,))), dtype=np.float64)
    out[:] = np.asarray(x, dtype=np.float64)
    return out


def _per_run(x: object, n: int, how: str = "first") -> np.ndarray:
    """A per-run value (n,) from a scalar, (n,) or subscripted (n or 1, ...) value."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim > 1:
        flat = a.reshape(a.shape[0], -1)
        a = flat.min(axis=1) if how == "min" else flat[:, 0]
    return np.broadcast_to(a, (n,))


def delay_order(order: object, delay_time: object, dt: float, n: int | tuple) -> tuple:
    """Per-run order of a DELAY: ``int(order)`` lowered while ``order*dt > delay_time``.

    DELAY N lowers its order so (Vensim and PySD); DELAY1 and DELAY3 keep theirs, as in
    Vensim (sd.engine.vensim_functions): their code passes ``dt = 0``.
    Returns (order as float array (n,), output index or None, rows, failed runs).
    PySD cannot run a delay whose order falls to 0 or below: those runs fail. Over
    subscripts, PySD lowers the order while it exceeds the smallest delay time.
    """
    n, extra = (n[0], len(n) - 1) if isinstance(n, tuple) else (n, 0)
    k = np.trunc(_per_run(order, n)).copy()
    dtime = _per_run(delay_time, n, "min")
    while True:
        lower = (k * dt > dtime) & (k > 0)
        if not lower.any():
            break
        k[lower] -= 1
    failed = ~(k >= 1)
    k[failed] = 1
    return _select(k, n, extra) + (failed,)


def smooth_order(order: object, n: int | tuple) -> tuple:
    """Per-run order of SMOOTH N (PySD uses the value as given). Same tuple as delay_order."""
    n, extra = (n[0], len(n) - 1) if isinstance(n, tuple) else (n, 0)
    k = _per_run(order, n).copy()
    failed = ~((k >= 1) & (k == np.trunc(k)))
    k[failed] = 1
    return _select(k, n, extra) + (failed,)


def _select(k: np.ndarray, n: int, extra: int = 0) -> tuple:
    rows_ = int(k.max())
    if (k == rows_).all():
        return float(rows_), None, rows_
    sel = (k.astype(np.intp) - 1, np.arange(n))
    return k.reshape((n,) + (1,) * extra), sel, rows_


def fixed_order(delay_time: object, dt: float, n: int | tuple) -> tuple:
    """DELAY FIXED pipe length per run: ``round(max(delay_time / dt, 1) + 1e-6)``."""
    n = n[0] if isinstance(n, tuple) else n
    ratio = _per_run(np.asarray(delay_time, dtype=np.float64) / dt, n)
    raw = np.round(np.where(1 > ratio, 1.0, ratio) + SMALL)  # Python's max(ratio, 1)
    failed = ~np.isfinite(raw)
    k = np.where(failed, 1, raw).astype(np.intp)
    return k, int(k.max()), failed


# -- Vensim functions (pysd.py_backend.functions) ----------------------------------------------


def step(t: float, dt: float, value: object, tstep: object) -> object:
    return value * (t + dt / 2 > tstep)


def ramp(t: float, slope: object, start: object, finish: object) -> object:
    return (t + SMALL > start) * slope * (np.minimum(finish, t) - start)


def pulse(t: float, start: object, width: object) -> object:
    return np.where((start - SMALL <= t) & (t < start + width), 1.0, 0.0)


def pulse_train(t: float, start: object, repeat: object, width: object, end: object) -> object:
    single = (start - SMALL <= t) & (t < start + width)
    # Vensim's train includes its end time (sd.engine.vensim_functions)
    train = (start <= t) & (t <= end) & (np.mod(t - start + SMALL, repeat) < width)
    return np.where(repeat == 0, single, train) * 1.0


def xidz(num: object, den: object, x: object) -> object:
    return np.where(np.abs(den) < SMALL, x, num / den)


def zidz(num: object, den: object) -> object:
    return np.where(np.abs(den) < SMALL, 0.0, num / den)


def quantum(a: object, b: object) -> object:
    return np.where(b < SMALL, a, b * np.trunc(a / b))


def modulo(x: object, m: object) -> object:
    return x - quantum(x, m)


# -- lookups and data (sd.engine.lookups' numpy path, itself equal to PySD's) ------------------


def hold(x: object, xp: np.ndarray, fp: np.ndarray) -> object:
    """Lookup with ``hold_backward``: the y of the last point at or before x, ends held."""
    i = np.searchsorted(xp, x, side="right") - 1
    return fp[np.clip(i, 0, len(xp) - 1)]


try:  # what np.interp calls for float tables, without its Python wrapper (~2 us a call)
    from numpy._core._multiarray_umath import interp
except ImportError:  # another numpy layout: the public function, same numbers
    interp = np.interp


def interp_rows(x: object, xp: np.ndarray, fp: np.ndarray, ar: np.ndarray) -> np.ndarray:
    """``np.interp(x[i], xp, fp[i])`` for every run i, with numpy's exact arithmetic."""
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), ar.shape)
    m = len(xp)
    if m == 1:
        return np.where(np.isnan(x), np.nan, fp[:, 0])
    j = np.searchsorted(xp, x, side="right") - 1
    jc = np.clip(j, 0, m - 2)
    x0, x1 = xp[jc], xp[jc + 1]
    y0, y1 = fp[ar, jc], fp[ar, jc + 1]
    slope = (y1 - y0) / (x1 - x0)
    res = slope * (x - x0) + y0
    nan = np.isnan(res)
    if nan.any():
        res = np.where(nan, slope * (x - x1) + y1, res)
        res = np.where(np.isnan(res) & (y0 == y1), y0, res)
    res = np.where(x == x0, y0, res)
    res = np.where(j < 0, fp[:, 0], res)
    res = np.where(j >= m - 1, fp[:, -1], res)
    return np.where(np.isnan(x), np.nan, res)


def hold_rows(x: object, xp: np.ndarray, fp: np.ndarray, ar: np.ndarray) -> np.ndarray:
    """``hold`` with one table per run (rows of ``fp``)."""
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), ar.shape)
    i = np.searchsorted(xp, x, side="right") - 1
    return fp[ar, np.clip(i, 0, len(xp) - 1)]


def data(t: float, tp: np.ndarray, fp: np.ndarray, mode: str) -> object:
    """A data series at time t (shared by all runs): PySD's Data.__call__ on floats."""
    i = int(np.searchsorted(tp, t, side="left"))
    if i < len(tp) and tp[i] == t:
        return fp[i]
    if mode == "raw":
        return np.float64(np.nan)
    if t > tp[-1]:
        return fp[-1]
    if t < tp[0]:
        return fp[0]
    if mode == "interpolate":
        return interp(t, tp, fp)
    if mode == "look_forward":
        return fp[i]
    return fp[i - 1]


def data_rows(t: float, tp: np.ndarray, fp: np.ndarray, mode: str, ar: np.ndarray) -> object:
    """``data`` with one series per run (rows of ``fp``, common times ``tp``)."""
    i = int(np.searchsorted(tp, t, side="left"))
    if i < len(tp) and tp[i] == t:
        return fp[:, i]
    if mode == "raw":
        return np.full(ar.shape, np.nan)
    if t > tp[-1]:
        return fp[:, -1]
    if t < tp[0]:
        return fp[:, 0]
    if mode == "interpolate":
        return interp_rows(t, tp, fp, ar)
    if mode == "look_forward":
        return fp[:, i]
    return fp[:, i - 1]


#: names the generated code can use
NAMESPACE = {
    "np": np,
    "_col": col,
    "_rows": rows,
    "_delay_order": delay_order,
    "_smooth_order": smooth_order,
    "_fixed_order": fixed_order,
    "_step": step,
    "_ramp": ramp,
    "_pulse": pulse,
    "_pulse_train": pulse_train,
    "_xidz": xidz,
    "_zidz": zidz,
    "_quantum": quantum,
    "_modulo": modulo,
    "_hold": hold,
    "_interp": interp,
    "_interp_rows": interp_rows,
    "_hold_rows": hold_rows,
    "_data": data,
    "_data_rows": data_rows,
}
