"""The words and numbers of reports in each language, in one place.

:data:`TEXT` holds every word the report page, its figures and its workbook show
(variable names, units and view names are not here: they live beside the model in
``<model>_labels.csv``; scenario names live in the study). :func:`number` and
:func:`tick_formatter` write every number a report shows: in Russian with a decimal
comma, a narrow no-break space between thousands and a true minus sign.
"""

from __future__ import annotations

import math
from typing import Any

TEXT = {
    "en": {
        "generated": "Generated",
        "model": "Model",
        "question": "Question",
        "scenarios": "Scenarios",
        "assumptions": "Assumptions of each scenario",
        "scenario": "Scenario",
        "inherits": "Builds on",
        "settings": "Settings",
        "shocks": "Shocks",
        "results": "Scenario comparison",
        "key_years": "Key years",
        "uncertainty": "Uncertainty",
        "calibration": "Fit to history",
        "sensitivity": "What drives the results",
        "diagrams": "The model",
        "provenance": "Provenance",
        "series": "Series",
        "output": "Output",
        "ranking": "Most influential assumptions (total-order Sobol index)",
        "time": "Year",
        "recorded": "recorded",
        "forecast": "forecast",
        "fan_median": "median",
        "fan_band50": "50% band",
        "fan_band90": "90% band",
        "fan_base_median": "{base}: median",
        "shock_effect": "; in this scenario, {variable} against {base_label}: {years}",
        "shock_effect_year": "{year}: {value} against {base} ({change})",
        "fan_note": "Median and 50% / 90% bands of {n} runs per scenario under the "
        "uncertainties of {spec}.",
        "sens_note": "Sobol indices at {year} from {runs} model runs ({samples} base samples); "
        "± is the 95% confidence interval.",
        "overview": "Headline variables under every scenario",
        "view": "Model view",
        "sens_note_no_runs": "Sobol indices at {year} (the number of runs is not recorded: "
        "run `sd sensitivity` again).",
        "sens_wide_interval": "{output}, {parameter}: total-order index {value} ± {conf}, "
        "an interval wider than {share} of the index.",
        "sens_s1_above_st": "{output}, {parameter}: first-order index {value} above the "
        "total-order index {conf} beyond both intervals.",
        "sens_s1_sum": "{output}: first-order indices sum to {value} ± {conf}, above 1.",
        "sens_salib": "SALib warned: {text}",
        "cal_unpublished": "The calibration output ({folder}) holds other values than the "
        "study includes ({file}); this section shows the fit of the study's values.",
        "fit_caption": "The calibrated model against the record of every calibrated series "
        "(the fitting period shaded); MAPE and R² over that period.",
        "fit_model": "calibrated model",
        "fit_period": "fitting period",
        "cal_lower": "lower",
        "cal_upper": "upper",
        "cal_at_bound": "{name} = {value} sits at its {side} bound {bound}: the bound, not the "
        "data, sets this value.",
        "sens_warnings": "These indices have not converged; more samples (--samples) would "
        "narrow their intervals:",
        "value": "value",
        "median_bands": "median, 50% and 90% bands",
        "sobol_title": "{output} in {year}: what drives it",
        "sobol_axis": "total-order Sobol index (ST)",
        "sobol_first": "first order (S1)",
        "sobol_caption": "{output}: total-order Sobol indices in {year}",
        "model_line": "calibrated model",
        "fitting_period": "fitting period",
        "shape": {
            "step": "step",
            "pulse": "pulse",
            "ramp": "ramp",
            "crash": "crash",
            "trend_change": "trend change",
            "series": "series",
        },
        "param": {
            "start": "start",
            "end": "end",
            "size": "size",
            "depth": "depth",
            "duration": "duration",
            "half_life": "half-life",
            "rate": "rate",
            "file": "file",
            "column": "column",
            "time_column": "time column",
            "scale": "scale",
        },
        "prov": {
            "study": "study",
            "model": "model",
            "translation key": "translation key",
            "kuzbass-sd": "kuzbass-sd",
            "PySD": "PySD",
            "results created": "results created",
            "time": "time",
            "data": "data",
            "ensemble": "ensemble",
        },
        "param_value": {},
        "prov_keys": {},
        "prov_time": "{initial}-{final}, step {step}",
        "prov_ensemble": "{file}, {runs} runs, seed {seed}",
        "sheet": {
            "key_years": "Key years",
            "assumptions": "Assumptions",
            "provenance": "Provenance",
        },
        "columns": {
            "variable": "variable",
            "name": "name",
            "scenario": "scenario",
            "scenario_id": "scenario",
            "units": "units",
            "label": "label",
            "inherits": "inherits",
            "description": "description",
            "settings": "settings",
            "shocks": "shocks",
            "key": "key",
            "value": "value",
        },
    },
    "ru": {
        "generated": "Подготовлено",
        "model": "Модель",
        "question": "Вопрос",
        "scenarios": "Сценарии",
        "assumptions": "Допущения сценариев",
        "scenario": "Сценарий",
        "inherits": "Основан на",
        "settings": "Параметры",
        "shocks": "Шоки",
        "results": "Сравнение сценариев",
        "key_years": "Ключевые годы",
        "uncertainty": "Неопределённость",
        "calibration": "Соответствие истории",
        "sensitivity": "Что определяет результаты",
        "diagrams": "Модель",
        "provenance": "Происхождение результатов",
        "series": "Ряд",
        "output": "Показатель",
        "ranking": "Наиболее влиятельные допущения (полный индекс Соболя)",
        "time": "Год",
        "recorded": "факт",
        "forecast": "прогноз",
        "fan_median": "медиана",
        "fan_band50": "50% интервал",
        "fan_band90": "90% интервал",
        "fan_base_median": "{base}: медиана",
        "shock_effect": "; в этом сценарии {variable} против сценария «{base_label}»: {years}",
        "shock_effect_year": "{year} г.: {value} против {base} ({change})",
        "fan_note": "Медиана и 50% / 90% интервалы по {n} расчётам на сценарий при "
        "неопределённостях из {spec}.",
        "sens_note": "Индексы Соболя на {year} г. по {runs} расчётам модели (базовая выборка — "
        "{samples}); ± — 95-процентный доверительный интервал.",
        "overview": "Основные показатели по всем сценариям",
        "view": "Вид модели",
        "sens_note_no_runs": "Индексы Соболя на {year} г. (число расчётов не записано: "
        "повторите `sd sensitivity`).",
        "sens_wide_interval": "{output}, {parameter}: полный индекс {value} ± {conf}, "
        "интервал шире {share} индекса.",
        "sens_s1_above_st": "{output}, {parameter}: индекс первого порядка {value} больше "
        "полного индекса {conf} с учётом обоих интервалов.",
        "sens_s1_sum": "{output}: сумма индексов первого порядка {value} ± {conf} больше 1.",
        "sens_salib": "Предупреждение SALib: {text}",
        "cal_unpublished": "Результат калибровки ({folder}) содержит другие значения, чем "
        "включённые в исследование ({file}); здесь показано соответствие значений исследования.",
        "fit_caption": "Откалиброванная модель и фактические данные по каждому ряду "
        "калибровки (период калибровки затенён); MAPE и R² за этот период.",
        "fit_model": "откалиброванная модель",
        "fit_period": "период калибровки",
        "cal_lower": "нижней",
        "cal_upper": "верхней",
        "cal_at_bound": "{name} = {value} находится на {side} границе {bound}: значение задаёт "
        "граница, а не данные.",
        "sens_warnings": "Эти индексы не сошлись; больше точек (--samples) сузит их "
        "интервалы:",
        "value": "значение",
        "median_bands": "медиана, 50% и 90% интервалы",
        "sobol_title": "{output} в {year} г.: что определяет результат",
        "sobol_axis": "полный индекс Соболя (ST)",
        "sobol_first": "индекс первого порядка (S1)",
        "sobol_caption": "{output}: полные индексы Соболя на {year} г.",
        "model_line": "откалиброванная модель",
        "fitting_period": "период калибровки",
        "shape": {
            "step": "ступенька",
            "pulse": "импульс",
            "ramp": "линейное изменение",
            "crash": "обвал",
            "trend_change": "изменение тренда",
            "series": "ряд из файла",
        },
        "param": {
            "start": "начало",
            "end": "конец",
            "size": "величина",
            "depth": "глубина",
            "duration": "длительность",
            "half_life": "период полувосстановления",
            "rate": "темп",
            "file": "файл",
            "column": "столбец",
            "time_column": "столбец времени",
            "scale": "масштаб",
        },
        "prov": {
            "study": "исследование",
            "model": "модель",
            "translation key": "ключ трансляции",
            "kuzbass-sd": "kuzbass-sd",
            "PySD": "PySD",
            "results created": "результаты получены",
            "time": "время",
            "data": "данные",
            "ensemble": "ансамбль",
        },
        "param_value": {"multiplicative": "мультипликативно", "additive": "аддитивно"},
        "prov_keys": {
            "model": "модель",
            "model_sha256": "SHA-256 модели",
            "cache_key": "ключ трансляции",
            "data_files": "файлы данных",
            "pysd_version": "версия PySD",
            "sd_version": "версия kuzbass-sd",
            "time": "время",
            "initial": "начало",
            "final": "конец",
            "step": "шаг",
            "saveper": "шаг сохранения",
            "units": "единицы",
            "method": "метод интегрирования",
            "created": "создано",
            "study": "исследование",
            "file": "файл",
            "sha256": "SHA-256",
            "name": "имя",
            "base": "базовый сценарий",
            "ensemble": "ансамбль",
            "samples": "расчётов",
            "seed": "зерно",
            "failed": "неудачные расчёты",
            "count": "число",
            "engine": "движок",
            "scenario": "сценарий",
            "scenarios": "сценарии",
        },
        "prov_time": "{initial}–{final}, шаг {step}",
        "prov_ensemble": "{file}, {runs} расчётов, зерно {seed}",
        "sheet": {
            "key_years": "Ключевые годы",
            "assumptions": "Допущения",
            "provenance": "Происхождение",
        },
        "columns": {
            "variable": "переменная модели",
            "name": "показатель",
            "scenario": "сценарий",
            "scenario_id": "код сценария в исследовании",
            "units": "единицы",
            "label": "название",
            "inherits": "основан на",
            "description": "описание",
            "settings": "параметры",
            "shocks": "шоки",
            "key": "ключ",
            "value": "значение",
        },
    },
}


