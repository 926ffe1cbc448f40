"""PyInstaller hook: lancedb's Rust extension and its Python package data."""

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules

binaries = collect_dynamic_libs("lancedb")
datas = collect_data_files("lancedb")
hiddenimports = collect_submodules("lancedb")
