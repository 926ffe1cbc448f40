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


def test_the_embedder_as_the_app_builds_it_reproduces_the_reference(placement, tmp_path):
    """With a folder for CPU-tuned copies (as ModelSetup gives it): a bf16 copy of the Q8_0 file
    where the CPU has AVX512-BF16 (indexer.models.bf16), the file itself elsewhere; either way
    the reference holds, the vectors' fingerprint names the file, and the passages are embedded
    on one context per CPU thread in their input order."""
    from indexer.models.bf16 import cpu_has_bf16
    from indexer.models.embedding import Embedder
    from indexer.models.gguf_info import read_info
    from indexer.runtime.context_pool import cpu_lanes
    from tests.conftest import EMBEDDER

    model = Embedder(EMBEDDER, placement, tuned_dir=tmp_path)
    plain = Embedder(EMBEDDER, placement, worker=model.worker, lanes=1)
    try:
        if cpu_has_bf16():
            assert model.loaded_path.parent == tmp_path and read_info(model.loaded_path).file_type == 32
        else:
            assert model.loaded_path == EMBEDDER and not any(tmp_path.iterdir())
        assert model.fingerprint == plain.fingerprint
        assert model.n_lanes == cpu_lanes(placement, EMBEDDER.stat().st_size) and plain.n_lanes == 1
        texts = [item["text"] for item in REFERENCE["items"]]
        vectors = model.embed_documents(texts)
        for item, vector in zip(REFERENCE["items"], vectors, strict=True):
            expected = np.asarray(item["embedding"], dtype=np.float32)
            assert float(vector @ expected / np.linalg.norm(expected)) >= 0.998, item["text"]
        # Lanes change where a passage is embedded, never which row it lands in: each row is
        # nearest to the same text's row from one context (of the Q8_0 file: within 0.998).
        similarity = vectors @ plain.embed_documents(texts).T
        assert list(similarity.argmax(axis=1)) == list(range(len(texts)))
        assert float(np.diag(similarity).min()) >= 0.998
    finally:
        plain.close()
        model.close()
