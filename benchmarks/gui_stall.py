"""How long does the GUI thread stall? Runs the real window over real services, indexes a
folder and runs a reranked search, and reports the longest gap between ticks of a 5 ms
timer on the GUI thread in each phase (goal: under 100 ms). Then it selects the first hit
with a page (a PDF or an image) so the details pane shows the page preview, and, with the
models loaded and the preview open, reports the memory of the window's process and of its
inference worker 3 s after and once idle (the worker's contexts trimmed, the window's idle
check run, LanceDB's code paged out — after 20 s here instead of the app's 120; goal:
400 MB), and the bytes of the preview's page cache."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import MODELS, PDFS, machine, process_memory_mb, table


class StallMeter:
    """The longest gap between ticks of a 5 ms timer on the GUI thread, per phase; and, from
    a watchdog thread, where the GUI thread's Python code was while a gap passed
    STALL_SAMPLE_MS (the innermost frames of its stack; a stall in Qt's own C++ shows as the
    Python line that called into Qt, or the event loop)."""

    STALL_SAMPLE_MS = 50

    def __init__(self) -> None:
        import threading

        from PySide6.QtCore import QTimer

        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.worst = 0.0
        self.ticks = 0
        self.where: dict[str, float] = {}
        """'file:line function < …' -> the longest gap seen while the GUI thread was there (s)."""
        self._gui = threading.get_ident()
        threading.Thread(target=self._watch, daemon=True, name="stall-watchdog").start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now
        self.ticks += 1

    def _watch(self) -> None:
        import traceback

        while True:
            time.sleep(0.01)
            gap = time.perf_counter() - self.last
            if not self.timer.isActive() or gap * 1000 < self.STALL_SAMPLE_MS:
                continue
            frame = sys._current_frames().get(self._gui)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)[-4:]
            key = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack))
            self.where[key] = max(self.where.get(key, 0.0), gap)

    def phase(self) -> None:
        self.worst, self.ticks, self.last = 0.0, 0, time.perf_counter()
        self.where = {}
        self.timer.start()

    def culprits(self, top: int = 3) -> list[str]:
        """The places the GUI thread was stuck longest in this phase, worst first."""
        ranked = sorted(self.where.items(), key=lambda item: -item[1])[:top]
        return [f"{gap * 1000:.0f} ms at {key}" for key, gap in ranked]


def wait_for(app: object, signal: object, timeout_s: float) -> list[object]:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    got: list[object] = []

    def done(*args: object) -> None:
        got.extend(args)
        loop.quit()

    signal.connect(done)  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(done)  # type: ignore[attr-defined]
    if not got:
        raise TimeoutError(f"no signal within {timeout_s} s")
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=str(PDFS))
    parser.add_argument("--query", default="which train do we take to Windermere")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("QUARRY_MODEL_DIRS", str(MODELS))
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main import build_window
    from indexer.engine import EngineOptions
    from indexer.paths import AppPaths
    from indexer.runtime.worker import CONTEXT_IDLE_S

    app = QApplication.instance() or QApplication([])
    meter = StallMeter()
    results: dict[str, float] = {}
    stuck: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        window, lanes, engines = build_window(AppPaths.from_base(Path(tmp)).ensure(), opener=lambda _: None)
        window.show()
        settle = QEventLoop()
        QTimer.singleShot(500, settle.quit)  # the first paint is not a stall caused by our work
        settle.exec()
        meter.phase()
        engines.load(EngineOptions())
        wait_for(app, engines.ready, 120)
        results["load models"] = meter.worst
        stuck["load models"] = meter.culprits()
        # The window pages LanceDB's code out after PAGE_OUT_IDLE_S (120 s) without a search
        # or an index run; the "idle" reading below comes after CONTEXT_IDLE_S, so the
        # benchmark shortens that wait to the same.
        engines.engine.page_out_idle_s = CONTEXT_IDLE_S
        meter.phase()
        window.index_paths([Path(args.folder)])
        wait_for(app, window.indexing.finished, 1800)
        results["index folder"] = meter.worst
        stuck["index folder"] = meter.culprits()
        meter.phase()
        window.search_field.setText(args.query)
        window.search_now()
        wait_for(app, window.searching.reranked, 120)
        results["reranked search"] = meter.worst
        stuck["reranked search"] = meter.culprits()
        settle = QEventLoop()
        QTimer.singleShot(3000, settle.quit)
        settle.exec()
        memory = {"window, 3 s after the search": process_memory_mb(os.getpid())}
        meter.phase()
        paged = [row for row, hit in enumerate(window.model.hits) if window.has_page_view(hit)]
        rendered = None
        if paged:
            window.results.setCurrentIndex(window.model.index(paged[0]))
            rendered = wait_for(app, window.preview.shown, 60)[0]
            results["page preview"] = meter.worst
            stuck["page preview"] = meter.culprits()
        else:
            print(f"no hit of {args.query!r} has a page: memory without a preview", file=sys.stderr)
        for label, wait_s in (("3 s after", 3.0), ("idle", CONTEXT_IDLE_S + 3.0)):
            settle = QEventLoop()
            QTimer.singleShot(int(wait_s * 1000), settle.quit)
            settle.exec()
            if label == "idle":  # what the window's idle check does every minute
                window.preferences.release_idle()
                settle = QEventLoop()
                QTimer.singleShot(1000, settle.quit)
                settle.exec()
            window_mb = process_memory_mb(os.getpid())
            worker_mb = process_memory_mb(engines.engine.worker.pid or 0)
            memory[f"window, {label}"] = window_mb
            memory[f"worker, {label}"] = worker_mb
            memory[f"total, {label}"] = {
                k: round(window_mb.get(k, 0) + worker_mb.get(k, 0), 1) for k in ("rss", "pss", "anon")
            }
        preview = rendered and {
            "page": f"{Path(rendered.path).name} page {rendered.page}",
            "pixels": f"{rendered.width} x {rendered.height}",
            "cached_pages_mb": round(window.preview.cache.bytes / 1e6, 1),
            "marked_by": "OCR words" if rendered.by_ocr else "PDFium text layer",
        }
        window.close()
        window.indexing.stop_watching()
        lanes.shutdown()
        engines.engine.close()
    results_ms = {k: round(v * 1000, 1) for k, v in results.items()}
    if args.json:
        print(
            json.dumps(
                {
                    "longest_stall_ms": results_ms,
                    "stalled_at": stuck,
                    "idle_memory_mb": memory,
                    "preview": preview,
                    "machine": machine(),
                    "folder": args.folder,
                }
            )
        )
        return 0
    print(f"Longest GUI-thread stall (5 ms timer), folder {args.folder}\nMachine: {machine()}\n")
    print(table(["phase", "longest stall ms", "goal"], [[k, f"{v:.1f}", "< 100"] for k, v in results_ms.items()]))
    for phase, places in stuck.items():
        for place in places:
            print(f"  {phase}: {place}")
    print(f"\nPage preview open: {preview}")
    print(
        f"\nAfter the search, models loaded, preview open (MB); idle = {CONTEXT_IDLE_S + 4:.0f} s later, after the idle check:"
    )
    rows = [[k, v.get("rss"), v.get("pss"), v.get("anon")] for k, v in memory.items()]
    print(table(["process", "RSS", "PSS", "anonymous"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
