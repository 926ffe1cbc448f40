"""Each format Quarry reads, from a small file the test writes: indexed, found by a keyword and
by a paraphrase, with the location a person expects (chapter, page, sheet and rows, slide,
message)."""

from __future__ import annotations

import csv
import email.utils
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from indexer.ingest import loaders
from indexer.ingest.pipeline import Indexer
from indexer.search.searcher import Searcher, SearchOptions
from indexer.store.lance import Store

DATE = email.utils.format_datetime(email.utils.parsedate_to_datetime("Tue, 05 Mar 2024 09:30:00 +0000"))


def write_epub(path: Path) -> None:
    chapter = '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>{t}</title></head><body><h1>{t}</h1><p>{p}</p></body></html>'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        z.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<dc:title>Country Crafts</dc:title></metadata><manifest>"
            '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
            '<item id="c1" href="text/ch1.xhtml" media-type="application/xhtml+xml"/>'
            '<item id="c2" href="text/ch2.xhtml" media-type="application/xhtml+xml"/>'
            '</manifest><spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>',
        )
        z.writestr(
            "OEBPS/nav.xhtml",
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>'
            '<li><a href="text/ch1.xhtml">Hedge Laying</a></li><li><a href="text/ch2.xhtml#start">Beekeeping</a></li>'
            "</ol></nav></body></html>",
        )
        z.writestr(
            "OEBPS/text/ch1.xhtml",
            chapter.format(t="Hedges", p="Hedge layers cut each stem part way through and bend it along the row."),
        )
        z.writestr(
            "OEBPS/text/ch2.xhtml",
            chapter.format(t="Bees", p="The beekeeper smokes the hive gently before lifting out the honey frames."),
        )


ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"'
)


def write_odf(path: Path, mimetype: str, body: str) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", mimetype)
        z.writestr("content.xml", f'<?xml version="1.0"?><office:document-content {ODF_NS}><office:body>{body}</office:body></office:document-content>')


def write_odt(path: Path) -> None:
    write_odf(
        path,
        "application/vnd.oasis.opendocument.text",
        "<office:text><text:h>Workshop notes</text:h><text:p>The potter centres the clay on the wheel.</text:p>"
        "<text:p><text:soft-page-break/>The glass<text:s/>blower heats the gather of molten glass in the furnace"
        "<text:tab/>until it glows orange, then shapes it with wet wooden blocks.</text:p></office:text>",
    )


def write_ods(path: Path) -> None:
    def row(*cells: str) -> str:
        return "<table:table-row>" + "".join(f"<table:table-cell><text:p>{c}</text:p></table:table-cell>" for c in cells) + "</table:table-row>"

    write_odf(
        path,
        "application/vnd.oasis.opendocument.spreadsheet",
        '<office:spreadsheet><table:table table:name="Orchard">'
        + row("Fruit", "Crates", "Picked")
        + row("Quince", "42 crates", "October")
        + row("Medlar", "7 crates", "November")
        + "</table:table></office:spreadsheet>",
    )


def write_odp(path: Path) -> None:
    def slide(n: int, title: str, notes: str) -> str:
        return (
            f'<draw:page draw:name="page{n}"><draw:frame><draw:text-box><text:p>{title}</text:p></draw:text-box></draw:frame>'
            f"<presentation:notes><draw:frame><draw:text-box><text:p>{notes}</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>"
        )

    write_odf(
        path,
        "application/vnd.oasis.opendocument.presentation",
        "<office:presentation>"
        + slide(1, "Field trip agenda", "Hand out the waterproof maps at the car park.")
        + slide(2, "Volcanic landforms", "Mention that lava cooling slowly forms hexagonal basalt columns.")
        + "</office:presentation>",
    )


