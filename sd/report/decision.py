"""The report's decision-support section: the policy comparison table, the robustness and
PRIM tables of ``sd explore`` when the pipeline hands them over (current ones only), and
the dominant feedback loops (computed here from the model, as ``sd loops`` does).

:func:`decision_section` returns ready, escaped HTML that the report page places after
its key-years table; it is empty for a study without a ``[policy]`` table.
"""

from __future__ import annotations

from collections.abc import Callable

import jinja2
import pandas as pd
from markupsafe import Markup

from sd.analysis.explore import ExploreTables
from sd.analysis.loops import LoopsError, dominance
from sd.analysis.policy import comparison, has_policy, load_policy
from sd.model.model import Model
from sd.report.text import number
from sd.results import Results
from sd.study.specfile import read_toml
from sd.study.study import Study

WORDS = {
    "en": {
        "title": "Policy comparison",
        "note": "Each scenario against {base} (or the comparator named in the study), from "
        "{start:g}. Money is discounted at {rate}% a year ({timing}); the payback year is "
        "the first year the cumulative discounted budget effect is positive.",
        "end": "end-of-year",
        "mid": "mid-year",
        "scenario": "Scenario",
        "against": "Against",
        "none": "none by {year}",
        "budget_balance_npv_diff": "Budget balance, NPV of difference",
        "payback_year": "Payback year",
        "grp_cumulative_diff": "GRP, cumulative difference",
        "income_cumulative_diff": "Real household income, cumulative difference",
        "jobs_diff": "Jobs {year}, difference",
        "processing_share": "Processing share {year}",
        "damage_npv_diff": "Environmental damage, NPV of difference",
        "debt_peak": "Public debt peak",
        "explore": "Robustness across futures",
        "loops": "Dominant feedback loops (Loops That Matter, the base scenario's constants)",
        "loop_columns": ["Variable", "Dominant loop", "Years"],
        "polarity": {"R": "reinforcing", "B": "balancing", "U": "undetermined"},
        "state_of": "(state of {})",
        "robust_columns": ["Policy", "Goal", "Futures meeting it, %", "Mean regret", "Max regret"],
        "prim": "Where policies miss their goals (PRIM boxes)",
        "prim_columns": ["Policy", "Goal", "Uncertain input", "Range", "Coverage", "Density"],
        "mean_path": " (mean path multiplier)",
        "no_input": "(none)",
    },
    "ru": {
        "title": "Сравнение политик",
        "note": "Каждый сценарий относительно сценария «{base}» (или указанного в "
        "исследовании), начиная с {start:g} г. Денежные величины дисконтированы по ставке "
        "{rate}% в год ({timing}); год окупаемости - первый год, в котором накопленный "
        "дисконтированный эффект для бюджета положителен.",
        "end": "на конец года",
        "mid": "на середину года",
        "scenario": "Сценарий",
        "against": "Относительно",
        "none": "нет до {year} г.",
        "budget_balance_npv_diff": "Сальдо бюджета, ЧДС разницы",
        "payback_year": "Год окупаемости",
        "grp_cumulative_diff": "ВРП, накопленная разница",
        "income_cumulative_diff": "Реальные доходы населения, накопленная разница",
        "jobs_diff": "Занятые {year}, разница",
        "processing_share": "Доля переработки {year}",
        "damage_npv_diff": "Экологический ущерб, ЧДС разницы",
        "debt_peak": "Пик государственного долга",
        "explore": "Устойчивость при разных вариантах будущего",
        "loops": "Доминирующие контуры обратной связи (Loops That Matter, константы "
        "базового сценария)",
        "loop_columns": ["Переменная", "Доминирующий контур", "Годы"],
        "polarity": {"R": "усиливающий", "B": "балансирующий", "U": "неопределённый"},
        "state_of": "(состояние: {})",
        "robust_columns": [
            "Политика",
            "Цель",
            "Доля вариантов будущего, где цель достигнута, %",
            "Среднее сожаление",
            "Максимальное сожаление",
        ],
        "prim": "Где политики не достигают целей (боксы PRIM)",
        "prim_columns": [
            "Политика",
            "Цель",
            "Неопределённый параметр",
            "Диапазон",
            "Покрытие",
            "Плотность",
        ],
        "mean_path": " (средний множитель траектории)",
        "no_input": "(нет)",
    },
}

