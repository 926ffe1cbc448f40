"""The indexer's sub-packages read as the pipeline, and imports only go down it.

Layers, lowest first: the shared core (errors, types, constants, cancel tokens, paths,
atomic writes), ``runtime`` (llama.cpp bindings, hardware, CPU variants, the inference
worker), ``models`` (model files, GGUF headers, families, embedder, reranker, endpoints),
``store`` (the LanceDB index), ``ingest`` (scan, extract, normalise, chunk, index runs),
``search`` (first stage, rerank, ranking, snippets, preview, evaluation), and on top the
``engine`` and the settings that wire them together. A module may import from its own
layer and those below; the one deliberate reach upward is listed in ``UPWARD``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = {"atomic", "cancel", "constants", "errors", "eta", "malloc", "paths", "types", "words"}
LAYERS = ["core", "runtime", "models", "store", "ingest", "search", "top"]
TOP = {"engine", "settings"}
UPWARD = {
    # The worker process hosts the models it serves: it imports their local (llama.cpp)
    # halves when told to load one, inside the child.
    ("indexer.runtime.worker", "indexer.models.embedding"),
    ("indexer.runtime.worker", "indexer.models.rerank"),
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts == ["indexer"]:
        return "core"
    if parts[1] in CORE:
        return "core"
    if parts[1] in TOP:
        return "top"
    return parts[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("indexer"):
            if node.module == "indexer":
                found.update(f"indexer.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("indexer"))
    return found


def test_every_indexer_module_has_a_layer():
    for path in (ROOT / "indexer").rglob("*.py"):
        assert layer_of(module_name(path)) in LAYERS, path


def test_imports_only_go_down_the_pipeline():
    wrong = []
    for path in sorted((ROOT / "indexer").rglob("*.py")):
        module = module_name(path)
        here = LAYERS.index(layer_of(module))
        for target in sorted(imports(path)):
            there = LAYERS.index(layer_of(target))
            if there > here and not any(module == a and target.startswith(b) for a, b in UPWARD):
                wrong.append(f"{module} ({LAYERS[here]}) imports {target} ({LAYERS[there]})")
    assert not wrong, "\n".join(wrong)


def test_the_layer_check_sees_a_violation(tmp_path):
    # The check itself: an import upward in a module is found.
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from indexer.search.searcher import Searcher\n")
    assert imports(module) == {"indexer.search.searcher"}
    assert LAYERS.index(layer_of("indexer.search.searcher")) > LAYERS.index(layer_of("indexer.store.lance"))
