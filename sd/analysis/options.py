"""How runs are executed: one object instead of the same keywords on every function."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from sd.engine.engines import ENGINES
from sd.errors import ParameterError


@dataclass(frozen=True)
class RunOptions:
    """Where and how an ensemble, a sensitivity analysis or an exploration runs.

    ``engine`` is a name in :data:`sd.engine.engines.ENGINES`: "vectorized" (one numpy run
    of many parameter sets, PySD as fallback) or "pysd"; ``workers`` > 1 runs chunks in a
    local process pool; ``scheduler`` (a Dask address such as ``tcp://127.0.0.1:8786``)
    sends them to a Dask cluster; ``cache_dir`` is the translation cache the workers load
    the model from (default: the one the model was loaded from); ``chunk_size`` is the runs
    per chunk; ``progress(k)`` is called with the runs each finished chunk held,
    ``notice(text)`` with notes for the user.
    """

    engine: str = "vectorized"
    workers: int | None = None
    scheduler: str | None = None
    cache_dir: str | os.PathLike[str] | None = None
    chunk_size: int | None = None
    progress: Callable[[int], None] | None = None
    notice: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ParameterError(
                f"unknown engine {self.engine!r}; use one of {', '.join(ENGINES)}."
            )
        for name in ("workers", "chunk_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ParameterError(f"{name} must be a whole number of at least 1, not {value!r}.")

    @classmethod
    def of(cls, options: RunOptions | None = None, **changes: Any) -> RunOptions:
        """``options`` (default: the defaults) with the given fields changed; a keyword that
        is not a field is an error, a ``None`` keyword keeps the field."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown run option(s): {', '.join(unknown)}")
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(options or cls(), **given)
