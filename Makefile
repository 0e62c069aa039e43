# Two commands for a fresh Debian/Ubuntu machine (run as root, or with sudo available):
#   make run    install the package, then start live captions + coaching
#               (replays the bundled sample call when there is no microphone)
#   make test   install the package with the test tools, then run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libportaudio2 pulseaudio pulseaudio-utils espeak-ng sox chromium

.PHONY: run test setup system system-test venv venv-test lint clean

run: system venv
	$(BIN)/turnaround live --or-sample

test: system system-test venv-test
	$(BIN)/python -m pytest

setup: system venv

# Only libportaudio2 is needed to run; the rest are for the tests (real PulseAudio
# null sink, espeak-ng speech, headless Chromium).
system:
	@dpkg -s libportaudio2 >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y libportaudio2; }

system-test:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

# Two installs into one virtualenv: `make run` needs the package alone; the tests
# also need pytest, Playwright, the benchmarks' tools and Ray Serve (the team
# server's tests start a cluster), which is most of the download. Each stamp says
# what is installed; the test install is a superset of the run install.
venv: $(VENV)/.installed-run

venv-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench,serve]'
	@touch $@ $(VENV)/.installed-run

lint:
	$(BIN)/ruff check assistant tests benchmarks
	$(BIN)/ruff format --check assistant tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache benchmarks/results test-artifacts
