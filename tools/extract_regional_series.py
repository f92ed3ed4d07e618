"""Build the wide tables the Kuzbass model reads from the long regional statistics file.

    python tools/extract_regional_series.py

Reads ``kemerovo_regional_statistics.csv`` (long format, copied from ``shared/data``) and
``kemerovo_demography_1990_2017.csv`` and writes, next to them:

- ``kemerovo_regional_series.csv``: one row per year 1994-2025, one column per indicator, only
  rows whose ``basis`` is ``recorded`` or ``derived`` (plans and targets are never history).
  Where an indicator has two rows for a year (two sources), the first row of the file is used,
  except for ``kuzbass_coal_employment`` 2024 where the Kemerovostat figure (first row) is kept.
  Column ``population_jan1_persons`` joins the post-census 1 January population of the regional
  statistics (2011, 2020-2025, thousands times 1000) with ``kemerovo_population.csv`` elsewhere.
- ``kemerovo_vital_rates_1990_2023.csv``: births and deaths per 1000 residents, 1990-2017 from
  the demography file, 2020-2023 (births) and 2011, 2013, 2019-2023 (deaths) from the counts of
  the regional statistics over the mean of the 1 January populations of the year and the
  next; years where one of the two rates is missing (2018, 2019) are left out, so the model
  interpolates 2017-2020.

Nothing else is changed: values are copied or divided as stated.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent.parent / "models" / "data"  # inputs and outputs
USED = [
    "kemerovo_grp_current",
    "kemerovo_grp_share_industry_dose",
    "kemerovo_budget_revenue_executed",
    "kemerovo_budget_tax_revenue",
    "kemerovo_budget_profit_tax",
    "kemerovo_budget_pit",
    "kemerovo_budget_transfers",
    "kemerovo_budget_balance_executed",
    "kemerovo_public_debt",
    "kemerovo_net_migration",
    "kemerovo_population_jan1",
    "kemerovo_births",
    "kemerovo_deaths",
    "kemerovo_stationary_emissions",
    "kemerovo_avg_wage",
    "kemerovo_shipments_mining",
    "kuzbass_coal_production",
    "kuzbass_coal_exports",
    "kuzbass_coking_coal_production",
    "kuzbass_coal_employment",
]


def main() -> None:
    long = pd.read_csv(HERE / "kemerovo_regional_statistics.csv")
    hist = long[long["basis"].isin(["recorded", "derived"]) & long["indicator"].isin(USED)]
    hist = hist.drop_duplicates(["year", "indicator"], keep="first")
    wide = hist.pivot(index="year", columns="indicator", values="value")
    wide = wide.loc[(wide.index >= 1994) & (wide.index <= 2025), USED]
    wide.index = wide.index.astype(int)
    old = pd.read_csv(HERE / "kemerovo_population.csv").set_index("year")
    old_pop = old["population_kemerovo_persons"].astype(float)
    new_pop = wide["kemerovo_population_jan1"] * 1000.0
    # post-census series where the regional statistics have it (2011, 2020-2025), else the
    # older Rosstat series of kemerovo_population.csv (1 January, census years as counted)
    wide["population_jan1_persons"] = new_pop.combine_first(old_pop.reindex(wide.index))
    wide.to_csv(HERE / "kemerovo_regional_series.csv", float_format="%.10g")

    demo = pd.read_csv(HERE / "kemerovo_demography_1990_2017.csv").set_index("year")
    pop = wide["population_jan1_persons"]
    mid = (pop + pop.shift(-1)) / 2
    births = wide["kemerovo_births"].dropna()
    deaths = wide["kemerovo_deaths"].dropna()
    rates = pd.DataFrame(
        {
            "birth_rate_per_1000": demo["birth_rate_per_1000"],
            "death_rate_per_1000": demo["death_rate_per_1000"],
        }
    )
    new = pd.DataFrame(
        {
            "birth_rate_per_1000": (births / mid.reindex(births.index) * 1000).loc[2018:],
            "death_rate_per_1000": (deaths / mid.reindex(deaths.index) * 1000).loc[2018:],
        }
    )
    rates = rates.combine_first(new).loc[1990:2023].dropna()  # a lookup needs both columns
    rates.index.name = "year"
    rates.to_csv(HERE / "kemerovo_vital_rates_1990_2023.csv", float_format="%.4f")


if __name__ == "__main__":
    main()
