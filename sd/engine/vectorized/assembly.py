"""Assemble the simulation function of the vectorized engine from translated equations.

:mod:`sd.engine.vectorized.codegen` turns every equation into numpy code (auxiliaries, hidden
auxiliaries for the arguments of stateful functions, and states). This module orders
them and writes the source of ``_simulate(_env)``:

* initialisation: every constant and every state in dependency order, with PySD's
  initial dependencies (a state needs only what its initial value needs);
* the Euler loop, one iteration per PySD time step: the auxiliaries that change over
  time in dependency order (those needed only for output on saved steps only), the
  requested variables stored at saved times, then every derivative before any state
  is updated, as ``pysd.py_backend.model.Model._euler_step`` does.

Only what the requested variables need is computed, as PySD's lazy evaluation does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sd.engine.vectorized.codegen import Plan, State, Translator
from sd.engine.vectorized.rk import runge_kutta
from sd.engine.vectorized.scalar import source as scalar_source
from sd.engine.vectorized.support import Unsupported


@dataclass(frozen=True)
class Generated:
    """Source of ``_simulate`` plus the constants and tables it reads from its env."""

    source: str
    consts: tuple[float, ...]
    tables: tuple[tuple[np.ndarray, np.ndarray], ...]
    objs: tuple[Any, ...] = ()  #: subscript indexes and subscripted constants


def generate(
    plan: Plan,
    kinds: Mapping[str, str],
    outputs: Sequence[str],
    method: str = "euler",
    *,
    scalar: bool = False,
) -> Generated:
    """Code for the model with parameters of the given kinds and the given outputs.

    ``kinds``: python name -> "value" (number per run), "series" (one time path for all
    runs) or "perrun" (one path per run); ``outputs``: python names to store;
    ``method``: "euler", "rk4" or "rk2" (see :mod:`sd.engine.vectorized.rk`); ``scalar``: code
    for one run on Python floats (:mod:`sd.engine.vectorized.scalar`, which raises Unsupported
    for what it does not write).
    """
    translator = Translator(plan, kinds)
    translator.translate()
    return _Assembly(translator, method, scalar=scalar).build(outputs)


class _Assembly:
    def __init__(self, tr: Translator, method: str = "euler", *, scalar: bool = False) -> None:
        self.method = method
        self.scalar = scalar
        self.plan = tr.plan
        self.kinds = tr.kinds
        self.nodes = tr.nodes
        self.states = tr.states
        self.consts = tr.consts
        self.tables = tr.tables
        self.objs = tr.objs

    def build(self, outputs: Sequence[str]) -> Generated:
        dynamic = self._dynamic()
        for state in self.states.values():
            if state.kind == "delayn" and any(dynamic(d) for d in state.deps["time"]):
                raise Unsupported("DELAY N with a time-varying delay time", state.where)
        roots = [f"v_{p}" for p in outputs]
        step_set, init_set, needed = self._needed(roots, dynamic)
        # equations that need each other within a time step (PySD recurses forever)
        _topo(sorted(step_set), self._node_edges, "simultaneous equations", self.label)
        init_items = sorted(init_set | {n for n in step_set if not dynamic(n)} | set(self.states))
        init_order = _topo(init_items, self._init_edges, "circular initialisation", self.label)
        dyn_nodes = sorted(n for n in step_set if dynamic(n))
        step_order = _topo(
            dyn_nodes,
            lambda n: [d for d in self.nodes[n].deps if d in self.nodes and dynamic(d)],
            "simultaneous equations",
            self.label,
        )
        core = self._closure(
            set().union(*(self.states[s].step_deps for s in needed)) if needed else set(),
            step=True,
        )
        states = [self.states[s] for s in sorted(needed, key=lambda s: int(s[1:]))]
        if self.scalar:

            source = scalar_source(
                self, roots, init_order, step_order, core, states, _state_init
            )
            return Generated(source, tuple(self.consts), tuple(self.tables), tuple(self.objs))
        source = self._source(roots, init_order, step_order, core, states, dynamic)
        return Generated(source, tuple(self.consts), tuple(self.tables), tuple(self.objs))

    def label(self, name: str) -> str:
        """The Vensim name behind an internal name (for messages)."""
        if name.startswith("v_") and name[2:] in self.plan.elements:
            return self.plan.elements[name[2:]].name
        if name in self.states:
            return self.states[name].where
        return name

    def _dynamic(self) -> Any:
        memo: dict[str, bool] = {}

        def dynamic(name: str) -> bool:
            if name == "t":
                return True
            if name in self.states:
                return self.states[name].kind != "initial"
            if name in memo:
                return memo[name]
            memo[name] = False  # cycles are reported by the topological sort
            node = self.nodes[name]
            memo[name] = node.forced or any(dynamic(d) for d in node.deps)
            return memo[name]

        return dynamic

    def _closure(self, roots: Iterable[str], *, step: bool, found: set[str] | None = None) -> set:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            name = stack.pop()
            if name in seen or name == "t":
                continue
            if name in self.states:
                if found is not None:
                    found.add(name)
                continue
            seen.add(name)
            node = self.nodes[name]
            deps = node.deps if step or node.init_deps is None else node.init_deps
            stack.extend(deps)
        return seen

    def _needed(self, roots: list[str], dynamic: Any) -> tuple[set, set, set]:
        """Nodes of the loop, nodes of the initialisation and the states to integrate.

        Every state is initialised, as in PySD (so that what fails there fails here); only
        the states the requested variables depend on are integrated.
        """
        needed: set[str] = set()
        while True:
            size = len(needed)
            step_roots = set(roots).union(*(self.states[s].step_deps for s in needed))
            step_set = self._closure(step_roots, step=True, found=needed)
            if len(needed) == size:
                break
        init_roots = {n for n in step_set if not dynamic(n)}.union(
            *(state.init_deps for state in self.states.values())
        )
        return step_set, self._closure(init_roots, step=False), needed

    def _node_edges(self, name: str) -> list[str]:
        return [d for d in self.nodes[name].deps if d in self.nodes]

    def _init_edges(self, name: str) -> list[str]:
        if name in self.states:
            deps = self.states[name].init_deps
        else:
            node = self.nodes[name]
            deps = node.deps if node.init_deps is None else node.init_deps
        return [d for d in deps if d != "t"]

    def _source(
        self,
        roots: list[str],
        init_order: list[str],
        step_order: list[str],
        core: set[str],
        states: list[State],
        dynamic: Any,
    ) -> str:
        out = ["def _simulate(_env):"]
        head = [
            "_n, _ar, _times, _save, _K = _env.n, _env.ar, _env.times, _env.save, _env.K",
            "_t0, _tf, _dt, _sp = _env.t0, _env.tf, _env.dt, _env.sp",
            "_C, _T, _P, _O = _env.consts, _env.tables, _env.params, _env.outputs",
            "_fail = _env.fail",
            "_NAN = np.float64(np.nan)",
        ]
        head += [f"k{i} = _C[{i}]" for i in range(len(self.consts))]
        head += [f"LX{i}, LY{i} = _T[{i}]" for i in range(len(self.tables))]
        head += [f"O{i} = _env.objs[{i}]" for i in range(len(self.objs))]
        for p, kind in sorted(self.kinds.items()):
            head.append(f"p_{p} = _P[{p!r}]" if kind == "value" else f"px_{p}, pv_{p} = _P[{p!r}]")
        head += [f"_o{j} = _O[{j}]" for j in range(len(roots))]
        head.append("t = _times[0]")
        for name in init_order:
            if name in self.states:
                head += _state_init(self.states[name])
            else:
                node = self.nodes[name]
                head.append(f"{name} = {node.code if node.init_code is None else node.init_code}")
        loop = ["for _k in range(_K + 1):", "    t = _times[_k]"]
        loop += [f"    {n} = {self.nodes[n].code}" for n in step_order if n in core]
        loop += ["    _j = _save[_k]", "    if _j >= 0:"]
        loop += [f"        {n} = {self.nodes[n].code}" for n in step_order if n not in core]
        loop += [f"        _o{j}[:, _j] = {name}" for j, name in enumerate(roots)]
        loop += ["        pass", "    if _k == _K:", "        break"]
        if self.method == "euler":
            for state in states:
                loop += ["    " + line for line in _state_ddt(state)]
            for state in states:
                loop += ["    " + line for line in _state_update(state)]
        else:
            core_code = [f"{n} = {self.nodes[n].code}" for n in step_order if n in core]
            loop += [
                "    " + line
                for line in runge_kutta(self.method, states, core_code, _state_ddt, self.label)
            ]
        out += ["    " + line for line in head + loop]
        return "\n".join(out) + "\n"


def _state_init(s: State) -> list[str]:
    lines = _state_init_runs(s)
    if not s.shape:
        return lines
    shape = f"(_n, {', '.join(map(str, s.shape))},)"  # subscripted: (runs, *sizes)
    return [line.replace("_n)", f"{shape})") for line in lines]


def _state_init_runs(s: State) -> list[str]:
    a, sid = s.args, s.sid
    if s.kind in ("integ", "nonneg", "sit"):
        return [f"{sid} = _col({a['init']}, _n)"]
    if s.kind == "initial":
        return [f"{sid} = {a['init']}"]
    if s.kind == "smooth":
        if s.literal_order is not None:
            k = s.literal_order
            order = [f"{sid}_k, {sid}_sel, {sid}_r = {float(k)!r}, None, {k}"]
        else:
            order = [
                f"{sid}_k, {sid}_sel, {sid}_r, _f = _smooth_order({a['order']}, _n)",
                "_fail |= _f",
            ]
        # PySD fails: a list times a float order
        fails = ["_fail[:] = True"] if s.order_type == "f" else []
        return order + fails + [f"{sid} = _rows({a['init']}, {sid}_r, _n)"]
    if s.kind in ("delay", "delayn"):
        step = "_dt" if s.kind == "delayn" else "0.0"  # DELAY1/3 keep their order (Vensim)
        order = f"_delay_order({a['order']}, {a['time']}, {step}, _n)"
        return [
            f"{sid}_k, {sid}_sel, {sid}_r, _f = {order}",
            "_fail |= _f",
            f"{sid} = _rows({a['init']} * {a['time']}, {sid}_r, _n)",
        ]
    if s.kind == "fixed":
        return [
            f"{sid}_k, {sid}_r, _f = _fixed_order({a['time']}, _dt, _n)",
            "_fail |= _f",
            f"{sid}_p = _rows({a['init']}, {sid}_r, _n)",
            f"{sid}_i = np.zeros(_n, dtype=np.intp)",
            f"{sid} = _col({a['init']}, _n)",
        ]
    if s.kind == "trend":
        return [f"{sid} = _col({a['input']} / (1 + {a['itr']} * {a['avg']}), _n)"]
    if s.kind == "forecast":
        return [f"{sid} = _col({a['input']} / (1 + {a['itr']}), _n)"]
    raise AssertionError(s.kind)


def _state_ddt(s: State) -> list[str]:
    a, sid = s.args, s.sid
    if s.kind in ("integ", "nonneg"):
        return [f"d_{sid} = {a['flow']}"]
    if s.kind == "smooth":
        return [
            f"_tg = np.empty_like({sid})",
            f"_tg[1:] = {sid}[:-1]",
            f"_tg[0] = {a['input']}",
            f"d_{sid} = (_tg - {sid}) * {sid}_k / {a['time']}",
        ]
    if s.kind in ("delay", "delayn"):
        return [
            f"_of = {sid} / {a['time']}",
            "_in = np.empty_like(_of)",
            "_in[1:] = _of[:-1]",
            f"_in[0] = {a['input']}",
            f"d_{sid} = (_in - _of) * {sid}_k",
        ]
    if s.kind in ("trend", "forecast"):
        return [f"d_{sid} = ({a['input']} - {sid}) / {a['avg']}"]
    return []


def _state_update(s: State) -> list[str]:
    a, sid = s.args, s.sid
    if s.kind == "nonneg":
        return [f"{sid} = np.maximum({sid} + d_{sid} * _dt, 0)"]
    if s.kind in ("integ", "smooth", "delay", "delayn", "trend", "forecast"):
        return [f"{sid} = {sid} + d_{sid} * _dt"]
    if s.kind == "fixed":
        return [
            f"{sid}_p[{sid}_i, _ar] = {a['input']}",
            f"{sid}_i = ({sid}_i + 1) % {sid}_k",
            f"{sid} = {sid}_p[{sid}_i, _ar]",
        ]
    if s.kind == "sit":
        return [f"{sid} = {sid} * 0 + np.where({a['cond']}, {a['input']}, {sid})"]
    return []


def _topo(items: Iterable[str], edges: Any, what: str, label: Any = str) -> list[str]:
    """Dependencies first (iterative depth-first search); a cycle raises Unsupported."""
    items = list(items)
    wanted = set(items)
    order: list[str] = []
    mark: dict[str, int] = {}
    for root in items:
        if root in mark:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(edges(root))))]
        mark[root] = 1
        while stack:
            name, it = stack[-1]
            for dep in it:
                if dep not in wanted:
                    continue
                if mark.get(dep) == 1:
                    raise Unsupported(what, label(dep))
                if dep not in mark:
                    mark[dep] = 1
                    stack.append((dep, iter(sorted(edges(dep)))))
                    break
            else:
                stack.pop()
                mark[name] = 2
                order.append(name)
    return order
