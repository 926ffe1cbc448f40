"""How a failed job is shown (app.jobs.describe decides what is said)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from app.jobs import describe


def failure_box(parent: QWidget, title: str, what: str, exc: BaseException) -> QMessageBox | None:
    """Open (non-modal) the message for ``exc`` raised while ``what``, and return the box;
    None for ``Cancelled``, which shows nothing. A QuarryError shows its message; anything
    else a short message and a "Copy details" button that copies the traceback."""
    report = describe(exc, what)
    if report.silent:
        return None
    icon = QMessageBox.Icon.Critical if report.details else QMessageBox.Icon.Warning
    box = QMessageBox(icon, title, report.message, QMessageBox.StandardButton.Ok, parent)
    if report.details:
        copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
        copy.setObjectName("copy-details")
        copy.clicked.disconnect()  # the button copies and leaves the box open
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(report.details))
    box.open()
    return box
