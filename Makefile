# The two commands in the README: `make demo` runs the pizza shop, `make test` runs the tests.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
EMUKUBE := .venv/bin/emukube

.PHONY: demo test lint setup unit integration bench down

# `emukube up examples/pizza.yaml`; when another cluster holds the shop's NodePort 30080 it
# says who and runs the shop on a free port (emukube/cli/demo.py).
demo: setup
	@.venv/bin/python -m emukube.cli.demo $(EMUKUBE) examples/pizza.yaml

# Two workers, a file's tests on one (its module's cluster is made once); the engine restart test
# runs alone afterwards.
test: setup lint
	.venv/bin/pytest -q -ra -p no:cacheprovider --durations=30 -n 2 --dist loadfile \
		--ignore=tests/integration/test_engine_restart.py tests
	.venv/bin/pytest -q -ra -p no:cacheprovider tests/integration/test_engine_restart.py

# Style and likely bugs (ruff), types (mypy), and the layers of emukube/ (import-linter): pyproject.toml.
lint: setup
	.venv/bin/ruff check emukube tests benchmarks
	.venv/bin/mypy
	.venv/bin/lint-imports

setup:
	bash scripts/setup.sh

unit:
	.venv/bin/pytest -q tests/unit

integration: setup
	.venv/bin/pytest -q -ra tests/integration

# make bench ARGS="--only proxy --runs 5" (or --quick): see benchmarks/README.md
bench: setup
	bash benchmarks/setup.sh
	.venv/bin/python benchmarks/run.py $(ARGS)

# Only the demo's cluster: other clusters on this engine (yours, a test run's) are not ours to remove.
down:
	$(EMUKUBE) down
