"""Exceptions the toolkit raises for bad input.

Every error carries a short message that names the file, line or variable at
fault and says what to do. The CLI prints the message alone (no traceback)
and exits with status 2.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from typing import Any


class SDError(Exception):
    """Base class: a problem with the user's input, explained in one paragraph."""


class ModelFileError(SDError):
    """The model file is missing, unreadable or not a Vensim model."""


class TranslationError(SDError):
    """PySD could not translate the model (syntax error, unsupported function...)."""


class CircularDefinitionError(TranslationError):
    """Variables that need each other in the same time step, or to initialise."""


class UnknownVariableError(SDError, KeyError):
    """A name does not match any variable of the model."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParameterError(SDError, ValueError):
    """A parameter override has a value the model cannot take."""


class TimeSettingsError(SDError, ValueError):
    """Initial/final time, time step or save step are inconsistent."""


class OutputError(SDError):
    """An output file cannot be written where it was asked for."""


class ResultsFileError(SDError):
    """A results file cannot be read back (wrong format, missing provenance...)."""


class SimulationError(SDError):
    """The model produced NaN or infinite values, or failed while running."""


class DataFileError(SDError, ValueError):
    """A data file read by a model or a study has a bad cell (text, NaN, a repeated year)."""


def suggest(name: str, candidates: Iterable[str], *, n: int = 3) -> str:
    """Return ' Did you mean: a, b?' for the closest candidates, or ''."""
    cands = list(candidates)
    lowered = {c.lower(): c for c in cands}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean: " + ", ".join(repr(lowered[c]) for c in close) + "?"


class MissingExtraError(SDError):
    """An optional part of the toolkit is needed but its package is not installed."""


#: optional packages: (distribution on the package index, the extra of kuzbass-sd)
EXTRAS = {
    "SALib": ("SALib", "sensitivity"),
    "distributed": ("dask[distributed]", "cluster"),
    "simlin": ("pysimlin", "check"),
    "ema_workbench": ("ema-workbench", "explore"),
    "tornado": ("tornado", "app"),
    "plotly": ("plotly", "app"),
}


def optional(module: str, purpose: str) -> Any:
    """Import ``module`` of an optional extra, or say in one paragraph how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        dist, extra = EXTRAS[module.split(".")[0]]
        raise MissingExtraError(
            f"{purpose} needs the optional package '{dist}', which is not installed. "
            f"Install it with: pip install 'kuzbass-sd[{extra}]' (or 'kuzbass-sd[all]' for "
            "every optional part; `make test` and `make forecast` install everything)."
        ) from None
