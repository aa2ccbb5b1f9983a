# The two commands of the README. Both install what they need first (scripts/install.sh).
.PHONY: install talk test serve

install:
	bash scripts/install.sh

talk: install
	w2w build-talk

test: install
	python3 -m pytest -q

serve: install
	w2w serve
