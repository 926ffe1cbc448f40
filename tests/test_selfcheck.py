"""The reranker's self-check (indexer.search.selfcheck) on real collections with real models:
a reranker of random weights earns no say, the test reranker earns one on SciFact, the check
resumes where it stopped and is redone for another model."""

from __future__ import annotations

import pytest

from indexer.errors import Cancelled
from indexer.search import selfcheck
from indexer.search.evaluation import index_corpus, load_beir
from indexer.search.searcher import GUARD_POWER, Searcher, SearchOptions
from indexer.store.lance import Store
from tests.beir_sample import make_sample
from tests.conftest import MODELS

NOISE = MODELS / "conformance" / "bert-pooler-f16.gguf"
QUERIES = 16


@pytest.fixture(scope="module")
def collection(tmp_path_factory, embedder):
    folder = make_sample(tmp_path_factory.mktemp("beir-check") / "scifact-check", queries=12, distractors=60)
    dataset = load_beir(folder, "dev")
    store = Store(tmp_path_factory.mktemp("check") / "index", embedder.dimension, embedder.fingerprint)
    index_corpus(dataset, store, embedder)
    return dataset, store


@pytest.fixture(scope="module")
def noise(placement):
    from indexer.models.rerank import Reranker

    model = Reranker(NOISE, placement)
    yield model
    model.close()


def check(searcher: Searcher, **kw) -> selfcheck.Finding:
    return selfcheck.run(
        searcher, searcher.store.folder, searcher.reranker_id, searcher.embedder.fingerprint,
        GUARD_POWER, max_queries=QUERIES, **kw,
    )


def test_a_noise_reranker_gets_no_weight_and_the_first_stage_order_stands(collection, embedder, noise):
    dataset, store = collection
    searcher = Searcher(store, embedder, noise)
    finding = check(searcher)
    assert finding.done and finding.weight == 0 and not finding.helps
    assert finding.mrr["rerank"] < finding.mrr["first stage"] - 0.2, "noise puts the source passage low"
    assert "first-stage order is kept" in finding.describe()
    searcher.reload_finding()
    assert searcher.collection_weight() == 0
    for query in list(dataset.queries.values())[:4]:
        plain = searcher.search(query, SearchOptions(k=10, rerank=False))
        ranked = searcher.search(query, SearchOptions(k=10))
        assert [h.chunk_id for h in ranked.hits] == [h.chunk_id for h in plain.hits]
    (store.folder / selfcheck.FILE_NAME).unlink()


def test_the_test_reranker_finds_the_source_passages_on_scifact(collection, embedder, reranker):
    """A trained reranker puts the pseudo-query's source passage high (noise does not). On a
    72-passage sample the first stage is already near perfect, so whether it earns a weight is
    left to the worst-case rule; on the whole SciFact corpus it earns 3 (docs/quality.md)."""
    _, store = collection
    searcher = Searcher(store, embedder, reranker)
    finding = check(searcher)
    assert finding.done and finding.mrr["rerank"] > 0.6
    assert finding.helps == (finding.weight > 0)
    searcher.reload_finding()
    assert searcher.collection_weight() == finding.weight
    (store.folder / selfcheck.FILE_NAME).unlink()


def test_the_check_resumes_after_a_stop_and_is_redone_for_another_model(collection, embedder, reranker, noise):
    _, store = collection
    searcher = Searcher(store, embedder, reranker)

    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            raise Cancelled("stopped")

    with pytest.raises(Cancelled):
        check(searcher, progress=stop_after_five)
    kept = selfcheck.load(store.folder)
    assert kept is not None and not kept.done and len(kept.records) == 5
    heard: list[int] = []
    finished = check(searcher, progress=lambda done, total: heard.append(done))
    assert heard[0] == 6 and finished.done and finished.records[:5] == kept.records
    # Another reranker: the finding is not current for it, and the check starts over.
    other = Searcher(store, embedder, noise)
    assert not selfcheck.current(finished, other.reranker_id, embedder.fingerprint, finished.passages)
    redone = check(other)
    assert redone.reranker == other.reranker_id and redone.weight == 0
