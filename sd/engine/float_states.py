"""Keep every PySD state in floating point, as Vensim does.

PySD 3.14 stores the state of a stateful object in whatever type its initial value
has: ``SMOOTHI(x, 2, 1)``, ``SMOOTH N(x, 2, 1, 3)``, ``DELAY3I(x, 2, 1)`` or a SMOOTH
initialised by ``ACTIVE INITIAL(..., 1)`` or by a constant written ``1`` start from
``np.array([1] * order)``, an int64 array, into which the first Euler step writes the
input truncated (``SMOOTHI(10.5, 2, 1)`` moves to 5.5 instead of 5.75). Vensim computes
in floating point throughout. :func:`patch` wraps the initial-value function of every
stateful object of a PySD model so that it returns floats.

It also replaces the model's Euler step by the same formula taken state by state: PySD
stacks all states into one numpy object array, which fails ("could not broadcast")
when two states have shapes like (3,) and (3, 2), e.g. a DELAY3 and a subscripted DELAY3
in the same model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: attributes of PySD's stateful objects that produce an initial state
_INIT_ATTRS = ("init_func",)


def as_float(value: Any) -> Any:
    """``value`` with integer or boolean numbers made float64 (arrays and DataArrays too)."""
    if isinstance(value, bool | int | np.integer | np.bool_):
        return float(value)
    dtype = getattr(value, "dtype", None)
    if dtype is not None and (np.issubdtype(dtype, np.integer) or dtype == np.bool_):
        return value.astype(np.float64)
    return value


def patch(pysd_model: Any) -> None:
    """Make every stateful object of ``pysd_model`` start from a float state."""
    for element in pysd_model._stateful_elements.values():
        for attr in _INIT_ATTRS:
            func = getattr(element, attr, None)
            if callable(func) and not getattr(func, "_sd_float", False):
                setattr(element, attr, _floating(func))
    pysd_model._euler_step = _euler_step(pysd_model)  # state by state (see above)


def _euler_step(pysd_model: Any) -> Any:
    def step(dt: float) -> None:
        elements = pysd_model._dynamicstateful_elements
        rates = [element.ddt() for element in elements]  # every rate before any update
        new = [element.state + rate * dt for element, rate in zip(elements, rates, strict=True)]
        for element, value in zip(elements, new, strict=True):
            element.update(value)

    return step


def _floating(func: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return as_float(func(*args, **kwargs))

    wrapped._sd_float = True  # type: ignore[attr-defined]
    return wrapped
