"""Remote endpoints against a real HTTP server on 127.0.0.1 (tests/endpoint_server.py) speaking
each format: scores come back in input order and order the search; a slow, unreachable or
malformed server leaves first-stage order with a notice; the API key is sent as a Bearer
token and never reaches a log, a notice or a settings export; an embeddings endpoint indexes
and finds documents, and its vectors count as another model's."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import stat
from pathlib import Path

import numpy as np
import pytest

from indexer.errors import StoreMismatch
from indexer.ingest.pipeline import Indexer
from indexer.models.endpoints.config import REDACTED, Endpoint
from indexer.models.endpoints.embed import EndpointEmbedder, estimate_tokens
from indexer.models.endpoints.http import EndpointError
from indexer.models.endpoints.rerank import EndpointReranker
from indexer.search.searcher import Searcher, SearchOptions
from indexer.settings import Settings, export, load, save
from indexer.store.lance import Store
from tests.conftest import GOLDEN
from tests.endpoint_server import FAULTS, EndpointServer, overlap, probability, vector
from tests.test_gui import app_window, index_golden  # noqa: F401 - the window fixture and its helper

KEY = "sk-quarry-test-7f3a9c2e5b1d"
RERANK_FORMATS = ("tei", "cohere", "llama-server")
QUERY = "boiler pressure gauge"
OPTIONS = SearchOptions(k=10, candidates=20)


def reranker_at(server: EndpointServer, **extra) -> Endpoint:
    return Endpoint(server.format, server.url, model="test-reranker", api_key=KEY, **extra)


@pytest.fixture(scope="module")
def embed_server():
    with EndpointServer("openai") as server:
        yield server


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embed_server):
    """The golden documents indexed through the embeddings endpoint: (store, embedder)."""
    base = tmp_path_factory.mktemp("remote")
    docs = shutil.copytree(GOLDEN, base / "docs")
    embedder = EndpointEmbedder(Endpoint("openai", embed_server.url, model="test-embedder", api_key=KEY))
    store = Store(base / "index", embedder.dimension, embedder.fingerprint)
    report = Indexer(store, embedder).run([docs])
    assert not report.skipped and report.chunks_embedded > 0
    yield store, embedder
    embedder.close()


def first_stage_paths(indexed) -> list[str]:
    store, embedder = indexed
    plain = Searcher(store, embedder).search(QUERY, SearchOptions(k=10, candidates=20, rerank=False))
    return [(h.path, h.chunk_id) for h in plain.hits]


# -- each format, working ------------------------------------------------------------------
@pytest.mark.parametrize("fmt", RERANK_FORMATS)
def test_scores_arrive_in_input_order_with_the_key_as_a_bearer_token(fmt):
    documents = [
        "Sourdough needs flour and water.",
        "Check the boiler pressure gauge and the relief valve.",
        "The team offsite agenda.",
        "Pressure rises when the boiler heats.",
        "A gauge.",
    ]
    with EndpointServer(fmt) as server:
        reranker = EndpointReranker(reranker_at(server))
        result = reranker.score(QUERY, documents)
    expected = [probability(overlap(QUERY, d)) for d in documents]
    assert len(set(expected)) >= 3  # distinct scores: the server's best-first order really differs from ours
    assert result.scores == pytest.approx(expected, abs=1e-6)
    assert result.complete and not result.from_cache
    [request] = server.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    if fmt == "tei":
        assert request.path == "/rerank"
        assert request.body == {"query": QUERY, "texts": documents, "raw_scores": False, "truncate": True}
    else:
        assert request.path == "/v1/rerank"
        assert request.body == {"query": QUERY, "documents": documents, "top_n": 5, "model": "test-reranker"}


def sourdough_first(query: str, document: str) -> float:
    """A reranker that disagrees with the first stage: bread beats boilers."""
    return 4.0 if "sourdough" in document.lower() else -4.0 + 0.1 * overlap(query, document)


@pytest.mark.parametrize("fmt", RERANK_FORMATS)
def test_the_searcher_orders_by_the_endpoint_and_says_which_ran(fmt, indexed):
    store, embedder = indexed
    with EndpointServer(fmt, scorer=sourdough_first) as server:
        result = Searcher(store, embedder, EndpointReranker(reranker_at(server))).search(QUERY, OPTIONS)
    assert result.method == f"hybrid + remote rerank: test-reranker at 127.0.0.1:{server.port}"
    assert result.reranker == "test-reranker" and not result.notice
    assert server.requests, "the endpoint was never asked"
    for hit in result.hits:
        expected = probability(sourdough_first(QUERY, f"{hit.title}\n{hit.text}"))
        assert hit.rerank_score == pytest.approx(expected, abs=1e-6)
    bread = next(h for h in result.hits if Path(h.path).name == "sourdough.txt")
    assert bread.first_stage_rank > 1 and bread.rank < bread.first_stage_rank  # the endpoint moved it up


def test_a_qwen3_style_llama_server_is_read_as_probabilities():
    """llama-server sends P(yes) for a Qwen3 reranker: set to 'probability', no sigmoid goes on top."""
    with EndpointServer("tei") as server:  # sends probabilities
        as_logits = EndpointReranker(reranker_at(server, scores="logit")).score(QUERY, ["boiler pressure gauge"])
        as_probabilities = EndpointReranker(reranker_at(server)).score(QUERY, ["boiler pressure gauge"])
    assert as_probabilities.scores[0] == pytest.approx(probability(1.0))
    assert as_logits.scores[0] == pytest.approx(probability(probability(1.0)))


def test_a_repeated_query_is_scored_from_the_cache():
    with EndpointServer("cohere") as server:
        reranker = EndpointReranker(reranker_at(server))
        first = reranker.score(QUERY, ["a boiler", "a gauge"])
        again = reranker.score(QUERY, ["a boiler", "a gauge"])
    assert len(server.requests) == 1
    assert again.scores == first.scores and again.from_cache == 2


def test_tei_requests_hold_at_most_its_default_batch():
    documents = [f"passage {i} about boiler pressure" for i in range(45)]
    with EndpointServer("tei") as server:
        result = EndpointReranker(reranker_at(server)).score(QUERY, documents)
    assert [len(r.body["texts"]) for r in server.requests] == [32, 13]
    assert result.scores == pytest.approx([probability(overlap(QUERY, d)) for d in documents])


# -- each format, failing --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", RERANK_FORMATS)
def test_a_timeout_leaves_first_stage_order_with_a_notice(fmt, indexed):
    store, embedder = indexed
    with EndpointServer(fmt, fault="sleep", sleep_s=3.0) as server:
        searcher = Searcher(store, embedder, EndpointReranker(reranker_at(server, timeout_s=0.3)))
        result = searcher.search(QUERY, OPTIONS)
    assert result.method == "hybrid" and result.reranker == ""
    assert f"the remote reranker at 127.0.0.1:{server.port} gave no answer within 0.3 s" in result.notice
    assert result.notice.endswith("results are in first-stage order")
    assert [(h.path, h.chunk_id) for h in result.hits] == first_stage_paths(indexed)
    assert all(h.rerank_score is None for h in result.hits)


def test_the_rerank_deadline_cuts_a_slow_endpoint_short(indexed):
    store, embedder = indexed
    with EndpointServer("tei", fault="sleep", sleep_s=3.0) as server:
        searcher = Searcher(store, embedder, EndpointReranker(reranker_at(server)))  # 30 s timeout
        result = searcher.search(QUERY, SearchOptions(k=10, candidates=20, deadline_s=0.3))
    assert result.method == "hybrid"
    assert "(the rerank deadline)" in result.notice


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "sleep"])
@pytest.mark.parametrize("fmt", RERANK_FORMATS)
def test_a_malformed_reply_leaves_first_stage_order_and_the_key_stays_out_of_the_log(
    fmt, fault, indexed, caplog: pytest.LogCaptureFixture
):
    store, embedder = indexed
    caplog.set_level(logging.DEBUG)  # every logger, httpx2's and httpcore2's included
    with EndpointServer(fmt, fault=fault) as server:
        result = Searcher(store, embedder, EndpointReranker(reranker_at(server))).search(QUERY, OPTIONS)
    assert result.method == "hybrid"
    assert f"at 127.0.0.1:{server.port}" in result.notice
    assert result.notice.endswith("results are in first-stage order")
    reason = {
        "bad-json": "not JSON",
        "wrong-shape": "did not answer in the",
        "wrong-count": "scores for",
        "http-500": "HTTP 500",
    }[fault]
    assert reason in result.notice
    assert [(h.path, h.chunk_id) for h in result.hits] == first_stage_paths(indexed)
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent…
    assert KEY not in caplog.text and KEY not in result.notice  # …and never written down
    assert "Traceback" not in caplog.text  # a server's fault is reported, not treated as a bug


def test_an_unreachable_server_leaves_first_stage_order(indexed):
    store, embedder = indexed
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = Endpoint("llama-server", f"http://127.0.0.1:{port}", api_key=KEY, timeout_s=2.0)
    result = Searcher(store, embedder, EndpointReranker(endpoint)).search(QUERY, OPTIONS)
    assert result.method == "hybrid"
    assert f"the remote reranker at 127.0.0.1:{port} could not be reached" in result.notice
    assert KEY not in result.notice


def test_a_key_echoed_back_by_the_server_is_redacted():
    class Echo(EndpointServer):
        def answer(self, path, body):
            return 401, {"error": f"invalid key {self.requests[-1].headers['authorization']}"}

    with Echo("cohere") as server, pytest.raises(EndpointError) as failure:
        EndpointReranker(reranker_at(server)).score(QUERY, ["x"])
    assert "HTTP 401 — check the API key" in str(failure.value)
    assert KEY not in str(failure.value) and "***" in str(failure.value)


def test_a_redirect_is_not_followed():
    """The key goes to the host the settings name and to no other."""

    class Moved(EndpointServer):
        def answer(self, path, body):
            return 308, {}

    with Moved("tei") as server, pytest.raises(EndpointError) as failure:
        EndpointReranker(reranker_at(server)).score(QUERY, ["x"])
    assert "answered HTTP 308 — a redirect" in str(failure.value)
    assert len(server.requests) == 1


# -- settings ---------------------------------------------------------------------------------
def test_the_key_is_kept_in_the_settings_file_only(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    settings = Settings(
        reranker_endpoint=Endpoint("cohere", "https://api.example.com/v2", "rerank-v3.5", KEY, 12.0),
        embedder_endpoint=Endpoint("openai", "https://api.example.com/v1", "text-embedding-3-small", KEY),
    )
    path = tmp_path / "settings.json"
    save(path, settings)
    assert KEY in path.read_text()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path).settings == settings
    shown = export(settings)
    assert KEY not in json.dumps(shown) and KEY not in repr(settings) and KEY not in str(settings.reranker_endpoint)
    assert shown["reranker_endpoint"]["api_key"] == REDACTED
    assert shown["reranker_endpoint"]["url"] == "https://api.example.com/v2"
    assert export(Settings(reranker_endpoint=Endpoint("tei", "http://h")))["reranker_endpoint"]["api_key"] == ""
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("url", "fmt", "sent_to"),
    [
        ("http://127.0.0.1:8080", "tei", "http://127.0.0.1:8080/rerank"),
        ("http://127.0.0.1:8080/", "llama-server", "http://127.0.0.1:8080/v1/rerank"),
        ("https://api.cohere.com/v2/rerank", "cohere", "https://api.cohere.com/v2/rerank"),
        ("https://gateway.example/v1", "cohere", "https://gateway.example/v1/rerank"),
        ("https://api.openai.com/v1", "openai", "https://api.openai.com/v1/embeddings"),
        ("http://localhost:11434", "openai", "http://localhost:11434/v1/embeddings"),
    ],
)
def test_where_requests_go(url: str, fmt: str, sent_to: str):
    assert Endpoint(fmt, url).checked().request_url == sent_to


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "tei", "url": "ftp://host"}, "must start with http"),
        ({"format": "grpc", "url": "http://host"}, "endpoint format must be one of"),
        ({"format": "tei", "url": "http://host", "timeout_s": 0}, "timeout"),
        ({"format": "openai", "url": "http://host"}, "not a reranker endpoint format"),
        ({"format": "tei", "url": "http://host", "scores": "percent"}, "scores"),
        ("http://host", "must be an object"),
    ],
)
def test_unusable_endpoint_settings_are_refused(tmp_path: Path, data, message: str):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "reranker_endpoint": data}))
    loaded = load(path)
    assert loaded.settings == Settings() and message in loaded.notice


# -- embeddings --------------------------------------------------------------------------------
def test_documents_indexed_through_the_endpoint_are_found(indexed, embed_server):
    store, embedder = indexed
    result = Searcher(store, embedder).search("sourdough starter", SearchOptions(k=3, rerank=False))
    assert Path(result.hits[0].path).name == "sourdough.txt"
    bodies = [r.body for r in embed_server.requests]
    assert all(b["model"] == "test-embedder" and b["encoding_format"] == "float" for b in bodies)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in embed_server.requests)
    expected = np.asarray(vector("sourdough starter"), dtype=np.float32)
    assert np.allclose(embedder.embed_query("sourdough starter"), expected / np.linalg.norm(expected), atol=1e-6)
    assert embedder.dimension == 64 and store.stats().embedder == f"test-embedder at 127.0.0.1:{embed_server.port}"


def test_another_endpoint_or_model_means_other_vectors(tmp_path: Path, embed_server, embedder):
    ours = EndpointEmbedder(Endpoint("openai", embed_server.url, model="test-embedder"))
    other_model = EndpointEmbedder(Endpoint("openai", embed_server.url, model="another-model"))
    rekeyed = EndpointEmbedder(Endpoint("openai", embed_server.url, model="test-embedder", api_key="new", timeout_s=5))
    Store(tmp_path / "index", ours.dimension, ours.fingerprint)
    Store(tmp_path / "index", rekeyed.dimension, rekeyed.fingerprint)  # a new key or timeout: same vectors
    for different in (other_model, embedder):  # another model at the endpoint; the local GGUF embedder
        with pytest.raises(StoreMismatch, match=f"test-embedder at 127.0.0.1:{embed_server.port}"):
            Store(tmp_path / "index", different.dimension, different.fingerprint)


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "sleep"])
def test_a_malformed_embeddings_reply_is_refused_clearly(fault: str):
    with EndpointServer("openai", fault=fault) as server, pytest.raises(EndpointError) as failure:
        EndpointEmbedder(Endpoint("openai", server.url, model="m", api_key=KEY))
    assert f"the embeddings endpoint at 127.0.0.1:{server.port}" in str(failure.value)
    assert KEY not in str(failure.value)


def test_token_estimates_err_on_the_long_side():
    assert estimate_tokens("the boiler pressure") == 5  # the / boil+er / pres+sure
    assert estimate_tokens("東京タワー") == 5
    assert estimate_tokens("a, b.") == 4


# -- the settings dialog -------------------------------------------------------------------------
def test_the_endpoints_page_reads_and_checks_what_is_typed(qtbot):
    from PySide6.QtWidgets import QLineEdit

    from app.widgets.endpoints_page import EndpointsPage

    current = Endpoint("cohere", "https://api.example.com/v2", "rerank-v3.5", KEY, 12.0)
    page = EndpointsPage(current, None)
    qtbot.addWidget(page)
    assert page.reranker.api_key.echoMode() == QLineEdit.EchoMode.Password
    assert page.reranker.endpoint() == current and page.embedder.endpoint() is None
    page.embedder.enabled.setChecked(True)
    page.embedder.url.setText("http://127.0.0.1:8081")
    page.embedder.model.setText("nomic-embed")
    assert page.embedder.endpoint() == Endpoint("openai", "http://127.0.0.1:8081", "nomic-embed")
    page.reranker.url.setText("api.example.com")
    with pytest.raises(ValueError, match="must start with http"):
        page.reranker.endpoint()


def test_a_remote_reranker_set_in_the_dialog_scores_the_next_search(qtbot, app_window, tmp_path: Path):  # noqa: F811
    index_golden(qtbot, app_window, tmp_path)
    dialog = app_window.open_settings()
    form = dialog.endpoints.reranker
    dialog.endpoints.reranker.enabled.setChecked(True)
    form.url.setText("not a url")
    dialog.accept()  # refused: the dialog stays open on the page that says why
    assert dialog.isVisible() and dialog.tabs.currentWidget() is dialog.endpoints
    assert "must start with http" in dialog.endpoints.problem.text()
    with EndpointServer("tei", scorer=sourdough_first) as server:
        form.format.setCurrentIndex(form.format.findData("tei"))
        form.url.setText(server.url)
        form.model.setText("bge-reranker-base")
        form.api_key.setText(KEY)
        with qtbot.waitSignal(app_window.preferences.reranker_changed, timeout=30_000) as changed:
            dialog.accept()
        assert changed.args == [f"bge-reranker-base at 127.0.0.1:{server.port} (TEI)", ""]
        assert "bge-reranker-base at 127.0.0.1" in app_window.model_label.text()
        with qtbot.waitSignal(app_window.searching.reranked, timeout=30_000) as blocker:
            app_window.search_field.setText(QUERY)
            app_window.search_now()
    result = blocker.args[1]
    assert result.method == f"hybrid + remote rerank: bge-reranker-base at 127.0.0.1:{server.port}"
    for hit in result.hits:  # the endpoint's scores, not the local reranker's
        assert hit.rerank_score == pytest.approx(probability(sourdough_first(QUERY, f"{hit.title}\n{hit.text}")))
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    saved = json.loads(app_window.preferences.paths.settings_file.read_text())
    assert saved["reranker_endpoint"]["api_key"] == KEY and saved["reranker_endpoint"]["format"] == "tei"
    logs = "".join(p.read_text(errors="replace") for p in app_window.preferences.paths.logs.glob("quarry.log*"))
    assert KEY not in logs


def test_an_embeddings_endpoint_set_in_the_dialog_re_indexes_the_folders(qtbot, app_window, tmp_path: Path):  # noqa: F811
    index_golden(qtbot, app_window, tmp_path)
    with EndpointServer("openai") as server:
        dialog = app_window.open_settings()
        form = dialog.endpoints.embedder
        form.enabled.setChecked(True)
        form.url.setText(server.url)
        form.model.setText("test-embedder")
        with qtbot.waitSignal(app_window.indexing.finished, timeout=60_000) as finished:
            dialog.accept()
        engine = app_window.engines.engine
        assert engine.store.stats().embedder == f"test-embedder at 127.0.0.1:{server.port}"
        assert finished.args[0].chunks_embedded > 0  # the old vectors went; these are the endpoint's
        assert f"test-embedder at 127.0.0.1:{server.port}" in app_window.model_label.text()
        with qtbot.waitSignal(app_window.searching.first_stage, timeout=30_000) as blocker:
            app_window.search_field.setText("sourdough starter")
            app_window.search_now()
    assert Path(blocker.args[1].hits[0].path).name == "sourdough.txt"
    assert any(r.path == "/v1/embeddings" and "sourdough starter" in r.body["input"] for r in server.requests)
