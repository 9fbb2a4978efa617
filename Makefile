# Quick start: `make demo` (train + evaluate DaViT-T on generated data) and `make test` (the whole suite).
# Both create or reuse .venv with the pinned stack (tools/setup_env.sh; the first run builds mmcv, 10-15 min).
PYTHON := .venv/bin/python
PYTEST_ARGS ?=
# two pytest-xdist workers: most of the time goes to single-threaded tool runs; --dist loadscope keeps each
# module's (and class's) fixtures, e.g. a trained model, on one worker
PYTEST_WORKERS ?= 2

.PHONY: venv demo test clean-venv

venv:
	bash tools/setup_env.sh

demo: venv
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PYTHON) tools/demo.py

test: venv
	$(PYTHON) -m pytest tests -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

clean-venv:
	rm -rf .venv
