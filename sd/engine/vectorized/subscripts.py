"""Subscripts (Vensim arrays) for the vectorized engine.

A subscripted variable is stored as a float64 array of shape ``(runs, *sizes)`` over its
dimensions (PySD's final subscripts, in PySD's order); the run axis has length 1 when the
value is the same in every run. Inside the equation of one piece of a variable (its
left-hand side, e.g. ``y[DimA, b1]``), every expression is *aligned*: it has one axis after
the run axis per subscript range of the left-hand side, in that order, plus one per
``Range!`` being summed over inside SUM/PROD/VMIN/VMAX, each of full length or of length 1
where the value does not vary. numpy's broadcasting then computes element by element
what PySD computes with xarray's broadcasting by name.

A reference ``x[s1, s2, ...]`` becomes one numpy index of the stored array
(:func:`reference_index`): an element picks one position, a range (the same range as an
axis, a subrange, a range mapped onto an axis with ``->``, or a range of which an axis
is a subrange) picks the positions of the axis's elements.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sd.engine.interpolation import data_cells, interp_cells
from sd.engine.vectorized.support import Unsupported


@dataclass(frozen=True)
class Axis:
    """An axis of the aligned space: a range name (``A`` or ``A!``) and its elements."""

    name: str
    elements: tuple[str, ...]


class Space:
    """The subscript ranges of a model (PySD's SubscriptManager, resolved)."""

    def __init__(self, manager: Any) -> None:
        self.ranges: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in manager.subscripts.items()
        }
        self.mapping: dict[str, list[Any]] = {k: list(v or []) for k, v in manager.mapping.items()}
        self.main: dict[str, list[str]] = dict(manager.subranges)

    def add(self, ranges: dict[str, Sequence[str]]) -> None:
        """Ranges PySD made itself (a copy of a range repeated in one variable: ``dim2``)."""
        for name, elements in ranges.items():
            self.ranges.setdefault(name, tuple(elements))

    def is_range(self, name: str) -> bool:
        return name in self.ranges

    def elements(self, name: str) -> tuple[str, ...]:
        try:
            return self.ranges[name]
        except KeyError:
            raise Unsupported(f"the subscript range '{name}'") from None

    def maps(self, a: str, b: str) -> bool:
        """True when range ``a`` is mapped onto range ``b`` (``a: ... -> b``) or back."""
        return _mapped(self.mapping.get(a, []), b) or _mapped(self.mapping.get(b, []), a)

    def number(self, name: str) -> tuple[np.ndarray, str | None]:
        """PySD's numeric value of a subscript name: its position(s) in its main range."""
        for main, subs in self.main.items():
            elements = self.ranges[main]
            if name == main or name in subs:
                pos = [elements.index(e) + 1 for e in self.ranges[name]]
                return np.asarray(pos, dtype=np.float64), name
            if name in elements:
                return np.float64(elements.index(name) + 1), None
        raise KeyError(name)


def _mapped(targets: Sequence[Any], name: str) -> bool:
    for target in targets:
        if target == name:
            return True
        if not isinstance(target, str):
            raise Unsupported("a subscript mapping with an explicit element list", name)
    return False


def reference_index(
    dims: Sequence[str],
    subs: Sequence[str] | None,
    axes: Sequence[Axis],
    space: Space,
    where: str,
) -> tuple | None:
    """The numpy index of ``x[subs]`` (x stored over ``dims``) in the aligned ``axes``.

    None means "the stored array as it is" (its dimensions are exactly the axes).
    """
    subs = list(dims) if subs is None else list(subs)
    if len(subs) != len(dims):
        raise Unsupported("a reference with the wrong number of subscripts", where)
    index: list[Any] = [slice(None)]
    arrays = False
    identity = len(dims) == len(axes)
    for i, (dim, sub) in enumerate(zip(dims, subs, strict=True)):
        own = space.elements(dim)
        if not space.is_range(sub.rstrip("!")):
            if sub not in own:
                raise Unsupported(f"subscript element '{sub}' outside its range", where)
            index.append(own.index(sub))
            identity = False
            continue
        j, wanted = _match(sub, axes, space, where)
        try:
            pos = [own.index(e) for e in wanted]
        except ValueError:
            what = f"subscript range '{sub}' outside the range of '{dim}'"
            raise Unsupported(what, where) from None
        if j != i or pos != list(range(len(own))):
            identity = False
        shape = [1] * len(axes)
        shape[j] = len(pos)
        index.append(np.asarray(pos, dtype=np.intp).reshape(shape))
        arrays = True
    if identity:
        return None
    if not arrays:
        index.extend([None] * len(axes))  # all single elements: keep the aligned rank
    return tuple(index)


