"""PyInstaller hook: RapidOCR's ONNX models and YAML configuration (package data it reads from
its own folder at run time) and its lazily imported submodules, less the inference engines
Quarry does not use (PyTorch, Paddle, OpenVINO, MNN, TensorRT). onnxruntime and cv2 come with
hooks of their own (pyinstaller-hooks-contrib, PyInstaller)."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules

UNUSED_ENGINES = ("pytorch", "paddle", "openvino", "mnn", "tensorrt")

datas = collect_data_files("rapidocr", excludes=["**/pytorch/**"])
hiddenimports = collect_submodules(
    "rapidocr", filter=lambda name: not any(f".inference_engine.{engine}" in name for engine in UNUSED_ENGINES)
)
