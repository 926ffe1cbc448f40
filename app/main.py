"""Composition root of the desktop app: paths, logging, crash capture, services, window."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from indexer.paths import AppPaths

log = logging.getLogger("quarry")

NATIVE_CRASH_FILE = "native-crash.log"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="quarry-gui", description="Quarry desktop document search")
    parser.add_argument("--basedir", help="keep config, data, cache and logs under this folder")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("--smoke-test", action="store_true", help="index the bundled sample, run one query, exit")
    parser.add_argument("folders", nargs="*", help="folders to index at start")
    return parser.parse_known_args(argv)[0]


def previous_native_crash(paths: AppPaths) -> str:
    """What faulthandler wrote during the last run, if it crashed; the file is then archived."""
    crash = paths.logs / NATIVE_CRASH_FILE
    try:
        text = crash.read_text(errors="replace").strip()
    except OSError:
        return ""
    if text:
        crash.replace(paths.logs / (NATIVE_CRASH_FILE + ".previous"))
    return text


def install_crash_handlers(paths: AppPaths) -> Any:
    """faulthandler catches native crashes (a segfault inside llama.cpp) into a file shown
    at the next start; the excepthook logs Python errors and shows them without dying."""
    handle = (paths.logs / NATIVE_CRASH_FILE).open("w")
    faulthandler.enable(file=handle, all_threads=True)

    def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        details = "".join(traceback.format_exception(kind, value, tb))
        log.error("uncaught exception:\n%s", details)
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            box = QMessageBox(QMessageBox.Icon.Critical, "Quarry", f"Something went wrong: {value}")
            box.setDetailedText(details)
            box.exec()

    sys.excepthook = excepthook
    return handle


def preload_native_modules() -> None:
    """Import LanceDB before the window exists: loading its native library holds the GIL
    (~70 ms), which on a worker thread would freeze the event loop. Importing is not calling
    it; all calls still happen on worker lanes. llama.cpp is never loaded in this process:
    it runs in the inference worker (indexer.runtime)."""
    import lancedb  # noqa: F401


def build_window(paths: AppPaths, opener: Any = None) -> tuple[Any, Any, Any]:
    """The window over its services and lanes, as the app, the tests and benchmarks use it."""
    from PySide6.QtCore import QSettings

    preload_native_modules()
    from app.jobs import Lanes
    from app.opener import launch
    from app.services import EngineService, IndexService, SearchService
    from app.settings_service import SettingsService
    from app.widgets.main_window import MainWindow

    lanes = Lanes()
    engines = EngineService(paths, lanes)
    indexing, searching = IndexService(engines, lanes), SearchService(engines, lanes)
    window = MainWindow(
        engines,
        indexing,
        searching,
        QSettings(str(paths.config / "window.ini"), QSettings.Format.IniFormat),
        SettingsService(paths, lanes, engines, indexing, searching),
        opener=opener or launch,
    )
    return window, lanes, engines


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = AppPaths.default(args.basedir).ensure()
    from app.logs import configure

    configure(paths, args.verbose)
    if args.smoke_test:
        from app.smoke import smoke_test
        from indexer.engine import EngineOptions

        return smoke_test(paths, EngineOptions())
    from app.system_libs import check_gui_libraries

    hint = check_gui_libraries()
    if hint:
        log.info("window not started: %s", hint)  # the log file keeps it; people read stderr
        sys.stderr.write(hint + "\n")
        return 1
    crashed_before = previous_native_crash(paths)
    crash_file = install_crash_handlers(paths)

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.smoke import resources_dir

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Quarry")
    app.setOrganizationName("Quarry")
    icon = resources_dir() / "icons" / "quarry.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    window, lanes, engines = build_window(paths)
    window.show()
    if crashed_before:
        QMessageBox.warning(
            window,
            "Quarry",
            f"Quarry crashed the last time it ran. The report is in\n{paths.logs / (NATIVE_CRASH_FILE + '.previous')}",
        )
    if window.preferences.notice:
        QMessageBox.warning(window, "Quarry", window.preferences.notice)
    if args.folders:
        engines.ready.connect(lambda _: window.index_paths([Path(f).resolve() for f in args.folders]))
    engines.load(window.preferences.engine_options)
    code = app.exec()
    window.indexing.stop_watching()
    lanes.shutdown()
    if engines.engine:
        engines.engine.close()
    faulthandler.disable()
    crash_file.close()
    (paths.logs / NATIVE_CRASH_FILE).unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
