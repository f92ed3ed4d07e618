"""Evaluate PySD lookups and data series with numpy instead of xarray.

PySD 3.14 evaluates every lookup call (``table(x)``) and every data variable
(``GET DIRECT DATA``, time-series inputs from files) through
``xarray.DataArray.interp`` / ``sel``: about 1-2 ms a call, which dominates the run
time of real models. :func:`accelerate` swaps the class of each one-dimensional
lookup and data object of a loaded PySD model for a subclass whose ``__call__``
does the same arithmetic on cached lists of floats, with the rules of
:mod:`sd.engine.interpolation` (a point gives its y, ``numpy.interp``'s formula between
points or the previous/next point by keyword, ends held or XMILE's ``extrapolate``).

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

from sd.engine.interpolation import AT, NAN, data_case, lookup_value1, segment1

__all__ = ["accelerate", "outside_range"]


def _arrays(obj: Any, dim: str) -> tuple[list[float], list[float]] | None:
    """(x, y) lists of floats of a 1-D object, rebuilt whenever ``obj.data`` is replaced."""
    data = obj.data
    cached = obj.__dict__.get("_sd_arrays")
    if cached is not None and cached[0] is data:
        return cached[1]
    arrays = None
    if isinstance(data, xr.DataArray) and data.dims == (dim,):
        arrays = (
            np.asarray(data[dim].values, dtype=float).tolist(),
            np.asarray(data.values, dtype=float).tolist(),
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
        elif x < xp[0]:
            self._sd_outside[0] += 1
        return float(lookup_value1(x, xp, fp, self.interp))


class FastDataMixin:
    """numpy ``__call__`` for 1-D :class:`pysd.py_backend.data.Data` (time series)."""

    def __call__(self, time):  # noqa: ANN001 - PySD's signature
        arrays = _arrays(self, "time") if getattr(self, "is_float", False) else None
        if arrays is None:
            return super().__call__(time)
        tp, fp = arrays
        t = float(time)
        case, i = data_case(t, tp, self.interp)
        if case == NAN:
            return self.nan
        if case == AT:
            if t > tp[-1]:
                self._sd_outside[1] += 1
            elif t < tp[0]:
                self._sd_outside[0] += 1
            return fp[i]
        return segment1(t, tp, fp, i - 1)


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
