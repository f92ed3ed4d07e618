"""Evaluate PySD lookups and data series with numpy instead of xarray.

PySD 3.14 evaluates every lookup call (``table(x)``) and every data variable
(``GET DIRECT DATA``, time-series inputs from files) through
``xarray.DataArray.interp`` / ``sel``: about 1-2 ms a call, which dominates the run
time of real models. :func:`accelerate` swaps the class of each one-dimensional
lookup and data object of a loaded PySD model for a subclass whose ``__call__``
does the same arithmetic on cached numpy arrays:

* a point of the table returns its y exactly;
* between points, linear interpolation (``numpy.interp``), or the previous point
  for ``hold_backward`` and the next one for ``look_forward``; ``raw`` data give NaN
  between points;
* outside the table, the end value is held (Vensim), or extended along the last
  segment for XMILE's ``extrapolate``.

Subscripted (multi-dimensional) objects, array arguments and lookups replaced by
a constant keep PySD's own code. PySD warns at every call outside the table; the
fast path counts those calls instead (``outside_range``), for model checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from pysd.py_backend.data import Data
from pysd.py_backend.lookups import Lookups

__all__ = ["accelerate", "outside_range"]


def _arrays(obj: Any, dim: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) float arrays of a 1-D object, rebuilt whenever ``obj.data`` is replaced."""
    data = obj.data
    cached = obj.__dict__.get("_sd_arrays")
    if cached is not None and cached[0] is data:
        return cached[1]
    arrays = None
    if isinstance(data, xr.DataArray) and data.dims == (dim,):
        arrays = (
            np.asarray(data[dim].values, dtype=float),
            np.asarray(data.values, dtype=float),
        )
    obj.__dict__["_sd_arrays"] = (data, arrays)
    obj.__dict__.setdefault("_sd_outside", [0, 0])
    return arrays


class FastLookupMixin:
    """numpy ``__call__`` for 1-D :class:`pysd.py_backend.lookups.Lookups`."""

    def __call__(self, x, final_subs=None):  # noqa: ANN001 - PySD's signature
        arrays = _arrays(self, "lookup_dim") if self.is_float else None
        if arrays is None or isinstance(x, xr.DataArray):
            return super().__call__(x, final_subs)
        xp, fp = arrays
        x = float(x)
        if x > xp[-1]:
            self._sd_outside[1] += 1
            if self.interp == "extrapolate":
                k = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
                return float(fp[-1] + k * (x - xp[-1]))
            return float(fp[-1])
        if x < xp[0]:
            self._sd_outside[0] += 1
            if self.interp == "extrapolate":
                k = (fp[1] - fp[0]) / (xp[1] - xp[0])
                return float(fp[0] + k * (x - xp[0]))
            return float(fp[0])
        if self.interp == "hold_backward":
            return float(fp[np.searchsorted(xp, x, side="right") - 1])
        return float(np.interp(x, xp, fp))


class FastDataMixin:
    """numpy ``__call__`` for 1-D :class:`pysd.py_backend.data.Data` (time series)."""

    def __call__(self, time):  # noqa: ANN001 - PySD's signature
        arrays = _arrays(self, "time") if getattr(self, "is_float", False) else None
        if arrays is None:
            return super().__call__(time)
        tp, fp = arrays
        t = float(time)
        i = int(np.searchsorted(tp, t, side="left"))
        if i < len(tp) and tp[i] == t:
            return float(fp[i])
        if self.interp == "raw":
            return self.nan
        if t > tp[-1]:
            self._sd_outside[1] += 1
            return float(fp[-1])
        if t < tp[0]:
            self._sd_outside[0] += 1
            return float(fp[0])
        if self.interp == "interpolate":
            return float(np.interp(t, tp, fp))
        if self.interp == "look_forward":
            return float(fp[i])
        return float(fp[i - 1])  # hold_backward


_FAST_CLASSES: dict[type, type] = {}


def _fast_class(cls: type) -> type | None:
    if cls in _FAST_CLASSES.values():
        return None  # already fast
    if cls not in _FAST_CLASSES:
        if issubclass(cls, Lookups):
            mixin: type = FastLookupMixin
        elif issubclass(cls, Data):
            mixin = FastDataMixin
        else:
            return None
        _FAST_CLASSES[cls] = type(f"Fast{cls.__name__}", (mixin, cls), {})
    return _FAST_CLASSES[cls]


def accelerate(pysd_model: Any) -> int:
    """Switch every lookup and data object of a loaded PySD model to the numpy path.

    Returns how many objects were switched. Safe to call more than once.
    """
    module = pysd_model.components._components
    count = 0
    for value in list(vars(module).values()):
        if isinstance(value, Lookups | Data):
            fast = _fast_class(type(value))
            if fast is not None:
                value.__class__ = fast
                count += 1
    return count


def outside_range(pysd_model: Any) -> dict[str, tuple[int, int]]:
    """Calls below/above each lookup's or data series' range since the model was loaded."""
    module = pysd_model.components._components
    out = {}
    for value in vars(module).values():
        counts = getattr(value, "__dict__", {}).get("_sd_outside")
        if counts and (counts[0] or counts[1]):
            out[value.py_name] = (counts[0], counts[1])
    return out
