"""Vensim's meaning of functions PySD 3.14 computes differently, patched into a PySD model.

* **DELAY1/DELAY3 order.** PySD lowers a delay's order while ``order * TIME STEP``
  exceeds the delay time (the smallest one over all subscripts, so one short delay
  time changes every element). Vensim keeps DELAY1 and DELAY3 as written: the
  conformance model ``arguments`` (``DELAY3(Time, 2)`` at ``TIME STEP = 1``) matches
  Vensim's output only with three stages. :func:`patch` gives those delays a zero time
  step for that check. DELAY N does lower its order in Vensim too (``delay_pipeline``:
  ``DELAY N(Input, 1.25, 6, 3)`` at ``TIME STEP = 0.5`` matches with two stages), so it
  keeps PySD's rule.
* **PULSE TRAIN at its end.** PySD returns 0 from ``end`` on (``t < end``); Vensim's
  train includes its end time (``start <= t <= end``), as Simlin and readsdr (both written
  to reproduce Vensim) compute it: ``PULSE TRAIN(1, 1.5, 2, 5)`` is 1 at time 5.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SMALL_VENSIM = 1e-6  #: PySD's tolerance on pulse times (pysd.py_backend.functions)


def patch(pysd_model: Any) -> None:
    """Give ``pysd_model`` Vensim's delay orders and PULSE TRAIN ends."""
    for element in pysd_model._stateful_elements.values():
        if type(element).__name__ == "Delay" and hasattr(element, "tstep"):  # not DelayN
            element.tstep = _no_step
    module = pysd_model.components._components
    if getattr(module, "pulse", None) is not None and module.pulse is not pulse:
        module.pulse = pulse


def _no_step() -> float:
    return 0.0


def pulse(
    time: Any,
    start: Any,
    repeat_time: Any = 0,
    width: Any = None,
    magnitude: Any = None,
    end: Any = None,
) -> Any:
    """PySD's ``pulse`` (PULSE, PULSE TRAIN) with Vensim's closed end of a pulse train."""
    t = time()
    width = 0.5 * time.time_step() if width is None else width
    out = magnitude / time.time_step() if magnitude is not None else 1
    if np.all(repeat_time == 0):
        return out if start - SMALL_VENSIM <= t < start + width else 0
    if start <= t and (end is None or t <= end):
        return out if (t - start + SMALL_VENSIM) % repeat_time < width else 0
    return 0
