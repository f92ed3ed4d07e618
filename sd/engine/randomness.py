"""Reproducible RANDOM functions in PySD runs.

PySD 3.14 translates Vensim's RANDOM UNIFORM, RANDOM NORMAL, RANDOM EXPONENTIAL... into
calls of numpy's global generator and ignores their seed argument, so two runs of the
same model differ. Vensim, given a seed, repeats the same stream at every run. The
toolkit seeds numpy's generator at the start of every run of a model that uses RANDOM
functions, from the seeds written in the model (0 when there are none), and restores the
generator's previous state afterwards. Runs are then reproducible and independent of
what ran before; the numbers are numpy's stream, not Vensim's (which is not published).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from sd.model import mdl

_RANDOM = re.compile(r"\bRANDOM[\s_]+[A-Z0-9][A-Z0-9\s_]*?\s*\(([^()]*)\)", re.IGNORECASE)


def seed_of(text: str) -> int | None:
    """The run seed of a model (None when it has no RANDOM function)."""
    eqs = mdl.equations_section(text)
    calls = _RANDOM.findall(eqs)
    if not calls:
        return None
    digest = hashlib.sha256("|".join(" ".join(c.split()) for c in calls).encode()).digest()
    return int.from_bytes(digest[:4], "little")


@lru_cache(maxsize=64)
def _seed_for_file(path: str, sha256: str) -> int | None:
    return seed_of(mdl.read_text(Path(path)))


@contextlib.contextmanager
def seeded(path: Path, sha256: str) -> Iterator[None]:
    """Seed numpy's global generator for one run of the model at ``path``, then restore it."""
    seed = _seed_for_file(str(path), sha256)
    if seed is None:
        yield
        return
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
