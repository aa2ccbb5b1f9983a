# The two commands of the README. Both install what they need first (scripts/install.sh).
.PHONY: install talk test serve

# install.sh uses a project .venv/ where the system Python refuses pip installs (PEP 668).
# Expanded when a recipe runs, i.e. after `install`, so a .venv made by it is seen.
BIN = $(if $(wildcard .venv/bin/python),.venv/bin/,)
PYTHON_RUN = $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

install:
	bash scripts/install.sh

talk: install
	$(BIN)w2w build-talk

test: install
	$(PYTHON_RUN) -m pytest -q

serve: install
	$(BIN)w2w serve
