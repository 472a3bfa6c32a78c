# SERASI Web: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-dev system-deps translations extract-messages bench clean dist constraints

# Reinstall only when the package metadata changes (fast the second time).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

.stamp-install: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

.stamp-install-dev: setup.cfg pyproject.toml tests/plugin_example/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	# A third-party plugin found through its entry point, as the plugin tests expect.
	$(BIN)/pip install --quiet -e tests/plugin_example
	touch $@ .stamp-install

install: .stamp-install translations
install-dev: .stamp-install-dev translations

# Compiled catalogues are build products; the .po files are the source.
translations: $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(BIN)/python
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ -l $* 2>/dev/null || $(BIN)/pybabel compile -i $< -o $@ -l $*

extract-messages: .stamp-install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

# Debian packages the tests need: installed when we are root and they are missing;
# otherwise the tests that need them skip with a message (fail under SERASI_REQUIRE_ALL=1).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	ldconfig -p 2>/dev/null | grep -q libzbar.so.0 || missing="$$missing libzbar0"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v pg_dump >/dev/null || missing="$$missing postgresql-client"; \
	[ -f /usr/share/fonts/opentype/ocr-b/OCRB.otf ] || missing="$$missing fonts-ocr-b"; \
	command -v tesseract >/dev/null || missing="$$missing tesseract-ocr tesseract-ocr-eng"; \
	ldconfig -p 2>/dev/null | grep -q libGL.so.1 || missing="$$missing libgl1"; \
	ldconfig -p 2>/dev/null | grep -q libgthread-2.0.so.0 || missing="$$missing libglib2.0-0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Not root: missing$$missing; the tests that need them will skip."; fi; \
	fi

# The web server and the background worker (deliveries, reminders) side by side; Ctrl-C stops both.
run: install
	$(BIN)/flask serasi setup
	@$(BIN)/flask serasi worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' INT TERM EXIT; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: install-dev system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev
	@echo "See docs/benchmarks.md for the benchmark commands."

# The wheel an office installs (docs/deploy.md); catalogues are compiled into it.
dist: install-dev
	rm -rf dist
	$(BIN)/python -m build --wheel --outdir dist .

# Pins of everything the wheel installs, tested by tests/test_deployment.py (which fails when a
# dependency is missing here): run after changing install_requires.
constraints: dist
	rm -rf build/constraints-venv
	$(PYTHON) -m venv build/constraints-venv
	build/constraints-venv/bin/pip install --quiet --disable-pip-version-check dist/*.whl
	{ echo "# Tested pins for installing SERASI Web (make constraints); pip install serasi_web-*.whl -c constraints.txt"; \
	  build/constraints-venv/bin/pip freeze --all --exclude-editable | grep -v -i -E '^(serasi-web|serasi_web|pip|setuptools|wheel)( @|==)'; } > deploy/constraints.txt

clean:
	rm -rf $(VENV) .stamp-install .stamp-install-dev build dist
