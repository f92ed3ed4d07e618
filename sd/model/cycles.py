"""Circular definitions, found in the dependency graph PySD writes into a translation.

PySD records, for every variable, the variables its equation reads
(``{"outflow": {"inflow": 1, "decay_rate": 1}}``) and, for stateful objects
(``_integ_stock``, ``_initial_x``, delays, smooths...), what they read to
initialise (``"initial"``) and to step (``"step"``). Two graphs follow from it:

* at a time step, a stateful object's value is its state, so it reads nothing:
  a cycle there is a simultaneous equation (``a = b``, ``b = a``) that PySD would
  follow until Python's recursion limit;
* at initialisation, a stateful object reads its ``initial`` inputs: a cycle
  there (``Stock = INTEG(..., INITIAL(Stock))``) cannot be initialised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Deps = Mapping[str, Any]


def step_cycle(deps: Deps) -> list[str] | None:
    """A cycle of variables that read each other within one time step, or None."""
    graph = {name: set() if name.startswith("_") else _refs(d) for name, d in deps.items()}
    return find_cycle(graph)


def initial_cycle(deps: Deps) -> list[str] | None:
    """A cycle of variables and stateful objects that need each other to initialise."""
    graph = {
        name: _refs(d.get("initial", {}) if name.startswith("_") else d)
        for name, d in deps.items()
        if isinstance(d, Mapping)
    }
    return find_cycle(graph)


def _refs(d: Any) -> set[str]:
    if not isinstance(d, Mapping | set | list | tuple):
        return set()
    return {str(k) for k in d if not str(k).startswith("__") and k != "time"}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """The first cycle found by depth-first search, as [a, b, ..., a]; None if acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in sorted(graph):
        if state.get(root):
            continue
        path = [root]
        stack = [iter(sorted(graph.get(root, ())))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif nxt not in graph or state.get(nxt) == 2:
                continue
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            else:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def describe(cycle: list[str], deps: Deps, names: Mapping[str, str]) -> list[str]:
    """Vensim names along ``cycle``: stateful objects become the variable that owns them.

    ``names`` maps PySD names to Vensim names (e.g. ``pysd_model.namespace`` inverted).
    """
    owner: dict[str, str] = {}
    for name, d in deps.items():
        if not name.startswith("_"):
            for ref in _refs(d):
                if ref.startswith("_"):
                    owner.setdefault(ref, name)
    out: list[str] = []
    for node in cycle:
        while node.startswith("_") and node in owner:
            node = owner[node]
        shown = names.get(node, node)
        if not out or out[-1] != shown:
            out.append(shown)
    return out
