"""Behaviour checks: Vensim reality checks and automatic extreme-condition runs."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sd.check.findings import Finding
from sd.check.realitycheck import (
    RealityCheckError,
    RealityCheckSyntaxError,
    evaluate,
    parse_test_input,
    read_statements,
)
from sd.engine.run import first_below_minimum, run, stock_minimums
from sd.errors import SDError
from sd.model import mdl
from sd.model.model import Model, Variable
from sd.model.sketch import read_sketch


def behaviour_findings(
    model: Model, text: str, inputs: Sequence[str] | None = None, *, strict: bool = False
) -> list[Finding]:
    return reality_check_findings(model, text) + extreme_findings(model, inputs, strict=strict)


def reality_check_findings(model: Model, text: str) -> list[Finding]:
    inputs, constraints = read_statements(text)
    by_name = {t.name.lower(): t for t in inputs}
    out: list[Finding] = []
    base = None
    for c in constraints:
        try:
            test = by_name.get(c.condition.strip().lower())
            if test is not None:
                params = parse_test_input(test.text, model.resolve)
                frame = run(model, params).wide()
                holds = evaluate(c.consequence, frame)
                when = np.ones(len(frame), dtype=bool)
            else:
                base = base if base is not None else run(model).wide()
                frame = base
                when = evaluate(c.condition, frame).astype(bool)
                holds = evaluate(c.consequence, frame)
        except RealityCheckSyntaxError as err:
            raise RealityCheckSyntaxError(
                f"{model.path}, line {c.line}: the reality check '{c.name}' is not valid Vensim: "
                f"{err}. Fix the statement in Vensim and run sd check again."
            ) from None
        except (RealityCheckError, SDError) as err:
            out.append(
                Finding(
                    "warning",
                    "behaviour",
                    f"reality check '{c.name}' could not be run: {err}",
                    line=c.line,
                )
            )
            continue
        failed = when & ~np.asarray(holds, dtype=bool)
        if failed.any():
            t = frame.index[np.argmax(failed)]
            out.append(
                Finding(
                    "error",
                    "behaviour",
                    f"reality check '{c.name}' fails: '{c.consequence}' does not hold "
                    f"at time {t:g} (and {int(failed.sum()) - 1} later saved times).",
                    line=c.line,
                )
            )
    return out


LEVER_VIEW = re.compile(r"lever|policy|policies|shock|scenario|input", re.IGNORECASE)


def extreme_inputs(model: Model) -> list[str]:
    """The model's policy and shock inputs.

    The constants defined in a view whose name says so (levers, policy, shocks,
    scenario inputs); without such a view, the constants with a declared range
    (Vensim's slider constants); without those, every constant.
    """

    constants = {mdl.normalize(n): n for n in model.defaults}
    in_views = [
        constants[mdl.normalize(o.name)]
        for view in read_sketch(model.path)
        if LEVER_VIEW.search(view.name)
        for o in view.variables()
        if not o.is_shadow and mdl.normalize(o.name) in constants
    ]
    if in_views:
        return list(dict.fromkeys(in_views))
    ranged = [
        v.name
        for v in model.of_kind("constant")
        if v.limits and any(x is not None for x in v.limits[:2]) and v.name in model.defaults
    ]
    return ranged or list(model.defaults)


def extreme_values(var: Variable, default: float) -> tuple[float, ...]:
    """Where an input is tested: its declared Vensim range ``[min, max]``, else 0 and 10x.

    A missing bound (``[1, ?]``) falls back to 0 (below) or ten times the default (above).
    The default itself is not tested again.
    """
    low, high = (*var.limits, None, None)[:2]
    low = 0.0 if low is None else low
    high = 10 * default if high is None else high
    return tuple(v for v in dict.fromkeys((low, high)) if v != default)


def extreme_findings(
    model: Model, inputs: Sequence[str] | None = None, *, strict: bool = False
) -> list[Finding]:
    """Each input at the ends of its declared range (else at zero and at ten times its
    default): the run must stay finite and the stocks within their declared ranges.

    A failure is a warning, since a model may rightly refuse an impossible value;
    with ``strict`` it is an error.
    """
    severity = "error" if strict else "warning"
    out: list[Finding] = []
    stocks = list(stock_minimums(model))
    for name in [model.resolve(i) for i in inputs] if inputs else extreme_inputs(model):
        var = model.variables[name]
        default = model.defaults[name]
        declared = var.limits and any(x is not None for x in var.limits[:2])
        for value in extreme_values(var, default):
            what = f"extreme condition '{name}' = {value:g}"
            if declared:
                what += f" (an end of its declared range {_range(var)})"
            try:
                res = run(model, {name: value}, variables=stocks or None)
            except SDError as err:
                out.append(Finding(severity, "behaviour", f"{what}: {err}", name, var.line))
                continue
            found = first_below_minimum(model, res)
            if found is not None:
                first, minimum = found
                out.append(
                    Finding(
                        severity,
                        "behaviour",
                        f"{what}: the stock '{first['variable']}' goes below its minimum "
                        f"{minimum:g} (to {first['value']:.4g}) at time {first['time']:g}.",
                        name,
                        var.line,
                    )
                )
    return out


def _range(var: Variable) -> str:
    low, high = (*var.limits, None, None)[:2]
    return f"[{'?' if low is None else f'{low:g}'}, {'?' if high is None else f'{high:g}'}]"
