"""Reading the toolkit's TOML files (studies, calibrations, uncertainties) safely.

TOML is read with :mod:`tomllib` and never evaluated. Helpers here check tables,
keys and numbers and raise :class:`SpecError` naming the file and the key, with
suggestions for misspelt keys. :class:`SeriesSpec` points at recorded data in a CSV
file (wide, or long with row filters).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sd.errors import SDError, suggest
from sd.model.datafiles import read_series


class SpecError(SDError):
    """A study, calibration or uncertainty file is malformed or does not fit its model."""


def read_toml(path: Path, what: str = "study") -> dict[str, Any]:
    if not path.is_file():
        raise SpecError(f"{path}: no such {what} file.")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: TOML syntax error: {err}. Fix the file and run again.") from None


def table(path: Path, raw: Mapping[str, Any], key: str, required: bool = True) -> dict:
    value = raw.get(key)
    if value is None:
        if required:
            raise SpecError(f"{path}: the [{key}] table is missing.")
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{path}: '{key}' must be a table ([{key}]), not {type(value).__name__}.")
    return value


def keys(path: Path, tbl: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = set(allowed)
    for key in tbl:
        if key not in allowed:
            raise SpecError(
                f"{path}: unknown key {key!r} in {where}."
                + suggest(key, allowed)
                + f" Allowed: {', '.join(sorted(allowed))}."
            )


def as_list(path: Path, value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise SpecError(f'{path}: {where} must be a list, e.g. ["A", "B"].')
    return value


def strings(path: Path, value: Any, where: str) -> list[str]:
    """A list of strings (names, file names)."""
    items = as_list(path, value, where)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise SpecError(f'{path}: {where}: {item!r} is not a name; write strings, e.g. ["A"].')
    return items


def number(path: Path, tbl: Mapping[str, Any], key: str, where: str) -> float | None:
    value = tbl.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{path}: {where} {key} = {value!r} is not a number.")
    return float(value)


def span(path: Path, value: Any, where: str) -> tuple[float, float] | None:
    """A ``[start, end]`` pair of numbers with start <= end."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise SpecError(f"{path}: {where} must be [start, end], e.g. [2000, 2023].")
    lo, hi = float(value[0]), float(value[1])
    if lo > hi:
        raise SpecError(f"{path}: {where} = [{lo:g}, {hi:g}] has start after end.")
    return (lo, hi)


@dataclass(frozen=True)
class SeriesSpec:
    """Where the recorded values of one model variable are.

    ``column`` holds the values, ``time_column`` the times; ``where`` keeps only rows
    whose columns equal the given values (for long files); ``scale`` converts the
    file's units into the model's (e.g. 1e-6 for tonnes -> Mt).
    """

    variable: str
    file: Path
    column: str
    time_column: str = "year"
    scale: float = 1.0
    where: Mapping[str, str] = field(default_factory=dict)
    label: str = ""

    def load(self) -> pd.Series:
        """The recorded values indexed by time, scaled into the model's units."""

        data = read_series(
            self.file, self.time_column, self.column, where=dict(self.where), context=self.variable
        )
        return (data * self.scale).rename(self.variable)


SERIES_KEYS = {"file", "column", "time_column", "scale", "where", "label"}


def series_spec(
    path: Path, name: str, spec: Any, where: str, extra: Iterable[str] = ()
) -> SeriesSpec:
    """Read and check a ``{file, column, ...}`` table of a spec file."""
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: {where} must be a table with file and column.")
    keys(path, spec, SERIES_KEYS | set(extra), where)
    for key in ("file", "column"):
        if key not in spec:
            raise SpecError(f"{path}: {where} needs '{key}'.")
    file = path.parent / spec["file"]
    if not file.is_file():
        raise SpecError(
            f"{path}: {where} file {spec['file']!r} does not exist (looked for {file})."
        )
    filters = spec.get("where", {})
    if not isinstance(filters, dict):
        raise SpecError(f"{path}: {where} where must be a table of column = value.")
    columns = pd.read_csv(file, nrows=0).columns
    for col in (spec["column"], spec.get("time_column", "year"), *filters):
        if col not in columns:
            raise SpecError(
                f"{path}: {where}: {col!r} is not a column of {file.name}." + suggest(col, columns)
            )
    out = SeriesSpec(
        variable=name,
        file=file,
        column=spec["column"],
        time_column=spec.get("time_column", "year"),
        scale=number(path, spec, "scale", where) or 1.0,
        where={str(k): str(v) for k, v in filters.items()},
        label=str(spec.get("label", "")),
    )
    if out.load().empty:
        raise SpecError(f"{path}: {where}: no values in {file.name} column {out.column!r}.")
    return out
