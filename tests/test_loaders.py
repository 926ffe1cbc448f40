"""Loaders read what they can and say why when they cannot."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from indexer import loaders
from indexer.errors import ExtractionFailed, QuarryError, UnsupportedFile
from tests.conftest import PDFS


def test_pdf_pages_keep_their_numbers():
    doc = loaders.load(PDFS / "The-Man-Without-A-Body.pdf")
    assert [p.number for p in doc.pages] == [1, 2, 3, 4]
    assert "telegraph" in doc.pages[1].text.lower()
    assert doc.title


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_text_encodings_are_detected(tmp_path: Path, encoding: str):
    text = "naïve café “quotes”" if encoding != "latin-1" else "naïve café déjà"
    path = tmp_path / "note.txt"
    path.write_bytes((text + "\nand more words").encode(encoding))
    assert loaders.load(path).pages[0].text == text + "\nand more words"


def test_bad_bytes_never_crash(tmp_path: Path):
    path = tmp_path / "note.txt"
    path.write_bytes(b"caf\xe9 au lait \x81\x8d\x8f and some more readable words here")
    assert loaders.load(path).pages[0].text.startswith("caf")


def test_binary_named_txt_is_refused(tmp_path: Path):
    path = tmp_path / "image.txt"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(UnsupportedFile, match="binary"):
        loaders.load(path)


def test_empty_file_is_refused(tmp_path: Path):
    path = tmp_path / "empty.md"
    path.write_bytes(b"")
    with pytest.raises(ExtractionFailed, match="empty"):
        loaders.load(path)


def test_broken_pdf_is_refused(tmp_path: Path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not really a pdf")
    with pytest.raises(QuarryError):
        loaders.load(path)


def test_truncated_pdf_is_refused_or_partial(tmp_path: Path):
    data = (PDFS / "Alice-In-Wonderland.pdf").read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 3])
    try:
        doc = loaders.load(path)
    except QuarryError as exc:
        assert str(exc)
    else:
        assert doc.pages


def test_html_visible_text_only(tmp_path: Path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Plan</title><script>var secret = 1;</script></head>"
        "<body><h1>Heading</h1><p>First &amp; second.</p><style>p{}</style><ul><li>One</li><li>Two</li></ul></body></html>"
    )
    doc = loaders.load(path)
    text = doc.pages[0].text
    assert doc.title == "Plan"
    assert "First & second." in text and "One" in text
    assert "secret" not in text and "p{}" not in text
    assert doc.pages[0].number is None


def test_docx_paragraphs(tmp_path: Path):
    body = (
        '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Quarterly report</w:t></w:r></w:p><w:p><w:r><w:t>Sales grew by</w:t></w:r>"
        '<w:r><w:t xml:space="preserve"> nine percent.</w:t></w:r></w:p></w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", body)
    path = tmp_path / "report.docx"
    path.write_bytes(buffer.getvalue())
    assert loaders.load(path).pages[0].text == "Quarterly report\n\nSales grew by nine percent."


def test_unknown_suffix(tmp_path: Path):
    path = tmp_path / "data.xyz"
    path.write_text("hello")
    with pytest.raises(UnsupportedFile):
        loaders.load(path)
