"""Before Qt starts on Linux: the system libraries Qt's xcb (X11) platform plugin needs.

PySide6's wheels carry Qt but not the X11 helper libraries it loads at run time; on a fresh
Debian or Ubuntu without them Qt aborts with "could not load the Qt platform plugin xcb"
and nothing else. Quarry checks first and prints the one command that installs them.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

# library name for ctypes.util.find_library -> package (apt, dnf, pacman)
XCB_LIBRARIES: dict[str, tuple[str, str, str]] = {
    "xcb-cursor": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "xcb-icccm": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "xcb-image": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "xcb-keysyms": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "xcb-randr": ("libxcb-randr0", "libxcb", "libxcb"),
    "xcb-render-util": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    "xcb-shape": ("libxcb-shape0", "libxcb", "libxcb"),
    "xcb-xinerama": ("libxcb-xinerama0", "libxcb", "libxcb"),
    "xcb-xkb": ("libxcb-xkb1", "libxcb", "libxcb"),
    "xkbcommon-x11": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "EGL": ("libegl1", "libglvnd-egl", "libglvnd"),
    "GL": ("libgl1", "libglvnd-glx", "libglvnd"),
    "fontconfig": ("libfontconfig1", "fontconfig", "fontconfig"),
    "dbus-1": ("libdbus-1-3", "dbus-libs", "dbus"),
}
INSTALLERS = {"apt": "sudo apt-get install", "dnf": "sudo dnf install", "pacman": "sudo pacman -S"}


def package_family(os_release: str | None = None) -> str:
    """'apt', 'dnf' or 'pacman' from /etc/os-release's ID and ID_LIKE ('apt' if unknown)."""
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(errors="replace")
        except OSError:
            os_release = ""
    ids: list[str] = []
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            ids += value.strip().strip('"').lower().split()
    if any(i in ("fedora", "rhel", "centos", "rocky", "almalinux", "opensuse", "suse") for i in ids):
        return "dnf"
    if any(i in ("arch", "manjaro", "endeavouros") for i in ids):
        return "pacman"
    return "apt"


def needs_xcb(environ: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """Whether Qt will use its xcb plugin: Linux, an X display, no Wayland, no other plugin asked for."""
    env = os.environ if environ is None else environ
    wanted = env.get("QT_QPA_PLATFORM", "")
    if platform != "linux" or (wanted and not wanted.startswith("xcb")):
        return False
    return bool(env.get("DISPLAY")) and (wanted.startswith("xcb") or not env.get("WAYLAND_DISPLAY"))


def missing_libraries(find: Callable[[str], str | None] = ctypes.util.find_library) -> list[str]:
    """The library names of XCB_LIBRARIES this system cannot find."""
    return [name for name in XCB_LIBRARIES if not find(name)]


def install_hint(missing: list[str], family: str | None = None) -> str:
    """The message for people: what is missing and the one command that installs it."""
    family = family or package_family()
    column = ("apt", "dnf", "pacman").index(family)
    packages = list(dict.fromkeys(XCB_LIBRARIES[name][column] for name in missing))
    libraries = ", ".join(f"lib{name}" for name in missing)
    return (
        f"Quarry's window needs system libraries that are missing here ({libraries}).\n"
        f"Install them with:\n\n    {INSTALLERS[family]} {' '.join(packages)}\n\n"
        "then start Quarry again. (The command line, `quarry`, works without them.)"
    )


def check_gui_libraries() -> str:
    """An install hint when Qt's xcb plugin would fail to load here, else ''."""
    if not needs_xcb():
        return ""
    missing = missing_libraries()
    return install_hint(missing) if missing else ""
