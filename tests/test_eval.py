"""`quarry eval` on a small sample of SciFact dev, so the harness cannot silently break.
The full run is a benchmark (docs/quality.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.topic_queries import OFF_TOPIC
from indexer.evaluation import CONFIGURATIONS, evaluate, index_corpus, load_beir
from indexer.search import Searcher, SearchOptions
from indexer.store import Store
from tests.beir_sample import make_sample
from tests.conftest import ROOT


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


def test_reranking_helps_on_the_sample(sample_searcher):
    dataset, searcher = sample_searcher
    result = evaluate(dataset, searcher, searcher.reranker, candidates=20)
    assert result.queries == 8
    assert result.metrics["hybrid+rerank"]["ndcg@10"] >= result.metrics["hybrid"]["ndcg@10"]
    assert result.metrics["hybrid+rerank"]["ndcg@10"] > 0.8


def test_off_topic_queries_score_below_the_default_minimum(sample_searcher):
    _, searcher = sample_searcher
    options = SearchOptions()
    for query in OFF_TOPIC:
        unfiltered = searcher.search(query, SearchOptions(k=5, min_score=0.0))
        assert unfiltered.hits and max(h.score for h in unfiltered.hits) < options.min_score, query
        assert searcher.search(query, options).hits == [], query
    on_topic = searcher.search("1 in 5 million in UK have abnormal PrP positivity.", options)
    assert on_topic.hits and on_topic.hits[0].rerank_score > 0.9 and on_topic.hits[0].score >= options.min_score
    assert "minimum score" in searcher.search(OFF_TOPIC[0], options).notice


def test_the_topic_gate_is_what_hides_off_topic_queries(sample_searcher):
    """Without the gate the test reranker is confidently wrong on some off-topic query, so the
    test above would pass for the wrong reason if the gate were not applied."""
    _, searcher = sample_searcher
    assert searcher.topic_gate == (0.35, 0.45)  # from the embedder's catalogue entry
    ungated = SearchOptions(k=5, min_score=0.0, topic_gate=False)
    assert max(max(h.score for h in searcher.search(q, ungated).hits) for q in OFF_TOPIC) > 0.5