_TEMPLATE = """
<section id="policy">
<h2>{{ w.title }}</h2>
<p class="note">{{ note }}</p>
<table>
<thead><tr><th>{{ w.scenario }}</th><th>{{ w.against }}</th>
{% for h in headers %}<th class="num">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in rows %}<tr><td>{{ r.label }}</td><td>{{ r.against }}</td>
{% for c in r.cells %}<td class="num">{{ c }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
</section>
{% for block in extra %}
<section id="{{ block.id }}">
<h2>{{ block.title }}</h2>
<table>
<thead><tr>{% for h in block.columns %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in block.rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}
</tbody>
</table>
</section>
{% endfor %}
"""


def decision_section(
    study: Study,
    model: Model,
    results: Results,
    lang: str,
    fmt: Callable[[float, str], str],
    explore: ExploreTables | None = None,
    name: Callable[[str], str] | None = None,
    view: Callable[[str], str] | None = None,
) -> Markup:
    """HTML of the policy comparison (empty without ``[policy]``); ``fmt`` formats numbers."""

    if not has_policy(study):
        return Markup("")
    w = WORDS.get(lang, WORDS["en"])
    name = name or (lambda v: v)
    config = load_policy(study, model)
    table = comparison(study, model, results, config)
    grid = study.time_grid(model)
    start = study.forecast_start if study.forecast_start is not None else grid.initial
    columns: list[tuple[str, str]] = [
        ("budget_balance_npv_diff", w["budget_balance_npv_diff"]),
        ("payback_year", w["payback_year"]),
        ("grp_cumulative_diff", w["grp_cumulative_diff"]),
        ("income_cumulative_diff", w["income_cumulative_diff"]),
    ]
    for y in config.years:
        columns.append((f"jobs_{y:g}_diff", w["jobs_diff"].format(year=f"{y:g}")))
    for y in config.years:
        columns.append((f"processing_share_{y:g}", w["processing_share"].format(year=f"{y:g}")))
    columns += [("damage_npv_diff", w["damage_npv_diff"]), ("debt_peak", w["debt_peak"])]
    present = set(table["indicator"])
    columns = [(k, h) for k, h in columns if k in present]
    units = table.drop_duplicates("indicator").set_index("indicator")["unit"]
    headers = [h if k == "payback_year" else f"{h}, {units[k]}" for k, h in columns]
    label = {n: sc.label(lang) for n, sc in study.scenarios.items()}
    rows = []
    for s in config.scenarios:
        if s == config.comparator(s):
            continue
        part = table[table["scenario"] == s].set_index("indicator")
        cells = []
        for key, _ in columns:
            if key not in part.index:
                cells.append("–")
            elif key == "payback_year":
                v = part.loc[key, "value"]
                cells.append(w["none"].format(year=f"{grid.final:g}") if pd.isna(v) else f"{v:g}")
            else:
                cells.append(fmt(float(part.loc[key, "value"]), lang))
        rows.append({"label": label[s], "against": label[config.comparator(s)], "cells": cells})
    note = w["note"].format(
        base=label[config.base],
        start=start,
        rate=number(config.discount_rate * 100, lang, "g"),
        timing=w[config.timing],
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    extra = _explore_blocks(study, explore, w, lang, fmt, name) + _loops_block(
        study, model, w, start, name, view or (lambda v: v)
    )
    html = env.from_string(_TEMPLATE).render(
        w=w, note=note, headers=headers, rows=rows, extra=extra
    )
    return Markup(html)


def _loops_block(
    study: Study,
    model: Model,
    w: dict,
    start: float,
    name: Callable[[str], str],
    view: Callable[[str], str],
) -> list[dict]:
    """The loops dominating each headline variable from the forecast start, by years."""

    try:
        base = study.scenarios[study.base]
        numbers = {k: v for k, v in base.set.items() if isinstance(v, int | float)}
        dom = dominance(model, list(study.variables) or None, overrides=numbers)
    except LoopsError:
        return []
    if not len(dom.table):
        return []
    table = dom.table[(dom.table["dominant"]) & (dom.table["time"] >= start - 1e-9)]
    infos = {i.id.upper(): i for i in dom.loops}
    rows = []
    for (var, lid), part in table.groupby(["variable", "loop"], sort=False):
        years = sorted(part["time"])
        info = infos[lid]
        kind = w["polarity"].get(info.polarity, w["polarity"]["U"])
        where = f", {view(info.view)}" if info.view else ""
        members = ", ".join(_loop_member(v, name, w) for v in info.variables)
        rows.append([var, f"{lid} ({kind}{where}): {members}", _ranges(years), len(years)])
    rows.sort(
        key=lambda r: (list(study.variables).index(r[0]) if r[0] in study.variables else 0, -r[3])
    )
    return [
        {
            "id": "loops",
            "title": w["loops"],
            "columns": w["loop_columns"],
            "rows": [[name(r[0]), *r[1:3]] for r in rows],
        }
    ]


def _ranges(years: list[float]) -> str:
    """[2024, 2025, 2026, 2030] -> '2024-2026, 2030'."""
    out, first, prev = [], None, None
    for y in years:
        if first is None:
            first = prev = y
        elif y - prev > 1 + 1e-9:
            out.append(f"{first:g}" if first == prev else f"{first:g}-{prev:g}")
            first = prev = y
        else:
            prev = y
    if first is not None:
        out.append(f"{first:g}" if first == prev else f"{first:g}-{prev:g}")
    return ", ".join(out)


def _loop_member(v: str, name: Callable[[str], str], w: dict) -> str:
    if v.startswith("(state of ") and v.endswith(")"):
        return w["state_of"].format(name(v[len("(state of ") : -1]))
    return name(v)


def _explore_blocks(
    study: Study,
    explore: ExploreTables | None,
    w: dict,
    lang: str,
    fmt: Callable[[float, str], str],
    name: Callable[[str], str],
) -> list[dict]:
    """The robustness and PRIM tables of ``sd explore``, when given."""
    if explore is None:
        return []
    label = {n: sc.label(lang) for n, sc in study.scenarios.items()}
    goals = read_toml(study.path).get("explore", {}).get("goals", {})
    goal = {
        g: str(body.get(f"label_{lang}") or body.get("label") or g)
        for g, body in goals.items()
        if isinstance(body, dict)
    }
    blocks = []
    # the robustness table, even when it has no rows
    rows = [
        [
            label.get(r.policy, r.policy),
            goal.get(r.goal, r.goal),
            fmt(100 * r.satisficing_rate, lang),
            fmt(r.mean_regret, lang),
            fmt(r.max_regret, lang),
        ]
        for r in explore.robustness.itertuples(index=False)
    ]
    blocks.append(
        {"id": "explore", "title": w["explore"], "columns": w["robust_columns"], "rows": rows}
    )
    if len(explore.boxes):
        rows = []
        for r in explore.boxes.itertuples(index=False):
            base, path, _ = str(r.input).partition(" (mean path multiplier)")
            shown = w["no_input"] if base == "(none)" else name(base)
            shown += w["mean_path"] if path else ""
            rows.append(
                [
                    label.get(r.policy, r.policy),
                    goal.get(r.goal, r.goal),
                    shown,
                    f"{fmt(r.lower, lang)} - {fmt(r.upper, lang)}",
                    fmt(r.coverage, lang),
                    fmt(r.density, lang),
                ]
            )
        if rows:
            blocks.append(
                {"id": "prim", "title": w["prim"], "columns": w["prim_columns"], "rows": rows}
            )
    return blocks