def _match(sub: str, axes: Sequence[Axis], space: Space, where: str) -> tuple[int, tuple]:
    """The aligned axis a range subscript runs along, and the elements it takes there."""
    names = [a.name for a in axes]
    if sub in names:
        j = names.index(sub)
        return j, space.elements(sub.rstrip("!"))
    if sub.endswith("!"):
        raise Unsupported(f"'{sub}' outside SUM, PROD, VMIN or VMAX", where)
    for j, axis in enumerate(axes):  # mapped ranges correspond position by position
        if not axis.name.endswith("!") and space.maps(sub, axis.name):
            mine = space.elements(sub)
            if len(mine) != len(axis.elements):
                raise Unsupported(f"a mapping of '{sub}' with a different length", where)
            return j, mine
    own = set(space.elements(sub))
    for j, axis in enumerate(axes):  # the axis is a subrange of the range referenced
        if not axis.name.endswith("!") and set(axis.elements) <= own:
            return j, axis.elements
    raise Unsupported(f"subscript range '{sub}' that does not match the equation's ranges", where)


@dataclass(frozen=True)
class Part:
    """Where one piece of a subscripted variable goes in its stored array."""

    full: tuple[np.ndarray, ...]  #: positions in the variable's dimensions, per covered cell
    local: tuple[np.ndarray, ...]  #: positions in the piece's aligned axes, per covered cell
    sizes: tuple[int, ...]  #: sizes of the piece's aligned axes
    whole: bool  #: the piece is the whole variable, in order


def part(
    dims: Sequence[str],
    lhs: Sequence[str],
    excepts: Sequence[Sequence[str]],
    space: Space,
    where: str,
) -> tuple[list[Axis], Part]:
    """The aligned axes of one piece (its left-hand side) and where its cells go."""
    if len(lhs) != len(dims):
        raise Unsupported("a piece of an array with a different number of subscripts", where)
    axes = [Axis(s, space.elements(s)) for s in lhs if space.is_range(s)]
    options: list[list[tuple[str, int]]] = []  # per subscript: (element, local position)
    for sub in lhs:
        if space.is_range(sub):
            options.append([(e, k) for k, e in enumerate(space.elements(sub))])
        else:
            options.append([(sub, 0)])
    excluded = set()
    for exc in excepts:
        if len(exc) != len(lhs):
            raise Unsupported(":EXCEPT: with a different number of subscripts", where)
        sets = [space.elements(s) if space.is_range(s) else (s,) for s in exc]
        excluded |= set(itertools.product(*sets))
    full: list[list[int]] = [[] for _ in dims]
    local: list[list[int]] = [[] for _ in axes]
    for cell in itertools.product(*options):
        elements = tuple(e for e, _ in cell)
        if elements in excluded:
            continue
        a = 0
        for i, (dim, sub, (element, k)) in enumerate(zip(dims, lhs, cell, strict=True)):
            own = space.elements(dim)
            if element not in own:
                raise Unsupported(f"subscript '{element}' outside the range of '{dim}'", where)
            full[i].append(own.index(element))
            if space.is_range(sub):
                local[a].append(k)
                a += 1
    whole = not excepts and list(lhs) == list(dims)
    sizes = tuple(len(ax.elements) for ax in axes)
    return axes, Part(
        tuple(np.asarray(f, dtype=np.intp) for f in full),
        tuple(np.asarray(g, dtype=np.intp) for g in local),
        sizes,
        whole,
    )


# -- runtime helpers ---------------------------------------------------------------------------


