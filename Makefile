# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_DIRS := $(wildcard dvcish tests benchmarks scripts)
# DVC 3.x in its own venv: `make bench` compares against it, the import-dvc tests convert a real
# DVC project made with it. Created once (about 40 s); a failure is reported by those tests.
DVC_VENV := benchmarks/.venv-dvc

# Debian packages the tests use, as command:package; `make test` installs the missing ones when
# it runs as root with apt-get (CI does), and names them otherwise. strace kills and fails
# commands for the crash-point sweep (tests/test_crash_sweep.py; without it the sweep is skipped
# and says why; `DVCISH_CRASH_SWEEP=full make test` runs all 643 kill points, ~7 more minutes).
# mkfs.xfs makes the loop-mounted XFS image on which tests/test_reflink_xfs.py proves reflinks.
TEST_TOOLS := xxh128sum:xxhash unzip:unzip strace:strace mkfs.xfs:xfsprogs

.PHONY: demo test test-tools lint bench clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

$(DVC_VENV)/.dvc-installed:
	$(PYTHON) benchmarks/dvc_venv.py $(DVC_VENV) || echo "warning: DVC could not be installed; the import-dvc tests will fail"

test: $(STAMP) test-tools $(DVC_VENV)/.dvc-installed
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(BIN)/python -m pytest -n 2 -q

test-tools:
	@missing=""; for pair in $(TEST_TOOLS); do \
		command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing test tools:$$missing"; \
			apt-get install -y -q $$missing >/dev/null 2>&1 || \
				{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null; }; \
		else \
			echo "missing test tools:$$missing (apt-get install$$missing)"; \
		fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
