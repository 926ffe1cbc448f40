"""A list model over search hits for the results view."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from indexer.types import Hit, SearchResult

HitRole = Qt.ItemDataRole.UserRole + 1


class HitsModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self.hits: list[Hit] = []
        self.result: SearchResult | None = None
        self.reranked = False

    def set_result(self, result: SearchResult | None, reranked: bool) -> None:
        self.beginResetModel()
        self.result = result
        self.hits = list(result.hits) if result else []
        self.reranked = reranked
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.hits):
            return None
        hit = self.hits[index.row()]
        if role == HitRole:
            return hit
        if role == Qt.ItemDataRole.DisplayRole:
            page = f", {hit.where}" if hit.where else ""
            score = "not reranked" if hit.score is None else f"{hit.score:.2f}"
            return f"{hit.rank}. {hit.path}{page} ({score})"
        if role == Qt.ItemDataRole.ToolTipRole:
            return hit.path
        return None
