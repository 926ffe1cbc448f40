"""The public entry points say what they take, give and raise (their docstrings)."""

from __future__ import annotations

import inspect

import pytest

from indexer.ingest.pipeline import Indexer
from indexer.models.embedding import Embedder
from indexer.models.rerank import Reranker
from indexer.runtime.supervisor import InferenceWorker
from indexer.search.searcher import Searcher
from indexer.store.lance import Store

ENTRY_POINTS = [
    Indexer.run,
    Searcher.search,
    Embedder.embed_documents,
    Embedder.embed_query,
    Reranker.score,
    Store.write,
    Store.fill_vectors,
    Store.add_root,
    Store.remove_root,
    Store.delete_documents,
    *(
        member
        for name, member in vars(InferenceWorker).items()
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    ),
]
SAYS_ERRORS = {"run", "search", "embed_documents", "embed_query", "score", "write", "fill_vectors", "call", "load"}


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: getattr(e, "__qualname__", None) or e.fget.__qualname__)
def test_the_entry_point_is_documented(entry):
    function = entry.fget if isinstance(entry, property) else entry
    doc = inspect.getdoc(function) or ""
    assert len(doc.split()) >= 8, function.__qualname__
    if function.__name__ in SAYS_ERRORS:
        assert "Raise" in doc, f"{function.__qualname__} does not say what it raises"
