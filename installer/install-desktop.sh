#!/bin/sh
# Install a built Quarry bundle for this user: the folder goes to ~/.local/lib/quarry, the
# launchers to ~/.local/bin, the menu entry and icon to ~/.local/share. Run from the
# unpacked tarball (`sh install-desktop.sh .`) or via `make install-desktop`.
set -eu
SRC=$(cd "${1:-.}" && pwd)
PREFIX=${PREFIX:-$HOME/.local}
test -x "$SRC/quarry-gui" || { echo "no quarry-gui in $SRC: build with 'make dist' first" >&2; exit 1; }
mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/share/applications" "$PREFIX/share/icons/hicolor/256x256/apps"
rm -rf "$PREFIX/lib/quarry"
cp -a "$SRC" "$PREFIX/lib/quarry"
ln -sf "$PREFIX/lib/quarry/quarry" "$PREFIX/bin/quarry"
ln -sf "$PREFIX/lib/quarry/quarry-gui" "$PREFIX/bin/quarry-gui"
ICON="$SRC/quarry.png"; [ -f "$ICON" ] || ICON="$SRC/_internal/resources/icons/quarry.png"
cp "$ICON" "$PREFIX/share/icons/hicolor/256x256/apps/quarry.png"
DESKTOP="$SRC/quarry.desktop"; [ -f "$DESKTOP" ] || DESKTOP="$SRC/_internal/resources/quarry.desktop"
sed "s|@BINDIR@|$PREFIX/bin|" "$DESKTOP" > "$PREFIX/share/applications/quarry.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$PREFIX/share/applications" || true
echo "Quarry installed: $PREFIX/bin/quarry-gui (and in your applications menu)"
