"""Behaviour checks: Vensim reality checks and automatic extreme-condition runs."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sd.check import Finding
from sd.errors import SDError
from sd.model import Model
from sd.realitycheck import (
    RealityCheckError,
    RealityCheckSyntaxError,
    evaluate,
    parse_test_input,
    read_statements,
)
from sd.run import first_below_minimum, run, stock_minimums


def behaviour_findings(
    model: Model, text: str, inputs: Sequence[str] | None = None
) -> list[Finding]:
    return reality_check_findings(model, text) + extreme_findings(model, inputs)


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
    from sd import mdl
    from sd.sketch import read_sketch

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


def extreme_findings(model: Model, inputs: Sequence[str] | None = None) -> list[Finding]:
    """Each input at zero and at ten times its default: finite, and stocks within range."""
    out: list[Finding] = []
    stocks = list(stock_minimums(model))
    for name in [model.resolve(i) for i in inputs] if inputs else extreme_inputs(model):
        default = model.defaults[name]
        for value in dict.fromkeys((0.0, 10 * default)):
            if value == default:
                continue
            try:
                res = run(model, {name: value}, variables=stocks or None)
            except SDError as err:
                out.append(
                    Finding(
                        "error",
                        "behaviour",
                        f"extreme condition '{name}' = {value:g}: {err}",
                        name,
                        model.variables[name].line,
                    )
                )
                continue
            found = first_below_minimum(model, res)
            if found is not None:
                first, minimum = found
                out.append(
                    Finding(
                        "error",
                        "behaviour",
                        f"extreme condition '{name}' = {value:g}: the stock "
                        f"'{first['variable']}' goes below its minimum {minimum:g} "
                        f"(to {first['value']:.4g}) at time {first['time']:g}.",
                        name,
                        model.variables[name].line,
                    )
                )
    return out
