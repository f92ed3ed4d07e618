"""Excel workbooks whose text cells stay text: nothing a user wrote becomes a formula.

openpyxl (and so pandas) stores every string that begins with ``=`` as a formula, and
Excel turns a text cell that begins with ``=``, ``+``, ``-`` or ``@`` into a formula as
soon as it is edited. Labels, descriptions and scenario names come from files that
others wrote, so every such cell is stored as a plain string with Excel's quote prefix
(shown as the same text, never evaluated). Numbers stay numbers.
"""

from __future__ import annotations

import contextlib
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
