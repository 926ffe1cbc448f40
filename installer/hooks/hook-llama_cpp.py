"""PyInstaller hook: llama-cpp-python loads libllama / libggml* from llama_cpp/lib at run
time through ctypes, which PyInstaller's import analysis cannot see. Builds with loadable
backends (GGML_BACKEND_DL, the Makefile's CPU build) also install libggml-cpu-<variant>.so
into site-packages/bin; they go to llama_cpp/backends, where indexer/runtime/llama.py looks."""

from pathlib import Path

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, get_package_paths

binaries = collect_dynamic_libs("llama_cpp")
datas = collect_data_files("llama_cpp", includes=["**/*.so*", "**/*.dylib", "**/*.dll", "**/*.metal"])
_site = Path(get_package_paths("llama_cpp")[0])
for _backend in sorted((_site / "bin").glob("*ggml-*")):
    binaries.append((str(_backend), "llama_cpp/backends"))
