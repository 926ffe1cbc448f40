"""Neighbours of the fidelity3 cases, built here, so each fault class is fixed as a class and
not as one file: other repeat attributes, other payload encodings, other Word containers, a
chart python-pptx wrote, other declared dimensions, other MIME layouts (an attachment, an
inline image between parts), other encodings without a BOM, other EXIF orientations, other
unreachable entries. One folder is indexed once with the real command line; the checks read
what was stored, what BM25 finds (``quarry search --json``) and ``quarry status``."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import zipfile
from email.message import EmailMessage
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED, quarry
from tests.test_fidelity3 import index_folder, keyword_hits, passage_counts, status, stored
from tests.test_formats import write_odf

PHOTOS = SHARED / "data" / "fidelity3" / "C21" / "corpus"


def _bounds(folder: Path) -> None:
    write_odf(folder / "spaces.odt", "application/vnd.oasis.opendocument.text",
         '<office:text><text:p>Lobster<text:s text:c="2000000000"/>creels are stacked on the pier</text:p></office:text>')
    write_odf(folder / "wide.ods", "application/vnd.oasis.opendocument.spreadsheet",
         '<office:spreadsheet><table:table table:name="S"><table:table-row table:number-rows-repeated="1048576">'
         '<table:table-cell table:number-columns-repeated="16384"><text:p>mackerel</text:p></table:table-cell>'
         "</table:table-row></table:table></office:spreadsheet>")
    (folder / "companion.txt").write_text("The harbour crane was serviced by the Tarbert engineers.\n")


def _dump_line(n: int, row: bytes) -> str:
    """Line ``n`` of a hex dump of ``row`` (16 bytes), with its character column: odd lines as
    xxd writes them, even ones as hexdump -C does."""
    chars = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
    if n % 2:
        return f"{16 * n:08x}: " + " ".join(row[i : i + 2].hex() for i in range(0, 16, 2)) + f"  {chars}"
    return f"{16 * n:08x}  {row[:8].hex(' ')}  {row[8:].hex(' ')}  |{chars}|"


def _payloads(folder: Path) -> None:
    rng = random.Random(7)
    blob = base64.b64encode(rng.randbytes(30_000)).decode()
    pem = "\n".join(blob[i : i + 64] for i in range(0, len(blob), 64))
    dump = "\n".join(_dump_line(n, rng.randbytes(16)) for n in range(400))
    svg = "data:image/svg+xml," + "%3Csvg%20width%3D%2210%22%3E" * 2000
    (folder / "payloads.md").write_text(
        "# Buoy maintenance\n\nThe whistle buoy off Sanda is repainted every second May.\n\n"
        f"-----BEGIN CERTIFICATE-----\n{pem}\n-----END CERTIFICATE-----\n\n{dump}\n\n![chart]({svg})\n\n"
        "The bell buoy at Pladda needs a new clapper before winter.\n"
    )
    (folder / "blobs.csv").write_text(
        "vessel,photo\n" + "".join(f"Skiff{n},{base64.b64encode(rng.randbytes(3000)).decode()}\n" for n in range(30))
        + "Corncrake,none\n"
    )


def _docx(folder: Path) -> None:
    import docx
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    body = document.element.body
    moved = parse_xml(
        f'<w:p {w}><w:moveFrom w:id="1" w:author="a"><w:r><w:t>the old pontoon rots</w:t></w:r></w:moveFrom>'
        f'<w:moveTo w:id="2" w:author="a"><w:r><w:t>The new pontoon floats at Crinan basin.</w:t></w:r></w:moveTo></w:p>'
    )
    body.insert(0, moved)
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0)._tc.append(
        parse_xml(f'<w:sdt {w}><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Lock keeper Isobel Fairlie</w:t></w:r></w:p></w:sdtContent></w:sdt>')
    )
    field = parse_xml(
        f'<w:p {w}><w:r><w:t xml:space="preserve">Berth </w:t></w:r><w:fldSimple w:instr="REF berth">'
        f'<w:smartTag w:uri="u" w:element="place"><w:r><w:t>Ardrishaig seventeen</w:t></w:r></w:smartTag></w:fldSimple>'
        f'<w:ins w:id="3" w:author="a"><w:del w:id="4" w:author="a"><w:r><w:delText>never shown</w:delText></w:r></w:del></w:ins></w:p>'
    )
    body.insert(2, field)
    header = document.sections[0].header
    header._element.append(
        parse_xml(f'<w:sdt {w}><w:sdtContent><w:p><w:r><w:t>Canal trust circular</w:t></w:r></w:p></w:sdtContent></w:sdt>')
    )
    document.save(str(folder / "canal.docx"))


def _pptx(folder: Path) -> None:
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    data = CategoryChartData()
    data.categories = ["Crinan", "Tarbert"]
    data.add_series("Velvet crab landings", (4.0, 7.5))
    frame = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1), Inches(6), Inches(4), data)
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Creel catch by harbour"
    presentation.save(str(folder / "creels.pptx"))


def _tables(folder: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Berth", "Vessel"])
    for n in range(2, 40):
        sheet.append([n, f"Boat{n}"])
    sheet["E30"] = "The dredger Kittiwake clears the channel in March"
    raw = folder / "raw.xlsx"
    workbook.save(raw)
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(folder / "dimension.xlsx", "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("sheet1.xml"):
                data = data.replace(b'<dimension ref="A1:E39"/>', b'<dimension ref="A1:B2"/>')
                assert b'<dimension ref="A1:B2"/>' in data
            target.writestr(info, data)
    raw.unlink()
    (folder / "longfield.tsv.csv").write_text(
        "date\tnote\n2024-01-02\tThe Fulmar towed a yacht into Carradale\n"
        f'2024-01-03\t"{"x" * 300_000}"\n2024-01-04\tThe Shag moored at Lochranza overnight\n'
    )


def _mail(folder: Path) -> None:
    import docx

    attachment = docx.Document()
    attachment.add_paragraph("The pier toll rises to four pounds in April.")
    attachment.save(str(folder / "toll.docx.tmp"))
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "clerk@example.org", "board@example.org", "Tolls"
    message.set_content("Minutes of the harbour board are below.")
    message.add_attachment(
        (folder / "toll.docx.tmp").read_bytes(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="toll.docx",
    )
    (folder / "toll.docx.tmp").unlink()
    (folder / "with_attachment.eml").write_bytes(bytes(message))

    inline = EmailMessage()
    inline["From"], inline["Subject"] = "diver@example.org", "Dive log"
    inline.make_mixed()
    first = EmailMessage()
    first.set_content("We dived the wreck of the Breda this morning.")
    image = EmailMessage()
    image.set_content(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, maintype="image", subtype="png", disposition="inline", filename="wreck.png")
    second = EmailMessage()
    second.set_content("<p>Visibility was <b>eight metres</b> near the boiler.</p>", subtype="html")
    for part in (first, image, second):
        inline.attach(part)
    (folder / "inline_image.eml").write_bytes(bytes(inline))
    (folder / "latin1_as_utf8.eml").write_bytes(
        b"From: cook@example.org\r\nSubject: Menu\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Smörgåsbord for the crew on Fridays.\r\n".encode("latin-1")
    )


def _encodings(folder: Path) -> None:
    (folder / "utf32.txt").write_bytes("The ferry Loch Riddon sails at noon.\n".encode("utf-32-le"))
    (folder / "utf16.csv").write_bytes("boat,skipper\nSeal,Morag Lamont\n".encode("utf-16-be"))


def _photos(folder: Path) -> None:
    from PIL import Image

    upright = Image.open(PHOTOS / "photo_upright.jpg")
    stored_image = upright.transpose(Image.Transpose.TRANSPOSE)  # orientation 5 undoes it
    exif = Image.Exif()
    exif[0x0112] = 5
    stored_image.save(folder / "photo_exif5.jpg", exif=exif.tobytes())


def _walk(folder: Path) -> None:
    (folder / "loop.txt").symlink_to("loop.txt")
    (folder / "sub").mkdir()
    (folder / "sub" / "back").symlink_to("..")
    top = os.open(folder, os.O_RDONLY)
    fd = top
    for level in range(18):
        name = f"deep{level:02d}_" + "d" * 240
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY, dir_fd=fd)
        if fd != top:
            os.close(fd)
        fd = inner
    import docx

    note = docx.Document()
    note.add_paragraph("The deepest folder keeps the lifeboat rota.")
    scratch = folder.parent / "rota.docx"
    note.save(str(scratch))
    out = os.open("rota.docx", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, scratch.read_bytes())
    os.close(out)
    os.close(fd)
    os.close(top)
    scratch.unlink()


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory):
    home = tmp_path_factory.mktemp("neighbours")
    folder = home / "corpus"
    folder.mkdir()
    for build in (_bounds, _payloads, _docx, _pptx, _tables, _mail, _encodings, _photos, _walk):
        build(folder)
    result = index_folder(home / "quarry-home", folder)
    assert result.returncode == 0, result.stderr[-3000:]
    yield result, stored(result.basedir)
    shutil.rmtree(folder, ignore_errors=True)  # by descriptor, past PATH_MAX


def _reasons(basedir: Path) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in status(basedir)["skipped"]}


def test_other_repeat_attributes_are_bounded(neighbours):
    result, texts = neighbours
    assert "Lobster creels are stacked on the pier" in texts["spaces.odt"]
    assert "expands past" in _reasons(result.basedir)["wide.ods"]
    assert "wide.ods" not in texts
    assert "companion.txt" in [Path(h["path"]).name for h in keyword_hits(result.basedir, "crane Tarbert engineers")]


def test_other_payload_encodings_are_dropped(neighbours):
    result, texts = neighbours
    text = texts["payloads.md"]
    assert "whistle buoy off Sanda" in text and "bell buoy at Pladda needs a new clapper" in text
    assert "%3Csvg" not in text and "data:image" not in text
    assert not any(len(word) >= 64 for word in text.split()), max(text.split(), key=len)[:80]
    assert passage_counts(result.basedir)["payloads.md"] <= 3
    blobs = texts["blobs.csv"]
    assert "Skiff29" in blobs and "Corncrake" in blobs and not any(len(w) >= 64 for w in blobs.split())
    assert "payloads.md" in [Path(h["path"]).name for h in keyword_hits(result.basedir, "Pladda clapper")]


def test_other_word_containers_read_as_the_final_view(neighbours):
    result, texts = neighbours
    text = texts["canal.docx"]
    for phrase in ("The new pontoon floats at Crinan basin.", "Lock keeper Isobel Fairlie", "Berth Ardrishaig seventeen",
                   "Canal trust circular"):
        assert phrase in text, text
    assert "old pontoon rots" not in text and "never shown" not in text
    assert "canal.docx" in [Path(h["path"]).name for h in keyword_hits(result.basedir, "Isobel Fairlie")]


def test_a_chart_written_by_python_pptx_is_read(neighbours):
    result, texts = neighbours
    text = texts["creels.pptx"]
    for phrase in ("Creel catch by harbour", "Velvet crab landings", "Crinan", "Tarbert"):
        assert phrase in text, text
    assert "creels.pptx" in [Path(h["path"]).name for h in keyword_hits(result.basedir, "velvet crab landings")]


def test_sheets_by_their_cells_and_long_fields_of_other_dialects(neighbours):
    _result, texts = neighbours
    assert "Boat39" in texts["dimension.xlsx"] and "dredger Kittiwake clears the channel" in texts["dimension.xlsx"]
    long_field = texts["longfield.tsv.csv"]
    assert "Fulmar towed a yacht into Carradale" in long_field and "Shag moored at Lochranza" in long_field


def test_other_mime_layouts(neighbours):
    result, texts = neighbours
    assert "Minutes of the harbour board" in texts["with_attachment.eml"]
    assert "pier toll rises to four pounds in April" in texts["with_attachment.eml"]
    hits = [h for h in keyword_hits(result.basedir, "pier toll four pounds") if Path(h["path"]).name == "with_attachment.eml"]
    assert hits and hits[0]["location"].startswith("attachment: toll.docx"), hits
    inline = texts["inline_image.eml"]
    assert "wreck of the Breda" in inline and "Visibility was eight metres near the boiler" in inline
    assert "Smörgåsbord for the crew" in texts["latin1_as_utf8.eml"]


def test_other_encodings_without_a_byte_order_mark(neighbours):
    _result, texts = neighbours
    assert "The ferry Loch Riddon sails at noon." in texts["utf32.txt"]
    assert "Seal | Morag Lamont" in texts["utf16.csv"]


def test_another_exif_orientation_is_read_upright(neighbours):
    result, _texts = neighbours
    assert "photo_exif5.jpg" in [Path(h["path"]).name for h in keyword_hits(result.basedir, "Kerrera ferry")]


def test_unreachable_entries_are_listed_and_deep_files_read(neighbours):
    result, texts = neighbours
    reasons = _reasons(result.basedir)
    assert "loop of symbolic links" in reasons["loop.txt"], reasons
    assert "loop" in reasons["back"], reasons
    assert "lifeboat rota" in texts["rota.docx"]
    done = quarry(result.basedir, "status", timeout=120)
    assert "skipped" in done.stdout and "loop.txt" in done.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its permissions")
def test_a_folder_without_permission_is_listed(tmp_path: Path):
    folder = tmp_path / "corpus"
    (folder / "closed").mkdir(parents=True)
    (folder / "closed" / "inside.txt").write_text("Never read.\n")
    (folder / "open.txt").write_text("The slipway is open on Sundays.\n")
    (folder / "closed").chmod(0)
    try:
        result = index_folder(tmp_path / "quarry-home", folder)
        assert result.returncode == 0
        assert "permission denied" in _reasons(result.basedir)["closed"]
    finally:
        (folder / "closed").chmod(0o755)


def test_a_store_write_that_fails_skips_that_file_and_keeps_the_rest(tmp_path: Path, embedder):
    """The batch write fails (one document's vectors are not finite): each document is then
    written on its own, the refused one recorded as skipped with the store's reason."""
    from indexer.ingest.pipeline import Indexer, _Pending
    from indexer.store.lance import Store
    from indexer.types import IndexReport

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("The good file names the Lismore ferry timetable.\n")
    (folder / "bad.txt").write_text("The bad file names the Kerrera ferry timetable.\n")
    store = Store(tmp_path / "index", embedder.dimension, embedder.fingerprint)
    indexer = Indexer(store, embedder)
    report = indexer.run([folder], embed=False)
    assert not report.skipped
    docs = {Path(d.path).name: d for d in store.all_documents().values()}
    pending = _Pending()
    for name in ("good.txt", "bad.txt"):
        record = docs[name]
        chunks = [c for c in store.chunks_with_hash(record.content_hash)[0]]
        from indexer.types import Chunk

        pending.records.append(record)
        pending.chunks[record.doc_id] = [Chunk(c.text, c.page, c.start, c.end, c.ordinal, record.title, c.location, c.ocr) for c in chunks]
        vectors = np.ones((len(chunks), embedder.dimension), dtype=np.float32) / np.sqrt(embedder.dimension)
        if name == "bad.txt":
            vectors[0, 0] = np.nan
        pending.vectors[record.doc_id] = vectors
        pending.n_chunks += len(chunks)
    report = IndexReport()
    indexer._flush(pending, {"write": 0.0, "text index": 0.0}, report)
    assert [s.path.name for s in report.skipped] == ["bad.txt"]
    assert "could not be stored" in report.skipped[0].reason
    after = {Path(d.path).name: d for d in store.all_documents().values()}
    assert after["good.txt"].ok and after["bad.txt"].status == "skipped"
    assert json.dumps(after["bad.txt"].reason)
