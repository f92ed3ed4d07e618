"""Check parameter overrides of a run: numbers or time series, for settable variables."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sd.errors import ParameterError
from sd.model.model import SETTABLE, Model

Override = float | pd.Series


def check_params(model: Model, params: Mapping[str, Any] | None) -> dict[str, Override]:
    """Resolve names to the model's Vensim names and validate every value."""
    checked: dict[str, Override] = {}
    for raw_name, value in (params or {}).items():
        name = model.resolve(raw_name)
        var = model.variables[name]
        if var.kind not in SETTABLE:
            raise ParameterError(
                f"'{name}' is a {var.kind} computed by an equation in {model.path.name} "
                f"(line {var.line}); only constants, lookups and data variables can be set. "
                "Set one of the constants it depends on instead."
            )
        checked[name] = _check_value(name, value)
    return checked


def _check_value(name: str, value: Any) -> Override:
    if isinstance(value, pd.Series):
        if value.empty:
            raise ParameterError(f"the time series given for '{name}' is empty.")
        try:
            index = value.index.astype("float64")
            values = value.astype("float64")
        except (TypeError, ValueError):
            raise ParameterError(
                f"the time series given for '{name}' must have numeric times and values."
            ) from None
        if not (np.isfinite(index).all() and np.isfinite(values).all()):
            raise ParameterError(f"the time series given for '{name}' has NaN or infinite values.")
        if not index.is_monotonic_increasing or index.has_duplicates:
            raise ParameterError(f"the times of the series given for '{name}' must increase.")
        return pd.Series(values.to_numpy(), index=index.to_numpy(), name=name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"the value given for '{name}' is not a number: {value!r}. "
            "Give a number (e.g. 0.25) or a pandas Series over time."
        )
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(f"the value given for '{name}' must be finite, not {value}.")
    return value


def _describe(value: Override) -> Any:
    if isinstance(value, pd.Series):
        return (
            f"time series ({len(value)} points, {value.index[0]:g}-{value.index[-1]:g}, "
            f"{value.iloc[0]:g} to {value.iloc[-1]:g})"
        )
    return value
