"""Real PDFs with real text for tests: Helvetica text pages written with pypdf."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

WORDS = (
    "river harbour lantern copper orchard violin granite meadow whistle compass saddle "
    "thunder pepper ribbon candle marble falcon garden ladder mirror bridge forest"
).split()


def sentence(seed: int, words: int = 11) -> str:
    """A made-up line of varied words, different for each seed."""
    return " ".join(WORDS[(seed * 7 + i * (seed % 5 + 1)) % len(WORDS)] for i in range(words)).capitalize() + "."


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF whose page n shows the lines of ``pages[n]`` in 11 pt Helvetica, top down."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    font_ref = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
        body = "BT /F1 11 Tf 14 TL 56 740 Td " + " ".join(f"({line}) '" for line in escaped) + " ET"
        stream = DecodedStreamObject()
        stream.set_data(body.encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def text_pages(count: int, first_seed: int = 0, lines: int = 40) -> list[list[str]]:
    """``count`` pages of ``lines`` made-up lines each."""
    return [[sentence(first_seed + p * lines + i) for i in range(lines)] for p in range(count)]
