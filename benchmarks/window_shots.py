"""Screenshots of the real window for the README, and its memory with a page preview open.

Run under a display (Xvfb: ``Xvfb :78 & DISPLAY=:78 python benchmarks/window_shots.py``):
indexes a few of the shared PDFs and the golden documents, grabs the window while indexing
(progress with the time left), with a PDF hit's page previewed and its passage marked, and
under the weak-set banner; then, idle with the preview open, measures the window process's
memory. ``--dark`` gives the window a dark palette (what a dark desktop hands Qt)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import MODELS, PDFS, ROOT, machine, process_memory_mb
from benchmarks.gui_stall import wait_for

BOOKS = ("The-War-of-the-Worlds.pdf", "The-Man-Without-A-Body.pdf", "Safe-Communication.pdf")
GOLDEN = ROOT / "tests" / "data" / "golden"
DARK = {
    "Window": "#2b2d30",
    "WindowText": "#e8e8e8",
    "Base": "#1e1f22",
    "AlternateBase": "#25272a",
    "Text": "#e8e8e8",
    "Button": "#35373b",
    "ButtonText": "#e8e8e8",
    "Highlight": "#3d7bd9",
    "HighlightedText": "#ffffff",
    "PlaceholderText": "#9a9ca0",
    "ToolTipBase": "#35373b",
    "ToolTipText": "#e8e8e8",
    "Mid": "#4a4c50",
    "Dark": "#151618",
    "Light": "#45474b",
    "Link": "#6ea8ff",
}


def pause(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        pause(100)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--query", default="why did the Martians die in the end")
    args = parser.parse_args(argv)
    os.environ.setdefault("QUARRY_MODEL_DIRS", str(MODELS))
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from app.main import build_window
    from indexer.engine import EngineOptions
    from indexer.paths import AppPaths

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    if args.dark:
        palette = QPalette()
        for role, colour in DARK.items():
            palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
        app.setPalette(palette)
    scheme = "dark" if args.dark else "light"
    out = Path(args.out)
    shots: dict[str, str] = {}

    def shoot(name: str) -> None:
        pause(400)
        path = out / f"{name}-{scheme}.png"
        window.grab().save(str(path))
        shots[name] = str(path)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "Documents"
        shutil.copytree(GOLDEN, folder / "notes")
        (folder / "books").mkdir()
        for name in BOOKS:
            shutil.copy(PDFS / name, folder / "books" / name)
        window, lanes, engines = build_window(AppPaths.from_base(Path(tmp) / "home").ensure(), opener=lambda _: None)
        window.resize(1440, 860)
        window.splitter.setSizes([200, 640, 600])
        window.show()
        engines.load(EngineOptions())
        wait_for(app, engines.ready, 120)
        window.index_paths([folder])
        if until(lambda: "left" in window.progress_label.text() and window.progress_row.isVisible(), 600):
            shoot("indexing")
        wait_for(app, window.indexing.finished, 1800)
        pause(1500)
        window.search_field.setText(args.query)
        window.search_now()
        wait_for(app, window.searching.reranked, 120)
        row = next((i for i, h in enumerate(window.model.hits) if h.path.endswith(".pdf")), 0)
        window.results.setFocus()
        window.results.setCurrentIndex(window.model.index(row))
        until(lambda: window.preview.rendered is not None and not window.preview.busy, 30)
        pause(800)  # fit-width settles
        shoot("preview")
        pause(3000)
        memory = process_memory_mb(os.getpid())
        window.search_field.setText("how to tie a bow tie")
        window.search_now()
        wait_for(app, window.searching.reranked, 120)
        window.results.setCurrentIndex(window.model.index(0))
        shoot("weak")
        window.close()
        window.indexing.stop_watching()
        lanes.shutdown()
        engines.engine.close()
    print(json.dumps({"shots": shots, "idle_window_memory_mb_with_preview": memory, "machine": machine()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
