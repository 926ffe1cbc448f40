"""Architecture rules that must not rot."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_indexer_never_imports_qt_or_app():
    code = (
        "import sys, indexer.engine, indexer.ingest.pipeline, indexer.search.searcher, indexer.models.rerank, app.cli;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'app.main', 'app.widgets', 'app.services'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_indexer_sources_do_not_import_qt_or_print():
    imports = re.compile(r"^\s*(from|import)\s+(PySide6|app)\b", re.MULTILINE)
    for path in (ROOT / "indexer").rglob("*.py"):
        text = path.read_text()
        assert not imports.search(text), path
        assert not re.search(r"^\s*print\(", text, re.MULTILINE), f"{path}: use logging"
