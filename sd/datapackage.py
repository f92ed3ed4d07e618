"""Frictionless Data Package descriptors: the metadata sidecar of every CSV the toolkit writes.

CSV files stay plain tidy tables (a header row, then data) that pandas, R and Excel read as
they are. What a CSV cannot hold (the model's hash, data files and their hashes, versions,
the study, parameters, units, seeds) goes into a ``datapackage.json`` beside it, following
the Frictionless Data Package and Table Schema specifications: one resource per CSV with
its fields, their types and, for model variables, their units. Toolkit-specific metadata
sits in properties prefixed ``sd:``, which the specification allows.

Paths inside a descriptor are relative to the descriptor's folder, and the paths that
provenance records are relative to the project root (:func:`project_path`), so no output
holds a path of the machine it was made on.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROFILE = "tabular-data-package"
TIDY_FIELDS = {
    "scenario": "scenario name as written in the study",
    "run": "run number within the scenario (0 for a single run)",
    "time": "simulation time, in the model's time unit",
    "variable": "Vensim variable name",
    "value": "value of the variable, in its units (see sd:units)",
}


#: files whose presence marks the root of a project (provenance paths are relative to it)
PROJECT_MARKERS = ("pyproject.toml", ".git")


def project_root(path: str | os.PathLike[str]) -> Path:
    """The nearest folder above ``path`` holding a project marker, else ``path``'s folder."""
    path = Path(path).resolve()
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if any((folder / m).exists() for m in PROJECT_MARKERS):
            return folder
    return start


def project_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to its project root, with ``/`` separators (never absolute)."""
    path = Path(path).resolve()
    return path.relative_to(project_root(path)).as_posix()


def field_type(series: pd.Series) -> str:
    """The Table Schema type of a pandas column."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "string"


def resource(
    csv_path: Path,
    base: Path,
    *,
    frame: pd.DataFrame | None = None,
    units: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A tabular resource describing one CSV file (read from disk when ``frame`` is None)."""
    if frame is None:
        frame = pd.read_csv(csv_path, nrows=10_000)
    units = units or {}
    descriptions = descriptions or {}
    fields = []
    for col in frame.columns:
        spec: dict[str, Any] = {"name": str(col), "type": field_type(frame[col])}
        if str(col) in descriptions:
            spec["description"] = descriptions[str(col)]
        if units.get(str(col)):
            spec["unit"] = units[str(col)]
        fields.append(spec)
    rel = Path(os.path.relpath(csv_path, base)).as_posix()
    name = _resource_name(rel)
    out: dict[str, Any] = {
        "name": name,
        "path": rel,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {"fields": fields, "missingValues": [""]},
    }
    if extra:
        out.update(extra)
    return out


def _resource_name(rel: str) -> str:
    """Frictionless names: lower case, digits and ``-._``; unique per path."""
    stem = rel[: -len(".csv")] if rel.lower().endswith(".csv") else rel
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")
    return name or "table"


def descriptor(
    resources: Iterable[dict[str, Any]],
    *,
    name: str,
    title: str = "",
    properties: Mapping[str, Any] | None = None,
) -> str:
    """The ``datapackage.json`` text for the given resources and properties.

    Writing it is :func:`sd.files.write_package`'s job (this module only describes)."""
    seen: set[str] = set()
    items = []
    for res in resources:
        base_name = res["name"]
        n = 1
        while res["name"] in seen:  # two paths that normalise alike
            n += 1
            res = {**res, "name": f"{base_name}-{n}"}
        seen.add(res["name"])
        items.append(res)
    package: dict[str, Any] = {
        "profile": PROFILE,
        "name": _resource_name(name) or "sd-output",
        "resources": items,
    }
    if title:
        package["title"] = title
    package.update(properties or {})
    return json.dumps(package, indent=1, ensure_ascii=False, default=_json_default) + "\n"


def folder_resources(folder: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """The resources of every CSV below ``folder``, and the sidecars they absorb.

    A CSV with its own sidecar (``x.datapackage.json``, written by
    :meth:`sd.results.Results.save`) keeps the resource described there, with its path
    re-expressed from ``folder`` (the caller removes the absorbed sidecar, since the
    folder's package now holds it). Other CSVs are described from their columns, and
    columns named like a model variable get the units the sidecars record.
    """
    csvs = [
        csv
        for csv in sorted(folder.rglob("*.csv"))
        if not any(part.startswith(".") for part in csv.relative_to(folder).parts)
    ]
    absorbed: dict[Path, dict[str, Any]] = {}
    sidecars: list[Path] = []
    units: dict[str, str] = {}
    for csv in csvs:
        sidecar = csv.with_name(f"{csv.stem}.datapackage.json")
        if not sidecar.is_file():
            continue
        for res in read_package(sidecar).get("resources", []):
            if res.get("path") == csv.name:
                rel = csv.relative_to(folder).as_posix()
                absorbed[csv] = {**res, "path": rel, "name": _resource_name(rel)}
                units.update(res.get("sd:units", {}))
        sidecars.append(sidecar)
    resources = [absorbed.get(csv) or resource(csv, folder, units=units) for csv in csvs]
    return resources, sidecars


def read_package(path: Path) -> dict[str, Any]:
    """The descriptor at ``path`` as a dict."""
    return json.loads(path.read_text(encoding="utf-8"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return value.as_posix()
    raise TypeError(f"cannot store {type(value).__name__} in a data package")
