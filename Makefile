# Two commands set up a fresh machine: `make forecast` and `make test`.
# Each creates .venv and installs the project into it when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: forecast test test-fast lint bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	touch $(STAMP)

# The main study: scenarios, ensemble fan charts, diagrams, Sobol indices, reports (en, ru).
forecast: $(STAMP)
	$(BIN)/sd forecast forecasts/kuzbass.toml
	$(BIN)/sd sensitivity forecasts/kuzbass.toml --uncertain forecasts/kuzbass_uncertainty.toml \
	  --method sobol --samples 1024 --years 2030,2050
	$(BIN)/sd explore forecasts/kuzbass.toml --uncertain forecasts/kuzbass_uncertainty.toml
	$(BIN)/sd report forecasts/kuzbass.toml --lang en
	$(BIN)/sd report forecasts/kuzbass.toml --lang ru
	@echo
	@echo "Outputs of the main study are in forecasts/output/:"
	@echo "  kuzbass/                    tables (policy_comparison.csv), results, figures, fan charts, diagrams"
	@echo "  kuzbass_sensitivity_sobol/  Sobol indices and their figures"
	@echo "  kuzbass_explore/            regret, satisficing and PRIM boxes of the policies"
	@echo "  kuzbass_report_en/ and kuzbass_report_ru/   report.html, report.xlsx, figures/"

# The report test opens the HTML in the system's Chromium (Debian package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Chromium for the report browser test"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "note: Chromium could not be installed; the report browser test will be skipped"; \
	  else echo "note: install Chromium (apt-get install chromium) to run the report browser test"; fi; }

test: $(STAMP) browser
	$(BIN)/ruff check sd tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# The suite without the tests marked slow (the long Kuzbass runs), for quick iterations.
test-fast: $(STAMP)
	$(BIN)/ruff check sd tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check sd tests benchmarks tools
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/single_run.py
	$(BIN)/python benchmarks/ensemble.py
	$(BIN)/python benchmarks/calibration.py
	$(BIN)/python benchmarks/app.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
