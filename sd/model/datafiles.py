"""Checks of the data a model or a study reads, before anything runs on it.

PySD reads ``GET DIRECT DATA/LOOKUPS/CONSTANTS`` CSV files by coercing every cell to a
number: text becomes NaN, and a NaN year or x is dropped, so a typo silently removes a
data point (or a whole series) and the run later fails far from its cause. Studies read
CSV files too (history overlays, calibration targets, ``series`` shocks). The checks
here read the same cells and refuse, naming the file, the cell (row and column) and what
to do:

* a year or x that is empty, text, NaN or infinite; a year or x given twice;
* a value that is text, ``NaN`` or infinite; a series with no value at all;
* an empty cell in a lookup table or a constant (a lookup point needs its y).

An empty cell in a ``GET DIRECT DATA`` column is allowed: Vensim reads it as "no value
that year" and interpolates across it, and so does PySD. In a study's history or
calibration target an empty cell is a year without an observation (recorded statistics
have gaps); in a ``series`` shock it is an error, since a shock path has no gaps.

Lookups whose x values are not increasing are sorted by PySD (and by Vensim's table
editor); that is reported as a notice, not an error. A lookup written in the model with
an x given twice (``[(0,0)-(10,10)],(1,1),(1,2)``) is an error naming the line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sd.errors import DataFileError, suggest
from sd.model import mdl

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _cell_number(text: str) -> float | None:
    """The number in a cell, None when empty; raises ValueError for text, NaN, inf."""
    text = text.strip()
    if not text:
        return None
    if not _NUMBER.match(text):
        raise ValueError(text)
    return float(text)


def _col_name(index: int) -> str:
    """0 -> 'A', 26 -> 'AA' (spreadsheet columns, as Vensim's cell references)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _col_index(letters: str) -> int:
    out = 0
    for ch in letters.upper():
        out = out * 26 + ord(ch) - 64
    return out - 1


def _split_cell(cell: str) -> tuple[int, int] | None:
    """'B2' -> (row 1, column 1), 0-based; None for a named range."""
    m = re.fullmatch(r"\s*([A-Za-z]+)(\d+)\s*", cell)
    if not m:
        return None
    return int(m.group(2)) - 1, _col_index(m.group(1))


# -- data files of the model ---------------------------------------------------------------


def check_model_inputs(model_path: Path, text: str, pysd_model: Any) -> tuple[str, ...]:
    """Check the lookups written in the model and the CSV files it reads.

    Raises :class:`DataFileError` for bad cells; returns notices (unsorted x values).
    """
    notices = list(_inline_lookups(model_path, text))
    root = model_path.resolve().parent
    for element in getattr(pysd_model, "_external_elements", []):
        notices += _external(model_path, text, root, element)
    return tuple(notices)


def _reader(text: str, ref: str, cell: str) -> str:
    """'variable X (line N)' for the equation reading file ``ref`` at ``cell``."""
    for e in mdl.entries(text):
        eq = e.equation.lower()
        if ref.lower() in eq and (not cell or f"'{cell.lower()}'" in eq):
            return f"'{e.name}' (line {e.line})"
    return "an equation"


def _external(model_path: Path, text: str, root: Path, element: Any) -> list[str]:
    notices: list[str] = []
    kind = type(element).__name__.lower()
    axes = getattr(element, "time_row_or_cols", None) or getattr(element, "x_row_or_cols", None)
    for i, ref in enumerate(getattr(element, "files", [])):
        file = root / ref
        if file.suffix.lower() != ".csv" or not file.is_file():
            continue  # spreadsheets are read by openpyxl; missing files are caught earlier
        tab = element.tabs[i] if i < len(element.tabs) else ","
        sep = tab if tab and not tab[0].isalnum() else ","
        cell = element.cells[i]
        who = _reader(text, ref, cell)
        where = f"{model_path.name}: {who} reads {ref}"
        try:
            frame = pd.read_csv(file, header=None, dtype=str, keep_default_na=False, sep=sep)
            frame = frame.fillna("")  # short rows
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
            raise DataFileError(
                f"{where}, which cannot be read as a table ({' '.join(str(err).split())}); "
                "save it as plain comma-separated values with the same number of cells in "
                "every row."
            ) from None
        start = _split_cell(cell)
        if start is None:
            continue  # a named cell range (spreadsheets only)
        if "constant" in kind:
            _constant_cell(where, frame, start)
        elif axes:
            is_lookup = "lookup" in kind
            notices += _series(where, frame, str(axes[i]), start, lookup=is_lookup)
    return notices


def _get(frame: pd.DataFrame, row: int, col: int) -> str:
    if row < frame.shape[0] and col < frame.shape[1]:
        return str(frame.iat[row, col])
    return ""


def _constant_cell(where: str, frame: pd.DataFrame, start: tuple[int, int]) -> None:
    row, col = start
    value = _get(frame, row, col)
    at = f"cell {_col_name(col)}{row + 1}"
    try:
        if _cell_number(value) is None:
            raise ValueError(value)
    except ValueError:
        shown = repr(value) if value.strip() else "empty"
        raise DataFileError(
            f"{where}, {at}: the constant is {shown}, not a number. Write a number there "
            "(a point as the decimal separator, no units or spaces)."
        ) from None


def _series(
    where: str, frame: pd.DataFrame, axis: str, start: tuple[int, int], *, lookup: bool
) -> list[str]:
    """Check the x (or time) cells and the first column (or row) of values of a series."""
    row0, col0 = start
    what = "x" if lookup else "year"
    if axis.strip().isdigit():  # times across a row, values in the row of the cell
        n = max(frame.shape[1] - col0, 0)
        x_at = [(int(axis) - 1, col0 + j) for j in range(n)]
        y_at = [(row0, col0 + j) for j in range(n)]
    else:  # times down a column, values down the column of the cell
        n = max(frame.shape[0] - row0, 0)
        x_col = _col_index(axis.strip())
        x_at = [(row0 + j, x_col) for j in range(n)]
        y_at = [(row0 + j, col0) for j in range(n)]
    xs: list[tuple[float, str]] = []
    ys = 0
    raw_x = [_get(frame, r, c) for r, c in x_at]
    last = max((j for j, v in enumerate(raw_x) if v.strip()), default=-1)
    for j in range(len(x_at)):
        (xr, xc), (yr, yc) = x_at[j], y_at[j]
        x_cell, y_cell = f"{_col_name(xc)}{xr + 1}", f"{_col_name(yc)}{yr + 1}"
        y_text = _get(frame, yr, yc)
        if j > last:  # after the last x: PySD stops there; a value there has no x
            if y_text.strip():
                raise DataFileError(
                    f"{where}: cell {y_cell} has the value {y_text!r} but cell {x_cell} has "
                    f"no {what}. Write its {what}, or delete the value."
                )
            continue
        try:
            x = _cell_number(raw_x[j])
        except ValueError:
            raise DataFileError(
                f"{where}: cell {x_cell} holds {raw_x[j]!r}, which is not a {what}. Write a "
                "number there (a point as the decimal separator)."
            ) from None
        if x is None:
            raise DataFileError(
                f"{where}: cell {x_cell} is empty, but the {what}s go on after it. Write its "
                f"{what}, or delete the row."
            )
        try:
            y = _cell_number(y_text)
        except ValueError:
            raise DataFileError(
                f"{where}: cell {y_cell} holds {y_text!r}, which is not a number. Write a "
                "number (a point as the decimal separator)"
                + ("." if lookup else ", or leave the cell empty for a year without a value.")
            ) from None
        if y is None and lookup:
            raise DataFileError(
                f"{where}: cell {y_cell} is empty; every point of a lookup table needs its y "
                f"value (x = {x:g}). Write it, or delete the point."
            )
        ys += y is not None
        xs.append((x, x_cell))
    if not ys:
        raise DataFileError(
            f"{where}: the {'table' if lookup else 'series'} starting at cell "
            f"{_col_name(col0)}{row0 + 1} has no values. Point the equation at the right "
            "cell, or fill the column."
        )
    seen: dict[float, str] = {}
    for x, cell in xs:
        if x in seen:
            raise DataFileError(
                f"{where}: {what} {x:g} appears twice (cells {seen[x]} and {cell}); "
                + ("a lookup table needs each x once" if lookup else "a year has one value")
                + ". Delete or correct one of them."
            )
        seen[x] = cell
    values = [x for x, _ in xs]
    if values != sorted(values):
        return [
            f"{where}: the {what} values are not in increasing order; they are sorted "
            "before use (as Vensim does). Sort the file to make this notice go away."
        ]
    return []


_LOOKUP_DEF = re.compile(r"\(\s*\[\s*\(")
_PAIR = re.compile(r"\(\s*([-+.\deE]+)\s*,\s*([-+.\deE]+)\s*\)")


def _inline_lookups(model_path: Path, text: str) -> list[str]:
    """Lookups written in the model: an x given twice is an error, unsorted x a notice."""
    notices = []
    for e in mdl.entries(text):
        eq = e.equation
        m = _LOOKUP_DEF.search(eq)
        if not m:
            continue
        body = eq[m.start() + 1 :]
        body = re.sub(r"\[[^\]]*\]", "", body, count=1)  # the [(xmin,ymin)-(xmax,ymax)] range
        try:
            xs = [float(a) for a, _ in _PAIR.findall(body)]
        except ValueError:
            continue
        dup = next((x for k, x in enumerate(xs) if x in xs[:k]), None)
        if dup is not None:
            raise DataFileError(
                f"{model_path.name}, line {e.line}: the lookup '{e.name}' has x = {dup:g} twice; "
                "a lookup needs each x once. Delete or correct one of the points."
            )
        if xs != sorted(xs):
            notices.append(
                f"{model_path.name}, line {e.line}: the x values of the lookup '{e.name}' are "
                "not in increasing order; they are sorted before use (as Vensim's table editor "
                "does). Sort them to make this notice go away."
            )
    return notices


# -- CSV files of studies ------------------------------------------------------------------


def read_series(
    file: Path,
    time_column: str,
    column: str,
    *,
    where: dict[str, str] | None = None,
    gaps: bool = True,
    context: str = "",
) -> pd.Series:
    """Times and values of one column of a study's CSV file, checked cell by cell.

    ``gaps``: an empty value cell is a time without an observation (else an error).
    Returns the values indexed by time, sorted by time, without the gaps.
    """
    file = Path(file)
    at = f"{context}: {file.name}" if context else str(file)
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False).fillna("")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataFileError(
            f"{at} cannot be read as a table ({' '.join(str(err).split())}); save it as "
            "comma-separated values with a header row."
        ) from None
    for col in (time_column, column, *(where or {})):
        if col not in frame.columns:

            raise DataFileError(
                f"{at} has no column {col!r}; its columns are {list(frame.columns)}."
                + suggest(col, frame.columns)
            )
    rows: Sequence[int] = range(len(frame))
    for col, value in (where or {}).items():
        rows = [r for r in rows if frame.at[r, col].strip() == str(value)]
    times: list[float] = []
    values: list[float] = []
    seen: dict[float, int] = {}
    for r in rows:
        line = r + 2  # the header is line 1
        t_text, v_text = frame.at[r, time_column], frame.at[r, column]
        try:
            t = _cell_number(t_text)
        except ValueError:
            raise DataFileError(
                f"{at}, line {line}, column {time_column!r}: {t_text!r} is not a year. "
                "Write the year as a number."
            ) from None
        try:
            v = _cell_number(v_text)
        except ValueError:
            raise DataFileError(
                f"{at}, line {line}, column {column!r}: {v_text!r} is not a number. Write a "
                "number (a point as the decimal separator, no units or spaces)"
                + (", or leave the cell empty for a year without a value." if gaps else ".")
            ) from None
        if t is None:
            if v is None:
                continue  # an empty row
            raise DataFileError(
                f"{at}, line {line}: the value {v_text!r} in column {column!r} has no year in "
                f"column {time_column!r}. Write its year."
            )
        if v is None:
            if not gaps:
                raise DataFileError(
                    f"{at}, line {line}, column {column!r} is empty; a series shock needs a "
                    f"value at every time it lists. Write it, or delete the row."
                )
            continue
        if t in seen:
            raise DataFileError(
                f"{at}: year {t:g} appears twice in column {time_column!r} (lines {seen[t]} "
                f"and {line}). Keep one of them."
            )
        seen[t] = line
        times.append(t)
        values.append(v)
    if not values:
        raise DataFileError(f"{at}: column {column!r} has no values. Fill it or pick another.")
    assert all(math.isfinite(v) for v in values)
    return pd.Series(values, index=times, dtype="float64").sort_index()
