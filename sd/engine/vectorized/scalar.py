"""Scalar code for one run: the vectorized engine's equations on plain Python floats.

At one run the vectorized engine's arrays have one element, and numpy's per-call overhead
(about 1 us a call, several hundred calls a step) is most of a single run's time. For
``sd.run`` (:mod:`sd.engine.fastrun`) the same translated equations
(:mod:`sd.engine.vectorized.codegen`) are written as scalar code instead: every node's
numpy expression is rewritten on its
syntax tree (``np.where`` becomes ``a if c else b``, ``np.minimum`` a NaN-propagating
``min``, lookups and data a binary search on Python lists with ``np.interp``'s formula
(the float forms of :mod:`sd.engine.interpolation`: ``interp1``, ``lookup1``, ``hold1``,
``data1``),
lookups and data of ``Time`` alone are evaluated once over the time grid), and each state
is a float (or a list of floats for SMOOTH N and DELAY N chains). The arithmetic is the
same in the same order; transcendental functions are numpy's own (``math.exp`` differs
from ``np.exp`` in the last bit), so a run equals the vectorized engine's, and PySD's, to
rounding (tested with the conformance models).

Python floats raise where numpy returns ``inf`` or ``nan``: a division by zero
(``ZeroDivisionError``), an overflow in ``**``. The caller then lets PySD run the model,
which stops and names the variable, as Vensim stops a simulation on a floating point
error (Vensim's "Simulation Error Messages": errors terminate the simulation). So a
division by zero hidden by ``MIN(1, x / 0)`` is an error in ``sd.run``, never a value.

Only Euler runs of models without subscripts are written this way (:class:`Unsupported`
otherwise, and the caller keeps the numpy code at one run).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sd.engine.interpolation import data1, hold1, interp1, lookup1
from sd.engine.interpolation import interp as _np_interp
from sd.engine.vectorized.support import SMALL, Unsupported, delay_order, fixed_order, smooth_order

# -- runtime helpers on Python floats (each mirrors the numpy helper of the same name) ---------


def fmin(a: Any, b: Any) -> Any:
    """``np.minimum`` of two floats: NaN if either is NaN."""
    if a != a or b != b:  # noqa: PLR0124 - NaN test
        return a + b
    return b if b < a else a


def fmax(a: Any, b: Any) -> Any:
    """``np.maximum`` of two floats: NaN if either is NaN."""
    if a != a or b != b:  # noqa: PLR0124 - NaN test
        return a + b
    return b if b > a else a


def grid(fn: Callable[..., Any], times: Sequence[float], *args: Any) -> list[Any]:
    """``fn(t, *args)`` at every time of the run (lookups and data of Time alone).

    A lookup is one call of numpy's ``interp`` over the times: numpy then computes each
    segment's slope once, with the same quotient, so the numbers are the same."""
    if fn is interp1 and len(args) == 2 and len(args[0]) > 1:
        xs = np.asarray(times, dtype=np.float64)
        return _np_interp(xs, np.asarray(args[0], np.float64), np.asarray(args[1], np.float64)
                          ).tolist()
    return [fn(t, *args) for t in times]


def step1(t: float, dt: float, value: Any, tstep: Any) -> Any:
    return value * (t + dt / 2 > tstep)


def ramp1(t: float, slope: Any, start: Any, finish: Any) -> Any:
    return (t + SMALL > start) * slope * (fmin(finish, t) - start)


def pulse1(t: float, start: Any, width: Any) -> float:
    return 1.0 if start - SMALL <= t < start + width else 0.0


def pulse_train1(t: float, start: Any, repeat: Any, width: Any, end: Any) -> float:
    if repeat == 0:
        return 1.0 if start - SMALL <= t < start + width else 0.0
    # Vensim's train includes its end time (sd.engine.vensim_functions)
    inside = start <= t <= end and float(np.mod(t - start + SMALL, repeat)) < width
    return 1.0 if inside else 0.0


def xidz1(num: Any, den: Any, x: Any) -> Any:
    return x if abs(den) < SMALL else num / den


def zidz1(num: Any, den: Any) -> Any:
    return 0.0 if abs(den) < SMALL else num / den


def quantum1(a: Any, b: Any) -> Any:
    return a if b < SMALL else b * float(np.trunc(a / b))


