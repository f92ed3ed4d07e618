"""Why the curves bend: which feedback loops dominate each variable over time.

Loop dominance is Simlin's implementation of Loops That Matter (Eberlein and
Schoenberg 2020) through ``pysimlin``. Simlin cannot read GET DIRECT/XLS LOOKUPS, so a
copy of the model is given the data tables inline: each such lookup becomes an ordinary
Vensim lookup with the points PySD read from the file (reality checks, which Simlin cannot
read either, are left out of the copy). The copy is simulated by Simlin with the model's
own constants and time settings.

A loop's score at time t is its share of the total absolute loop score of its cycle
partition (the stocks connected by feedback it belongs to), signed by polarity; scores
are comparable only within a partition. The loops relevant to a variable are the loops
through it, or, for a variable on no loop, the loops of the partitions of the stocks it
depends on. At each saved time the dominant loop is the relevant one with the largest
absolute score. A loop is named by its id (``R1``, ``B2``...), its polarity, the view on
which most of its variables are drawn, and its variables.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sd.errors import SDError, optional
from sd.model import mdl
from sd.model.model import Model
from sd.model.sketch import read_sketch

_RC = re.compile(r":(THE CONDITION|TEST INPUT):", re.IGNORECASE)
_GET_LOOKUPS = re.compile(r"GET[\s_]+(DIRECT|XLS)[\s_]+LOOKUPS", re.IGNORECASE)
_GET_OTHER = re.compile(r"GET[\s_]+(DIRECT|XLS)[\s_]+(DATA|CONSTANTS)", re.IGNORECASE)


class LoopsError(SDError):
    """Simlin could not read or simulate the model for loop analysis."""


@dataclass(frozen=True)
class LoopInfo:
    id: str
    polarity: str  #: "R", "B" or "U" (undetermined)
    variables: tuple[str, ...]  #: model names
    view: str
    partition: int

    @property
    def label(self) -> str:
        kind = {"R": "reinforcing", "B": "balancing"}.get(self.polarity, "undetermined")
        where = f", {self.view}" if self.view else ""
        return f"{self.id.upper()} ({kind}{where}): {', '.join(self.variables)}"


@dataclass(frozen=True)
class Dominance:
    loops: tuple[LoopInfo, ...]
    scores: pd.DataFrame  #: time x loop id: relative loop score
    table: pd.DataFrame  #: variable | time | loop | label | polarity | score | dominant
    periods: pd.DataFrame  #: variable | start | end | loop | label


def inline_data(model: Model, text: str) -> str:
    """The model text with GET DIRECT/XLS LOOKUPS replaced by the tables PySD read."""
    tables = _lookup_tables(model)
    out = text
    for e in mdl.entries(text):
        if _RC.search(e.equation):
            start = out.find(e.equation)
            end = out.find("|", start)
            if start >= 0 and end > start:
                out = out[:start] + out[end + 1 :]
            continue
        if _GET_OTHER.search(e.equation):
            raise LoopsError(
                f"{model.path.name}: '{e.name}' reads GET DIRECT DATA/CONSTANTS, which loop "
                "analysis cannot inline yet; use GET DIRECT LOOKUPS or a table in the model."
            )
        if _GET_LOOKUPS.search(e.equation):
            name = model.resolve(e.name)
            x, y = tables[model.variables[name].py_name]
            points = ",".join(f"({a:.17g},{b:.17g})" for a, b in zip(x, y, strict=True))
            rng = f"[({x.min():.17g},{y.min():.17g})-({x.max():.17g},{y.max():.17g})]"
            lhs = e.name if re.fullmatch(r"[A-Za-z][\w ]*", e.name) else f'"{e.name}"'
            out = out.replace(e.equation, f"{lhs}(\n\t{rng},{points})", 1)
    return out


def _lookup_tables(model: Model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    pysd_model = model.new_pysd(load_inputs=True)
    out = {}
    for key, value in vars(pysd_model.components._components).items():
        data = getattr(value, "data", None)
        if key.startswith("_ext_lookup_") and data is not None and hasattr(data, "dims"):
            if data.ndim == 1:
                out[key[len("_ext_lookup_") :]] = (
                    np.asarray(data[data.dims[0]].values, dtype=float),
                    np.asarray(data.values, dtype=float),
                )
    return out


def _display(canon: str, by_canon: dict[str, str]) -> str:
    """A model name for Simlin's variable; its internal SMOOTH/DELAY states are named
    after the variable they smooth or delay: ``$⁚x⁚0⁚smth1`` -> ``(state of X)``."""
    if canon.startswith("$"):
        parts = [p for p in re.split(r"[⁚:]", canon) if p and p != "$"]
        inner = by_canon.get(parts[0], parts[0]) if parts else canon
        return f"(state of {inner})"
    return by_canon.get(canon, canon)


def _canon(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip().strip('"').lower())


def dominance(
    model: Model,
    variables: Sequence[str] | None = None,
    overrides: Mapping[str, float] | None = None,
) -> Dominance:
    """Loop dominance over time for ``variables`` (default: every stock), with constants
    set to ``overrides`` (e.g. a study's calibrated values; numbers only)."""
    simlin = optional("simlin", "Loop dominance (sd loops)")

    names = (
        [model.resolve(v) for v in variables]
        if variables
        else [v.name for v in model.of_kind("stock")]
    )
    by_canon = {_canon(n): n for n in model.variables}
    text = inline_data(model, model.path.read_text(encoding="utf-8", errors="replace"))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / model.path.name
        copy.write_text(text, encoding="utf-8")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sm = simlin.load(copy)
                given = {_canon(model.resolve(k)): float(v) for k, v in (overrides or {}).items()}
                run = sm.run(given or None, analyze_loops=True)
                loops = list(run.loops)
                times = run.results.index.to_numpy(float)
                if not loops:  # too many loops to enumerate: Simlin's discovery mode
                    if given:
                        _set_constants(sm, given)  # discovery runs the model as it is
                    loops = list(sm.analyze(timeout=DISCOVERY_SECONDS).loops)
                incoming = {v: list(sm.get_incoming_links(v)) for v in sm.get_var_names()}
        except Exception as err:  # noqa: BLE001 - Simlin's errors become one message
            raise LoopsError(
                f"{model.path.name}: Simlin could not analyse the loops: {err}"
            ) from None
    if not loops:
        raise LoopsError(f"{model.path.name}: Simlin found no feedback loops in the model.")
    views = [(v.name, {_canon(o.name) for o in v.variables()}) for v in read_sketch(model.path)]
    infos, scores = [], {}
    for lp in loops:
        members = [_display(c, by_canon) for c in lp.variables]
        canon = set(lp.variables)
        view = max(views, key=lambda v: len(canon & v[1]), default=("", set()))
        pol = str(getattr(lp, "polarity", "U"))
        pol = pol.split(".")[-1][:1].upper() if pol else "U"
        info = LoopInfo(
            str(lp.id), pol, tuple(members), view[0] if view[1] & canon else "", int(lp.partition)
        )
        infos.append(info)
        scores[info.id] = np.asarray(lp.behavior_time_series, dtype=float)
    score_frame = pd.DataFrame(scores, index=times)
    score_frame.index.name = "time"
    saved = model.time
    keep = np.isclose(((times - saved.initial) / saved.saveper) % 1, 0) | np.isclose(
        ((times - saved.initial) / saved.saveper) % 1, 1
    )
    score_frame = score_frame[keep]
    stocks_of = _partition_stocks(infos)
    rows, periods = [], []
    for var in names:
        c = _canon(var)
        relevant = [i for i in infos if c in {_canon(m) for m in i.variables}]
        if not relevant:
            parts = {stocks_of[s] for s in _upstream_stocks(c, incoming, stocks_of)}
            relevant = [i for i in infos if i.partition in parts]
        if not relevant:
            continue
        sub = score_frame[[i.id for i in relevant]]
        lab = {i.id: i for i in relevant}
        dom = sub.abs().idxmax(axis=1)
        active = sub.abs().max(axis=1) > 0
        for t, row in sub.iterrows():
            for lid, value in row.items():
                rows.append(
                    {
                        "variable": var,
                        "time": t,
                        "loop": lid.upper(),
                        "polarity": lab[lid].polarity,
                        "score": value,
                        "dominant": bool(active[t] and dom[t] == lid),
                        "label": lab[lid].label,
                    }
                )
        current, start, prev = None, None, None
        for t in sub.index:
            lid = dom[t] if active[t] else None
            if lid != current:
                if current is not None:
                    periods.append(_period(var, start, prev, lab[current]))
                current, start = lid, t
            prev = t
        if current is not None:
            periods.append(_period(var, start, prev, lab[current]))
    return Dominance(tuple(infos), score_frame, pd.DataFrame(rows), pd.DataFrame(periods))


#: wall-clock bound of Simlin's loop discovery on a model too large to enumerate its loops
DISCOVERY_SECONDS = 60.0


def _set_constants(sm: Any, values: Mapping[str, float]) -> None:
    """Write ``values`` into the Simlin model's constant equations (canonical names)."""

    with sm.edit() as (current, patch):
        for name, value in values.items():
            var = current[name]
            patch.upsert(dataclasses.replace(var, equation=repr(float(value))))


def _period(var: str, start: float, end: float, info: LoopInfo) -> dict:
    return {
        "variable": var,
        "start": start,
        "end": end,
        "loop": info.id.upper(),
        "polarity": info.polarity,
        "label": info.label,
    }


def _partition_stocks(infos: Sequence[LoopInfo]) -> dict[str, int]:
    out = {}
    for i in infos:
        for v in i.variables:
            out.setdefault(_canon(v), i.partition)
    return out


def _upstream_stocks(var: str, incoming: dict, on_loops: dict[str, int]) -> set[str]:
    """Variables on loops that ``var`` depends on (breadth-first over incoming links)."""
    seen, todo, found = {var}, [var], set()
    while todo:
        v = todo.pop()
        for src in incoming.get(v, []):
            s = _canon(str(src))
            if s in seen:
                continue
            seen.add(s)
            if s in on_loops:
                found.add(s)
            else:
                todo.append(s)
    return found


