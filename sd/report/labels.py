"""Display names and units of a model's variables in English and Russian.

The table lives beside the model as ``<model>_labels.csv`` with the columns
``variable, name_en, units_en, name_ru, units_ru`` (UTF-8) and, optionally,
``basis_en, basis_ru``: the price basis of a money variable (``current prices to 2023,
2023 prices after``), which figure axes show after the units. A variable missing from
the table, or an empty cell, falls back to its Vensim name and units. A row whose
``variable`` is ``view: NAME`` names a view of the model's sketch (units left empty).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sd.errors import SDError
from sd.model.model import Model
from sd.model.sketch import read_sketch

LANGS = ("en", "ru")
COLUMNS = ["variable", "name_en", "units_en", "name_ru", "units_ru"]
VIEW = "view:"  #: how a row of the table that names a view begins


@dataclass(frozen=True)
class Labels:
    lang: str
    names: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)  #: variable -> price basis
    views: dict[str, str] = field(default_factory=dict)

    def name(self, variable: str) -> str:
        return self.names.get(variable) or variable

    def view(self, name: str) -> str:
        """The display name of a view of the model's sketch."""
        return self.views.get(name) or name

    def unit(self, variable: str, default: str = "") -> str:
        return self.units.get(variable) or default

    def axis(self, variable: str, default: str = "") -> str:
        """Units and, for money, the price basis: ``bn RUB/year, 2023 prices``."""
        unit = self.unit(variable, default)
        if unit.strip().lower() in {"dmnl", "dimensionless", "1"}:
            unit = ""
        basis = self.bases.get(variable, "")
        return ", ".join(x for x in (unit, basis) if x)


def labels_file(model: Model) -> Path:
    return model.path.with_name(f"{model.path.stem}_labels.csv")


def load_labels(model: Model, lang: str = "en") -> Labels:
    """Labels for ``lang``; every variable named in the table must exist in the model."""
    if lang not in LANGS:
        raise SDError(f"unknown language {lang!r}; use one of {LANGS}.")
    path = labels_file(model)
    units = {name: v.units for name, v in model.variables.items()}
    if not path.is_file():
        return Labels(lang, {}, units)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise SDError(f"{path}: not UTF-8 text. Save the labels table as UTF-8 CSV.") from None
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != len(rows[0]):
            raise SDError(
                f"{path}, row {number}: {len(row)} cells where the header has {len(rows[0])}. "
                "Quote cells that contain commas."
            )
    table = pd.DataFrame([r for r in rows[1:] if r], columns=rows[0] if rows else COLUMNS)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise SDError(f"{path}: missing columns {missing}; the table needs {COLUMNS}.")
    names: dict[str, str] = {}
    bases: dict[str, str] = {}
    views: dict[str, str] = {}
    for i, row in table.iterrows():
        if row["variable"].startswith(VIEW):
            views[_view(model, row["variable"][len(VIEW) :].strip(), path, i + 2)] = row[
                f"name_{lang}"
            ].strip()
            continue
        try:
            var = model.resolve(row["variable"])
        except SDError as err:
            raise SDError(f"{path}, row {i + 2}: {err}") from None
        names[var] = row[f"name_{lang}"].strip()
        if row[f"units_{lang}"].strip():
            units[var] = row[f"units_{lang}"].strip()
        if f"basis_{lang}" in table.columns and (row[f"basis_{lang}"] or "").strip():
            bases[var] = row[f"basis_{lang}"].strip()
    return Labels(lang, names, units, bases, views)


def _view(model: Model, name: str, path: Path, row: int) -> str:
    known = [v.name for v in read_sketch(model.path)]
    if name not in known:
        raise SDError(
            f"{path}, row {row}: the model has no view {name!r}; its views are "
            f"{', '.join(map(repr, known)) or 'none'}. Correct the name after 'view:'."
        )
    return name
