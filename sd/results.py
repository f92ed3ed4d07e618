"""Simulation results: a tidy table, the parameters that made it, and provenance.

The tidy table has one row per ``scenario | run | time | variable | value``; the
parameter table one row per ``(scenario, run)``; provenance records the model file
and hash, PySD and toolkit versions, time settings, units and creation time. A
:class:`Results` saves to and loads from CSV, Parquet and netCDF with all three.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sd.datapackage import TIDY_FIELDS, read_package, resource
from sd.errors import OutputError, ResultsFileError, UnknownVariableError, suggest
from sd.files import atomic_path, check_output_path, write_package

COLUMNS = ["scenario", "run", "time", "variable", "value"]
FORMATS = (".csv", ".parquet", ".nc")
#: properties of a data-package resource that make a CSV a toolkit results table
_SIDECAR_KEYS = ("sd:provenance", "sd:parameters")


@dataclass(frozen=True, eq=False)
class Results:
    """Frozen results of one or more runs.

    Attributes
    ----------
    data : pandas.DataFrame
        Tidy table ``scenario | run | time | variable | value``; ``time`` in the
        model's time unit, ``value`` in the variable's units (``units`` below), float64.
    parameters : pandas.DataFrame
        One row per ``(scenario, run)`` with the overridden parameters as columns
        (time-series overrides are described as text).
    provenance : Mapping
        ``model``, ``model_sha256``, ``cache_key``, ``pysd_version``, ``sd_version``,
        ``time`` (initial, final, step, saveper), ``units`` (variable -> units),
        ``created`` (UTC, ISO 8601).
    """

    data: pd.DataFrame
    parameters: pd.DataFrame
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.data.columns]
        if missing:
            raise ValueError(f"tidy results need the columns {COLUMNS}; missing {missing}")
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    # -- views -------------------------------------------------------------
    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys(self.data["variable"]))

    @property
    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(self.data["scenario"]))

    @property
    def units(self) -> Mapping[str, str]:
        return self.provenance.get("units", {})

    def wide(self, scenario: str | None = None, run: int | None = None) -> pd.DataFrame:
        """Time x variables table of one scenario and run (the only one if not given)."""
        df = self.data
        for col, val in (("scenario", scenario), ("run", run)):
            choices = list(dict.fromkeys(df[col]))
            if val is None:
                if len(choices) != 1:
                    raise ValueError(f"several {col}s in these results; choose one of {choices}")
                val = choices[0]
            elif val not in choices:
                raise UnknownVariableError(f"no {col} {val!r} in these results; have {choices}")
            df = df[df[col] == val]
        table = df.pivot(index="time", columns="variable", values="value")
        table = table[[v for v in self.variables if v in table.columns]]
        table.columns.name = None
        return table

    def series(self, variable: str, scenario: str | None = None, run: int | None = None):
        """One variable over time, as a pandas Series indexed by time."""
        if variable not in self.variables:
            raise UnknownVariableError(
                f"'{variable}' is not in these results." + suggest(variable, self.variables)
            )
        return self.wide(scenario, run)[variable]

    def relabel(self, scenarios: Mapping[str, str]) -> Results:
        """The same results with scenarios renamed (e.g. to display labels)."""
        data = self.data.copy()
        data["scenario"] = data["scenario"].astype(str).map(lambda s: scenarios.get(s, s))
        params = self.parameters.copy()
        if "scenario" in params:
            params["scenario"] = params["scenario"].astype(str).map(lambda s: scenarios.get(s, s))
        return Results(data, params, self.provenance)

    # -- combining ---------------------------------------------------------
    @classmethod
    def concat(cls, parts: Sequence[Results]) -> Results:
        """Stack results of several scenarios or runs of the same model."""
        if not parts:
            raise ValueError("nothing to concatenate")
        data = pd.concat([p.data for p in parts], ignore_index=True)
        params = pd.concat([p.parameters for p in parts], ignore_index=True)
        prov = dict(parts[0].provenance)
        units = {}
        for p in parts:
            units.update(p.units)
        prov["units"] = units
        return cls(data, params, prov)

    # -- files -------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, sidecar: bool = True) -> Path:
        """Write to ``.csv``, ``.parquet`` or ``.nc`` (by suffix), atomically.

        A CSV is written as a plain tidy table; with ``sidecar`` its metadata goes to
        ``<name>.datapackage.json`` beside it (a caller that describes a whole folder
        passes ``sidecar=False`` and lists :meth:`csv_resource` in its own package).
        """
        path = check_output_path(path)
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise OutputError(f"cannot save results as {path.name}: use one of {FORMATS}.")
        meta = self._meta()
        with atomic_path(path) as tmp:
            if suffix == ".csv":
                self.data[COLUMNS].to_csv(tmp, index=False, float_format="%.17g")
            elif suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(self.data[COLUMNS], preserve_index=False)
                schema_meta = dict(table.schema.metadata or {})
                schema_meta.update({f"sd.{k}".encode(): v.encode() for k, v in meta.items()})
                pq.write_table(table.replace_schema_metadata(schema_meta), tmp)
            else:
                ds = self._to_xarray()
                ds.attrs.update({f"sd_{k}": v for k, v in meta.items()})
                ds.attrs["sd_order"] = json.dumps(
                    {"scenario": self.scenarios, "variable": self.variables}
                )
                ds.to_netcdf(tmp, engine="netcdf4")
        if suffix == ".csv" and sidecar:

            write_package(
                path.parent,
                [self.csv_resource(path, path.parent)],
                name=path.stem,
                filename=sidecar_name(path),
            )
        return path

    def csv_resource(self, csv_path: Path, base: Path) -> dict[str, Any]:
        """The data-package resource describing this table saved as ``csv_path``."""

        meta = self._meta()
        return resource(
            csv_path,
            base,
            frame=self.data[COLUMNS].head(0).astype(self.data[COLUMNS].dtypes),
            descriptions=TIDY_FIELDS,
            extra={
                "title": "Tidy simulation results",
                "sd:units": dict(self.units),
                "sd:provenance": json.loads(meta["provenance"]),
                "sd:parameters": json.loads(meta["parameters"]),
            },
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Results:
        """Read results written by :meth:`save`, with their parameters and provenance."""
        path = Path(path)
        if not path.is_file():
            raise ResultsFileError(f"{path}: no such results file.")
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                meta = _csv_meta(path)
                data = pd.read_csv(
                    path,
                    dtype={"scenario": str, "variable": str},
                    keep_default_na=False,
                    na_values={"value": [""]},
                )
            elif suffix == ".parquet":
                import pyarrow.parquet as pq

                table = pq.read_table(path)
                raw = table.schema.metadata or {}
                meta = {k: raw[f"sd.{k}".encode()].decode() for k in ("provenance", "parameters")}
                data = table.to_pandas()
            elif suffix == ".nc":
                import xarray as xr

                with xr.open_dataset(path, engine="netcdf4") as ds:
                    ds.load()
                    meta = {k: ds.attrs[f"sd_{k}"] for k in ("provenance", "parameters")}
                    data = _from_xarray(ds, json.loads(ds.attrs.get("sd_order", "{}")))
            else:
                raise ResultsFileError(f"{path}: unknown results format; use one of {FORMATS}.")
        except (KeyError, IndexError, ValueError) as err:
            raise ResultsFileError(f"{path}: not a complete results file ({err}).") from None
        params = pd.DataFrame.from_records(json.loads(meta["parameters"]))
        if params.empty:
            params = pd.DataFrame(columns=["scenario", "run"])
        data["value"] = data["value"].astype("float64")
        data["time"] = data["time"].astype("float64")
        data["run"] = data["run"].astype("int64")
        return cls(data[COLUMNS], params, json.loads(meta["provenance"]))

    def _meta(self) -> dict[str, str]:
        params = self.parameters.astype(object).where(self.parameters.notna(), None)
        return {
            "provenance": json.dumps(dict(self.provenance), default=_json_default),
            "parameters": json.dumps(params.to_dict("records"), default=_json_default),
        }

    def _to_xarray(self):
        ds = (
            self.data[COLUMNS]
            .set_index(["scenario", "run", "time", "variable"])["value"]
            .to_xarray()
        )
        return ds.to_dataset(name="value")


def sidecar_name(csv_path: Path) -> str:
    """The name of a CSV's own metadata file: ``results.csv`` -> ``results.datapackage.json``."""
    return f"{csv_path.stem}.datapackage.json"


