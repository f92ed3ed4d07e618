"""Check PySD's generated Python before it is imported or cached.

:mod:`sd.model.sanitize` keeps user text out of the generated code; this is the second
line: every ``.py`` file PySD wrote for a model is parsed with :mod:`ast` and
walked, and only what PySD's builders emit is allowed (collected by translating
the project's models and the Vensim conformance models):

- imports: ``pathlib.Path``, ``numpy as np``, ``xarray as xr``, ``scipy.stats`` and
  the PySD runtime names in :data:`PYSD_IMPORTS`;
- statements: functions decorated with ``@component.add(...)``, assignments,
  returns, docstrings, PySD's ``for key in data`` loop and, in a model split by
  views, the one ``exec(load_modules(...))`` line that loads PySD's module files;
- names: those the generated files define or import, and a few builtins;
- attributes: the numpy/xarray/PySD names in :data:`ATTRIBUTES`, never ``_``-names.

Anything else is refused with a :class:`~sd.errors.TranslationError` that names the
Vensim variable (and its line in the ``.mdl``) whose code holds it.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from collections.abc import Iterator
from pathlib import Path

from sd.errors import TranslationError
from sd.model import mdl

#: ``from pysd.py_backend.X import ...`` names the builders emit (PySD 3.14)
PYSD_IMPORTS = {
    "allocation": {"allocate_available", "allocate_by_priority"},
    "data": {"TabData"},
    "external": {"ExtConstant", "ExtData", "ExtLookup"},
    "functions": {
        "active_initial", "get_time_value", "if_then_else", "incomplete", "integer",
        "invert_matrix", "modulo", "not_implemented_function", "prod", "pulse", "quantum",
        "ramp", "step", "sum", "vector_rank", "vector_reorder", "vector_select",
        "vector_sort_order", "vmax", "vmin", "xidz", "zidz",
    },
    "lookups": {"HardcodedLookups"},
    "model": {"Macro"},
    "statefuls": {
        "Delay", "DelayFixed", "DelayN", "Forecast", "Initial", "Integ", "NonNegativeInteg",
        "SampleIfTrue", "Smooth", "Trend",
    },
    "utils": {"load_model_data", "load_modules"},
}  # fmt: skip
MODULE_ALIASES = {"numpy": "np", "xarray": "xr"}
#: attribute names the generated code uses (numpy and xarray functions, PySD objects)
ATTRIBUTES = {
    # numpy (python_functions.py and the expression builders)
    "abs", "all", "arange", "arccos", "arcsin", "arctan", "array", "cos", "cosh", "empty",
    "exp", "full", "inf", "interp", "inv", "isnan", "linalg", "log", "logical_and",
    "logical_not", "logical_or", "max", "maximum", "min", "minimum", "moveaxis", "nan",
    "ndarray", "pi", "power", "prod", "random", "reshape", "sin", "sinh", "sqrt", "sum",
    "tan", "tanh", "tile", "uniform",
    # scipy.stats
    "rvs", "truncexpon", "truncnorm",
    # xarray and arrays
    "DataArray", "expand_dims", "loc", "ones_like", "rename", "reset_coords", "transpose",
    "values", "zeros_like",
    # pathlib and PySD objects
    "add", "final_time", "initial_time", "joinpath", "parent", "saveper", "stage",
    "time_step",
}  # fmt: skip
BUILTINS = {"abs", "bool", "float", "int", "len", "max", "min", "range", "round"}
#: dunder names the generated module itself defines or reads
DUNDERS = {"__data", "__file__", "__pysd_version__"}
_STATEMENTS = (ast.Assign, ast.Return, ast.Expr, ast.For, ast.FunctionDef)
_EXPRESSIONS = (
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Attribute,
    ast.Name, ast.Constant, ast.Dict, ast.List, ast.Tuple, ast.Subscript, ast.Slice,
    ast.Lambda, ast.keyword, ast.arguments, ast.arg, ast.Load, ast.Store,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.alias,
)  # fmt: skip


class Refused(Exception):
    """A node PySD's builders do not emit."""

    def __init__(self, node: ast.AST, why: str) -> None:
        super().__init__(why)
        self.node = node


def verify_translation(folder: Path, text: str, mdl_path: Path) -> None:
    """Verify every ``.py`` file PySD wrote in ``folder``; raise TranslationError if refused."""
    files = sorted(Path(folder).rglob("*.py"))
    trees = {}
    for file in files:
        source = file.read_text(encoding="utf-8")
        try:
            trees[file] = ast.parse(source, filename=str(file))
        except SyntaxError as err:
            raise TranslationError(
                f"{mdl_path}: PySD wrote Python that does not parse ({err.msg}, line "
                f"{err.lineno} of {file.name}); the model cannot be run safely. Check the "
                "names, comments and strings of the model for unusual characters."
            ) from None
    _check_module_list(folder, mdl_path)
    defined = set().union(*(_defined(tree) for tree in trees.values())) if trees else set()
    for file, tree in trees.items():
        try:
            _check_module(tree, defined, _imported(tree))
        except Refused as refused:
            raise _explain(refused, tree, file, text, mdl_path) from None


