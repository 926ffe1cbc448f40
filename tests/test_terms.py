"""One rule for what counts as a query word (indexer.search.terms): the snippet, the bold
words, the page preview's marks, the reranker's window and the topic check agree on the
same passage, a word of the same stem included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.opener import find_text
from app.widgets.results_view import highlight
from indexer.search.passage_window import query_window
from indexer.search.preview import render_page
from indexer.search.snippets import make_snippet
from indexer.search.terms import QueryWords, query_terms, stem
from indexer.search.topic import TopicCheck
from tests.conftest import ROOT
from tests.pdf_maker import write_pdf

LINES = [
    "The claims office opened early on Monday and the clerks sorted the post by hand.",
    "Most letters asked about renewals, a few about the new parking rules in town.",
    "One complaint, filed by a tenant, asked why the insurance excess had doubled.",
    "The manager replied that the excess was set by the insurers, not the office.",
]
PASSAGE = " ".join(LINES)
QUERY = "what is the insurer excess"
MATCHED = ["insurance", "excess", "excess", "insurers"]
"""The passage's words that are the query's, in order: 'insurance' and 'insurers' only by stem."""


def bold(html_text: str) -> list[str]:
    return re.findall(r"<b>(.*?)</b>", html_text)


def test_the_rule_compares_stems():
    words = QueryWords(QUERY)
    assert words.terms == ("insurer", "excess")  # stop words left out
    assert stem("insurer") == stem("insurance") == stem("Insurers") == "insur"
    assert [m.group() for m in words.finditer(PASSAGE)] == MATCHED
    assert not words.matches("insulation") and not QueryWords("train").matches("trainee")
    assert QueryWords("how do we tie a bow tie").terms == ("tie", "bow")
    assert not QueryWords("the and of")


def test_snippet_highlight_preview_window_and_topic_check_agree(tmp_path: Path):
    # Topic check: the embedder's similarity is under the gate, so only the phrase can vouch,
    # and it does because "insurance excess" holds the query's words by stem.
    check = TopicCheck(QUERY, (0.35, 0.45))
    assert check.weight(0.0, ("", PASSAGE)) == 1.0
    assert check.weight(0.0, ("", PASSAGE.replace("insurance", "deposit"))) == 0.0  # the stem match counts

    # Snippet: longer than a snippet, so the chooser picks the window of the query's words.
    assert len(PASSAGE) > 240
    snippet = make_snippet(PASSAGE, QUERY)
    assert snippet.startswith("… ") and "insurance excess" in snippet

    # Bold words: the same words, the stem-only one included, and nothing else.
    shown = bold(highlight(snippet, QUERY))
    assert shown == [w for w in MATCHED if w in snippet] and "insurance" in shown
    assert bold(highlight(PASSAGE, QUERY)) == MATCHED

    # The reranker's window centres on the same words.
    window = query_window(PASSAGE, QUERY, 12)
    assert "insurance excess" in window

    # The page preview marks the same four words (one box each, one line each) in the passage.
    pdf = write_pdf(tmp_path / "claims.pdf", [LINES])
    rendered = render_page(pdf, 1, 1.5, PASSAGE, QUERY)
    assert rendered.span is not None and len(rendered.words) == len(MATCHED)

    # The viewer's search is primed with a word the page holds, found by the same rule.
    assert find_text("insurer", PASSAGE) == "insurance"


SOURCES = [*sorted((ROOT / "indexer").rglob("*.py")), *sorted((ROOT / "app").rglob("*.py"))]
SOURCES += sorted((ROOT / "benchmarks").rglob("*.py"))
HOME = ROOT / "indexer" / "search" / "terms.py"
USERS = ["indexer/search/snippets.py", "indexer/search/topic.py", "indexer/search/passage_window.py"]
USERS += ["indexer/search/preview.py", "app/widgets/results_view.py", "app/opener.py"]


def test_no_other_module_has_its_own_query_word_rule():
    wrong = []
    for path in SOURCES:
        if path in (HOME, ROOT / "indexer" / "words.py"):  # the rule and the tokeniser beneath it
            continue
        name = str(path.relative_to(ROOT))
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        defined |= {
            t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        if defined & {"query_terms", "term_pattern", "stem", "STOPWORDS", "_STEMMER"}:
            wrong.append(f"{name} defines {sorted(defined & {'query_terms', 'term_pattern', 'stem', 'STOPWORDS'})}")
        if "snowballstemmer" in source or "term_pattern" in source:
            wrong.append(f"{name} stems or builds query-word patterns itself")
        if name in USERS:
            if "indexer.search.terms" not in {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}:
                wrong.append(f"{name} does not take its query words from indexer.search.terms")
            if "re.escape(t" in source or r"\w*" in source:  # a pattern of the query's words of its own
                wrong.append(f"{name} builds a pattern of the query's words")
    assert not wrong, "\n".join(wrong)
    assert len(SOURCES) > 50 and all(ROOT / u in SOURCES for u in USERS)


def test_query_terms_keep_the_typed_order_once():
    assert query_terms("Martians, martians and the Heat-Ray") == ["martians", "heat", "ray"]