#: thousands separator, decimal mark and minus sign of each language
_MARKS = {"en": ("\u2009", ".", "-"), "ru": ("\u202f", ",", "\u2212")}


_SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


def _marks(text: str, lang: str) -> str:
    """English-formatted ``text`` (``,`` thousands, ``.`` decimals) in ``lang``'s marks."""
    sep, dot, minus = _MARKS.get(lang, _MARKS["en"])
    return text.replace(",", "\0").replace(".", dot).replace("\0", sep).replace("-", minus)


def number(value: Any, lang: str = "en", style: str = "table", decimals: int | None = None) -> str:
    """A number as a report shows it, in ``lang``'s marks.

    ``style``: ``"table"`` (decimals by size: 0 from 100,000, 1 from 100, 2 from 1, else
    3 significant digits), ``"g"`` (up to 6 significant digits, as written in a study) or
    ``"tick"`` (an axis label: as few digits as the value needs, thousands grouped from
    10,000); ``decimals`` fixes the number of decimals instead. NaN is a dash.
    """
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return _marks("-∞" if value < 0 else "∞", lang)
    a = abs(value)
    if a and (a < 1e-4 or a >= 1e15):  # no 'e' notation: a power of ten
        mantissa, exponent = f"{value:.3g}".split("e")
        power = str(int(exponent)).translate(_SUPERSCRIPT)
        return _marks(mantissa, lang) + "\u00b710" + power
    if decimals is not None:
        text = f"{value:,.{decimals}f}"
    elif style == "g":
        text = f"{value:.6g}" if a < 1e4 else f"{value:,.6g}" if a < 1e6 else f"{value:,.0f}"
    elif style == "tick":
        text = f"{value:,.0f}" if a >= 1e4 else f"{value:.10g}"
    elif a >= 1e5:
        text = f"{value:,.0f}"
    elif a >= 100:
        text = f"{value:,.1f}"
    elif a >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return _marks(text, lang)


def percent(fraction: float, lang: str = "en", decimals: int = 1) -> str:
    """``0.123`` -> ``12.3%`` (``12,3%`` in Russian)."""
    if math.isnan(float(fraction)):
        return "–"
    return _marks(f"{100 * float(fraction):.{decimals}f}", lang) + "%"


def tick_formatter(lang: str = "en") -> Any:
    """A matplotlib formatter writing tick labels with :func:`number` (``"tick"``)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: number(value, lang, "tick"))
