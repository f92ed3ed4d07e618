"""Vensim Reality Check statements, executed against a model.

Supported (scalar models):

* test inputs ``name :TEST INPUT: Var = <number>`` (several, comma-separated), which
  replace constants for the test run;
* constraints ``name :THE CONDITION: <test input name or condition> :IMPLIES: <consequence>``.
  With a test input, the model runs under it and the consequence must hold at every
  saved time; with a condition expression, the baseline run is used and the
  consequence must hold whenever the condition does.

Expressions may use numbers, variable names, ``+ - * /``, comparisons
(``= <> < > <= >=``), ``:AND: :OR: :NOT:``, ``ABS``, ``MIN``, ``MAX`` and
``INITIAL(Var)`` (the variable's value at the start). They are parsed with Python's
``ast`` after renaming and evaluated by a whitelist walker: never ``eval``.
Other Vensim RC functions (``RC STEP`` ...) are reported as not supported.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sd.errors import SDError
from sd.model import mdl

_RC = re.compile(r":(THE CONDITION|TEST INPUT|IMPLIES):", re.IGNORECASE)


@dataclass(frozen=True)
class TestInput:
    name: str
    line: int
    text: str


@dataclass(frozen=True)
class Constraint:
    name: str
    line: int
    condition: str
    consequence: str


class RealityCheckError(ValueError):
    """A statement the evaluator cannot handle (its message says why)."""


class RealityCheckSyntaxError(SDError):
    """A statement that is not valid Vensim (an unknown operator, a wrong argument count)."""


def read_statements(text: str) -> tuple[list[TestInput], list[Constraint]]:
    inputs, constraints = [], []
    for entry in mdl.entries(text):
        eq = re.sub(r"\\\s*\n\s*", "", entry.equation)
        parts = _RC.split(eq)
        if len(parts) < 3:
            continue
        name = parts[0].strip().strip('"')
        kind = parts[1].upper()
        if kind == "TEST INPUT":
            inputs.append(TestInput(name, entry.line, parts[2].strip()))
        elif kind == "THE CONDITION" and len(parts) >= 5 and parts[3].upper() == "IMPLIES":
            constraints.append(Constraint(name, entry.line, parts[2].strip(), parts[4].strip()))
    return inputs, constraints


def parse_test_input(text: str, resolve) -> dict[str, float]:
    """``A = 0, B = 2.5`` -> {Vensim name: value}."""
    out = {}
    for part in _split_top(text):
        name, sep, value = part.partition("=")
        if not sep:
            raise RealityCheckError(f"test input {part!r} is not 'Variable = value'")
        try:
            out[resolve(name.strip())] = float(value)
        except ValueError:
            raise RealityCheckError(
                f"test input value {value.strip()!r} is not a number (RC functions such as "
                "RC STEP are not supported by sd check)"
            ) from None
    return out


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (x.strip() for x in parts) if p]


def to_python(expr: str, names: list[str]) -> tuple[str, dict[str, str]]:
    """Rename variables to identifiers and Vensim operators to Python ones."""
    mapping: dict[str, str] = {}
    out = expr
    for i, name in enumerate(sorted(names, key=len, reverse=True)):
        pattern = (
            r"(?<![\w])"
            + r"[\s_]+".join(re.escape(w) for w in re.split(r"[\s_]+", name))
            + r"(?![\w])"
        )
        new, n = re.subn(pattern, f" _v{i} ", out, flags=re.IGNORECASE)
        if n:
            mapping[f"_v{i}"] = name
            out = new
    out = re.sub(r":AND:", " and ", out, flags=re.IGNORECASE)
    out = re.sub(r":OR:", " or ", out, flags=re.IGNORECASE)
    out = re.sub(r":NOT:", " not ", out, flags=re.IGNORECASE)
    out = out.replace("<>", "!=")
    out = re.sub(r"(?<![<>=!])=(?!=)", "==", out)
    return out, mapping


_FUNCS = {"abs": np.abs, "min": np.minimum, "max": np.maximum}
#: how many arguments each function takes in Vensim
_ARITY = {"abs": 1, "min": 2, "max": 2, "initial": 1}
_NOT_VENSIM = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def evaluate(expr: str, frame: pd.DataFrame) -> np.ndarray:
    """Evaluate a Vensim boolean or numeric expression on a run (time x variables)."""
    code, mapping = to_python(expr, list(frame.columns))
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        raise RealityCheckError(f"cannot read the expression {expr!r}") from None

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in mapping:
            return frame[mapping[node.id]].to_numpy(float)
        if isinstance(node, ast.UnaryOp):
            v = walk(node.operand)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Not):
                return np.logical_not(v)
        if isinstance(node, ast.BinOp):
            a, b = walk(node.left), walk(node.right)
            ops = {
                ast.Add: np.add,
                ast.Sub: np.subtract,
                ast.Mult: np.multiply,
                ast.Div: np.divide,
                ast.Pow: np.power,
            }
            if type(node.op) in ops:
                return ops[type(node.op)](a, b)
        if isinstance(node, ast.BoolOp):
            vals = [walk(v) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = fn(out, v)
            return out
        if isinstance(node, ast.Compare):
            left = walk(node.left)
            result = True
            cmp = {
                ast.Eq: np.isclose,
                ast.NotEq: lambda a, b: ~np.isclose(a, b),
                ast.Lt: np.less,
                ast.Gt: np.greater,
                ast.LtE: np.less_equal,
                ast.GtE: np.greater_equal,
            }
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if type(op) in _NOT_VENSIM:
                    raise RealityCheckSyntaxError(
                        f"{_NOT_VENSIM[type(op)]!r} in {expr!r} is not a Vensim operator; "
                        "compare with =, <>, <, >, <= or >="
                    )
                right = walk(right_node)
                result = np.logical_and(result, cmp[type(op)](left, right))
                left = right
            return result
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fname = node.func.id.lower()
            if fname in _ARITY and (len(node.args) != _ARITY[fname] or node.keywords):
                n = _ARITY[fname]
                raise RealityCheckSyntaxError(
                    f"{node.func.id.upper()} takes {n} argument{'s' if n > 1 else ''} in Vensim; "
                    f"{expr!r} gives it {len(node.args) + len(node.keywords)}"
                )
            args = [walk(a) for a in node.args]
            if fname in _FUNCS:
                return _FUNCS[fname](*args) if fname == "abs" else _reduce(_FUNCS[fname], args)
            if fname == "initial" and len(args) == 1:
                return np.full(len(frame), np.asarray(args[0]).reshape(-1)[0])
            raise RealityCheckError(
                f"the function {node.func.id.upper()} is not supported in "
                "reality checks by sd check"
            )
        raise RealityCheckError(f"cannot evaluate {ast.unparse(node)!r} in {expr!r}")

    with np.errstate(all="ignore"):
        value = walk(tree)
    return np.broadcast_to(np.asarray(value), (len(frame),))


def _reduce(fn, args):
    out = args[0]
    for a in args[1:]:
        out = fn(out, a)
    return out
