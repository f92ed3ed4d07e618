"""Text in figures is drawn as written: a ``$`` never starts matplotlib's mathtext.

Scenario labels, descriptions, titles, variable names and units come from users'
files; matplotlib would read ``$...$`` in them as TeX and fail (``$\\frac{$``) or
silently garble them (``cost $5 and $6``). Figures are saved through :func:`savefig`,
which turns mathtext off for every text artist, including tick labels made at draw time.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.text import Text

#: rc settings under which new text artists are plain text
PLAIN_TEXT = {"text.parse_math": False}


def plain(fig: Figure) -> None:
    """Turn mathtext off for every text artist of ``fig`` (legends, titles, labels)."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)


def savefig(fig: Figure, target: Path | IO[bytes], **kwargs: Any) -> None:
    """``fig.savefig`` with every text drawn as written."""
    plain(fig)
    with matplotlib.rc_context(PLAIN_TEXT):
        fig.savefig(target, **kwargs)