def modulo1(x: Any, m: Any) -> Any:
    return x - quantum1(x, m)


def _float_of(fn: Any) -> Callable[..., float]:
    def call(*args: Any) -> float:
        return float(fn(*args))

    call.__name__ = getattr(fn, "__name__", "ufunc")
    return call


def rows1(x: Any, k: int) -> list[float]:
    """A chain of ``k`` stages all holding ``x`` (``vectorized_support.rows`` at one run)."""
    return [float(x)] * int(k)


def smooth_ddt(s: list[float], inp: Any, k: float, time: Any) -> list[float]:
    """SMOOTH N's derivatives: ``(stage before - stage) * k / time``, as the numpy code."""
    before = [inp, *s[:-1]]
    return [(b - x) * k / time for b, x in zip(before, s, strict=True)]


def delay_ddt(s: list[float], inp: Any, k: float, time: Any) -> list[float]:
    """DELAY N's derivatives: outflows ``stage / time``, ``(inflow - outflow) * k``."""
    out = [x / time for x in s]
    into = [inp, *out[:-1]]
    return [(a - b) * k for a, b in zip(into, out, strict=True)]


def chain_update(s: list[float], d: list[float], dt: float) -> list[float]:
    return [x + y * dt for x, y in zip(s, d, strict=True)]


def fixed_order1(delay_time: Any, dt: float, n: int) -> tuple[int, int, np.ndarray]:
    k, rows, failed = fixed_order(delay_time, dt, n)
    return int(k[0]), int(rows), failed


#: names the scalar code can use besides those of sd.engine.vectorized.support.NAMESPACE
NAMESPACE: dict[str, Any] = {
    "_fmin": fmin,
    "_fmax": fmax,
    "_interp1": interp1,
    "_lookup1": lookup1,
    "_hold1": hold1,
    "_data1": data1,
    "_grid": grid,
    "_step1": step1,
    "_ramp1": ramp1,
    "_pulse1": pulse1,
    "_pulse_train1": pulse_train1,
    "_xidz1": xidz1,
    "_zidz1": zidz1,
    "_quantum1": quantum1,
    "_modulo1": modulo1,
    "_rows1": rows1,
    "_smooth_ddt": smooth_ddt,
    "_delay_ddt": delay_ddt,
    "_chain_update": chain_update,
    "_fixed_order1": fixed_order1,
    "_delay_order": delay_order,
    "_smooth_order": smooth_order,
    "_pow1": _float_of(np.power),
}
_UFUNCS = (
    "exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "trunc", "power",
)  # fmt: skip
for _name in _UFUNCS:
    NAMESPACE[f"_{_name}1"] = _float_of(getattr(np, _name))

# -- rewriting the numpy code ------------------------------------------------------------------

_RENAMED = {
    "_interp": "_interp1",
    "_hold": "_hold1",
    "_data": "_data1",
    "_step": "_step1",
    "_ramp": "_ramp1",
    "_pulse": "_pulse1",
    "_pulse_train": "_pulse_train1",
    "_xidz": "_xidz1",
    "_zidz": "_zidz1",
    "_quantum": "_quantum1",
    "_modulo": "_modulo1",
    "_fixed_order": "_fixed_order1",
    "_delay_order": "_delay_order",
    "_smooth_order": "_smooth_order",
}
_NP_RENAMED = {"minimum": "_fmin", "maximum": "_fmax", "abs": "abs"} | {
    name: f"_{name}1" for name in _UFUNCS
}
_NP_KEPT = {"logical_and", "logical_or", "logical_not", "pi", "float64", "mod"}
_ARRAY_ONLY = {
    "_col", "_rows", "_up", "_full", "_asm", "_reduce", "_select", "_interp_rows",
    "_hold_rows", "_data_rows", "_lookup_cells", "_data_cells", "_sort_order", "_rank",
    "_reorder", "_allocate_available", "_allocate_by_priority", "_like", "_and",
}  # fmt: skip