def up(x: Any, k: int) -> Any:
    """A value without subscripts, shaped to broadcast along ``k`` aligned axes."""
    if np.ndim(x) == 0:
        return x
    return np.reshape(x, (-1,) + (1,) * k)


def full(x: Any, sizes: tuple[int, ...]) -> np.ndarray:
    """A whole-variable piece as a stored array ``(runs or 1, *sizes)`` (a view)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        x = x.reshape((1,) * (1 + len(sizes)))
    return np.broadcast_to(x, (x.shape[0], *sizes))


def assemble(sizes: tuple[int, ...], pieces: Sequence[tuple[Any, Part]]) -> np.ndarray:
    """A variable defined in pieces: every piece written at its cells (the rest NaN)."""
    values = []
    lead = 1
    for value, where in pieces:
        v = np.asarray(value, dtype=np.float64)
        if v.ndim == 0:
            v = v.reshape((1,) * (1 + len(where.sizes)))
        lead = max(lead, v.shape[0])
        values.append(v)
    out = np.full((lead, *sizes), np.nan)
    for v, (_, where) in zip(values, pieces, strict=True):
        v = np.broadcast_to(v, (v.shape[0], *where.sizes))
        cells = v[(slice(None), *where.local)] if where.local else v[:, None]
        out[(slice(None), *where.full)] = cells
    return out


def reduce(fn: Any, x: Any, axes: tuple[int, ...], sizes: tuple[int, ...], nd: int) -> Any:
    """SUM/PROD/VMIN/VMAX of ``x`` over the aligned axes ``axes`` (of the given sizes)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < nd:
        x = x.reshape((1,) * (nd - x.ndim) + x.shape)
    shape = list(x.shape)
    for axis, size in zip(axes, sizes, strict=True):
        shape[axis] = size
    return fn(np.broadcast_to(x, shape), axis=axes)


