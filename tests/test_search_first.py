"""Search goes first: while a search reranks, indexing holds its next embedding batch, and a
search that starts stops the batch in flight (it is embedded again after)."""

from __future__ import annotations

import threading
from pathlib import Path

from indexer.cancel import CancelToken, SearchFirst
from indexer.ingest.pipeline import Indexer
from tests.pdf_maker import text_pages, write_pdf


def test_a_search_sets_the_tokens_of_running_batches_and_holds_the_next():
    gate = SearchFirst()
    outer = CancelToken()
    token = gate.interruptible(outer)
    assert not token.cancelled
    with gate.searching():
        assert token.cancelled and not outer.cancelled  # the batch stops; the run goes on
        late = gate.interruptible(outer)
        assert late.cancelled  # a batch started during a search stops at once
        waited: list[float] = []
        holder = threading.Thread(target=lambda: waited.append(gate.wait_turn(outer)))
        holder.start()
        holder.join(0.3)
        assert holder.is_alive()  # still held while the search runs
    holder.join(10)
    assert not holder.is_alive() and waited and gate.waits == 1
    gate.release(token)
    gate.release(late)
    fresh = gate.interruptible(CancelToken())
    assert not fresh.cancelled
    cancelled = CancelToken()
    cancelled.cancel()
    assert gate.interruptible(cancelled).cancelled  # the caller's cancel still counts


def test_indexing_waits_for_a_search_and_then_embeds_everything(tmp_path: Path, store, embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "book.pdf", text_pages(6))
    indexer = Indexer(store, embedder)
    steps: list[str] = []
    embedding = threading.Event()

    def progress(p) -> None:
        steps.append(p.step)
        if p.step == "embedding":
            embedding.set()

    reports = []
    search = indexer.priority.searching()
    search.__enter__()  # a search reranks from before the first batch
    run = threading.Thread(target=lambda: reports.append(indexer.run([folder], CancelToken(), progress)))
    run.start()
    assert embedding.wait(60)
    run.join(1.0)
    assert run.is_alive() and store.passage_counts().vectors == 0  # held at its first batch
    search.__exit__(None, None, None)
    run.join(120)
    assert not run.is_alive()
    report = reports[0]
    assert report.chunks_embedded > 0 and store.chunks.count_rows() == report.chunks_embedded
    assert indexer.priority.waits >= 1
