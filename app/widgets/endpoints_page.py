"""The settings dialog's "Remote endpoints" page: a reranker at an HTTP endpoint (TEI, Cohere
or llama-server format) and an OpenAI-compatible embeddings endpoint, each with URL, model,
API key (a password field) and timeout. Nothing here sends a request."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from indexer.models.endpoints.config import (
    DEFAULT_TIMEOUT_S,
    EMBED_FORMATS,
    MAX_TIMEOUT_S,
    RERANK_FORMATS,
    Endpoint,
)

SCALE_LABELS = {
    "": "As the format usually sends them",
    "probability": "Probabilities 0–1 (TEI, Cohere, a Qwen3 reranker on llama-server)",
    "logit": "Logits (a cross-encoder head on llama-server)",
}


class EndpointForm(QGroupBox):
    """One endpoint: on/off, format, URL, model, API key, timeout (and, for a reranker, what
    its scores are)."""

    def __init__(self, title: str, formats: dict[str, str], current: Endpoint | None, rerank: bool) -> None:
        super().__init__(title)
        self.formats = formats
        self.enabled = QCheckBox("Use this endpoint instead of the local model")
        self.format = QComboBox()
        for key, label in formats.items():
            self.format.addItem(label, key)
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://127.0.0.1:8080 or https://api.example.com/v1")
        self.model = QLineEdit()
        self.model.setPlaceholderText("model name the server expects (may be empty for TEI and llama-server)")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("sent as 'Authorization: Bearer …'; leave empty for none")
        self.timeout = QDoubleSpinBox(minimum=0.5, maximum=MAX_TIMEOUT_S, singleStep=5.0, decimals=1)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(DEFAULT_TIMEOUT_S)
        self.scores = QComboBox()
        for key, label in SCALE_LABELS.items():
            self.scores.addItem(label, key)
        form = QFormLayout(self)
        form.addRow(self.enabled)
        if len(formats) > 1:
            form.addRow("Format", self.format)
        form.addRow("URL", self.url)
        form.addRow("Model", self.model)
        form.addRow("API key", self.api_key)
        form.addRow("Timeout", self.timeout)
        if rerank:
            form.addRow("Scores the server returns", self.scores)
        if current is not None:
            self.enabled.setChecked(True)
            self.format.setCurrentIndex(max(0, self.format.findData(current.format)))
            self.url.setText(current.url)
            self.model.setText(current.model)
            self.api_key.setText(current.api_key)
            self.timeout.setValue(current.timeout_s)
            self.scores.setCurrentIndex(max(0, self.scores.findData(current.scores)))

    def endpoint(self) -> Endpoint | None:
        """The endpoint as filled in, None when off. Raises ValueError saying what is wrong."""
        if not self.enabled.isChecked():
            return None
        return Endpoint(
            format=str(self.format.currentData()),
            url=self.url.text().strip(),
            model=self.model.text().strip(),
            api_key=self.api_key.text().strip(),
            timeout_s=round(self.timeout.value(), 1),
            scores=str(self.scores.currentData()),
        ).checked()


class EndpointsPage(QWidget):
    def __init__(self, reranker: Endpoint | None, embedder: Endpoint | None) -> None:
        super().__init__()
        note = QLabel(
            "Optional: a reranker or an embedding model on a server. The passages and queries of your "
            "searches are sent to the server named here, and nowhere else. If the reranker does not answer "
            "in time, or answers wrongly, results keep their first-stage order with a notice. Changing the "
            "embeddings endpoint re-indexes your folders."
        )
        note.setWordWrap(True)
        self.reranker = EndpointForm("Reranker endpoint", RERANK_FORMATS, reranker, rerank=True)
        self.embedder = EndpointForm("Embeddings endpoint (OpenAI-compatible)", EMBED_FORMATS, embedder, rerank=False)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #a33;")
        self.problem.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.reranker)
        layout.addWidget(self.embedder)
        layout.addWidget(self.problem)
        layout.addStretch(1)

    def show_problem(self, message: str) -> None:
        self.problem.setText(message)
        self.problem.setVisible(True)
