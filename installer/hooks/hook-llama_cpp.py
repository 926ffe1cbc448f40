"""PyInstaller hook: llama-cpp-python loads libllama / libggml* from llama_cpp/lib at run
time through ctypes, which PyInstaller's import analysis cannot see."""

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs

binaries = collect_dynamic_libs("llama_cpp")
datas = collect_data_files("llama_cpp", includes=["**/*.so*", "**/*.dylib", "**/*.dll", "**/*.metal"])