class _Scalar(ast.NodeTransformer):
    """Rewrites one numpy expression of the engine into scalar code."""

    def __init__(self, grid_of: Callable[[ast.Call], str | None] | None = None) -> None:
        self.grid_of = grid_of

    def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: N802 - ast's visitor name
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("_interp", "_data") and self.grid_of:
            name = self.grid_of(node)
            if name is not None:
                return ast.Subscript(ast.Name(name, ast.Load()), ast.Name("_k", ast.Load()),
                                     ast.Load())
        node = self.generic_visit(node)
        func = node.func
        table = _table_call(node)
        if table is not None:  # a lookup of the model: its own function
            return ast.Call(ast.Name(f"LI{table}", ast.Load()), [node.args[0]], [])
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id != "np":
                raise Unsupported(f"scalar code for '{ast.unparse(func)}'")
            if func.attr == "where" and len(node.args) == 3 and not node.keywords:
                test, body, orelse = node.args
                return ast.IfExp(test, body, orelse)
            if func.attr in _NP_RENAMED:
                node.func = ast.Name(_NP_RENAMED[func.attr], ast.Load())
                return node
            if func.attr in _NP_KEPT:
                return node
            raise Unsupported(f"scalar code for np.{func.attr}")
        if isinstance(func, ast.Name):
            if func.id in _ARRAY_ONLY:
                raise Unsupported(f"scalar code for {func.id}")
            if func.id in _RENAMED:
                func.id = _RENAMED[func.id]
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)
        test = node.test  # ``sX_sel is None``: at one run a chain has one order (no index)
        if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
                and test.left.id.endswith("_sel") and len(test.ops) == 1
                and isinstance(test.ops[0], ast.Is)
                and isinstance(test.comparators[0], ast.Constant)
                and test.comparators[0].value is None):
            return node.body
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)
        if isinstance(node.op, ast.Pow):  # numpy's power: never a complex number
            return ast.Call(ast.Name("_pow1", ast.Load()), [node.left, node.right], [])
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:  # noqa: N802
        if isinstance(node.value, ast.Name) and node.value.id == "np" and node.attr == "pi":
            return node
        return self.generic_visit(node)


def _table_call(node: ast.Call) -> str | None:
    """The table number of ``_interp(x, LXi, LYi)``, else None."""
    if not (isinstance(node.func, ast.Name) and node.func.id == "_interp"):
        return None
    if len(node.args) != 3 or node.keywords:
        return None
    lx, ly = node.args[1], node.args[2]
    if not (isinstance(lx, ast.Name) and isinstance(ly, ast.Name)):
        return None
    if lx.id[:2] != "LX" or ly.id[:2] != "LY" or lx.id[2:] != ly.id[2:] or not lx.id[2:].isdigit():
        return None
    return lx.id[2:]


def scalar_code(code: str, grid_of: Callable[[ast.Call], str | None] | None = None) -> str:
    """One numpy expression (or ``a = b`` statement) of the engine as scalar code."""
    tree = ast.parse(code)
    tree = _Scalar(grid_of).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


