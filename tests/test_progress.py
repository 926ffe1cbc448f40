"""Progress by work: pages read and passages embedded, not files; a time left once it has
settled; the stage that runs."""

from __future__ import annotations

from pathlib import Path

from indexer.eta import TimeLeft, say_time_left
from indexer.ingest.pipeline import WorkMeter
from indexer.types import SourceFile
from tests.pdf_maker import text_pages, write_pdf
from tests.test_gui import INDEX_TIMEOUT, app_window  # noqa: F401 - the window fixture


def test_the_meter_learns_the_rate_from_the_files_read(tmp_path: Path):
    files = [SourceFile(tmp_path / n, tmp_path, size, 0) for n, size in (("a.pdf", 400_000), ("b.pdf", 10_000))]
    meter = WorkMeter(files)
    before = meter.total
    meter.read(0, 40, 80)  # 120 units in 400 kB: 3,333 bytes a unit
    assert meter.done == 40 and meter.total == 120 + 3
    meter.embedded(80)
    assert meter.done == 120 and before != meter.total
    meter.read(1, 0, 0)  # skipped: it adds no work
    assert meter.total == meter.done == 120


def test_time_left_waits_until_it_has_settled():
    now = [0.0]
    eta = TimeLeft(clock=lambda: now[0])
    seen = []
    for second in range(1, 41):
        now[0] = float(second)
        seen.append(eta.update(done=10 * second, total=1000))  # 10 units a second
    assert seen[3] is None  # under five seconds: nothing said
    first = next(i for i, s in enumerate(seen) if s is not None)
    assert first < 12
    assert abs(seen[-1] - 60.0) < 1.0  # 600 units left at 10 a second
    assert say_time_left(seen[-1]) == "about 60 s left"
    assert say_time_left(250) == "about 4 min left" and say_time_left(None) == ""

    erratic = TimeLeft(clock=lambda: now[0])
    for second, done in enumerate((50, 51, 300, 302, 303, 600, 601, 602, 900), start=1):
        now[0] = 100.0 + second
        result = erratic.update(done, 1000)
    assert result is None  # the rate keeps jumping: no number yet


def test_progress_follows_the_work_on_one_long_and_several_short_files(qtbot, app_window, tmp_path: Path):  # noqa: F811
    window = app_window
    folder = tmp_path / "books"
    folder.mkdir()
    write_pdf(folder / "a-long-book.pdf", text_pages(24))
    for i in range(4):
        write_pdf(folder / f"b-note-{i}.pdf", text_pages(1, first_seed=1000 + 50 * i, lines=12))
    events = []

    def record(progress) -> None:
        if progress.stage in ("indexing", "embedding"):
            events.append((progress, window.progress_bar.value(), window.progress_label.text()))

    window.indexing.progress.connect(record)
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT) as finished:
        window.index_paths([folder])
    report = finished.args[0]
    assert len(report.added) == 5
    work = [p.work_done for p, _, _ in events]
    bars = [bar for _, bar, _ in events]
    assert work == sorted(work) and bars == sorted(bars), (work, bars)
    last = events[-1][0]
    assert last.work_done == last.work_total == report.pages_read + report.chunks_embedded
    assert report.pages_read == 28
    # The keyword pass reads every page first (work: pages), then the embedding pass embeds
    # the passages (work: passages). When the long book is read (the first event on the second
    # file), its pages are most of the reading, though only one file in five is done.
    reading = [p for p, _, _ in events if p.stage == "indexing"]
    after_book = next(p for p in reading if p.done >= 1)  # the window may coalesce events
    pages_share = report.pages_read / last.work_total
    assert after_book.fraction is not None and after_book.fraction > 0.75 * pages_share
    steps = {p.step for p, _, _ in events}
    assert {"reading", "embedding"} <= steps
    labels = [text for _, _, text in events]
    assert any(t.startswith("Reading a-long-book.pdf · file 1 of 5") for t in labels), labels[:5]
    assert any(t.startswith("Searchable by keyword; embedding") for t in labels), labels[-3:]
