"""The words of the report page in each language (variable names and units are not
here: they live beside the model in ``<model>_labels.csv``)."""

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
    },
}
