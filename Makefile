# Two commands for a fresh Debian/Ubuntu machine (run as root, or with sudo available):
#   make run    install everything, then start live captions + coaching
#               (replays the bundled sample call when there is no microphone)
#   make test   install everything, then run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libportaudio2 pulseaudio pulseaudio-utils espeak-ng sox chromium

.PHONY: run test setup system venv lint clean

run: setup
	$(BIN)/turnaround live --or-sample

test: setup system-test
	$(BIN)/python -m pytest

setup: system venv

# Only libportaudio2 is needed to run; the rest are for the tests (real PulseAudio
# null sink, espeak-ng speech, headless Chromium).
system:
	@dpkg -s libportaudio2 >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y libportaudio2; }

system-test:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

venv: $(BIN)/turnaround

$(BIN)/turnaround: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench,serve]'
	@touch $@

lint:
	$(BIN)/ruff check assistant tests benchmarks
	$(BIN)/ruff format --check assistant tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache benchmarks/results test-artifacts
