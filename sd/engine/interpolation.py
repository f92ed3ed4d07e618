"""Lookups and data series: the one definition of their arithmetic for every engine.

The rules (Vensim's, as PySD 3.14 applies them, with numpy's arithmetic):

* **segment**: the point of a table at or before x is ``j = bisect_right(xp, x) - 1``
  (``searchsorted(..., side="right") - 1`` on arrays); ``j = -1`` before the first point;
* **a point** of the table gives its y exactly;
* **between points** (``interpolate``), numpy's compiled formula
  (``npy_interp`` in numpy/_core/src/multiarray/compiled_base.c):
  ``slope = (y1 - y0) / (x1 - x0)``, ``slope * (x - x0) + y0``; when that is NaN,
  ``slope * (x - x1) + y1``, and when that is NaN too on a flat segment, ``y0``;
  a NaN x gives NaN, except on a table of one point, which gives its y;
* **outside** the table the end value is held; XMILE's ``extrapolate`` extends the
  first or last segment instead (:func:`extrapolate1`);
* ``hold_backward`` takes the y of point ``j`` (ends held);
* **data series** by time (:func:`data_case`): a time of the series gives its value; ``raw``
  gives NaN between and outside the times; outside, the end value is held; between times,
  ``interpolate`` is the formula above, ``look_forward`` the next value, ``hold_backward``
  the previous one.

Each rule comes in the shapes the engines call: Python floats on lists (the one-run
scalar code of :mod:`sd.engine.vectorized.scalar` and the PySD fast path of
:mod:`sd.engine.lookups`; written out step by step for speed, ``*1`` names), one table
shared by all runs (``interp``, ``hold``, ``data``), one table per run (``*_rows``:
``fp`` of shape ``(n, points)``), and subscripted tables (``*_cells``: ``fp`` of shape
``(points, *cells)``). ``tests/test_interpolation.py`` checks that every shape gives
``numpy.interp``'s numbers bit for bit.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "AT", "BETWEEN", "DATA_MODES", "NAN", "data", "data1", "data_case", "data_cells",
    "data_rows", "extrapolate1", "hold", "hold1", "hold_rows", "interp", "interp1",
    "interp_cells", "interp_rows", "linear", "linear1", "segment1", "lookup1", "lookup_value1",
]  # fmt: skip

#: the interpolation keywords of a data series (PySD's ``Data.interp``)
DATA_MODES = ("interpolate", "raw", "look_forward", "hold_backward")

try:  # what np.interp calls for float tables, without its Python wrapper (~2 us a call)
    from numpy._core._multiarray_umath import interp
except ImportError:  # another numpy layout: the public function, same numbers
    interp = np.interp

_right = bisect.bisect_right

# -- the formula between two points ------------------------------------------------------------


def linear1(x: Any, x0: Any, x1: Any, y0: Any, y1: Any, slope: Any) -> Any:
    """numpy's value at ``x0 < x < x1`` on one segment, for floats (``slope`` its quotient)."""
    res = slope * (x - x0) + y0
    if res != res:  # noqa: PLR0124 - numpy tries the other end, then a flat segment
        res = slope * (x - x1) + y1
        if res != res and y0 == y1:  # noqa: PLR0124
            res = y0
    return res


def segment1(x: Any, xp: Sequence[float], fp: Sequence[float], j: int) -> Any:
    """:func:`linear1` on segment j of a table (``xp[j] < x < xp[j + 1]``), its slope
    the quotient numpy computes."""
    x0, x1, y0, y1 = xp[j], xp[j + 1], fp[j], fp[j + 1]
    return linear1(x, x0, x1, y0, y1, (y1 - y0) / (x1 - x0))


def linear(x: Any, x0: Any, x1: Any, y0: Any, y1: Any) -> np.ndarray:
    """:func:`linear1` element by element on arrays (broadcast together)."""
    slope = (y1 - y0) / (x1 - x0)
    res = slope * (x - x0) + y0
    nan = np.isnan(res)
    if nan.any():
        res = np.where(nan, slope * (x - x1) + y1, res)
        res = np.where(np.isnan(res) & (y0 == y1), y0, res)
    return res


# -- lookups on floats (lists) -------------------------------------------------------------------


