"""Excel workbooks whose text cells stay text: nothing a user wrote becomes a formula.

openpyxl (and so pandas) stores every string that begins with ``=`` as a formula, and
Excel turns a text cell that begins with ``=``, ``+``, ``-`` or ``@`` into a formula as
soon as it is edited. Labels, descriptions and scenario names come from files that
others wrote, so every such cell is stored as a plain string with Excel's quote prefix
(shown as the same text, never evaluated). Numbers stay numbers.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  #: what Excel may read as a formula


def protect_text(book: Any) -> int:
    """Make every formula-looking text cell of an openpyxl workbook plain text; count them."""
    count = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    cell.data_type = "s"  # openpyxl marked "=..." as a formula ("f")
                    cell.quotePrefix = True
                    count += 1
    return count


@contextlib.contextmanager
def excel_writer(path: str | os.PathLike[str]) -> Iterator[pd.ExcelWriter]:
    """A pandas ``ExcelWriter`` (openpyxl) whose text cells are protected when it closes."""
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        yield xl
        protect_text(xl.book)


def number_format(values: Any) -> str:
    """An Excel number format for numbers of one size: decimals by the largest magnitude.

    Excel shows the grouping and decimal marks of the reader's locale (a comma and a space
    in Russian Excel); the cells keep every digit.
    """

    finite = [abs(float(v)) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    top = max(finite, default=0.0)
    if top >= 1000:
        return "#,##0"
    if top >= 100:
        return "#,##0.0"
    if top >= 1:
        return "0.00"
    if top >= 0.01:
        return "0.000"
    return "0.00E+00" if top > 0 else "0"


def format_sheet(
    sheet: Any,
    *,
    freeze: str = "A2",
    by_row: bool = False,
    index_format: str | None = None,
    max_width: int = 60,
) -> None:
    """Number formats, a frozen wrapped header row and column widths for a written sheet.

    Numeric cells get :func:`number_format` of their column (of their row with
    ``by_row``, for tables whose rows are different variables); ``index_format`` is the
    first column's format (e.g. ``"0"`` for years).
    """
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    rows = list(sheet.iter_rows(min_row=2))
    columns = list(sheet.iter_cols(min_row=2))
    if by_row:
        for row in rows:
            fmt = number_format(c.value for c in row if c.column > 1)
            for cell in row:
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    cell.number_format = fmt
    else:
        for j, column in enumerate(columns):
            fmt = (
                index_format if j == 0 and index_format else number_format(c.value for c in column)
            )
            for cell in column:
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    cell.number_format = fmt
    for cell in sheet[1]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(bold=True)
    for j in range(1, sheet.max_column + 1):
        letter = get_column_letter(j)
        head = str(sheet.cell(1, j).value or "")
        body = [c.value for c in sheet[letter][1:]]
        text = max((len(str(v)) for v in body if isinstance(v, str)), default=0)
        number = 12 if any(isinstance(v, int | float) for v in body) else 0
        words = max((len(w) for w in head.split()), default=0)
        width = max(number, min(text, max_width), words + 2, min(len(head), 24) + 2, 8)
        sheet.column_dimensions[letter].width = min(width, max_width)
        if text > max_width:
            for c in sheet[letter][1:]:
                c.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = freeze
