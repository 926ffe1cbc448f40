"""The embedder reproduces the PyTorch reference, and nothing over-long reaches llama.cpp."""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.constants import CHUNK_MAX_TOKENS
from indexer.ingest.chunking import chunk_pages
from indexer.types import Page
from tests.conftest import MODELS

REFERENCE = json.loads((MODELS / "all-MiniLM-L6-v2.reference.json").read_text())


def test_embeddings_match_reference(embedder):
    texts = [item["text"] for item in REFERENCE["items"]]
    vectors = embedder.embed_documents(texts)
    for item, vector in zip(REFERENCE["items"], vectors, strict=True):
        expected = np.asarray(item["embedding"], dtype=np.float32)
        cosine = float(vector @ expected / np.linalg.norm(expected))
        assert cosine >= 0.998, item["text"]
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_query_and_document_embedding_agree(embedder):
    text = "Cross-encoders read the query and the passage together."
    assert np.allclose(embedder.embed_query(text), embedder.embed_documents([text])[0], atol=1e-5)


def test_over_long_page_never_reaches_llama(embedder, reranker):
    # Pages llama.cpp would abort on if they went in whole: long prose, and one unbroken run.
    prose = " ".join(f"Sentence number {i} talks about boilers and bread." for i in range(3000))
    blob = "x" * 60_000 + "ünïcödé" * 2000
    pages = [Page(prose, 1), Page(blob, 2), Page("\n\n".join([prose[:5000]] * 20), 3)]
    chunks = chunk_pages(pages, "A long title", embedder.count_tokens)
    assert len(chunks) > 50
    for chunk in chunks:
        assert embedder.count_tokens(chunk.indexed_text) <= CHUNK_MAX_TOKENS + 1
    # And the models themselves truncate whatever they are given, instead of aborting.
    vector = embedder.embed_documents([prose + blob])[0]
    assert vector.shape == (embedder.dimension,)
    scores = reranker.score("boilers " * 400, [prose, blob])
    assert len(scores.scores) == 2


def test_decode_refuses_sequences_longer_than_the_context(placement):
    from indexer.models.embedding import LocalEmbedder
    from tests.conftest import EMBEDDER

    local = LocalEmbedder(EMBEDDER, placement)  # llama.cpp in this process, as the worker runs it
    try:
        with pytest.raises(ValueError):
            local.model.decode([[101] * (local.max_tokens + 1)])
    finally:
        local.close()
