# phiwatch: `make demo` runs the whole loop on the embedded AWS; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_TOOLS := pip-tools==7.7.0

.PHONY: demo test lint install system-packages lock bench bench-scan bench-faults bench-peers bench-evidence bench-scale clean

# Everything comes from requirements.lock (exact versions with hashes, build tools included), then
# phiwatch itself without dependencies or an isolated build, so nothing unlocked is ever resolved.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	@$(BIN)/python -c "import weasyprint.text.ffi as f; raise SystemExit(0 if f.harfbuzz_subset else 1)" 2>/dev/null || $(MAKE) --no-print-directory system-packages
	touch $(STAMP)

install: $(STAMP)

# The PDF report needs Pango, and HarfBuzz's subsetter for fonts embedded the same way every time
# (WeasyPrint loads both at run time; without the subsetter it falls back to fontTools, which stamps
# each subset font with the current time, so two renders of one report differ). Installed with apt
# when missing and we may (root on Debian); otherwise say what to install.
system-packages:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Pango and HarfBuzz's subsetter for the PDF report (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null; \
	else \
		echo "PDF reports need Pango and HarfBuzz's subsetter: install libpango-1.0-0, libpangoft2-1.0-0 and libharfbuzz-subset0 (Debian/Ubuntu) or pango and harfbuzz (Homebrew)"; \
	fi

# Re-resolve requirements.lock from pyproject.toml and lock-constraints.txt. Run it on purpose
# (to take upgrades, or after changing a dependency), then run `make test` and commit both files.
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet $(PIP_TOOLS)
	$(VENV)-lock/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--all-build-deps --extra test --extra postgres --extra apprise --extra lint \
		-c lock-constraints.txt --output-file requirements.lock pyproject.toml
	rm -rf $(VENV)-lock

demo: $(STAMP)
	$(BIN)/phiwatch demo

test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q

# Style, import order, types and the layers of docs/architecture.md: what CI checks before the tests.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-scan: $(STAMP)
	$(BIN)/python bench/scan.py

bench-faults: $(STAMP)
	$(BIN)/python bench/faults.py

# phiwatch scan against Prowler (installed on first use into bench/.peers/prowler)
bench-peers: $(STAMP)
	$(BIN)/python bench/peers.py

# report and evidence pack on 5,000 resources with 30 days of history (cached in bench/.cache)
bench-evidence: $(STAMP)
	$(BIN)/python bench/evidence.py

# collect, evaluate, scan and report 100,000 items in 10 Regions, each step's peak RSS
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) $(VENV)-lock build *.egg-info