class _Grid:
    """Lookups and data of ``t`` alone in the loop, evaluated once over the time grid."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  #: call's code -> list name
        self.lines: list[str] = []

    def __call__(self, node: ast.Call) -> str | None:
        args = node.args
        if not args or not (isinstance(args[0], ast.Name) and args[0].id == "t"):
            return None
        if not all(isinstance(a, ast.Name | ast.Constant) for a in args[1:]) or node.keywords:
            return None
        if any(isinstance(a, ast.Name) and a.id[:2] not in ("LX", "LY", "px", "pv")
               for a in args[1:]):
            return None
        key = ast.unparse(node)
        if key not in self.names:
            name = f"_g{len(self.names)}"
            self.names[key] = name
            fn = _RENAMED[node.func.id]  # type: ignore[attr-defined]
            rest = ", ".join(ast.unparse(a) for a in args[1:])
            self.lines.append(f"{name} = _grid({fn}, _times, {rest})")
        return self.names[key]


class _Hoist(ast.NodeTransformer):
    """Calls and operations of constants only, computed once before the loop.

    A subtree of the loop's code that reads only values fixed before the run (constants,
    initial values, lookups of them) is replaced by a name computed after the
    initialisation: the same operations on the same numbers. Branches of ``a if c else
    b`` are left alone, since they are computed only when taken (and may then fail).
    """

    def __init__(self, static: set[str]) -> None:
        self.static = static
        self.names: dict[str, str] = {}
        self.lines: list[str] = []

    def apply(self, code: str) -> str:
        tree = ast.parse(code, mode="eval")
        return ast.unparse(ast.fix_missing_locations(self.visit(tree)))

    def _fixed(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.static
        if isinstance(node, ast.BinOp):
            return self._fixed(node.left) and self._fixed(node.right)
        if isinstance(node, ast.UnaryOp):
            return self._fixed(node.operand)
        if isinstance(node, ast.Call):
            return (isinstance(node.func, ast.Name) and not node.keywords
                    and all(self._fixed(a) for a in node.args))
        return False

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:  # noqa: N802 - ast's visitor name
        node.test = self.visit(node.test)  # the branches stay as they are
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:  # noqa: N802 - ast's visitor name
        node.values[0] = self.visit(node.values[0])  # the others are computed when needed
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Call | ast.BinOp | ast.UnaryOp) and self._fixed(node):
            key = ast.unparse(node)
            if key not in self.names:
                self.names[key] = f"_c{len(self.names)}"
                self.lines.append(f"{self.names[key]} = {key}")
            return ast.Name(self.names[key], ast.Load())
        return super().generic_visit(node)


def source(
    asm: Any,
    roots: list[str],
    init_order: list[str],
    step_order: list[str],
    core: set[str],
    states: list[Any],
    state_init: Callable[[Any], list[str]],
) -> str:
    """The scalar ``_simulate(_env)`` of an assembly (:mod:`sd.engine.vectorized.assembly`)."""
    if asm.method != "euler":
        raise Unsupported(f"scalar code under {asm.method}")
    if asm.plan.space is not None or asm.objs:
        raise Unsupported("scalar code with subscripts")
    if any(kind not in ("value", "series") for kind in asm.kinds.values()):
        raise Unsupported("scalar code with per-run time paths")
    head = [
        "_K, _save, _fail = _env.K, _env.save, _env.fail",
        "_n, _ar = 1, _env.ar",
        "_times = _env.times.tolist()",
        "_t0, _tf, _dt, _sp = float(_env.t0), float(_env.tf), float(_env.dt), float(_env.sp)",
        "_C, _T, _P = _env.consts, _env.tables, _env.params",
        "_NAN = float(np.nan)",
    ]
    head += [f"k{i} = float(_C[{i}])" for i in range(len(asm.consts))]
    head += [f"LX{i}, LY{i} = _T[{i}][0].tolist(), _T[{i}][1].tolist()"
             for i in range(len(asm.tables))]
    head += [f"LI{i} = _lookup1(LX{i}, LY{i})" for i in range(len(asm.tables))]
    for p, kind in sorted(asm.kinds.items()):
        if kind == "value":
            head.append(f"p_{p} = float(_P[{p!r}])")
        else:
            head.append(f"px_{p}, pv_{p} = _P[{p!r}][0].tolist(), _P[{p!r}][1].tolist()")
    head.append("_rec = []")
    head.append("t = _times[0]")
    for name in init_order:
        if name in asm.states:
            head += [_scalar_init(line) for line in state_init(asm.states[name])]
        else:
            node = asm.nodes[name]
            code = node.code if node.init_code is None else node.init_code
            head.append(f"{name} = {scalar_code(code)}")
    grid_of = _Grid()
    dynamic = asm._dynamic()
    static = {n for n in init_order if n not in asm.states and not dynamic(n)}
    static |= {f"k{i}" for i in range(len(asm.consts))} | {"_t0", "_tf", "_dt", "_sp"}
    static |= {f"p_{p}" for p, kind in asm.kinds.items() if kind == "value"}
    hoist = _Hoist(static)

    def code(name: str) -> str:
        return hoist.apply(scalar_code(asm.nodes[name].code, grid_of))

    loop = ["for _k in range(_K + 1):", "    t = _times[_k]"]
    loop += [f"    {n} = {code(n)}" for n in step_order if n in core]
    loop += ["    _j = _save[_k]", "    if _j >= 0:"]
    loop += [f"        {n} = {code(n)}" for n in step_order if n not in core]
    loop.append(f"        _rec.append(({''.join(r + ', ' for r in roots)}))")
    loop += ["    if _k == _K:", "        break"]
    stages = {state.sid: _stages(state, asm.consts) for state in states}
    for state in states:
        loop += ["    " + line for line in _ddt(state, stages[state.sid])]
    for state in states:
        loop += ["    " + line for line in _update(state, stages[state.sid])]
    tail = ["_env.block = _rec"]
    body = head + hoist.lines + grid_of.lines + loop + tail
    return "def _simulate(_env):\n" + "".join(f"    {line}\n" for line in body)


def _scalar_init(line: str) -> str:
    if line.startswith("_fail"):
        return line
    target, _, code = line.partition(" = ")
    if code.startswith("np.zeros(_n, dtype=np.intp)"):
        return f"{target} = 0"
    tree = ast.parse(code, mode="eval").body
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name):
        if tree.func.id == "_col":  # a float state
            return f"{target} = float({scalar_code(ast.unparse(tree.args[0]))})"
        if tree.func.id == "_rows":  # a chain of stages
            x, k = (scalar_code(ast.unparse(a)) for a in tree.args[:2])
            return f"{target} = _rows1({x}, {k})"
    return f"{target} = {scalar_code(code)}"


def _stages(s: Any, consts: Sequence[float]) -> int | None:
    """The number of stages of a SMOOTH or DELAY chain when it is known before the run
    (a literal order; DELAY1/DELAY3 keep theirs), so that its code is written out."""
    if s.kind == "smooth" and s.literal_order is not None and 1 <= s.literal_order <= 16:
        return int(s.literal_order)
    order = s.args.get("order", "")
    if s.kind == "delay" and order[:1] == "k" and order[1:].isdigit():
        value = float(np.trunc(consts[int(order[1:])]))
        return int(value) if 1 <= value <= 16 else None  # < 1 fails in _delay_order
    return None


def _ddt(s: Any, stages: int | None = None) -> list[str]:
    a, sid = s.args, s.sid
    if s.kind in ("integ", "nonneg"):
        return [f"d_{sid} = {a['flow']}"]
    if s.kind == "smooth" and stages:
        before = [a["input"]] + [f"{sid}[{i}]" for i in range(stages - 1)]
        terms = [f"({b} - {sid}[{i}]) * {sid}_k / {a['time']}" for i, b in enumerate(before)]
        return [f"d_{sid} = [{', '.join(terms)}]"]
    if s.kind == "smooth":
        return [f"d_{sid} = _smooth_ddt({sid}, {a['input']}, {sid}_k, {a['time']})"]
    if s.kind == "delay" and stages:
        lines = [f"_of{i} = {sid}[{i}] / {a['time']}" for i in range(stages)]
        into = [a["input"]] + [f"_of{i}" for i in range(stages - 1)]
        terms = [f"({b} - _of{i}) * {sid}_k" for i, b in enumerate(into)]
        return [*lines, f"d_{sid} = [{', '.join(terms)}]"]
    if s.kind in ("delay", "delayn"):
        return [f"d_{sid} = _delay_ddt({sid}, {a['input']}, {sid}_k, {a['time']})"]
    if s.kind in ("trend", "forecast"):
        return [f"d_{sid} = ({a['input']} - {sid}) / {a['avg']}"]
    return []


def _update(s: Any, stages: int | None = None) -> list[str]:
    a, sid = s.args, s.sid
    if stages:
        terms = [f"{sid}[{i}] + d_{sid}[{i}] * _dt" for i in range(stages)]
        return [f"{sid} = [{', '.join(terms)}]"]
    if s.kind == "nonneg":
        return [f"{sid} = _fmax({sid} + d_{sid} * _dt, 0.0)"]
    if s.kind in ("integ", "trend", "forecast"):
        return [f"{sid} = {sid} + d_{sid} * _dt"]
    if s.kind in ("smooth", "delay", "delayn"):
        return [f"{sid} = _chain_update({sid}, d_{sid}, _dt)"]
    if s.kind == "fixed":
        return [
            f"{sid}_p[{sid}_i] = {a['input']}",
            f"{sid}_i = ({sid}_i + 1) % {sid}_k",
            f"{sid} = {sid}_p[{sid}_i]",
        ]
    if s.kind == "sit":
        return [f"{sid} = {sid} * 0 + ({a['input']} if {a['cond']} else {sid})"]
    return []
