"""Failed runs of an ensemble or sensitivity analysis: counted, named, and refused above a bar.

A run fails when any kept variable becomes NaN or infinite, or when the run raises. A
failed run is never dropped silently: the commands count the failed runs, name the
first failure (scenario, run index, its sampled values, and the variable and time of the
first non-finite value), and stop when more than ``allowed`` of the runs failed (1% by
default; ``--allow-failed FRACTION`` on the command line, ``allow_failed=`` in Python).
Below the bar the failed runs are excluded from the results explicitly and the count is
kept in the results' provenance (``provenance["ensemble"]["failed"]``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sd.errors import ParameterError, SimulationError

#: The share of failed runs an ensemble accepts by default (the issue's "more than 1%").
DEFAULT_ALLOWED = 0.01


def check_allowed(value: Any, *, flag: str = "allow_failed") -> float:
    """A fraction of runs allowed to fail: a number in [0, 1]."""
    if value is None:
        return DEFAULT_ALLOWED
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParameterError(f"{flag} must be a fraction between 0 and 1, not {value!r}.")
    if not 0 <= value <= 1:
        raise ParameterError(
            f"{flag} = {value:g} is not a fraction of runs: give a number between 0 and 1 "
            "(0.05 allows 5% of the runs to fail)."
        )
    return float(value)


@dataclass(frozen=True)
class FailedRuns:
    """Which runs failed, out of how many, and why the first one did."""

    total: int
    runs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  #: scenario -> run ids
    first: str = ""  #: the first failure's cause, '' when no run failed
    allowed: float = DEFAULT_ALLOWED

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", MappingProxyType(dict(self.runs)))

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.runs.values())

    @property
    def fraction(self) -> float:
        return self.count / self.total if self.total else 0.0

    def describe(self) -> str:
        """'3 of 200 runs (1.5%) failed; the first: ...'."""
        return (
            f"{self.count} of {self.total} runs ({self.fraction:.1%}) failed; "
            f"the first: {self.first.rstrip('.')}"
        )

    def as_dict(self) -> dict[str, Any]:
        """For provenance (JSON): count, total, fraction, allowed, first cause, run ids."""
        return {
            "count": self.count,
            "total": self.total,
            "fraction": self.fraction,
            "allowed": self.allowed,
            "first": self.first,
            "runs": {s: list(r) for s, r in self.runs.items() if r},
        }

    def check(self, what: str) -> None:
        """Raise :class:`SimulationError` when more than ``allowed`` of the runs failed."""
        if self.count and self.fraction > self.allowed:
            raise SimulationError(
                f"{what}: {self.describe()}. More than {self.allowed:.1%} of the runs failed, "
                "so percentiles and fan charts would describe only the runs that happen to "
                "work. Fix the equation, or narrow the distributions of the uncertain inputs "
                "so that the model runs across them; to exclude the failed runs anyway, pass "
                f"--allow-failed {_suggest_bar(self.fraction)} (allow_failed= in Python)."
            )


def _suggest_bar(fraction: float) -> str:
    """A round bar just above ``fraction`` (for the error message)."""
    for bar in (0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
        if fraction <= bar:
            return f"{bar:g}"
    return "1"


def describe_params(values: Mapping[str, float], paths: tuple[str, ...] = ()) -> str:
    """'drain rate=0.1234, Price=5' (and the names of sampled paths)."""
    parts = [f"{k}={v:.6g}" for k, v in values.items()]
    parts += [f"{p}=its sampled path" for p in paths]
    return ", ".join(parts) if parts else "no sampled values"
