"""Loaders read what they can and say why when they cannot."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from indexer.errors import ExtractionFailed, QuarryError, UnsupportedFile
from indexer.ingest import loaders
from tests.conftest import PDFS, SHARED


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


def test_docx_paragraphs_tables_breaks_and_headers(tmp_path: Path):
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    document.core_properties.title = "Quarterly"
    document.add_paragraph("Quarterly report")
    para = document.add_paragraph("Sales grew by")
    para.add_run(" nine percent.")
    broken = document.add_paragraph()
    broken.add_run("end of page")
    broken.add_run().add_break(WD_BREAK.PAGE)
    broken.add_run("start of next")
    tabbed = document.add_paragraph()
    tabbed.add_run("Invoice")
    tabbed.add_run().add_tab()
    tabbed.add_run("Kestrel")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Item", "Cost"
    table.cell(1, 0).merge(table.cell(1, 1)).text = "Merged total"
    document.sections[0].header.paragraphs[0].text = "Confidential header"
    path = tmp_path / "report.docx"
    document.save(str(path))
    doc = loaders.load(path)
    assert doc.title == "Quarterly"
    assert doc.pages[0].text.split("\n\n") == [
        "Quarterly report",
        "Sales grew by nine percent.",
        "end of page start of next",
        "Invoice Kestrel",
        "Item | Cost",
        "Merged total",
        "Confidential header",
    ]


def test_a_zip_without_a_word_package_is_refused_with_a_reason(tmp_path: Path):
    path = tmp_path / "report.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ExtractionFailed, match=r"not a valid \.docx"):
        loaders.load(path)


def test_unknown_suffix(tmp_path: Path):
    path = tmp_path / "data.xyz"
    path.write_text("hello")
    with pytest.raises(UnsupportedFile):
        loaders.load(path)


def test_pdf_page_labels_from_both_readers():
    from indexer.ingest.loaders.pdf import load_pdf, load_pdf_pypdf

    roman = SHARED / "data" / "fidelity" / "B07" / "roman_front_matter.pdf"
    for reader in (load_pdf, load_pdf_pypdf):
        pages = reader(roman).pages
        assert [p.number for p in pages] == list(range(1, 13))
        assert pages[3].label == "p. iv (4 of 12)" and pages[5].label == "p. 2 (6 of 12)"
        malformed = reader(SHARED / "data" / "fidelity" / "B07" / "malformed_labels.pdf")
        assert len(malformed.pages) == 3 and "Salt pans" in malformed.pages[0].text


def test_an_encrypted_pdf_is_refused_by_pdfium_without_falling_back(tmp_path: Path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(ExtractionFailed, match="encrypted"):
        loaders.load(path)
