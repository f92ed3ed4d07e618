"""Run the main Kuzbass study from Python: a template for your own studies.

    .venv/bin/python forecasts/run_kuzbass.py

It reads as the pipeline does: load the study (scenarios and shocks are data in
kuzbass.toml) -> load the model (cached PySD translation) -> check every name ->
run the scenarios -> tables -> plots. Copy it, point it at your own study file and
change the last part to the tables and figures you need.
"""

from __future__ import annotations

from pathlib import Path

import sd
from sd.report import plots
from sd.report.forecast_outputs import key_years_table
from sd.analysis.forecast import run_study
from sd.study.study import check_study, load_study

HERE = Path(__file__).parent


def main() -> None:
    study = load_study(HERE / "kuzbass.toml")
    model = sd.load(study.model_path)
    study = check_study(study, model)
    results = run_study(study, model)

    out = HERE / "output" / "kuzbass_script"
    out.mkdir(parents=True, exist_ok=True)
    results.save(out / "results.parquet")  # tidy table with provenance
    table = key_years_table(study, results)
    table.to_csv(out / "key_years.csv", index=False)
    print(table[table["variable"] == "Processing Share of GRP"].to_string(index=False))

    history = {name: spec.load() for name, spec in study.history.items()}
    with plots.theme():
        fig = plots.overview(results, list(study.variables), history=history,
                             forecast_start=study.forecast_start, title=study.title)
        for path in plots.save_figure(fig, out / "overview"):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