def _aligned(x: Any, sizes: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    nd = 1 + len(sizes)
    if x.ndim < nd:
        x = x.reshape((1,) * (nd - x.ndim) + x.shape)
    return np.broadcast_to(x, (x.shape[0], *sizes))


def sort_order(x: Any, direction: Any, sizes: tuple[int, ...]) -> np.ndarray:
    """VECTOR SORT ORDER along the last subscript (PySD: argsort, flipped if direction <= 0)."""
    order = np.argsort(_aligned(x, sizes), axis=-1)
    flip = np.flip(order, axis=-1)
    return np.where(np.asarray(direction) <= 0, flip, order).astype(np.float64)


def rank(x: Any, direction: Any, sizes: tuple[int, ...]) -> np.ndarray:
    """VECTOR RANK: the sort order's argsort plus one (PySD's vector_rank)."""
    return np.argsort(sort_order(x, direction, sizes), axis=-1) + 1.0


def reorder(x: Any, order: Any, sizes: tuple[int, ...]) -> np.ndarray:
    """VECTOR REORDER: x taken along the last subscript at the positions ``order``."""
    xs, idx = np.broadcast_arrays(_aligned(x, sizes), _aligned(order, sizes))
    return np.take_along_axis(xs, idx.astype(np.intp), axis=-1)


def select(
    sel: Any, expr: Any, missing: Any, action: Any, axes: tuple[int, ...], sizes: tuple[int, ...]
) -> Any:
    """VECTOR SELECT over the aligned axes ``axes`` (PySD's vector_select, error action 0).

    An action that is not 0..10 fails in PySD: NaN here (the run is reported failed).
    """
    actions = np.asarray(action, dtype=np.float64)
    if actions.ndim == 0:
        if actions not in range(11):
            return np.float64(np.nan) * np.asarray(missing)
        return _select(sel, expr, missing, int(actions), axes, sizes)
    out = np.float64(np.nan)
    for value in np.unique(actions):
        if value in range(11):
            out = np.where(actions == value, _select(sel, expr, missing, int(value), axes, sizes),
                           out)
    return out


def _select(
    sel: Any, expr: Any, missing: Any, action: int, axes: tuple[int, ...], sizes: tuple[int, ...]
) -> Any:
    sel = _aligned(sel, sizes)
    expr = _aligned(expr, sizes)
    sel, expr = np.broadcast_arrays(sel, expr)
    zero = sel == 0
    if action in range(5):
        array = np.where(zero, np.nan, sel * expr)
    elif action == 5:
        array = np.where(zero, np.nan, expr**sel)
    else:
        array = np.where(zero, np.nan, expr)
    if action in (0, 6):
        out = np.nansum(array, axis=axes)
    elif action in (1, 5, 7):
        out = np.nanprod(array, axis=axes)
    elif action in (2, 8):
        out = np.fmin.reduce(array, axis=axes)
    elif action in (3, 9):
        out = np.fmax.reduce(array, axis=axes)
    else:
        count = (~zero).sum(axis=axes)
        out = np.nansum(array, axis=axes) / count
    none = zero.all(axis=axes)
    return np.where(none, missing, out)


def allocate_by_priority(
    request: Any, priority: Any, width: Any, supply: Any, sizes: tuple[int, ...], fail: np.ndarray
) -> np.ndarray:
    """ALLOCATE BY PRIORITY along the last aligned axis: PySD's own 1-d algorithm, run by run.

    Runs PySD refuses (a negative request or supply, a width <= 0) are marked failed.
    """
    from pysd.py_backend.allocation import _allocate_by_priority_1d  # noqa: TID251

    req, pri = _aligned(request, sizes), _aligned(priority, sizes)
    wid, sup = _aligned(width, sizes), _aligned(supply, sizes)
    lead = max(a.shape[0] for a in (req, pri, wid, sup))
    req, pri, wid, sup = (np.broadcast_to(a, (lead, *sizes)) for a in (req, pri, wid, sup))
    bad = (
        (req < 0).reshape(lead, -1).any(axis=1)
        | (wid <= 0).reshape(lead, -1).any(axis=1)
        | (sup < 0).reshape(lead, -1).any(axis=1)
    )
    fail |= np.broadcast_to(bad, fail.shape) if lead > 1 else bad.any()
    out = np.zeros((lead, *sizes))
    for cell in itertools.product(range(lead), *(range(k) for k in sizes[:-1])):
        if not bad[cell[0]]:
            out[cell] = _allocate_by_priority_1d(
                req[cell], pri[cell], float(wid[cell][0]), float(sup[cell][0])
            )
    return out


def allocate_available(
    request: Any, pp: Any, avail: Any, sizes: tuple[int, ...], fail: np.ndarray
) -> np.ndarray:
    """ALLOCATE AVAILABLE along the last aligned axis: PySD's own 1-d algorithm, run by run.

    ``pp`` has one more axis (the priority profile). Runs PySD refuses (a negative request
    or availability) are marked failed.
    """
    from pysd.py_backend.allocation import _allocate_available_1d  # noqa: TID251

    req, av = _aligned(request, sizes), _aligned(avail, sizes)
    prof = np.asarray(pp, dtype=np.float64)
    prof = np.broadcast_to(prof, (prof.shape[0], *sizes, prof.shape[-1]))
    lead = max(req.shape[0], av.shape[0], prof.shape[0])
    req, av = (np.broadcast_to(a, (lead, *sizes)) for a in (req, av))
    prof = np.broadcast_to(prof, (lead, *prof.shape[1:]))
    bad = (req < 0).reshape(lead, -1).any(axis=1) | (av < 0).reshape(lead, -1).any(axis=1)
    fail |= np.broadcast_to(bad, fail.shape) if lead > 1 else bad.any()
    out = np.zeros((lead, *sizes))
    for cell in itertools.product(range(lead), *(range(k) for k in sizes[:-1])):
        if not bad[cell[0]]:
            out[cell] = _allocate_available_1d(req[cell], prof[cell], float(av[cell][0]))
    return out


NAMESPACE = {
    "_allocate_available": allocate_available,
    "_allocate_by_priority": allocate_by_priority,
    "_sort_order": sort_order,
    "_rank": rank,
    "_reorder": reorder,
    "_select": select,
    "_data_cells": data_cells,
    "_up": up,
    "_full": full,
    "_asm": assemble,
    "_reduce": reduce,
    "_lookup_cells": interp_cells,  # sd.engine.interpolation, as _data_cells
}
