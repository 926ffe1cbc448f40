"""How a failed job is shown, in a message box or inline in a page (app.jobs.describe decides
what is said)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

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


class FailureLine(QWidget):
    """A failed job's report inside a page (the settings dialog, the first-run panel), by the
    same rules as :func:`failure_box`: nothing for ``Cancelled``, a QuarryError's message, or
    a short message and a "Copy details" button that copies the traceback. Hidden until a
    failure is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setStyleSheet("color: #a33;")
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setObjectName("copy-details")
        self.copy_button.setVisible(False)
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.details))
        self.details = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)

    def show_failure(self, what: str, exc: BaseException, prefix: str = "") -> bool:
        """Show ``exc`` raised while ``what`` ('downloading bge-reranker-base'), after
        ``prefix`` ('Not added: '); False (and nothing shown) for ``Cancelled``."""
        report = describe(exc, what)
        if report.silent:
            self.clear()
            return False
        self.details = report.details
        self.label.setText(prefix + report.message)
        self.copy_button.setVisible(bool(report.details))
        self.setVisible(True)
        return True

    def show_text(self, message: str) -> None:
        """A plain message in the same place (a warning or what is happening), no details."""
        self.details = ""
        self.label.setText(message)
        self.copy_button.setVisible(False)
        self.setVisible(True)

    def text(self) -> str:
        return self.label.text() if not self.isHidden() else ""

    def clear(self) -> None:
        self.details = ""
        self.label.clear()
        self.copy_button.setVisible(False)
        self.setVisible(False)
