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
        """Show ``result``. A refinement of the result shown (the same query, the same
        passages in a new order: the reranked list) moves the rows instead of resetting the
        model, so the view's current row and selection follow their passage and no
        ``currentChanged`` fires; anything else resets the model."""
        if result is not None and self.is_refinement(result):
            place = {h.chunk_id: n for n, h in enumerate(result.hits)}
            old = [h.chunk_id for h in self.hits]
            self.layoutAboutToBeChanged.emit()
            persistent = self.persistentIndexList()
            self.result, self.hits, self.reranked = result, list(result.hits), reranked
            self.changePersistentIndexList(
                persistent, [self.index(place[old[i.row()]], i.column()) for i in persistent]
            )
            self.layoutChanged.emit()
            return
        self.beginResetModel()
        self.result = result
        self.hits = list(result.hits) if result else []
        self.reranked = reranked
        self.endResetModel()

    def is_refinement(self, result: SearchResult) -> bool:
        """Whether ``result`` holds exactly the passages shown now, for the same query."""
        if self.result is None or result.query != self.result.query or len(result.hits) != len(self.hits):
            return False
        shown = {h.chunk_id for h in self.hits}
        return len(shown) == len(self.hits) and shown == {h.chunk_id for h in result.hits}

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
