"""`quarry mcp`: the index as a Model Context Protocol server, for agents.

Built on the official MCP Python SDK (``mcp.server.mcpserver.MCPServer``) over the same
:class:`~indexer.engine.Engine` and :class:`~indexer.search.searcher.Searcher` the window and
`quarry search` use; hits have the shape of `quarry search --json` (app.cli.result_json).

Safe by default: read-only unless started with ``allow_index``; only documents in the index,
under its folders, are read (from the index, never from the file); a ``..``, a symlink out or
any other path outside them is a tool error. Bad arguments are tool errors too (the SDK checks
each call against the tool's JSON schema). A rerank that runs past the deadline leaves the
rest of the hits in first-stage order, with a note.

The store opens LanceDB with read_consistency_interval 0, so each call sees what a window or
a `quarry index` run committed since; index.json (the folders) is read again on each call.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import threading
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from indexer.engine import Engine
from indexer.search.searcher import SearchOptions
from indexer.store.lance import DocumentRecord, StoredChunk
from indexer.types import ordinal_of, where

log = logging.getLogger("quarry.mcp")

PASSAGE_ID = re.compile(r"^[0-9a-f]{16}-\d{5,}$")
MAX_NEIGHBOURS = 5
TOKEN_FILE = "mcp-token"


class Library:
    """What the tools do, over one Engine; each method returns a JSON-ready dict and raises
    mcp's ToolError for anything the caller got wrong (an unknown passage, a path outside
    the indexed folders, an index run while read-only)."""

    def __init__(self, engine: Engine, options: SearchOptions, allow_index: bool = False) -> None:
        self.engine = engine
        self.store = engine.store
        self.options = options
        self.allow_index = allow_index
        self._indexing = threading.Lock()

    # -- tools -------------------------------------------------------------------
    def search(self, query: str, k: int = 10, folder: str | None = None, rerank: bool = True) -> dict[str, Any]:
        from app.cli import result_json

        root = self._root(folder) if folder else None
        options = replace(self.options, k=k if root is None else max(k, self.options.candidates), rerank=rerank)
        result = self.engine.searcher.search(query, options)
        found = result_json(result)
        if root is not None:  # the first stage runs over every folder; keep the hits under this one
            found["hits"] = [h for h in found["hits"] if _under(Path(h["path"]), root)][:k]
            for rank, hit in enumerate(found["hits"], start=1):
                hit["rank"] = rank
        found["folder"] = str(root) if root else None
        return found

    def read_passage(self, passage_id: str, neighbours: int = 0) -> dict[str, Any]:
        if not PASSAGE_ID.match(passage_id):
            raise _error(f"not a passage id: {passage_id!r} (ids look like '3f2a9c0d1e2b4a5f-00007')")
        doc_id, ordinal = passage_id.rsplit("-", 1)[0], ordinal_of(passage_id)
        chunks = self.store.chunks_of(doc_id, range(max(0, ordinal - neighbours), ordinal + neighbours + 1))
        if not any(c.chunk_id == passage_id for c in chunks):
            raise _error(f"no passage {passage_id} in the index (re-indexed since? search again)")
        return {"passage_id": passage_id, "passages": [_passage(c, c.chunk_id == passage_id) for c in chunks]}

    def read_page(self, path: str, page: int | None = None) -> dict[str, Any]:
        record = self._document(path)
        if page is None:
            if record.pages > 1:
                raise _error(f"{record.path} has {record.pages} pages: say which (1..{record.pages})")
            chunks = self.store.page_chunks(record.doc_id, None) or self.store.page_chunks(record.doc_id, 1)
        elif not 1 <= page <= max(record.pages, 1):
            raise _error(f"{record.path} has pages 1..{record.pages}, not {page}")
        else:
            chunks = self.store.page_chunks(record.doc_id, page)
        text, covered = "", 0
        for c in chunks:  # passages overlap: each adds what the ones before did not cover
            if c.end > covered:
                text += c.text[max(0, covered - c.start) :]
                covered = c.end
        return {
            "path": record.path,
            "page": page,
            "page_label": where(page, chunks[0].location) if chunks else where(page, ""),
            "pages": record.pages,
            "text": text,
            "passage_ids": [c.chunk_id for c in chunks],
        }

    def list_folders(self) -> dict[str, Any]:
        self.store.reload_meta()
        counts = self.store.folder_counts()
        return {"folders": [{"path": r, "documents": d, "passages": p} for r, (d, p) in counts.items()]}

    def status(self) -> dict[str, Any]:
        self.store.reload_meta()
        stats, counts = self.store.stats(), self.store.passage_counts()
        return {
            "documents": stats.documents,
            "skipped": stats.skipped,
            "passages": counts.passages,
            "by_keyword": counts.keyword,
            "by_meaning": counts.vectors,
            "meaning_search_ready": round(counts.vectors_ready, 4),
            "summary": counts.describe(),
            "folders": stats.roots,
            "embedder": stats.embedder,
            "reranker": self.engine.reranker.name if self.engine.reranker else None,
            "reranker_problem": self.engine.reranker_problem,
            "device": self.engine.device_label,
            "read_only": not self.allow_index,
        }

    def index_folder(self, path: str) -> dict[str, Any]:
        if not self.allow_index:
            raise _error("this server is read-only: start it with `quarry mcp --allow-index` to index folders")
        if ".." in Path(path).parts or not Path(path).is_absolute():
            raise _error(f"give the folder as an absolute path without '..': {path!r}")
        folder = Path(path).resolve()
        if not folder.is_dir():
            raise _error(f"{folder} is not a folder")
        if not self._indexing.acquire(blocking=False):
            raise _error("an index run is in progress already; try again when it ends")
        try:
            report = self.engine.indexer.run([folder])
        finally:
            self._indexing.release()
        return {
            "folder": str(folder),
            "summary": report.summary(),
            "added": len(report.added),
            "updated": len(report.updated),
            "removed": len(report.removed),
            "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
            "seconds": round(report.seconds, 2),
        }

    # -- paths -------------------------------------------------------------------
    def _roots(self) -> list[Path]:
        self.store.reload_meta()
        return [Path(r) for r in self.store.roots]

    def _root(self, folder: str) -> Path:
        """The indexed folder ``folder`` names (or lies under). Raises ToolError otherwise."""
        wanted = _checked(folder)
        for root in self._roots():
            if _under(wanted, root) or wanted == root:
                return wanted
        raise _error(f"{folder} is not under an indexed folder (list_folders says which are)")

    def _document(self, path: str) -> DocumentRecord:
        """The indexed document at ``path`` (absolute, or relative to an indexed folder).
        Raises ToolError for a path outside the indexed folders or not in the index."""
        roots = self._roots()
        tries = [Path(path)] if Path(path).is_absolute() else [root / path for root in roots]
        documents = self.store.all_documents()
        for candidate in tries:
            resolved = _checked(str(candidate))
            if any(_under(resolved, root) or resolved == root for root in roots) and str(resolved) in documents:
                return documents[str(resolved)]
        raise _error(f"{path} is not a document in the indexed folders (search finds the paths)")


def _checked(path: str) -> Path:
    """``path`` with symlinks resolved; a '..' anywhere is refused before anything is looked up."""
    if ".." in Path(path).parts:
        raise _error(f"paths with '..' are refused: {path!r}")
    return Path(path).expanduser().resolve()


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _passage(c: StoredChunk, asked: bool) -> dict[str, Any]:
    return {
        "passage_id": c.chunk_id,
        "path": c.path,
        "page": c.page,
        "page_label": where(c.page, c.location),
        "text": c.text,
        "asked": asked,
    }


def _error(message: str) -> Exception:
    from mcp.server.mcpserver.exceptions import ToolError

    return ToolError(message)


def build_server(library: Library) -> Any:
    """The MCPServer with Quarry's tools registered (index_folder only when the library
    allows indexing)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer(
        "quarry",
        instructions=(
            "Search the user's local documents (PDF, Word, HTML, text...). Use search first; then "
            "read_passage or read_page for the full text around a hit. Paths outside the indexed "
            "folders are refused."
        ),
    )
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    def search(
        query: Annotated[str, Field(description="what to look for, in words", min_length=1, max_length=2000)],
        k: Annotated[int, Field(description="hits to return", ge=1, le=100)] = 10,
        folder: Annotated[str | None, Field(description="only hits under this indexed folder")] = None,
        rerank: Annotated[bool, Field(description="re-score with the cross-encoder (better order, slower)")] = True,
    ) -> dict[str, Any]:
        """Search the indexed documents: keyword (BM25) and meaning (vectors), reranked by a
        cross-encoder. Returns hits best first, each with path, page and location (page label),
        passage_id, score (0..1), snippet; 'method' says what ran, 'readiness' how much of the
        index meaning search reaches, 'notice' anything that fell back (a rerank deadline)."""
        return library.search(query, k, folder, rerank)

    @server.tool(annotations=read_only)
    def read_passage(
        passage_id: Annotated[str, Field(description="a hit's passage_id")],
        neighbours: Annotated[int, Field(description="passages before and after to add", ge=0, le=MAX_NEIGHBOURS)] = 0,
    ) -> dict[str, Any]:
        """The full text of one passage (a search hit), with ``neighbours`` passages either side
        in document order; 'asked' marks the one asked for."""
        return library.read_passage(passage_id, neighbours)

    @server.tool(annotations=read_only)
    def read_page(
        path: Annotated[str, Field(description="a document path as search returns it")],
        page: Annotated[
            int | None, Field(description="page number from 1; omit for a document without pages", ge=1)
        ] = None,
    ) -> dict[str, Any]:
        """The indexed text of one page of a document (from the index, as search sees it), with
        its page label and the passage ids on it."""
        return library.read_page(path, page)

    @server.tool(annotations=read_only)
    def list_folders() -> dict[str, Any]:
        """The indexed folders, with documents and passages in each."""
        return library.list_folders()

    @server.tool(annotations=read_only)
    def status() -> dict[str, Any]:
        """What is indexed: documents, passages searchable by keyword and by meaning (how
        ready meaning search is), the models, and whether this server may index."""
        return library.status()

    if library.allow_index:

        @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False))
        def index_folder(
            path: Annotated[str, Field(description="absolute path of a folder to index (or re-index)")],
        ) -> dict[str, Any]:
            """Index a folder (incremental: unchanged files are skipped) and remember it. Waits
            until the run ends; returns what was added, updated, removed and skipped."""
            return library.index_folder(path)

    return server


def write_token(folder: Path) -> tuple[Path, str]:
    """A new random bearer token written to ``folder``/mcp-token, readable by the user only
    (0600). Returns (file, token). Raises OSError when it cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    file = folder / TOKEN_FILE
    file.unlink(missing_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return file, token


class BearerAuth:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get 401."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                body = b'{"error": "missing or wrong bearer token (see the mcp-token file)"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def serve_http(server: Any, port: int, token: str) -> None:
    """Serve ``server`` over streamable HTTP at http://127.0.0.1:``port``/mcp until stopped."""
    import uvicorn

    app = BearerAuth(server.streamable_http_app(host="127.0.0.1"), token)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