def _check_module_list(folder: Path, mdl_path: Path) -> None:
    """A model split by views lists its module files in JSON: plain identifiers only."""
    for listing in Path(folder).rglob("_modules.json"):
        for name in _names(json.loads(listing.read_text(encoding="utf-8"))):
            if not name.isidentifier():
                raise TranslationError(
                    f"{mdl_path}: PySD named a module file {name!r} (from a view name), "
                    "which is not a plain name; the toolkit refuses it. Rename the view."
                )


def _names(tree: object) -> Iterator[str]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield str(key)
            yield from _names(value)
    elif isinstance(tree, list):
        for value in tree:
            yield str(value)


def _defined(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name)
        elif _is_params(node):  # a macro's arguments, set by PySD's Macro at run time
            names.update(v.value for v in node.value.values if isinstance(v, ast.Constant))
    return names


def _is_params(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["_params"]
        and isinstance(node.value, ast.Dict)
        and all(
            isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value.isidentifier()
            for v in node.value.values
        )
    )


def _imported(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }


def _check_module(tree: ast.Module, defined: set[str], imported: set[str]) -> None:
    """``imported`` names (whitelisted imports) may shadow builtins, e.g. PySD's ``sum``."""
    defined = defined - _DANGEROUS | imported
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in MODULE_ALIASES or MODULE_ALIASES[alias.name] != alias.asname:
                    raise Refused(node, f"import of {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            _check_import_from(node)
        elif isinstance(node, ast.FunctionDef):
            _check_function(node, defined)
        elif _is_exec_modules(node):
            continue
        elif isinstance(node, ast.Assign | ast.Expr):
            _check_tree(node, defined)
        else:
            raise Refused(node, f"a {type(node).__name__} statement")


def _check_import_from(node: ast.ImportFrom) -> None:
    names = {alias.name for alias in node.names}
    if any(alias.asname for alias in node.names) or node.level:
        raise Refused(node, "an import under another name")
    module = node.module or ""
    if module == "pathlib" and names == {"Path"}:
        return
    if module == "scipy" and names == {"stats"}:
        return
    if module == "pysd" and names == {"Component"}:
        return
    sub = module.removeprefix("pysd.py_backend.")
    if module.startswith("pysd.py_backend.") and names <= PYSD_IMPORTS.get(sub, set()):
        return
    raise Refused(node, f"import of {', '.join(sorted(names))} from {module}")


def _is_exec_modules(node: ast.stmt) -> bool:
    """PySD's ``exec(load_modules("modules_NAME", _modules, _root, []))`` line."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "exec" and len(call.args) == 1):
        return False
    inner = call.args[0]
    return (
        not call.keywords
        and isinstance(inner, ast.Call)
        and isinstance(inner.func, ast.Name)
        and inner.func.id == "load_modules"
        and not inner.keywords
        and len(inner.args) == 4
        and isinstance(inner.args[0], ast.Constant)
        and isinstance(inner.args[0].value, str)
        and inner.args[0].value.isidentifier()
        and [getattr(a, "id", None) for a in inner.args[1:3]] == ["_modules", "_root"]
        and isinstance(inner.args[3], ast.List)
        and not inner.args[3].elts
    )


def _check_function(node: ast.FunctionDef, defined: set[str]) -> None:
    for deco in node.decorator_list:
        ok = (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and isinstance(deco.func.value, ast.Name)
            and deco.func.value.id == "component"
            and deco.func.attr == "add"
        )
        if not ok:
            raise Refused(deco, "a decorator other than @component.add")
        _check_tree(deco, defined)
    _check_store(node, node.name)
    for default in node.args.defaults + node.args.kw_defaults:
        if default is not None:
            _check_tree(default, defined)
    for arg in node.args.args + node.args.kwonlyargs:
        _check_store(arg, arg.arg)
    if node.args.vararg or node.args.kwarg:
        raise Refused(node, "a function with *args or **kwargs")
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef) or not isinstance(stmt, _STATEMENTS):
            raise Refused(stmt, f"a {type(stmt).__name__} statement in a function")
        if isinstance(stmt, ast.For) and (stmt.orelse or not isinstance(stmt.target, ast.Name)):
            raise Refused(stmt, "a for loop PySD does not write")
        _check_tree(stmt, defined)


def _check_tree(root: ast.AST, defined: set[str]) -> None:
    for node in ast.walk(root):
        if isinstance(node, ast.For | ast.Assign | ast.Return | ast.Expr):
            continue
        if not isinstance(node, _EXPRESSIONS):
            raise Refused(node, f"a {type(node).__name__} expression")
        if isinstance(node, ast.Name):
            _check_name(node, defined)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") or node.attr not in ATTRIBUTES:
                raise Refused(node, f"the attribute .{node.attr}")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name | ast.Attribute | ast.Subscript | ast.Call):
                raise Refused(node, "a call of a computed function")
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "joinpath"
                and not all(_plain_file(a) for a in node.args)
            ):
                raise Refused(node, "a path outside the translation folder")
        elif isinstance(node, ast.arg):
            _check_store(node, node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            raise Refused(node, "a bytes constant")


def _plain_file(arg: ast.expr) -> bool:
    return (
        isinstance(arg, ast.Constant)
        and isinstance(arg.value, str)
        and re.fullmatch(r"[\w.-]+", arg.value) is not None
        and ".." not in arg.value
    )


def _check_name(node: ast.Name, defined: set[str]) -> None:
    name = node.id
    if isinstance(node.ctx, ast.Store):
        _check_store(node, name)
        return
    if name in DUNDERS or name in BUILTINS:
        return
    if name.startswith("__") or name not in defined:
        raise Refused(node, f"the name {name}")


_DANGEROUS = set(dir(builtins)) - BUILTINS
_FIXED = {"np", "xr", "stats", "Path", "exec"}


def _check_store(node: ast.AST, name: str) -> None:
    if name in {"__data", "__pysd_version__"}:
        return
    if name.startswith("__") or name in _DANGEROUS or name in BUILTINS or name in _FIXED:
        raise Refused(node, f"an assignment to {name}")


def _explain(
    refused: Refused, tree: ast.Module, file: Path, text: str, mdl_path: Path
) -> TranslationError:
    lineno = getattr(refused.node, "lineno", 0)
    name = _owner(tree, lineno)
    line = mdl.entry_lines(text).get(mdl.normalize(name)) if name else None
    where = f"{mdl_path}, line {line}" if line else str(mdl_path)
    what = f"the code PySD wrote for '{name}'" if name else f"line {lineno} of {file.name}"
    return TranslationError(
        f"{where}: {what} contains {refused} (PySD's builders never write that), so the "
        "model was not loaded and nothing of it ran. Look for unusual text (quotes, "
        "backslashes, code) in that variable's equation, name, units or comment."
    )


def _owner(tree: ast.Module, lineno: int) -> str | None:
    """The Vensim name of the function around ``lineno``, or of the one using the object."""
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    for fn in functions:
        start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
        if start <= lineno <= (fn.end_lineno or fn.lineno):
            return _vensim_name(fn)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and stmt.lineno <= lineno <= (stmt.end_lineno or 0):
            targets = {t.id for t in stmt.targets if isinstance(t, ast.Name)}
            for fn in functions:
                used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
                if targets & used:
                    return _vensim_name(fn)
    return None


def _vensim_name(fn: ast.FunctionDef) -> str:
    for deco in fn.decorator_list:
        for kw in getattr(deco, "keywords", []):
            if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                return str(kw.value.value)
    return fn.name


def check_engine_source(source: str, model_name: str) -> None:
    """Guard for the vectorized engine's own generated code (:mod:`sd.engine.vectorized.codegen`).

    The engine writes only PySD's Python identifiers, numbers passed by index and fixed
    helper names; user text never reaches it. This re-checks that before ``exec``:
    statements and expressions of the kinds the engine writes (no imports, lambdas,
    comprehensions or f-strings), no dunder names or attributes, no builtins that run or
    open things, no numpy file or code access, nothing rebinding ``np``, and string
    constants only as plain identifiers (parameter keys, interpolation modes). The
    attribute rule is a deny list so that new numpy functions in the engine need no edit.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        bad = None
        if not isinstance(node, _ENGINE_NODES):
            bad = f"a {type(node).__name__} node"
        elif isinstance(node, ast.Name) and (
            node.id.startswith("__")
            or node.id in _RUNNERS
            or (isinstance(node.ctx, ast.Store) and node.id in {"np", "range", "float", "int"})
        ):
            bad = f"the name {node.id}"
        elif isinstance(node, ast.Attribute) and (
            node.attr.startswith("__") or node.attr in _NUMPY_IO
        ):
            bad = f"the attribute .{node.attr}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            if not (isinstance(node.value, str) and node.value.isidentifier()):
                bad = f"the string {node.value!r}"
        if bad:
            raise TranslationError(
                f"{model_name}: the vectorized engine's generated code contains {bad}, "
                "which it never writes; refusing to run it. Please report this model."
            )


_ENGINE_NODES = (
    ast.Module, ast.FunctionDef, ast.Assign, ast.AugAssign, ast.For, ast.While, ast.If,
    ast.Return, ast.Expr, ast.Break, ast.Continue, ast.Pass, ast.BinOp, ast.UnaryOp,
    ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Attribute, ast.Name, ast.Constant,
    ast.Tuple, ast.List, ast.Subscript, ast.Slice, ast.keyword, ast.arguments, ast.arg,
    ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)  # fmt: skip
_RUNNERS = {
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "breakpoint", "input", "help", "memoryview", "object", "type", "super",
}  # fmt: skip
_NUMPY_IO = {
    "load", "savez", "savetxt", "loadtxt", "genfromtxt", "fromfile", "tofile",
    "memmap", "lib", "ctypeslib", "frompyfunc", "vectorize", "testing", "f2py", "os", "sys",
}  # fmt: skip
