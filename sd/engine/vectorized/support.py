"""Runtime helpers of the vectorized engine (see :mod:`sd.engine.vectorized.core`).

The generated simulation code calls these functions on float64 scalars or arrays
of shape ``(n,)`` (one value per run). Each one reproduces, element by element,
the formula PySD 3.14 applies to a single float in ``pysd.py_backend.functions``,
``lookups``, ``data`` and ``statefuls``, so that run ``i`` of the vectorized
engine gives what PySD gives for parameter set ``i``. Lookups and data series are
:mod:`sd.engine.interpolation`'s, shared with the other engines.
"""

from __future__ import annotations

import numpy as np

from sd.engine.interpolation import data, data_rows, hold, hold_rows, interp, interp_rows
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


# lookups and data: sd.engine.interpolation (hold, interp, interp_rows, hold_rows, data,
# data_rows), the rules every engine shares


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