def write_pptx(path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    for title, body, notes in [
        ("Welcome", "Coastal science club", ""),
        ("Rock pools", "Anemones and limpets live in rock pools.", ""),
        ("Tides", "Spring and neap tides", "The moon's pull makes two high tides every day."),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    deck.save(str(path))


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Item", "Cost"])
    for i in range(2, 40):
        sheet.append([f"Stationery order {i}", i])
    sheet["A30"], sheet["B30"] = "Telescope mirror grinding kit", 780
    book.save(path)


def write_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["species", "count", "site"])
        writer.writerow(["Avocet", "14", "north lagoon"])
        writer.writerow(["Redshank", "3", "saltmarsh"])


def write_rtf(path: Path) -> None:
    path.write_bytes(
        rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\f0\fs24 The blacksmith quenches the red-hot horseshoe "
        rb"in a trough of cold water before fitting it.\par Caf\'e9 \u8364? prices rose.\par}"
    )


def message(subject: str, body: str, sender: str = "clerk@example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = sender, "me@example.org", subject, DATE
    msg.set_content(body)
    return msg


def write_eml(path: Path) -> None:
    path.write_bytes(bytes(message("Boiler service visit", "The engineer will arrive on Thursday morning to service the boiler.")))


def write_mbox(path: Path) -> None:
    first = message("Choir rehearsal moved", "Choir practice moves to Wednesday evening in the church hall.")
    second = message("Allotment water", "The water trough on the allotment is refilled on Sundays.\nFrom the committee.")
    data = b""
    for msg in (first, second):
        body = bytes(msg).replace(b"\nFrom ", b"\n>From ")
        data += b"From clerk@example.org Tue Mar  5 09:30:00 2024\n" + body + b"\n"
    path.write_bytes(data)


WRITERS = {
    "crafts.epub": write_epub,
    "workshop.odt": write_odt,
    "orchard.ods": write_ods,
    "geology.odp": write_odp,
    "club.pptx": write_pptx,
    "budget.xlsx": write_xlsx,
    "birds.csv": write_csv,
    "forge.rtf": write_rtf,
    "boiler.eml": write_eml,
    "parish.mbox": write_mbox,
}

# file -> (keyword, paraphrase, expected location as shown, expected page or None)
CASES = {
    "crafts.epub": ("beekeeper", "how do you calm bees before taking the honey", "chapter: Beekeeping", 2),
    "workshop.odt": ("furnace", "how is molten glass heated and shaped", "page 2", 2),
    "orchard.ods": ("quince", "how many crates of quinces were picked", "Orchard, rows 1–3", None),
    "geology.odp": ("basalt", "what rock forms when lava cools slowly", "slide 2", 2),
    "club.pptx": ("moon", "why are there two high tides each day", "slide 3", 3),
    "budget.xlsx": ("telescope", "what did the mirror grinding kit for the telescope cost", "Budget, rows 26–39", None),
    "birds.csv": ("avocet", "how many avocets were counted at the lagoon", "rows 1–3", None),
    "forge.rtf": ("horseshoe", "how does the smith cool the horseshoe", "", None),
    "boiler.eml": ("engineer", "when is the engineer coming to service the boiler", "", None),
    "parish.mbox": ("choir", "when is choir practice", "Choir rehearsal moved — 2024-03-05 09:30", 1),
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder, reranker):
    folder = tmp_path_factory.mktemp("formats") / "docs"
    folder.mkdir()
    for name, write in WRITERS.items():
        write(folder / name)
    store = Store(folder.parent / "index", embedder.dimension, embedder.fingerprint)
    report = Indexer(store, embedder).run([folder])
    return store, report, Searcher(store, embedder, reranker)


def test_every_format_is_indexed(indexed):
    _store, report, _searcher = indexed
    assert not report.skipped, report.skipped
    assert sorted(p.name for p in report.added) == sorted(WRITERS)


@pytest.mark.parametrize("name", list(CASES))
def test_found_by_keyword_and_paraphrase_with_its_location(indexed, name):
    store, _report, searcher = indexed
    keyword, paraphrase, where, page = CASES[name]
    by_keyword = store.text_search(keyword, 3)
    assert by_keyword and Path(by_keyword[0].path).name == name, [c.path for c in by_keyword]
    hits = searcher.search(paraphrase, SearchOptions(k=3)).hits
    assert hits and Path(hits[0].path).name == name, [(Path(h.path).name, h.score) for h in hits]
    assert hits[0].where == where and hits[0].page == page


def test_titles_carry_what_people_recognise(indexed):
    store, _report, _searcher = indexed
    titles = {Path(d.path).name: d.title for d in store.all_documents().values()}
    assert titles["crafts.epub"] == "Country Crafts"
    assert titles["boiler.eml"] == "Boiler service visit — 2024-03-05 09:30"


def test_details_of_the_readers(tmp_path: Path):
    rtf = tmp_path / "forge.rtf"
    write_rtf(rtf)
    assert "Café € prices rose." in loaders.load(rtf).pages[0].text
    mbox = tmp_path / "parish.mbox"
    write_mbox(mbox)
    second = loaders.load(mbox).pages[1]
    assert second.label.startswith("Allotment water") and "From the committee." in second.text
    odt = tmp_path / "workshop.odt"
    write_odt(odt)
    assert "The glass blower heats" in loaders.load(odt).pages[1].text
    pptx = tmp_path / "club.pptx"
    write_pptx(pptx)
    assert "Notes: The moon's pull" in loaders.load(pptx).pages[2].text
