"""The report's decision-support section: the policy comparison table (and, when they
were written, the ``sd explore`` and ``sd loops`` tables of the study).

:func:`decision_section` returns ready, escaped HTML that the report page places after
its key-years table; it is empty for a study without a ``[policy]`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from sd.model import Model
from sd.results import Results
from sd.study import Study

WORDS = {
    "en": {
        "title": "Policy comparison",
        "note": "Each scenario against {base} (or the comparator named in the study), from "
        "{start:g}. Money is discounted at {rate:g}% a year ({timing}); the payback year is "
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
        "loops": "Dominant feedback loops",
    },
    "ru": {
        "title": "Сравнение политик",
        "note": "Каждый сценарий относительно сценария «{base}» (или указанного в "
        "исследовании), начиная с {start:g} г. Денежные величины дисконтированы по ставке "
        "{rate:g}% в год ({timing}); год окупаемости - первый год, в котором накопленный "
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
        "loops": "Доминирующие контуры обратной связи",
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
    outputs: Path | None = None,
) -> Markup:
    """HTML of the policy comparison (empty without ``[policy]``); ``fmt`` formats numbers."""
    from sd.policy import comparison, has_policy, load_policy

    if not has_policy(study):
        return Markup("")
    w = WORDS.get(lang, WORDS["en"])
    config = load_policy(study, model)
    table = comparison(study, model, results, config)
    grid = study.time.apply(model.time)
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
        rate=config.discount_rate * 100,
        timing=w[config.timing],
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(_TEMPLATE).render(
        w=w, note=note, headers=headers, rows=rows, extra=_extra(outputs, w)
    )
    return Markup(html)


def _extra(outputs: Path | None, w: dict) -> list[dict]:
    """Tables written by ``sd explore`` / ``sd loops`` next to the study's outputs, if any."""
    if outputs is None:
        return []
    blocks = []
    for folder, name, key in (
        (outputs.parent / f"{outputs.name}_explore", "robustness.csv", "explore"),
        (outputs.parent / f"{outputs.name}_explore", "prim_boxes.csv", "explore"),
        (outputs.parent / f"{outputs.name}_loops", "dominance_summary.csv", "loops"),
    ):
        path = folder / name
        if path.is_file():
            frame = pd.read_csv(path).head(40)
            blocks.append(
                {
                    "id": f"{key}-{path.stem}",
                    "title": w[key],
                    "columns": list(frame.columns),
                    "rows": [
                        [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
                        for row in frame.itertuples(index=False)
                    ],
                }
            )
    return blocks