def _csv_meta(path: Path) -> dict[str, str]:
    """Provenance and parameters of a results CSV, from its sidecar or its folder's package."""

    path = path.resolve()
    candidates = [(path.parent / sidecar_name(path), path.name)]
    for folder in list(path.parents)[:3]:  # an output folder's package lists its subfolders
        candidates.append((folder / "datapackage.json", path.relative_to(folder).as_posix()))
    for descriptor, rel in candidates:
        if not descriptor.is_file():
            continue
        try:
            package = read_package(descriptor)
        except (OSError, ValueError) as err:
            raise ResultsFileError(f"{descriptor}: not a readable data package ({err}).") from None
        for res in package.get("resources", []):
            if res.get("path") == rel and all(k in res for k in _SIDECAR_KEYS):
                return {
                    "provenance": json.dumps(res["sd:provenance"]),
                    "parameters": json.dumps(res["sd:parameters"]),
                }
    raise ResultsFileError(
        f"{path} is not a results file written by the toolkit: no {sidecar_name(path)} or "
        "datapackage.json beside it describes it. Keep the metadata file next to the CSV, "
        "or read the plain table with pandas.read_csv."
    )


def _from_xarray(ds, order: Mapping[str, list[str]]) -> pd.DataFrame:
    """Tidy rows back from the (scenario, run, time, variable) cube, in saved order."""
    df = ds["value"].to_dataframe().reset_index().dropna(subset=["value"])
    for col in ("scenario", "variable"):
        cats = order.get(col) or list(dict.fromkeys(df[col]))
        df[col] = pd.Categorical(df[col].astype(str), categories=cats, ordered=True)
    df = df.sort_values(["scenario", "run", "variable", "time"], kind="stable")
    for col in ("scenario", "variable"):
        df[col] = df[col].astype(str)
    return df.reset_index(drop=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in provenance")
