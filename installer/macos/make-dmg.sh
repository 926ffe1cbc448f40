#!/bin/sh
# Build Quarry.app and a DMG on macOS (not buildable on Linux). Steps:
#   1. make install GPU=metal            # llama-cpp-python with Metal
#   2. iconutil: make resources/icons/quarry.icns from the PNG if Qt could not (see README)
#   3. sh installer/macos/make-dmg.sh    # runs PyInstaller (BUNDLE in quarry.spec) and hdiutil
# Sign and notarise the .app before giving it to people (codesign / notarytool), or
# Gatekeeper will refuse it.
set -eu
cd "$(dirname "$0")/../.."
.venv/bin/pip install --quiet "pyinstaller>=6.10"
.venv/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller installer/quarry.spec
test -d dist/Quarry.app || { echo "dist/Quarry.app missing: was this run on macOS?" >&2; exit 1; }
rm -rf build/dmg && mkdir -p build/dmg
cp -R dist/Quarry.app build/dmg/
ln -s /Applications build/dmg/Applications
hdiutil create -volname Quarry -srcfolder build/dmg -ov -format UDZO dist/Quarry.dmg
echo "dist/Quarry.dmg"
