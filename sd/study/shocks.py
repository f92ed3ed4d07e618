"""Shock shapes: small pure functions that turn a few numbers into a path over time.

Every shape returns the *deviation* ``d(t)`` it causes on the model's time grid,
zero where the shock does not act. A scenario combines the deviations of all
shocks on one input in the way the study states for that input:

* ``additive``:       ``x(t) = x0(t) + sum_i d_i(t)``  (``d`` in the input's units);
* ``multiplicative``: ``x(t) = x0(t) * prod_i (1 + d_i(t))``  (``d`` a fraction: -0.3 is -30%).

Times are in the model's time unit (years for the Kuzbass model).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sd.model.datafiles import read_series

Combine = str  # "additive" | "multiplicative"
COMBINE_MODES = ("additive", "multiplicative")


def step(times: np.ndarray, *, start: float, size: float) -> np.ndarray:
    """A permanent change of ``size`` from ``start`` on.

    Parameters
    ----------
    times : model times [year]
    start : first time with the change [year]
    size : the change [input units, or fraction when multiplicative]
    """
    return np.where(times >= start, float(size), 0.0)


def pulse(times: np.ndarray, *, start: float, duration: float, size: float) -> np.ndarray:
    """A change of ``size`` during ``[start, start + duration)``, then back to zero.

    Parameters
    ----------
    start : first time of the pulse [year]
    duration : how long it lasts [year], > 0
    size : the change while it lasts [input units, or fraction]
    """
    _positive("duration", duration)
    return np.where((times >= start) & (times < start + duration), float(size), 0.0)


def ramp(times: np.ndarray, *, start: float, end: float, size: float) -> np.ndarray:
    """A linear change from 0 at ``start`` to ``size`` at ``end``, held afterwards.

    Parameters
    ----------
    start, end : when the ramp begins and is complete [year], ``end > start``
    size : the change reached at ``end`` [input units, or fraction]
    """
    if not end > start:
        raise ValueError(f"a ramp needs end > start; got start={start}, end={end}")
    return float(size) * np.clip((times - start) / (end - start), 0.0, 1.0)


def crash(
    times: np.ndarray,
    *,
    start: float,
    depth: float,
    duration: float,
    half_life: float,
) -> np.ndarray:
    """A fall of ``depth`` over ``duration`` years, then an exponential recovery.

    ``d`` goes linearly from 0 at ``start`` to ``-depth`` at ``start + duration``;
    afterwards the remaining gap halves every ``half_life`` years:
    ``d(t) = -depth * 2 ** (-(t - start - duration) / half_life)``.

    Parameters
    ----------
    start : when the fall begins [year]
    depth : size of the fall [input units, or fraction, e.g. 0.4 for a 40% price crash], >= 0
    duration : years from the start to the bottom, > 0
    half_life : years for the gap to halve during the recovery, > 0
        (``math.inf`` for no recovery)
    """
    _positive("duration", duration)
    _positive("half_life", half_life)
    if depth < 0:
        raise ValueError(f"depth is the size of the fall and must be >= 0; got {depth}")
    bottom = start + duration
    falling = -depth * np.clip((times - start) / duration, 0.0, 1.0)
    after = np.maximum(times - bottom, 0.0)
    recovery = -depth * np.exp2(-after / half_life) if math.isfinite(half_life) else -depth
    return np.where(times < bottom, falling, recovery)


def trend_change(
    times: np.ndarray, *, start: float, rate: float, combine: Combine = "multiplicative"
) -> np.ndarray:
    """A change of the growth trend from ``start`` on (e.g. the energy transition).

    Multiplicative: the input grows by an extra ``rate`` per year, compounded
    continuously: ``d(t) = exp(rate * (t - start)) - 1``.
    Additive: the input gains ``rate`` per year: ``d(t) = rate * (t - start)``.

    Parameters
    ----------
    start : when the new trend begins [year]
    rate : change of the growth rate [1/year] (multiplicative; -0.02 is -2%/year),
        or of the slope [input units/year] (additive)
    """
    elapsed = np.maximum(times - start, 0.0)
    if combine == "multiplicative":
        return np.expm1(rate * elapsed)
    return rate * elapsed


def series(
    times: np.ndarray,
    *,
    file: str | Path,
    column: str,
    time_column: str = "year",
    scale: float = 1.0,
) -> np.ndarray:
    """A deviation read from a CSV file, interpolated linearly on the model's times.

    Outside the file's time range the deviation is zero before its first time and
    held at its last value afterwards.

    Parameters
    ----------
    file : CSV file (relative paths are resolved from the study file's folder)
    column : the column with the deviation [input units, or fraction]
    time_column : the column with the times [year]
    scale : factor applied to the column (e.g. 0.01 for percent)
    """

    table = read_series(Path(file), time_column, column, gaps=False, context="series shock")
    t = table.index.to_numpy(float)
    v = table.to_numpy(float) * scale
    out = np.interp(times, t, v)
    return np.where(times < t[0], 0.0, out)


SHAPES: Mapping[str, Callable[..., np.ndarray]] = {
    "step": step,
    "pulse": pulse,
    "ramp": ramp,
    "crash": crash,
    "trend_change": trend_change,
    "series": series,
}

#: the parameter that sets each shape's size (what "half as strong" halves)
MAGNITUDE: Mapping[str, str] = {
    "step": "size",
    "pulse": "size",
    "ramp": "size",
    "crash": "depth",
    "trend_change": "rate",
    "series": "scale",
}


def combine(base: float | np.ndarray, deviations: Sequence[np.ndarray], mode: Combine) -> Any:
    """Apply several deviations to an input's base value, as ``mode`` says."""
    out = np.asarray(base, dtype=float)
    if mode == "additive":
        for d in deviations:
            out = out + d
    elif mode == "multiplicative":
        for d in deviations:
            out = out * (1.0 + d)
    else:
        raise ValueError(f"combine must be one of {COMBINE_MODES}, not {mode!r}")
    return out


def peak_time(times: np.ndarray, deviation: np.ndarray) -> float | None:
    """The first time at which a shock's deviation is largest in size (None if it is 0)."""
    size = np.abs(np.asarray(deviation, dtype=float))
    if not size.size or not np.nanmax(size) > 0:
        return None
    return float(np.asarray(times, dtype=float)[int(np.nanargmax(size))])


#: words of :func:`describe`; ``{x}`` are numbers formatted in the language
_WORDS = {
    "en": {
        "times_from": "\u00d7{m} from {start}",
        "add_from": "{d} from {start}",
        "times_during": "\u00d7{m} in {start}-{end}",
        "add_during": "{d} in {start}-{end}",
        "ramp_times": "multiplier rising linearly from 1 in {start} to {m} in {end}, then held",
        "ramp_add": "rising linearly from 0 in {start} to {d} in {end}, then held",
        "crash_times": "multiplier falling linearly from 1 in {start} to {m} in {end}, "
        "then the gap to 1 halves every {h} years",
        "crash_add": "falling linearly from {start} by {d} in {end}, then the gap halves "
        "every {h} years",
        "no_recovery": "falling linearly from 1 in {start} to {m} in {end}, no recovery",
        "trend_times": "growth rate {r} a year from {start}",
        "trend_add": "{d} a year from {start}",
        "series": "deviation read from {file}, column {column} (scale {scale})",
    },
    "ru": {
        "times_from": "\u00d7{m} с {start} г.",
        "add_from": "{d} с {start} г.",
        "times_during": "\u00d7{m} в {start}-{end} гг.",
        "add_during": "{d} в {start}-{end} гг.",
        "ramp_times": "множитель растёт линейно от 1 в {start} г. до {m} в {end} г., далее "
        "постоянен",
        "ramp_add": "растёт линейно от 0 в {start} г. до {d} в {end} г., далее постоянно",
        "crash_times": "множитель падает линейно от 1 в {start} г. до {m} в {end} г., затем "
        "отклонение от 1 уменьшается вдвое каждые {h} г.",
        "crash_add": "падает линейно с {start} г. на {d} к {end} г., затем отклонение "
        "уменьшается вдвое каждые {h} г.",
        "no_recovery": "падает линейно от 1 в {start} г. до {m} в {end} г., без восстановления",
        "trend_times": "темп роста {r} в год с {start} г.",
        "trend_add": "{d} в год с {start} г.",
        "series": "отклонение из файла {file}, столбец {column} (масштаб {scale})",
    },
}


def number_text(value: float, lang: str = "en", *, sign: bool = False) -> str:
    """A short number (4 significant digits); decimal comma and a true minus in Russian."""
    text = f"{value:+.4g}" if sign else f"{value:.4g}"
    if lang == "ru":
        text = text.replace(".", ",").replace("-", "\u2212")
    return text


def describe(
    shape: str, params: Mapping[str, Any], mode: Combine, *, lang: str = "en", unit: str = ""
) -> str:
    """What a shock does to its input, from its parameters: a multiplicative shock as the
    multiplier it reaches (a crash of depth 0.45 is "multiplier ... to 0.55"), an additive
    one as the change in the input's units. It says nothing of the effect on the model's
    other variables, which only a run can tell."""
    w = _WORDS.get(lang, _WORDS["en"])
    p = dict(params)
    times = mode == "multiplicative"

    def n(x: float, sign: bool = False) -> str:
        return number_text(x, lang, sign=sign)

    def d(x: float) -> str:
        return f"{n(x, sign=True)} {unit}".strip()

    start = n(p.get("start", 0.0))
    if shape == "step":
        return (
            w["times_from"].format(m=n(1 + p["size"]), start=start)
            if times
            else w["add_from"].format(d=d(p["size"]), start=start)
        )
    if shape == "pulse":
        end = n(p["start"] + p["duration"])
        key, args = (
            ("times_during", {"m": n(1 + p["size"])})
            if times
            else (
                "add_during",
                {"d": d(p["size"])},
            )
        )
        return w[key].format(start=start, end=end, **args)
    if shape == "ramp":
        end = n(p["end"])
        if times:
            return w["ramp_times"].format(m=n(1 + p["size"]), start=start, end=end)
        return w["ramp_add"].format(d=d(p["size"]), start=start, end=end)
    if shape == "crash":
        end = n(p["start"] + p["duration"])
        if not math.isfinite(p["half_life"]):
            return w["no_recovery"].format(m=n(1 - p["depth"]), start=start, end=end)
        if times:
            return w["crash_times"].format(
                m=n(1 - p["depth"]), start=start, end=end, h=n(p["half_life"])
            )
        return w["crash_add"].format(d=d(-p["depth"]), start=start, end=end, h=n(p["half_life"]))
    if shape == "trend_change":
        if times:
            rate = f"{p['rate'] * 100:+.3g}%"
            return w["trend_times"].format(
                r=rate.replace(".", ",") if lang == "ru" else rate, start=start
            )
        return w["trend_add"].format(d=d(p["rate"]), start=start)
    if shape == "series":
        return w["series"].format(
            file=p.get("file", ""), column=p.get("column", ""), scale=n(p.get("scale", 1.0))
        )
    return shape


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0; got {value}")
