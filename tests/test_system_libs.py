"""quarry-gui names the system libraries Qt's xcb plugin needs before Qt aborts without them."""

from __future__ import annotations

import subprocess
import sys

from app.system_libs import XCB_LIBRARIES, install_hint, missing_libraries, needs_xcb, package_family
from tests.conftest import ROOT


def test_the_package_family_comes_from_os_release():
    assert package_family('ID=ubuntu\nID_LIKE="debian"\n') == "apt"
    assert package_family('ID="fedora"\n') == "dnf"
    assert package_family('ID=rocky\nID_LIKE="rhel centos fedora"\n') == "dnf"
    assert package_family("ID=arch\n") == "pacman"
    assert package_family("ID=endeavouros\nID_LIKE=arch\n") == "pacman"
    assert package_family("") == "apt"


def test_xcb_is_checked_only_where_qt_would_use_it():
    assert needs_xcb({"DISPLAY": ":0"}, "linux")
    assert needs_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not needs_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not needs_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not needs_xcb({}, "linux")  # no display: Qt says so itself
    assert not needs_xcb({"DISPLAY": ":0"}, "darwin")


def test_the_hint_is_one_install_command_for_the_missing_packages():
    hint = install_hint(["xcb-cursor", "xcb-shape", "xcb-xinerama", "EGL"], "apt")
    assert "sudo apt-get install libxcb-cursor0 libxcb-shape0 libxcb-xinerama0 libegl1\n" in hint
    assert "libxcb-cursor" in hint
    fedora = install_hint(["xcb-shape", "xcb-xinerama", "xcb-cursor"], "dnf")
    assert "sudo dnf install libxcb xcb-util-cursor\n" in fedora  # one package named once
    assert "sudo pacman -S xcb-util-cursor" in install_hint(["xcb-cursor"], "pacman")


def test_missing_libraries_agree_with_the_dynamic_linker():
    missing = missing_libraries()
    listed = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for name in XCB_LIBRARIES:
        assert (name not in missing) == (f"lib{name}.so" in listed), name
    assert missing_libraries(lambda name: None) == list(XCB_LIBRARIES)
    assert missing_libraries(lambda name: f"lib{name}.so.0") == []


def test_the_window_refuses_to_start_with_the_command_that_fixes_it(tmp_path):
    """With an X display and the libraries unfindable (the finder is replaced by one that
    finds nothing, as on a fresh Debian), quarry-gui prints the hint and exits 1."""
    code = (
        "import sys, ctypes.util\n"
        "ctypes.util.find_library = lambda name: None\n"
        "from app.main import main\n"
        f"sys.exit(main(['--basedir', {str(tmp_path)!r}]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": ":99", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 1
    assert "Quarry's window needs system libraries" in done.stderr and "install" in done.stderr