def interp1(x: Any, xp: Sequence[float], fp: Sequence[float]) -> Any:
    """``np.interp(x, xp, fp)`` for one float x (numpy's compiled code, step by step)."""
    m = len(xp)
    if m == 1:
        return fp[0]
    if x != x:  # noqa: PLR0124 - NaN test
        return x
    if x < xp[0]:
        return fp[0]
    if x > xp[-1]:
        return fp[-1]
    j = _right(xp, x) - 1
    if j >= m - 1 or xp[j] == x:
        return fp[j]
    return segment1(x, xp, fp, j)


def lookup1(xp: list[float], fp: list[float]) -> Callable[[Any], Any]:
    """:func:`interp1` of one table as a function of x, its slopes computed once (the
    same quotient numpy computes for the segment it uses). The hot path of one run: the
    first line of :func:`linear1` is written out here, the rest is :func:`interp1`'s."""
    m = len(xp)
    if m == 1:
        only = fp[0]
        return lambda x: only
    first, last, f_first, f_last = xp[0], xp[-1], fp[0], fp[-1]
    with np.errstate(all="ignore"):  # numpy's quotient: never ZeroDivisionError
        slopes = (np.diff(np.asarray(fp)) / np.diff(np.asarray(xp))).tolist()
    right = _right

    def lookup(x: Any) -> Any:
        if x < first:
            return f_first
        if x >= last:
            return f_last
        if x != x:  # noqa: PLR0124 - NaN
            return x
        j = right(xp, x) - 1
        x0 = xp[j]
        if x == x0:
            return fp[j]
        res = slopes[j] * (x - x0) + fp[j]
        if res != res:  # noqa: PLR0124 - numpy's other end, then a flat segment
            return interp1(x, xp, fp)
        return res

    return lookup


def hold1(x: Any, xp: Sequence[float], fp: Sequence[float]) -> Any:
    """Lookup with ``hold_backward``: the y of the last point at or before x, ends held."""
    return fp[min(max(_right(xp, x) - 1, 0), len(xp) - 1)]


def extrapolate1(x: Any, xp: Sequence[float], fp: Sequence[float]) -> Any:
    """XMILE's ``extrapolate``: outside the table, along its first or last segment.

    The end segment is computed in numpy floats, as numpy would: two equal end points give
    inf or NaN (with numpy's warning), not a ZeroDivisionError."""
    if x > xp[-1]:
        (x0, x1), (y0, y1) = np.asarray(xp[-2:], np.float64), np.asarray(fp[-2:], np.float64)
        return y1 + (y1 - y0) / (x1 - x0) * (x - x1)
    if x < xp[0]:
        (x0, x1), (y0, y1) = np.asarray(xp[:2], np.float64), np.asarray(fp[:2], np.float64)
        return y0 + (y1 - y0) / (x1 - x0) * (x - x0)
    return interp1(x, xp, fp)


def lookup_value1(x: Any, xp: Sequence[float], fp: Sequence[float], mode: str) -> Any:
    """A 1-D lookup at one float x with PySD's interpolation keyword ``mode``."""
    if mode == "extrapolate":
        return extrapolate1(x, xp, fp)
    if mode == "hold_backward":
        return hold1(x, xp, fp)
    return interp1(x, xp, fp)


# -- lookups on arrays ---------------------------------------------------------------------------


def _interp_at(x: np.ndarray, xp: np.ndarray, y_at: Callable[[np.ndarray], np.ndarray]) -> Any:
    """``np.interp`` element by element, where ``y_at(j)`` is the table's y at the point
    indices ``j`` (an array shaped like x) for every element: the rows and cells forms."""
    m = len(xp)
    if m == 1:  # numpy: one point gives its y, even at NaN
        return np.broadcast_to(y_at(np.zeros(x.shape, dtype=np.intp)), x.shape).copy()
    j = np.searchsorted(xp, x, side="right") - 1
    jc = np.clip(j, 0, m - 2)
    x0, x1 = xp[jc], xp[jc + 1]
    y0, y1 = y_at(jc), y_at(jc + 1)
    res = linear(x, x0, x1, y0, y1)
    res = np.where(x == x0, y0, res)
    res = np.where(j < 0, y_at(np.zeros_like(j)), res)
    res = np.where(j >= m - 1, y_at(np.full_like(j, m - 1)), res)
    return np.where(np.isnan(x), np.nan, res)


def hold(x: Any, xp: np.ndarray, fp: np.ndarray) -> Any:
    """:func:`hold1` on arrays, one table for all runs."""
    i = np.searchsorted(xp, x, side="right") - 1
    return fp[np.clip(i, 0, len(xp) - 1)]


