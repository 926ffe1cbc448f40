"""The packaging files cannot rot: the PyInstaller spec and hooks are valid Python that name
files which exist, the frozen entry point dispatches to the CLI, the .desktop file is sound.
Building the bundle itself is `make dist` (slow, not part of the tests)."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys

from tests.conftest import ROOT

INSTALLER = ROOT / "installer"


def test_spec_and_hooks_are_valid_python_naming_real_files():
    spec = (INSTALLER / "quarry.spec").read_text()
    tree = ast.parse(spec)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= called
    for needed in ("installer/quarry_entry.py", "installer/hooks", "resources", "icons/quarry.png"):
        assert needed.split("/")[-1] in spec
    assert (INSTALLER / "quarry_entry.py").exists()
    for name in ("quarry.png", "quarry.ico", "quarry.icns"):
        assert (ROOT / "resources" / "icons" / name).stat().st_size > 1000
    assert "QtWebEngineCore" in spec  # excluded, never bundled
    hooks = sorted((INSTALLER / "hooks").glob("hook-*.py"))
    assert [h.name for h in hooks] == ["hook-lancedb.py", "hook-llama_cpp.py", "hook-rapidocr.py"]
    for hook in hooks:
        names = {t.id for n in ast.walk(ast.parse(hook.read_text())) if isinstance(n, ast.Assign) for t in n.targets}
        assert "binaries" in names or "datas" in names


def test_llama_cpp_keeps_its_shared_libraries_where_the_hook_collects_them():
    """hook-llama_cpp collects llama_cpp/lib; if a release moves the libraries, this fails."""
    from pathlib import Path

    import llama_cpp

    libs = [p.name for p in (Path(llama_cpp.__file__).parent / "lib").iterdir()]
    assert any(name.startswith(("libllama", "llama.")) for name in libs)
    assert any(name.startswith(("libggml", "ggml")) for name in libs)


def test_frozen_entry_point_runs_the_smoke_test(tmp_path):
    done = subprocess.run(
        [sys.executable, str(INSTALLER / "quarry_entry.py"), "--basedir", str(tmp_path), "--smoke-test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("smoke test ok: quarry-guide.md") and "OCR read scanned-sample.pdf" in done.stdout


def test_desktop_entry_is_complete():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(ROOT / "resources" / "quarry.desktop")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "Quarry" and entry["Icon"] == "quarry"
    assert entry["Exec"].startswith("@BINDIR@/quarry-gui")
    assert "@BINDIR@" in (INSTALLER / "install-desktop.sh").read_text()
