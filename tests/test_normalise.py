"""The one normalisation step: each class of bad text a parser can hand back, cleaned once."""

from __future__ import annotations

import pytest

from indexer.errors import ExtractionFailed
from indexer.ingest.normalise import clean_text, join_hyphenation, normalise_document, undecodable_reason
from indexer.types import LoadedDocument, Page


def test_lone_surrogates_are_dropped_and_split_pairs_repaired():
    text = clean_text("a \ud800 b \udfff c \ud83d\ude00 d")
    assert text == "a b c 😀 d"
    text.encode("utf-8")  # would raise on any surrogate left


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ﬁeld oﬃce ﬂoods eﬄuent staﬀ", "field office floods effluent staff"),  # ligatures
        ("ＦＵＬＬ　ｗｉｄｔｈ１２３", "ＦＵＬＬ ｗｉｄｔｈ１２３"),  # full-width forms kept; the ideographic space is a space
        ("北京是中国的首都，也是文化中心。", "北京是中国的首都，也是文化中心。"),  # full-width punctuation as written
        ("pass\u00adword ferry\u200bman slip\u2060way \ufeffbom", "password ferryman slipway bom"),
        ("Gesamt\u00adkonzept Hafen\u200c\u200dverwaltung", "Gesamtkonzept Hafenverwaltung"),
        ("bell\x07 null\x00 esc\x1b text", "bell null esc text"),
        ("a\u00a0b\u2009c", "a b c"),  # no-break and thin spaces are spaces
        ("m² and H₂O", "m² and H₂O"),  # super/subscripts stay readable
        ("private \ue000use", "private use"),
        ("tabs\tand   spaces", "tabs and spaces"),
        ("crlf\r\nline\rbreaks\fpage", "crlf\nline\nbreaks\n\npage"),
    ],
)
def test_clean_text(raw: str, clean: str):
    assert clean_text(raw) == clean


def test_hyphenation_is_joined_only_with_evidence_from_the_same_document():
    pages = [
        "The boiler pres-\nsure was high. A well-\nknown fault.",
        "Check the pressure valve. It is a well-known problem, the co-\noperative said.",
    ]
    joined = join_hyphenation(pages)
    assert "boiler pressure was high" in joined[0]
    assert "A well-known fault" in joined[0] and "wellknown" not in joined[0]
    assert "the co-operative said" in joined[1]


def test_hyphenation_keeps_a_line_end_hyphen_without_evidence():
    assert join_hyphenation(["fruit-\nbearing trees"]) == ["fruit-bearing trees"]


def test_undecodable_pages_are_named():
    glyph_ids = "7KH\x03NHHSHU\x03WULPV\x03WKH\x03ODPS\x03ZLFN\x03HYHU\\\x03HYHQLQJ"
    assert "no Unicode map" in undecodable_reason(glyph_ids)
    assert "private-use" in undecodable_reason("\uf041\uf042\uf043 \uf044\uf045\uf046 \uf047")
    assert undecodable_reason("An ordinary page with a form feed\f and a tab\t.") == ""


def test_documents_with_an_undecodable_page_keep_the_rest():
    doc = LoadedDocument(
        pages=[Page("7KH\x03NHHSHU\x03WULPV\x03WKH\x03ODPS", 1), Page("Pelicans on page two.", 2)], title="Mixed"
    )
    out = normalise_document(doc)
    assert [p.text for p in out.pages] == ["", "Pelicans on page two."]
    assert out.skipped_pages and out.skipped_pages[0][0] == 1


def test_a_document_of_only_undecodable_pages_is_refused_with_the_reason():
    doc = LoadedDocument(pages=[Page("7KH\x03NHHSHU\x03WULPV\x03WKH\x03ODPS", 1)], title="Garbled")
    with pytest.raises(ExtractionFailed, match="cannot be decoded"):
        normalise_document(doc)


@pytest.mark.parametrize("answer", [None, "text", LoadedDocument(pages=[Page(b"x", None)], title="t")])  # type: ignore[arg-type]
def test_a_loader_answer_that_is_not_text_is_refused(answer: object):
    with pytest.raises(ExtractionFailed, match="reader returned"):
        normalise_document(answer)


def test_titles_and_labels_are_cleaned():
    doc = LoadedDocument(pages=[Page("Some text", 1, label="p. \u2170v\u200b")], title="Of\ufb01ce \ud800notes")
    out = normalise_document(doc)
    assert out.title == "Office notes"
    assert out.pages[0].label == "p. iv"


def test_the_form_the_document_uses_more_often_wins():
    pages = ["The e-\nmail arrived.", "Send an e-mail or an e-mail.", "One email too."]
    assert join_hyphenation(pages)[0] == "The e-mail arrived."


@pytest.mark.parametrize(
    "text",
    [
        "7KH NHHSHU WULPV WKH ODPS ZLFN HYHU\\ HYHQLQJ",  # glyph ids with real spaces
        "7KH\x03NHHSHU\x03WULPV\x03WKH\x03ODPS\x03ZLFN\x03HYHU\\\x03HYHQLQJ",  # and with glyph 3 for space
    ],
)
def test_glyph_shifted_text_is_undecodable(text: str):
    assert "no Unicode map" in undecodable_reason(text)


@pytest.mark.parametrize(
    "text",
    [
        "PART NO. A7X-200 B9Z-310 C4Q-555 D2R-901 E8W-114 F3V-662 QTY 12",
        "WARNING: HIGH VOLTAGE. KEEP OUT. AUTHORISED PERSONNEL ONLY.",
        "An ordinary sentence in lower case, as most pages are.",
        "Смотритель маяка каждый вечер подрезает фитиль лампы.",
    ],
)
def test_real_text_is_decodable(text: str):
    assert undecodable_reason(text) == ""


@pytest.mark.parametrize(
    "answer",
    [
        LoadedDocument(pages=[Page("text", "one")], title="t"),  # type: ignore[arg-type]
        LoadedDocument(pages=[Page("text", True)], title="t"),  # type: ignore[arg-type]
        LoadedDocument(pages=[Page("text", 2**40)], title="t"),
        LoadedDocument(pages=[Page("text", 1)], title="t", skipped_pages=[("x", "y")]),  # type: ignore[list-item]
        LoadedDocument(pages=[Page("text", 1)], title="t", skipped_pages=5),  # type: ignore[arg-type]
    ],
)
def test_a_malformed_answer_is_refused_not_raised(answer: LoadedDocument):
    with pytest.raises(ExtractionFailed):
        normalise_document(answer)


def test_rows_of_numbers_are_not_mistaken_for_glyph_numbers():
    rows = "Item | Cost\n" + "\n".join(f"Stationery order {i} | {i}" for i in range(2, 26))
    assert undecodable_reason(rows) == ""
    assert undecodable_reason("12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33") == ""
