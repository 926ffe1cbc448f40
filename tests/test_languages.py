"""Keyword search in every language (issue 30), on the evaluation set written before the work
(benchmarks/queries/multilingual: 24 notes in 8 languages, 48 keyword queries whose words occur
in their note only inflected or without spaces) and on neighbours written here: the keyword
side (BM25) finds each note, its snippet keeps the file's characters, bold words follow the
same rule, and an Arabic hit is laid out right to left in the results view."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.widgets.results_view import hit_html
from benchmarks.multilingual import FOLDER, QUERIES
from indexer import words
from indexer.ingest.pipeline import Indexer
from indexer.search.searcher import Searcher, SearchOptions
from indexer.search.terms import query_words
from indexer.store.lance import Store

ROWS = [json.loads(line) for line in QUERIES.read_text("utf-8").splitlines() if line.strip()]

NEIGHBOURS = {
    # file: (text, queries whose words occur in it only in another form)
    "fr-forge.txt": (
        "Les forgerons du village réparaient les charrues. Les bûcherons abattaient les chênes en hiver.",
        ["forgeron", "bûcheron", "charrue", "chêne"],
    ),
    "es-ciudades.txt": (
        "Las ciudades antiguas de Castilla guardan murallas y catedrales de piedra.",
        ["ciudad", "muralla", "catedral antigua"],
    ),
    "pt-cidades.txt": ("Os pescadores das aldeias vendem sardinhas nos mercados de Lisboa.", ["pescador", "mercado"]),
    "en-news.txt": ("The evening news said the bridge reopens on Monday.", []),
    "en-new.txt": ("A new bakery opened beside the station.", []),
}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory, embedder) -> Searcher:
    folder = tmp_path_factory.mktemp("languages") / "notes"
    shutil.copytree(FOLDER, folder)
    for name, (text, _) in NEIGHBOURS.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    store = Store(folder.parent / "index", embedder.dimension, embedder.fingerprint)
    report = Indexer(store, embedder).run([folder])
    assert not report.skipped and len(report.added) == 24 + len(NEIGHBOURS)
    return Searcher(store, embedder)


def keyword_hits(searcher: Searcher, query: str) -> list[str]:
    return [Path(h.path).name for h in searcher.search(query, SearchOptions(k=10, mode="text", rerank=False)).hits]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['language']}:{r['query']}" for r in ROWS])
def test_the_keyword_side_finds_each_note_of_the_evaluation_set(searcher, row):
    found = keyword_hits(searcher, row["query"])
    assert row["file"] in found, found
    hit = next(
        h for h in searcher.search(row["query"], SearchOptions(rerank=False)).hits if Path(h.path).name == row["file"]
    )
    assert hit.bm25_rank is not None  # found by the keyword side, not only by meaning


@pytest.mark.parametrize(("name", "query"), [(name, q) for name, (_, queries) in NEIGHBOURS.items() for q in queries])
def test_a_singular_query_finds_its_plural_where_the_stemmer_splits_them(searcher, name, query):
    assert keyword_hits(searcher, query)[:1] == [name]


def test_english_plurals_are_left_to_the_english_stemmer(searcher):
    # 'news' less s is another word: English passages get no singular forms, and a query
    # (matched in every stored language at once) gets none either.
    assert words.singular_forms("news", "en") == () and words.singular_forms("ciudades", "es") == ("ciudade", "ciudad")
    assert keyword_hits(searcher, "new") == ["en-new.txt"]
    assert "en-news.txt" in keyword_hits(searcher, "news")  # (French stems "news" to "new": both are found)


def test_snippets_keep_the_files_characters_and_bold_words_follow_the_same_rule(searcher):
    for query, name in (("forgeron", "fr-forge.txt"), ("ciudad", "es-ciudades.txt")):
        hit = searcher.search(query, SearchOptions(k=3, mode="text", rerank=False)).hits[0]
        assert Path(hit.path).name == name
        text = (Path(hit.path)).read_text("utf-8")
        assert hit.snippet.strip(" …") in " ".join(text.split())  # as written: accents, case
        marked = [m.group() for m in query_words(query).finditer(hit.text)]
        assert marked and all(m.casefold().startswith(query.casefold()[:5]) for m in marked), marked
    for row in ROWS:
        if row["language"] in ("zh", "ja"):
            hit = next(
                h
                for h in searcher.search(row["query"], SearchOptions(rerank=False)).hits
                if Path(h.path).name == row["file"]
            )
            assert hit.snippet.strip(" …") in (FOLDER / row["file"]).read_text("utf-8")


def test_an_arabic_hit_is_laid_out_right_to_left(searcher):
    arabic = next(r for r in ROWS if r["language"] == "ar")
    hit = next(
        h
        for h in searcher.search(arabic["query"], SearchOptions(rerank=False)).hits
        if Path(h.path).name == arabic["file"]
    )
    assert " dir='rtl'" in hit_html(hit, arabic["query"], "hybrid", "gray")
    english = searcher.search("bakery station", SearchOptions(k=1, rerank=False)).hits[0]
    assert " dir='rtl'" not in hit_html(english, "bakery station", "hybrid", "gray")
