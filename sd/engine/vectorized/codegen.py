"""Translate PySD's abstract model into numpy code for the vectorized engine.

The input is PySD's own translation of the ``.mdl`` (``AbstractModel`` -> elements ->
components -> ``.ast`` made of ``pysd.translators.structures.abstract_expressions``
dataclasses). Every expression is turned into a numpy expression the way
``pysd.builders.python.python_expressions_builder`` turns it into Python (same operator
grouping and parentheses, so floating-point operations happen in the same order).
Stateful functions (INTEG, SMOOTH, DELAY, ...) become plain array states with the
formulas of ``pysd.py_backend.statefuls``.

The output is a set of nodes (one numpy expression per variable, plus hidden nodes for
the arguments of stateful functions) and of states, which
:mod:`sd.engine.vectorized.assembly` orders into the simulation function.
"""

from __future__ import annotations

import ast as pyast
import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sd.engine.vectorized import subscripts as vs
from sd.engine.vectorized.support import Unsupported

# PySD's OperationBuilder._operators_build: template and arithmetic order
_OPS: dict[str, tuple[str, int]] = {
    "^": ("{l}**{r}", 1),
    "*": ("{l}*{r}", 2),
    "/": ("{l}/{r}", 2),
    "+": ("{l} + {r}", 3),
    "-": ("{l} - {r}", 3),
    "=": ("{l} == {r}", 4),
    "<>": ("{l} != {r}", 4),
    ">=": ("{l} >= {r}", 4),
    ">": ("{l} > {r}", 4),
    "<=": ("{l} <= {r}", 4),
    "<": ("{l} < {r}", 4),
    ":NOT:": ("np.logical_not({x})", 0),
    ":AND:": ("np.logical_and({l}, {r})", 0),
    ":OR:": ("np.logical_or({l}, {r})", 0),
    "negative": ("-{x}", 3),
}
_LOGICAL = {"=", "<>", ">=", ">", "<=", "<", ":NOT:", ":AND:", ":OR:"}
_UNARY_NP = {
    "abs": "np.abs",
    "exp": "np.exp",
    "sqrt": "np.sqrt",
    "ln": "np.log",
    "sin": "np.sin",
    "cos": "np.cos",
    "tan": "np.tan",
    "arcsin": "np.arcsin",
    "arccos": "np.arccos",
    "arctan": "np.arctan",
    "sinh": "np.sinh",
    "cosh": "np.cosh",
    "tanh": "np.tanh",
    "integer": "np.trunc",
}
_BINARY_NP = {
    "min": "np.minimum",
    "max": "np.maximum",
    "power": "np.power",
    "zidz": "_zidz",
    "modulo": "_modulo",
    "quantum": "_quantum",
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRUCT_NAMES = {
    "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
    "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
    "DataStructure": "DATA variables read from data files (no GET DIRECT DATA)",
    "GetLookupsStructure": "GET LOOKUPS inside an expression",
    "GetDataStructure": "GET DATA inside an expression",
    "GetConstantsStructure": "GET CONSTANTS inside an expression",
    "LookupsStructure": "a lookup table inside an expression",
    "SubscriptsReferenceStructure": "subscripts",
}
_REDUCE = {"sum": "np.sum", "prod": "np.prod", "vmin": "np.min", "vmax": "np.max"}


@dataclass
class Element:
    """One model variable as the engine sees it."""

    name: str  #: Vensim name (key of sd.Model.variables)
    py: str  #: PySD's Python name
    kind: str  #: "aux", "lookup", "data", "constant" (external constant)
    ast: Any = None  #: expression for "aux"
    table: tuple[np.ndarray, np.ndarray, str] | None = None  #: lookups and data: x, y, mode
    value: float | np.ndarray | None = None  #: external constants
    dims: tuple[str, ...] = ()  #: subscript ranges of a subscripted variable (PySD's order)
    parts: list[tuple[Any, list[str], list[list[str]]]] = field(default_factory=list)
    #: pieces of a subscripted "aux": (expression, left-hand side, :EXCEPT: lists)


@dataclass
class Plan:
    """Everything the code generator needs about one model (built once per model)."""

    elements: dict[str, Element]  #: PySD python name -> element
    cleanspace: dict[str, str]  #: PySD's clean reference name -> python name
    control: dict[str, str]  #: clean reference of control variables -> engine name
    control_py: dict[str, str] = field(default_factory=dict)  #: their python names -> same
    space: vs.Space | None = None  #: subscript ranges (None: the model has none)
    compiled: dict[Any, Any] = field(default_factory=dict)


@dataclass
class _B:
    """A built expression (PySD's BuildAST): code, arithmetic order and dependencies."""

    expr: str
    order: int = 0
    deps: set[str] = field(default_factory=set)
    isbool: bool = False

    def lower_order(self, new_order: int) -> None:
        if self.order >= new_order and self.order != 0 and new_order != 0:
            self.expr = f"({self.expr})"
            self.order = 0


@dataclass
class Node:
    """An auxiliary of the generated code: ``name = code``."""

    code: str
    deps: set[str]
    init_code: str | None = None
    init_deps: set[str] | None = None
    forced: bool = False  #: dynamic whatever its dependencies (ACTIVE INITIAL)


@dataclass
class State:
    """A stateful object (INTEG, SMOOTH, DELAY...): its arguments are plain names."""

    sid: str
    kind: str
    args: dict[str, str]
    deps: dict[str, set[str]]
    where: str
    literal_order: int | None = None
    shape: tuple[int, ...] = ()  #: sizes of the aligned subscript axes (after the runs)
    order_type: str = "i"  #: and the order of SMOOTH N (a float order makes PySD fail)

    _INIT = {
        "integ": ("init",),
        "nonneg": ("init",),
        "smooth": ("init", "order"),
        "delay": ("init", "time", "order"),
        "delayn": ("init", "time", "order"),
        "fixed": ("init", "time"),
        "sit": ("init",),
        "trend": ("input", "avg", "itr"),
        "forecast": ("input", "itr"),
        "initial": ("init",),
    }
    _STEP = {
        "integ": ("flow",),
        "nonneg": ("flow",),
        "smooth": ("input", "time"),
        "delay": ("input", "time"),
        "delayn": ("input", "time"),
        "fixed": ("input",),
        "sit": ("cond", "input"),
        "trend": ("input", "avg"),
        "forecast": ("input", "avg", "hz"),
        "initial": (),
    }

    def role_deps(self, roles: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for role in roles:
            out |= self.deps.get(role, set())
        return out

    @property
    def init_deps(self) -> set[str]:
        return self.role_deps(self._INIT[self.kind])

    @property
    def step_deps(self) -> set[str]:
        return self.role_deps(self._STEP[self.kind])


class Translator:
    """Turns the equations of a model into numpy code (nodes and states)."""

    def __init__(self, plan: Plan, kinds: Mapping[str, str]) -> None:
        self.plan = plan
        self.kinds = dict(kinds)
        self.nodes: dict[str, Node] = {}
        self.states: dict[str, State] = {}
        self.consts: list[float] = []
        self._const_ids: dict[str, int] = {}
        self.tables: list[tuple[np.ndarray, np.ndarray]] = []
        self._hidden = 0
        self._types: dict[str, str] = {}
        self._table_ids: dict[tuple[int, int], int] = {}
        self._keep: list[tuple[Any, Any]] = []
        self.axes: list[vs.Axis] = []  #: aligned subscript axes of the equation being built
        self.objs: list[Any] = []  #: index arrays and subscripted constants of the code

    def obj(self, value: Any) -> str:
        self.objs.append(value)
        return f"O{len(self.objs) - 1}"

    def _space(self, where: str) -> vs.Space:
        if self.plan.space is None:
            raise Unsupported("subscripts", where)
        return self.plan.space

    # -- expressions ---------------------------------------------------------------------------

    def const(self, value: float) -> str:
        key = repr(float(value))
        if key not in self._const_ids:
            self._const_ids[key] = len(self.consts)
            self.consts.append(float(value))
        return f"k{self._const_ids[key]}"

    def table(self, x: np.ndarray, y: np.ndarray) -> tuple[str, str]:
        key = (id(x), id(y))  # the same table called from several equations is bound once
        if key not in self._table_ids:
            self._table_ids[key] = len(self.tables)
            self._keep.append((x, y))  # ids stay unique while the arrays are alive
            self.tables.append((np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)))
        i = self._table_ids[key]
        return f"LX{i}", f"LY{i}"

    def visit(self, node: Any, where: str) -> _B:
        kind = type(node).__name__
        method = getattr(self, f"_v_{kind}", None)
        if isinstance(node, bool):
            return _B(self.const(float(node)))
        if isinstance(node, int | float | np.integer | np.floating):
            return self._number(float(node))
        if method is None:
            raise Unsupported(_STRUCT_NAMES.get(kind, kind.replace("Structure", "")), where)
        return method(node, where)

    def _number(self, value: float) -> _B:
        if np.isnan(value):
            return _B("_NAN")
        if value < 0:  # PySD writes repr(-3) = "-3" with order 0
            return _B("-" + self.const(-value))
        return _B(self.const(value))

    def _v_ReferenceStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        ref = node.reference
        subs = None if node.subscripts is None else list(node.subscripts.subscripts)
        if ref == "time" and subs is None:
            return _B("t", deps={"t"})
        if ref in self.plan.control and subs is None:
            return _B(self.plan.control[ref])
        py = self.plan.cleanspace.get(ref)
        if py is None:
            return self._subscript_value(ref, where)
        element = self.plan.elements[py]
        if element.kind == "lookup":
            raise Unsupported("a lookup table used without an argument", where)
        return _B(self._indexed(f"v_{py}", element, subs, where), deps={f"v_{py}"})

    def _indexed(self, code: str, element: Element, subs: list[str] | None, where: str) -> str:
        """``code`` (the stored value of ``element``) as seen from the aligned axes."""
        if not element.dims:
            if subs:
                raise Unsupported("subscripts on a variable without subscripts", where)
            return f"_up({code}, {len(self.axes)})" if self.axes else code
        index = vs.reference_index(element.dims, subs, self.axes, self._space(where), where)
        return code if index is None else f"{code}[{self.obj(index)}]"

    def _subscript_value(self, ref: str, where: str) -> _B:
        """A subscript range or element used as a number (its position, as in PySD)."""
        space = self._space(where)
        name = next((r for r in (*space.ranges, *space.main) if _clean(r) == ref), None)
        if name is None:
            name = next(
                (e for els in space.ranges.values() for e in els if _clean(e) == ref), None
            )
        if name is None:
            raise Unsupported(f"the name '{ref}'", where)
        value, dim = space.number(name)
        if dim is None:
            return self._number(float(value))
        index = vs.reference_index([dim], [dim], self.axes, space, where)
        stored = self.obj(value.reshape(1, -1))
        return _B(stored if index is None else f"{stored}[{self.obj(index)}]")

    def _v_ndarray(self, node: Any, where: str) -> _B:  # noqa: N802
        sizes = tuple(len(a.elements) for a in self.axes)
        values = _pysd_numbers(node.reshape(-1).tolist(), where)
        if node.size != int(np.prod(sizes)) or any(a.name.endswith("!") for a in self.axes):
            raise Unsupported("an array of numbers that does not match its subscripts", where)
        return _B(self.obj(values.reshape((1, *sizes))))

    def _v_ArithmeticStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        return self._operation(node, where)

    def _v_LogicStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        return self._operation(node, where)

    def _operation(self, node: Any, where: str) -> _B:
        operators = list(node.operators)
        args = [self.visit(arg, where) for arg in node.arguments]
        deps = set().union(*(a.deps for a in args))
        if not all(op in _LOGICAL for op in operators):
            for arg in args:  # numpy refuses bool - bool and -bool, Python does not
                if arg.isbool:
                    arg.expr, arg.order, arg.isbool = f"(1.0*({arg.expr}))", 0, False
        isbool = operators[-1] in _LOGICAL
        order = _OPS[operators[-1]][1]
        args[-1].lower_order(2 if operators[-1] == "^" else order)
        if len(args) == 1:
            template = _OPS[operators[0]][0]
            if operators[0] == "negative":
                order = 1
            return _B(template.format(x=args[0].expr), order, deps, isbool)
        right = args.pop().expr
        while args or operators:
            template = _OPS[operators.pop()][0]
            left = args.pop()
            left.lower_order(order)
            right = template.format(l=left.expr, r=right)
        return _B(right, order, deps, isbool)

    def _v_GameStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        return self.visit(node.expression, where)

    def _v_InlineLookupsStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        arg = self.visit(node.argument, where)
        xs, ys = _pysd_numbers(node.lookups.x, where), _pysd_numbers(node.lookups.y, where)
        lx, ly = self.table(xs, ys)
        return _B(f"_interp({arg.expr}, {lx}, {ly})", 0, arg.deps)

    def _v_CallStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        name = node.function.reference
        py = self.plan.cleanspace.get(name)
        if py is not None and self.plan.elements[py].kind == "lookup":
            if len(node.arguments) != 1:
                raise Unsupported("a lookup called with several arguments", where)
            fsubs = node.function.subscripts
            subs = None if fsubs is None else list(fsubs.subscripts)
            return self._lookup_call(self.plan.elements[py], node.arguments[0], where, subs)
        if name in _REDUCE:
            return self._reduce(name, node.arguments, where)
        if name == "invert_matrix":
            sizes = tuple(len(ax.elements) for ax in self.axes)
            if len(node.arguments) not in (1, 2) or len(sizes) < 2 or sizes[-1] != sizes[-2]:
                raise Unsupported("INVERT MATRIX of something else than a square matrix", where)
            m = self.visit(node.arguments[0], where)
            return _B(f"np.linalg.inv(_full({m.expr}, {sizes}))", 0, m.deps)
        if name == "vector_select":
            return self._vector_select(node.arguments, where)
        if name in ("vector_sort_order", "vector_rank", "vector_reorder"):
            if len(node.arguments) != 2 or not self.axes:
                raise Unsupported(name.upper().replace("_", " ") + " without subscripts", where)
            a, b = (self.visit(arg, where) for arg in node.arguments)
            sizes = tuple(len(ax.elements) for ax in self.axes)
            fn = {"vector_sort_order": "_sort_order", "vector_rank": "_rank"}.get(name, "_reorder")
            return _B(f"{fn}({a.expr}, {b.expr}, {sizes})", 0, a.deps | b.deps)
        if name == "elmcount":
            arg = node.arguments[0] if len(node.arguments) == 1 else None
            space = self._space(where)
            found = [r for r in space.ranges if _clean(r) == getattr(arg, "reference", None)]
            if not found:
                raise Unsupported("ELMCOUNT of something else than a subscript range", where)
            return self._number(float(len(space.elements(found[0]))))
        args = [self.visit(arg, where) for arg in node.arguments]
        deps = set().union(*(a.deps for a in args)) if args else set()
        e = [a.expr for a in args]
        label = name.upper().replace("_", " ")

        def need(count: int) -> None:
            if len(args) != count:
                raise Unsupported(f"{label} with {len(args)} arguments", where)

        if name in _UNARY_NP:
            need(1)
            return _B(f"{_UNARY_NP[name]}({e[0]})", 0, deps)
        if name in _BINARY_NP:
            need(2)
            return _B(f"{_BINARY_NP[name]}({e[0]}, {e[1]})", 0, deps)
        if name == "log":
            need(2)
            return _B(f"(np.log({e[0]})/np.log({e[1]}))", 0, deps)
        if name == "pi":
            need(0)
            return _B("np.pi")
        if name == "xidz":
            need(3)
            return _B(f"_xidz({e[0]}, {e[1]}, {e[2]})", 0, deps)
        if name == "if_then_else":
            need(3)
            isbool = args[1].isbool and args[2].isbool
            return _B(f"np.where({e[0]}, {e[1]}, {e[2]})", 0, deps, isbool)
        if name == "step":
            need(2)
            return _B(f"_step(t, _dt, {e[0]}, {e[1]})", 0, deps | {"t"})
        if name == "ramp":
            need(3)
            return _B(f"_ramp(t, {e[0]}, {e[1]}, {e[2]})", 0, deps | {"t"})
        if name == "pulse":
            need(2)
            return _B(f"_pulse(t, {e[0]}, {e[1]})", 0, deps | {"t"})
        if name == "pulse_train":
            need(4)
            return _B(f"_pulse_train(t, {e[0]}, {e[1]}, {e[2]}, {e[3]})", 0, deps | {"t"})
        if name == "active_initial":
            need(2)
            return self._active_initial(node.arguments, where)
        if name == "a_function_of":
            raise Unsupported("A FUNCTION OF (an incomplete equation)", where)
        raise Unsupported(label, where)

    def _reduce(self, name: str, arguments: Sequence[Any], where: str) -> _B:
        """SUM, PROD, VMIN, VMAX over the ``Range!`` subscripts of their argument."""
        if len(arguments) != 1:
            raise Unsupported(f"{name.upper()} with {len(arguments)} arguments", where)
        space = self._space(where)
        known = {a.name for a in self.axes}
        bangs = [b for b in dict.fromkeys(_bangs(arguments[0])) if b not in known]
        if not bangs:
            raise Unsupported(f"{name.upper()} without a 'Range!' subscript", where)
        outer = len(self.axes)
        self.axes = self.axes + [vs.Axis(b, space.elements(b[:-1])) for b in bangs]
        try:
            arg = self.visit(arguments[0], where)
        finally:
            self.axes = self.axes[:outer]
        axes = tuple(range(outer + 1, outer + 1 + len(bangs)))
        sizes = tuple(len(space.elements(b[:-1])) for b in bangs)
        code = f"_reduce({_REDUCE[name]}, {arg.expr}, {axes}, {sizes}, {outer + 1 + len(bangs)})"
        return _B(code, 0, arg.deps)

    def _vector_select(self, arguments: Sequence[Any], where: str) -> _B:
        """VECTOR SELECT(selection[A!], expression[A!], missing, action, error action)."""
        if len(arguments) != 5:
            raise Unsupported(f"VECTOR SELECT with {len(arguments)} arguments", where)
        error = arguments[4]
        if not isinstance(error, int | float | np.integer | np.floating) or error != 0:
            raise Unsupported("VECTOR SELECT with an error action", where)
        action = self.visit(arguments[3], where)
        space = self._space(where)
        known = {a.name for a in self.axes}
        bangs = [b for b in dict.fromkeys(_bangs(list(arguments[:2]))) if b not in known]
        if not bangs:
            raise Unsupported("VECTOR SELECT without a 'Range!' subscript", where)
        missing = self.visit(arguments[2], where)
        outer = len(self.axes)
        self.axes = self.axes + [vs.Axis(b, space.elements(b[:-1])) for b in bangs]
        try:
            sel, expr = (self.visit(arg, where) for arg in arguments[:2])
            sizes = tuple(len(a.elements) for a in self.axes)
        finally:
            self.axes = self.axes[:outer]
        axes = tuple(range(outer + 1, outer + 1 + len(bangs)))
        code = f"_select({sel.expr}, {expr.expr}, {missing.expr}, {action.expr}, {axes}, {sizes})"
        return _B(code, 0, sel.deps | expr.deps | missing.deps | action.deps)

    def _v_AllocateAvailableStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        pp_subs = getattr(getattr(node.pp, "subscripts", None), "subscripts", None)
        space = self._space(where)
        py = self.plan.cleanspace.get(getattr(node.pp, "reference", ""))
        if not self.axes or not pp_subs or py is None or not self.plan.elements[py].dims:
            raise Unsupported("ALLOCATE AVAILABLE without subscripts", where)
        profile = self.plan.elements[py].dims[-1]  # 'pp[..., ptype]' stands for the profile
        pp_node = dataclasses.replace(
            node.pp,
            subscripts=dataclasses.replace(node.pp.subscripts, subscripts=[*pp_subs[:-1], profile]),
        )
        request, avail = self.visit(node.request, where), self.visit(node.avail, where)
        outer = self.axes
        self.axes = [*outer, vs.Axis(profile, space.elements(profile))]
        try:
            pp = self.visit(pp_node, where)
        finally:
            self.axes = outer
        sizes = tuple(len(ax.elements) for ax in outer)
        code = f"_allocate_available({request.expr}, {pp.expr}, {avail.expr}, {sizes}, _fail)"
        return _B(code, 0, request.deps | pp.deps | avail.deps)

    def _v_AllocateByPriorityStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        if not self.axes:
            raise Unsupported("ALLOCATE BY PRIORITY without subscripts", where)
        args = [self.visit(a, where) for a in (node.request, node.priority, node.width,
                                                node.supply)]
        sizes = tuple(len(ax.elements) for ax in self.axes)
        deps = set().union(*(a.deps for a in args))
        code = ", ".join(a.expr for a in args)
        return _B(f"_allocate_by_priority({code}, {sizes}, _fail)", 0, deps)

    def _active_initial(self, arguments: Sequence[Any], where: str) -> _B:
        run_code, run_deps = self.hoist(arguments[0], where)
        init_code, init_deps = self.hoist(arguments[1], where)
        name = self._new_hidden()
        self.nodes[name] = Node(run_code, run_deps, init_code, init_deps, forced=True)
        return _B(name, 0, {name})

    def _lookup_call(
        self, element: Element, argument: Any, where: str, subs: list[str] | None = None
    ) -> _B:
        x = self.visit(argument, where)
        kind = self.kinds.get(element.py)
        mode = element.table[2] if element.table else "interpolate"
        if mode == "extrapolate":
            raise Unsupported("lookups with extrapolation", element.name)
        hold = mode == "hold_backward"
        p = element.py
        if element.dims or subs:
            return self._lookup_cells(element, x, subs, where, hold)
        if kind == "value":
            return _B(self._indexed(f"p_{p}", element, None, where), 0, set())
        if kind == "perrun" and self.axes:
            raise Unsupported("per-run time paths for a lookup called over subscripts", where)
        if kind == "series":
            fn = "_hold" if hold else "_interp"
            return _B(f"{fn}({x.expr}, px_{p}, pv_{p})", 0, x.deps)
        if kind == "perrun":
            fn = "_hold_rows" if hold else "_interp_rows"
            return _B(f"{fn}({x.expr}, px_{p}, pv_{p}, _ar)", 0, x.deps)
        lx, ly = self.table(element.table[0], element.table[1])
        fn = "_hold" if hold else "_interp"
        return _B(f"{fn}({x.expr}, {lx}, {ly})", 0, x.deps)

    def _lookup_cells(
        self, element: Element, x: _B, subs: list[str] | None, where: str, hold: bool
    ) -> _B:
        """A subscripted lookup: the table of each element, seen from the aligned axes."""
        if self.kinds.get(element.py) or hold:
            raise Unsupported("a subscripted lookup set from outside or holding backward", where)
        xs, ys = element.table[0], element.table[1]
        if np.isnan(ys).any():
            raise Unsupported("a subscripted lookup whose elements have different x points", where)
        if not element.dims:
            raise Unsupported("subscripts on a lookup without subscripts", where)
        index = vs.reference_index(element.dims, subs, self.axes, self._space(where), where)
        table = ys if index is None else ys[index]
        if table.ndim != 1 + len(self.axes):
            raise Unsupported("a subscripted lookup that does not match its subscripts", where)
        lx, ly = self.obj(np.asarray(xs, dtype=np.float64)), self.obj(np.ascontiguousarray(table))
        return _B(f"_lookup_cells({x.expr}, {lx}, {ly})", 0, x.deps)

    # -- stateful functions --------------------------------------------------------------------

    def _new_hidden(self) -> str:
        self._hidden += 1
        return f"h{self._hidden}"

    def hoist(self, node: Any, where: str) -> tuple[str, set[str]]:
        """A plain name for an argument: a variable, constant, or a new hidden auxiliary."""
        built = self.visit(node, where)
        if _IDENT.match(built.expr):
            return built.expr, built.deps
        name = self._new_hidden()
        self.nodes[name] = Node(built.expr, built.deps)
        return name, {name}

    def _state(self, kind: str, where: str, literal_order: int | None = None, **args: Any) -> State:
        codes, deps = {}, {}
        for role, value in args.items():  # may create nested states first
            codes[role], deps[role] = self.hoist(value, where)
        sid = f"s{len(self.states) + 1}"
        state = State(sid, kind, codes, deps, where, literal_order)
        state.shape = tuple(len(a.elements) for a in self.axes)
        self.states[sid] = state
        return state

    def _out(self, state: State, code: str, roles: Iterable[str] = ()) -> _B:
        return _B(f"({code})", 0, state.role_deps(roles) | {state.sid})

    def _v_IntegStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        kind = "nonneg" if node.non_negative else "integ"
        s = self._state(kind, where, flow=node.flow, init=node.initial)
        return self._out(s, s.sid)

    def _v_SmoothStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        literal = int(node.order) if isinstance(node.order, int | np.integer) else None
        s = self._state(
            "smooth",
            where,
            literal,
            input=node.input,
            time=node.smooth_time,
            init=node.initial,
            order=node.order,
        )
        # states are float whatever the type of the initial value (sd.engine.float_states)
        s.order_type = "i" if literal is not None else self.ptype(node.order)
        if s.order_type == "?":
            raise Unsupported(
                "SMOOTH whose order is an integer or a float depending on the run "
                "(PySD fails when the order is a float)",
                where,
            )
        return self._out(s, f"{s.sid}[-1] if {s.sid}_sel is None else {s.sid}[{s.sid}_sel]")

    _v_SmoothNStructure = _v_SmoothStructure

    def _v_DelayStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        kind = "delayn" if type(node).__name__ == "DelayNStructure" else "delay"
        s = self._state(
            kind, where, input=node.input, time=node.delay_time, init=node.initial, order=node.order
        )
        sid = s.sid
        code = f"({sid}[-1] if {sid}_sel is None else {sid}[{sid}_sel]) / {s.args['time']}"
        return self._out(s, code, ("time",))

    _v_DelayNStructure = _v_DelayStructure

    def _v_DelayFixedStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        s = self._state("fixed", where, input=node.input, time=node.delay_time, init=node.initial)
        return self._out(s, s.sid)

    def _v_SampleIfTrueStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        s = self._state("sit", where, cond=node.condition, input=node.input, init=node.initial)
        a = s.args
        return self._out(s, f"np.where({a['cond']}, {a['input']}, {s.sid})", ("cond", "input"))

    def _v_TrendStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        s = self._state(
            "trend", where, input=node.input, avg=node.average_time, itr=node.initial_trend
        )
        a = s.args
        code = f"_zidz({a['input']} - {s.sid}, {a['avg']} * np.abs({s.sid}))"
        return self._out(s, code, ("input", "avg"))

    def _v_ForecastStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        s = self._state(
            "forecast",
            where,
            input=node.input,
            avg=node.average_time,
            hz=node.horizon,
            itr=node.initial_trend,
        )
        a, sid = s.args, s.sid
        code = f"{a['input']} * (1 + _zidz({a['input']} - {sid}, {a['avg']} * {sid}) * {a['hz']})"
        return self._out(s, code, ("input", "avg", "hz"))

    def _v_InitialStructure(self, node: Any, where: str) -> _B:  # noqa: N802
        s = self._state("initial", where, init=node.initial)
        return self._out(s, s.sid)

    # -- Python types PySD gives values at initialisation ---------------------------------------

    def ptype(self, node: Any) -> str:
        """ "i" (int), "f" (float), "b" (bool) or "?" (depends on values) of ``node`` in PySD."""
        kind = type(node).__name__
        if isinstance(node, bool | np.bool_):
            return "b"
        if isinstance(node, int | np.integer):
            return "i"
        if isinstance(node, float | np.floating):
            return "f"
        if kind == "ReferenceStructure":
            return self._ref_type(node.reference)
        if kind == "LogicStructure":
            return "b"
        if kind == "ndarray":
            return "f"
        if kind == "ArithmeticStructure":
            return self._arith_type(node)
        if kind == "CallStructure":
            return self._call_type(node)
        if kind == "GameStructure":
            return self.ptype(node.expression)
        if kind in ("IntegStructure", "InitialStructure", "DelayFixedStructure"):
            return self.ptype(node.initial)
        if kind in ("SmoothStructure", "SmoothNStructure"):
            return self.ptype(node.initial)
        if kind in ("DelayStructure", "DelayNStructure", "InlineLookupsStructure"):
            return "f"
        if kind == "SampleIfTrueStructure":
            return _same(self.ptype(node.input), self.ptype(node.initial))
        if kind == "ForecastStructure" and self.ptype(node.input) == "f":
            return "f"
        return "?"

    def _ref_type(self, ref: str) -> str:
        py = self.plan.cleanspace.get(ref)
        if py is None or ref in self.plan.control or ref == "time":
            return "f"
        element = self.plan.elements[py]
        if py in self.kinds or element.kind != "aux" or element.dims:
            return "f"
        if py not in self._types:
            self._types[py] = "?"  # a loop through auxiliaries only: PySD cannot run it
            self._types[py] = self.ptype(element.ast)
        return self._types[py]

    def _arith_type(self, node: Any) -> str:
        types = [self.ptype(arg) for arg in node.arguments]
        if "/" in node.operators:
            return "f"
        if "^" in node.operators:
            if "f" in types:
                return "f"
            exponent = node.arguments[-1]
            if len(node.arguments) == 2 and isinstance(exponent, int | np.integer):
                return "i" if exponent >= 0 and "?" not in types else "?"
            return "?"
        if "?" in types:
            return "?"
        return "f" if "f" in types else "i"

    def _call_type(self, node: Any) -> str:
        name = node.function.reference
        py = self.plan.cleanspace.get(name)
        if py is not None and self.plan.elements[py].kind == "lookup":
            return "f"
        args = [self.ptype(arg) for arg in node.arguments]
        if name in ("integer", "pulse", "pulse_train"):
            return "i"
        if name == "if_then_else":
            return _same(args[1], args[2])
        if name == "step":
            return "i" if args[0] == "b" else args[0]
        if name == "xidz":
            return "f" if args[2] == "f" else "?"
        if name in ("quantum", "modulo"):
            return _same(args[0], "i" if args[1] == "b" else args[1])
        if name == "active_initial":
            return args[1]
        if name == "zidz":
            return "?"
        return "f"  # numpy functions, which PySD wraps in float()

    # -- elements --------------------------------------------------------------------------------

    def translate(self) -> None:
        """Translate every equation (a construct the engine cannot run raises Unsupported)."""
        for element in self.plan.elements.values():
            if element.kind != "lookup":
                self.nodes[f"v_{element.py}"] = self.element_node(element)
        for py, name in self.plan.control_py.items():
            self.nodes[f"v_{py}"] = Node(name, set())

    def element_node(self, element: Element) -> Node:
        p, kind = element.py, self.kinds.get(element.py)
        if element.dims:
            return self._array_node(element)
        if element.kind == "data":
            mode = repr(element.table[2])
            if kind == "value":
                return Node(f"p_{p}", set())
            if kind == "series":
                return Node(f"_data(t, px_{p}, pv_{p}, {mode})", {"t"})
            if kind == "perrun":
                return Node(f"_data_rows(t, px_{p}, pv_{p}, {mode}, _ar)", {"t"})
            lx, ly = self.table(element.table[0], element.table[1])
            return Node(f"_data(t, {lx}, {ly}, {mode})", {"t"})
        if kind == "value":
            return Node(f"p_{p}", set())
        if kind == "series":
            return Node(f"_interp(t, px_{p}, pv_{p})", {"t"})
        if kind == "perrun":
            return Node(f"_interp_rows(t, px_{p}, pv_{p}, _ar)", {"t"})
        if element.kind == "constant":
            return Node(self.const(element.value), set())
        built = self.visit(element.ast, element.name)
        return Node(built.expr, built.deps)

    def _array_node(self, element: Element) -> Node:
        """A subscripted variable: its pieces assembled into ``(runs, *sizes)``."""
        p, kind, where = element.py, self.kinds.get(element.py), element.name
        space = self._space(where)
        sizes = tuple(len(space.elements(d)) for d in element.dims)
        if kind == "value":
            return Node(f"_full(_up(p_{p}, {len(sizes)}), {sizes})", set())
        if kind == "series":
            return Node(f"_full(_interp(t, px_{p}, pv_{p}), {sizes})", {"t"})
        if kind == "perrun":
            code = f"_up(_interp_rows(t, px_{p}, pv_{p}, _ar), {len(sizes)})"
            return Node(f"_full({code}, {sizes})", {"t"})
        if element.kind == "data":
            tx, ty, mode = element.table
            if mode not in ("interpolate", "raw", "look_forward", "hold_backward"):
                raise Unsupported(f"data with the '{mode}' keyword", where)
            code = f"_data_cells(t, {self.obj(tx)}, {self.obj(ty)}, {mode!r})"
            return Node(code, {"t"})
        if element.kind == "constant":
            value = np.asarray(element.value, dtype=np.float64).reshape((1, *sizes))
            return Node(self.obj(value), set())
        pieces: list[tuple[str, vs.Part]] = []
        deps: set[str] = set()
        for ast, lhs, excepts in element.parts:
            axes, cells = vs.part(element.dims, lhs, excepts, space, where)
            self.axes = axes
            try:
                built = self.visit(ast, where)
            finally:
                self.axes = []
            deps |= built.deps
            pieces.append((built.expr, cells))
        if len(pieces) == 1 and pieces[0][1].whole:
            return Node(f"_full({pieces[0][0]}, {sizes})", deps)
        codes = ", ".join(f"({code}, {self.obj(cells)})" for code, cells in pieces)
        return Node(f"_asm({sizes}, ({codes},))", deps)


def _clean(name: str) -> str:
    """PySD's clean reference of a name (lower case, spaces as underscores)."""
    return name.lower().replace(" ", "_")


def _bangs(node: Any) -> list[str]:
    """The ``Range!`` subscripts referenced anywhere inside an expression, in order."""
    found: list[str] = []
    if type(node).__name__ == "SubscriptsReferenceStructure":
        return [s for s in node.subscripts if s.endswith("!")]
    if isinstance(node, str | bytes | int | float | np.ndarray | np.generic) or node is None:
        return found
    if isinstance(node, list | tuple):
        for item in node:
            found += _bangs(item)
        return found
    for value in getattr(node, "__dict__", {}).values():
        found += _bangs(value)
    return found


def _same(a: str, b: str) -> str:
    return a if a == b and a != "?" else "?"


def _pysd_numbers(values: Sequence[Any], where: str) -> np.ndarray:
    """The numbers PySD writes into the translated model (``np.array2string``, 8 digits)."""
    text = np.array2string(np.array(values), separator=",", threshold=len(values))
    try:
        return np.asarray(pyast.literal_eval(text), dtype=np.float64)
    except (ValueError, SyntaxError):
        raise Unsupported("a lookup table with non-numeric points", where) from None
