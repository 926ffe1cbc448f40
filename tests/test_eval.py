"""`quarry eval` on a small sample of SciFact dev, so the harness cannot silently break.
The full run is a benchmark (docs/quality.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.topic_queries import OFF_TOPIC
from indexer.search.evaluation import (
    CONFIGURATIONS,
    PAGE_CONFIGURATIONS,
    RERANKED,
    evaluate,
    index_corpus,
    load_beir,
    query_rankings,
)
from indexer.search.searcher import Searcher, SearchOptions
from indexer.store.lance import Store
from tests.beir_sample import make_sample
from tests.conftest import PDFS, ROOT, quarry


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return make_sample(tmp_path_factory.mktemp("beir") / "scifact-sample")


@pytest.fixture(scope="module")
def sample_searcher(sample, tmp_path_factory, embedder, reranker):
    store = Store(tmp_path_factory.mktemp("eval") / "index", embedder.dimension, embedder.fingerprint)
    dataset = load_beir(sample, "dev")
    index_corpus(dataset, store, embedder)
    return dataset, Searcher(store, embedder, reranker)


def test_eval_cli_prints_every_configuration(sample, basedir):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--basedir",
            str(basedir),
            "eval",
            str(sample),
            "--limit",
            "6",
            "-n",
            "10",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(done.stdout)
    assert set(metrics) == {*CONFIGURATIONS, "default"}
    for values in metrics.values():
        assert set(values) == {"ndcg@10", "recall@100", "mrr@10", "latency_ms"}
        assert all(0.0 <= values[m] <= 1.0 for m in ("ndcg@10", "recall@100", "mrr@10"))
    assert metrics["hybrid+rerank"]["latency_ms"] > metrics["hybrid"]["latency_ms"]


PAGE_SAMPLE = [
    {"query": "a professor sends a cat over a telegraph wire", "file": "The-Man-Without-A-Body.pdf", "pages": [3]},
    {"query": "the head in the museum winks at the narrator", "file": "The-Man-Without-A-Body.pdf", "pages": [1]},
    {
        "query": "what happens to my rights if I break the licence",
        "file": "CC_License_Agreement_of_siMPle.pdf",
        "pages": [6],
    },
    {"query": "how to install solar panels on a roof", "file": None, "pages": [], "kind": "off-topic"},
]


def test_eval_cli_scores_page_labelled_questions(basedir, tmp_path):
    """`quarry eval --pages`: page-level hit@1 / hit@3 / MRR@10 per configuration on a small folder."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("The-Man-Without-A-Body.pdf", "CC_License_Agreement_of_siMPle.pdf"):
        shutil.copy(PDFS / name, folder / name)
    questions = tmp_path / "pages.jsonl"
    questions.write_text("".join(json.dumps(row) + "\n" for row in PAGE_SAMPLE), "utf-8")
    # Named: models.pick would take the random-weight conformance reranker from ../shared/models.
    reranker = "--reranker=quarry-test-reranker-minilm-l6-q8_0.gguf"
    done = quarry(basedir, reranker, "eval", str(folder), "--pages", str(questions), "-n", "20", "--json", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(done.stdout)
    assert set(metrics) == set(PAGE_CONFIGURATIONS)
    for values in metrics.values():
        assert values["answerable"] == 3 and values["off_topic"] == 1
        assert all(0.0 <= values[m] <= 1.0 for m in ("hit@1", "hit@3", "mrr@10"))
    assert metrics["default"]["hit@3"] >= 2 / 3
    assert metrics["default"]["weak_off_topic"] == 1


def test_reranking_helps_on_the_sample(sample_searcher):
    dataset, searcher = sample_searcher
    result = evaluate(dataset, searcher, searcher.reranker, candidates=20)
    assert result.queries == 8
    assert result.metrics["hybrid+rerank"]["ndcg@10"] >= result.metrics["hybrid"]["ndcg@10"]
    assert result.metrics["hybrid+rerank"]["ndcg@10"] > 0.8


def test_off_topic_queries_score_below_the_default_minimum(sample_searcher):
    _, searcher = sample_searcher
    options = SearchOptions()
    best_off_topic = 0.0
    for query in OFF_TOPIC:
        unfiltered = searcher.search(query, SearchOptions(k=5, min_score=0.0))
        assert unfiltered.hits and max(h.score for h in unfiltered.hits) < options.min_score, query
        best_off_topic = max(best_off_topic, max(h.score for h in unfiltered.hits))
        result = searcher.search(query, options)
        assert result.weak and result.hits, query
    # A SciFact claim whose abstract the reranker is sure of but the embedder is not (topic
    # weight 0): the calibrated score (fitted on the choosing sets, docs/quality.md session 12)
    # gives such a hit about 1 in 6, as often as hits with that evidence are relevant, and
    # still more than any off-topic query's best hit.
    on_topic = searcher.search("1 in 5 million in UK have abnormal PrP positivity.", options)
    assert on_topic.hits and max(h.rerank_score for h in on_topic.hits) > 0.9
    assert on_topic.hits[0].score > best_off_topic


def test_the_topic_gate_is_what_hides_off_topic_queries(sample_searcher):
    """Without the gate the test reranker is confidently wrong on some off-topic query, so the
    test above would pass for the wrong reason if the gate were not applied."""
    _, searcher = sample_searcher
    assert searcher.topic_gate == (0.35, 0.45)  # from the embedder's catalogue entry
    ungated = SearchOptions(k=5, min_score=0.0, topic_gate=False)
    assert max(max(h.score for h in searcher.search(q, ungated).hits) for q in OFF_TOPIC) > 0.5


@pytest.fixture(scope="module")
def small_set(tmp_path_factory, embedder, reranker):
    """Three SciFact queries over their abstracts and a few distractors: fewer passages than
    candidates, so the eval's 100-deep first stage and the app's 50-deep one hold the same."""
    folder = make_sample(tmp_path_factory.mktemp("beir-small") / "scifact-small", queries=3, distractors=12)
    dataset = load_beir(folder, "dev")
    store = Store(tmp_path_factory.mktemp("eval-small") / "index", embedder.dimension, embedder.fingerprint)
    index_corpus(dataset, store, embedder)
    return dataset, store, Searcher(store, embedder, reranker)


def test_eval_ranks_as_the_searcher_does(small_set):
    """One rule for the final order and score (indexer.search.fusion): what `quarry eval` scores
    is the order Searcher.search shows, and the shown score is the calibrated relevance:
    in 0..1, falling down the list, with its strength word (indexer.search.calibration)."""
    from indexer.search import calibration

    dataset, store, searcher = small_set
    assert 10 < store.passage_counts().passages <= 50
    compared = 0
    for query in dataset.queries.values():
        rankings = query_rankings(query, searcher, searcher.reranker, candidates=50)
        plain = searcher.search(query, SearchOptions(k=50, candidates=50, rerank=False))
        assert rankings["hybrid"] == [h.path.removeprefix("beir:") for h in plain.hits]
        for name, ranking in RERANKED.items():
            result = searcher.search(query, SearchOptions(k=50, candidates=50, ranking=ranking))
            assert result.reranker and len(result.hits) == len(rankings[name])
            assert rankings[name] == [h.path.removeprefix("beir:") for h in result.hits], (query, name)
            compared += 1
        shown = searcher.search(query, SearchOptions(k=50, candidates=50)).hits
        scores = [hit.score for hit in shown]
        assert all(s is not None and 0.0 <= s <= 1.0 for s in scores)
        assert scores == sorted(scores, reverse=True), "rows are in score order"
        assert [hit.strength for hit in shown] == [calibration.strength(s) for s in scores]
    assert compared == 3 * len(RERANKED)
