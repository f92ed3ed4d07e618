"""Resource limits: refuse, before starting, work that would not fit in memory.

* **Ensembles and sensitivity analyses** keep every value of every run:
  runs x kept variables x saved times values, held in the tidy table (28 bytes a value:
  scenario and variable codes, run, time, value) and, while it is built, in the engine's
  output arrays, the concatenated columns and the sort order. The peak is
  :data:`BYTES_PER_VALUE` bytes a kept value, measured with ``tracemalloc`` on the Kuzbass
  study (``forecasts/kuzbass.toml``, 10 scenarios, 8 variables, 51 saved years, vectorized
  engine): 130.0 bytes a value with 200 runs a scenario (peak 101 MiB), 125.2 with 1,000
  (peak 487 MiB); the finished table keeps 27-32 bytes a value. The estimate is compared
  with the memory available now (``psutil``, else ``/proc/meminfo``).
* **Model files** above :data:`MAX_MODEL_BYTES` are refused before translation: PySD's
  translation took about 420 MiB of memory and 20 s per MB of model text (peak RSS of
  ``sd info`` on ``decay.mdl`` with one long comment: 253 MiB with none, 668 MiB with
  1 MB, 2,347 MiB with 5 MB), so a 50 MB comment would need some 20 GB. Loading a cached
  translation of the 1 MB file took 182 MiB. ``SD_MAX_MODEL_MB`` raises the limit.
* **Runs** of more than :data:`sd.model.model.MAX_STEPS` steps are refused by the time checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from sd.errors import SDError

#: Peak bytes per kept value of an ensemble (measured, see above; rounded up).
BYTES_PER_VALUE = 130
#: Largest model file translated by default: 2 MiB, an assumption: 20 times the Kuzbass
#: model (95 KB) and over 10 times the largest Vensim conformance model (< 200 KB), and
#: about 1.1 GB of memory for PySD's translation at the rate measured above.
MAX_MODEL_BYTES = 2 * 2**20


class ResourceError(SDError):
    """The work asked for would not fit in memory (or is beyond a documented limit)."""


def available_memory() -> int | None:
    """Bytes of memory available to new allocations now, or None when unknown."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def ensemble_bytes(runs: int, variables: int, times: int) -> int:
    """Estimated peak memory of an ensemble keeping ``variables`` at ``times`` saved times."""
    return int(runs) * int(variables) * int(times) * BYTES_PER_VALUE


def check_ensemble_memory(runs: int, variables: int, times: int, *, what: str) -> None:
    """Raise :class:`ResourceError` when the ensemble's estimate exceeds available memory."""
    need = ensemble_bytes(runs, variables, times)
    have = available_memory()
    if have is not None and need > have:
        raise ResourceError(
            f"{what}: {runs:,} runs x {variables} variables x {times} saved times would need "
            f"about {_size(need)} of memory ({BYTES_PER_VALUE} bytes a value), but "
            f"{_size(have)} is available. Use fewer samples, keep fewer variables (--vars), "
            "save less often (SAVEPER), or run the scenarios one at a time."
        )


def check_model_size(path: Path) -> None:
    """Refuse model files that PySD's translation cannot read in reasonable memory."""
    limit = MAX_MODEL_BYTES
    env = os.environ.get("SD_MAX_MODEL_MB")
    if env:
        try:
            limit = int(float(env) * 2**20)
        except ValueError:
            raise ResourceError(f"SD_MAX_MODEL_MB={env!r} is not a number of megabytes.") from None
    size = path.stat().st_size
    if size > limit:
        raise ResourceError(
            f"{path}: the model file is {_size(size)}, more than the {_size(limit)} the toolkit "
            f"translates (PySD needs about 420 MB of memory per MB of model text, so this one "
            f"would take some {_size(size * 420)}). Look for a huge comment or pasted data in "
            "it; to translate it anyway, set SD_MAX_MODEL_MB to a larger size."
        )


def _size(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} bytes"