def interp_rows(x: Any, xp: np.ndarray, fp: np.ndarray, ar: np.ndarray) -> np.ndarray:
    """``np.interp(x[i], xp, fp[i])`` for every run i (``ar = arange(n)``)."""
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), ar.shape)
    return _interp_at(x, xp, lambda j: fp[ar, j])


def hold_rows(x: Any, xp: np.ndarray, fp: np.ndarray, ar: np.ndarray) -> np.ndarray:
    """:func:`hold` with one table per run (rows of ``fp``)."""
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), ar.shape)
    i = np.searchsorted(xp, x, side="right") - 1
    return fp[ar, np.clip(i, 0, len(xp) - 1)]


def interp_cells(x: Any, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Subscripted lookup: ``np.interp(x, xp, fp[:, cell])`` cell by cell.

    ``fp`` has the points on axis 0 and the aligned axes after it; ``x`` has the run axis
    first, then (some of) the aligned axes. The result has shape ``(runs, *cells)``.
    """
    x = np.asarray(x, dtype=np.float64)
    nd = fp.ndim  # 1 + aligned axes: the run axis of x matches the points axis of fp
    if x.ndim < nd:
        x = x.reshape((1,) * (nd - x.ndim) + x.shape)
    shape = np.broadcast_shapes(x.shape, (1, *fp.shape[1:]))
    xb = np.broadcast_to(x, shape)
    tab = np.broadcast_to(fp, (fp.shape[0], *shape[1:]))
    cells = tuple(np.indices(shape[1:]))
    return _interp_at(xb, xp, lambda j: tab[(j, *cells)])


# -- data series -----------------------------------------------------------------------------

#: :func:`data_case`: take the value at index i / NaN / interpolate between i - 1 and i
AT, NAN, BETWEEN = 0, 1, 2


def data_case(t: float, tp: Sequence[float], mode: str) -> tuple[int, int]:
    """What a data series with times ``tp`` and keyword ``mode`` gives at time t.

    ``(AT, i)``: its value at index i; ``(NAN, i)``: NaN (``raw`` off its times);
    ``(BETWEEN, i)``: the linear formula between times ``i - 1`` and ``i``.
    """
    i = bisect.bisect_left(tp, t)
    if i < len(tp) and tp[i] == t:
        return AT, i
    if mode == "raw":
        return NAN, i
    if t > tp[-1]:
        return AT, len(tp) - 1
    if t < tp[0]:
        return AT, 0
    if mode == "interpolate":
        return BETWEEN, i
    if mode == "look_forward":
        return AT, i
    return AT, i - 1  # hold_backward


def data1(t: float, tp: Sequence[float], fp: Sequence[float], mode: str) -> Any:
    """A data series at time t, on floats (lists)."""
    case, i = data_case(t, tp, mode)
    if case == AT:
        return fp[i]
    if case == NAN:
        return float("nan")
    return segment1(t, tp, fp, i - 1)


def data(t: float, tp: np.ndarray, fp: np.ndarray, mode: str) -> Any:
    """A data series at time t shared by all runs (numpy float64)."""
    case, i = data_case(t, tp, mode)
    if case == AT:
        return fp[i]
    if case == NAN:
        return np.float64(np.nan)
    return segment1(np.float64(t), tp, fp, i - 1)  # numpy floats: numpy's arithmetic


def data_rows(t: float, tp: np.ndarray, fp: np.ndarray, mode: str, ar: np.ndarray) -> Any:
    """:func:`data` with one series per run (rows of ``fp``, common times ``tp``)."""
    case, i = data_case(t, tp, mode)
    if case == AT:
        return fp[:, i]
    if case == NAN:
        return np.full(ar.shape, np.nan)
    return linear(np.float64(t), tp[i - 1], tp[i], fp[:, i - 1], fp[:, i])


def data_cells(t: float, tp: np.ndarray, fp: np.ndarray, mode: str) -> np.ndarray:
    """A subscripted data variable at time t (``fp``: times on axis 0), shape (1, *cells)."""
    case, i = data_case(t, tp, mode)
    if case == AT:
        out = fp[i]
    elif case == NAN:
        out = np.full(fp.shape[1:], np.nan)
    else:
        out = linear(np.float64(t), tp[i - 1], tp[i], fp[i - 1], fp[i])
    return out[None]
