"""Draw Quarry's icon (a magnifying glass over layered stone) with Qt and write the PNG,
ICO and (where Qt can) ICNS files beside this script. Run: python resources/icons/make_icon.py"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPen, QPolygonF

HERE = Path(__file__).resolve().parent


def draw(size: int = 512) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 512
    # Rounded tile with a warm stone gradient.
    tile = QLinearGradient(0, 0, 0, size)
    tile.setColorAt(0, QColor("#f2e6d0"))
    tile.setColorAt(1, QColor("#d9c29a"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(tile))
    p.drawRoundedRect(QRectF(16 * s, 16 * s, 480 * s, 480 * s), 96 * s, 96 * s)
    # Three strata of the quarry face.
    for i, colour in enumerate(("#b08a5a", "#8f6b42", "#6e5031")):
        top = (250 + i * 62) * s
        poly = QPolygonF(
            [
                QPointF(60 * s, top),
                QPointF(452 * s, top - 30 * s),
                QPointF(452 * s, top + 40 * s),
                QPointF(60 * s, top + 56 * s),
            ]
        )
        p.setBrush(QColor(colour))
        p.drawPolygon(poly)
    # Magnifying glass.
    p.setBrush(QColor(255, 255, 255, 170))
    p.setPen(QPen(QColor("#2b4c7e"), 34 * s))
    p.drawEllipse(QPointF(220 * s, 210 * s), 120 * s, 120 * s)
    p.setPen(QPen(QColor("#2b4c7e"), 52 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawLine(QPointF(310 * s, 300 * s), QPointF(420 * s, 410 * s))
    p.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    QGuiApplication(sys.argv[:1])
    image = draw()
    image.scaled(256, 256, mode=Qt.TransformationMode.SmoothTransformation).save(str(HERE / "quarry.png"))
    image.scaled(256, 256, mode=Qt.TransformationMode.SmoothTransformation).save(str(HERE / "quarry.ico"))
    if not image.save(str(HERE / "quarry.icns")):
        print("this Qt cannot write .icns; make one on macOS with iconutil (installer/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
