"""A stand-in for the Hugging Face hub on 127.0.0.1, for download tests (HF_ENDPOINT).

It answers what huggingface_hub asks: HEAD and GET on /{repo}/resolve/{revision}/{file},
with the LFS sha256 as ETag, X-Repo-Commit, and byte ranges for resumes. Each file can
misbehave on purpose: cut the first transfer short, or stand for an HTML error page."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    body: bytes
    cut_first_at: int | None = None
    """Send only this many bytes of the first full GET, then drop the connection."""
    content_type: str = "application/octet-stream"
    etag: str | None = None
    """Defaults to the body's sha256, as the hub does for LFS files."""
    gets: list[str] = field(default_factory=list)
    """The Range header of every GET ('' for none)."""


class Hub:
    def __init__(self) -> None:
        self.files: dict[str, Served] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def _served(self) -> Served | None:
                return hub.files.get(self.path.split("?", 1)[0])

            def _headers(self, served: Served, status: int, start: int, length: int) -> None:
                self.send_response(status)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Content-Length", str(length))
                self.send_header("ETag", f'"{served.etag or hashlib.sha256(served.body).hexdigest()}"')
                self.send_header("X-Repo-Commit", "0" * 40)
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(served.body) - 1}/{len(served.body)}")
                self.end_headers()

            def do_HEAD(self) -> None:
                served = self._served()
                if served is None:
                    self.send_error(404)
                    return
                self._headers(served, 200, 0, len(served.body))

            def do_GET(self) -> None:
                served = self._served()
                if served is None:
                    self.send_error(404)
                    return
                wanted = self.headers.get("Range", "")
                served.gets.append(wanted)
                start = int(wanted.split("=", 1)[1].split("-", 1)[0]) if wanted.startswith("bytes=") else 0
                body = served.body[start:]
                self._headers(served, 206 if start else 200, start, len(body))
                if served.cut_first_at is not None and not start:
                    self.wfile.write(body[: served.cut_first_at])
                    self.wfile.flush()
                    served.cut_first_at = None
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, repo: str, filename: str, served: Served) -> Served:
        self.files[f"/{repo}/resolve/main/{filename}"] = served
        return served

    def __enter__(self) -> Hub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
