"""A reranker and embeddings server on 127.0.0.1 for the remote endpoint tests, speaking the
TEI, Cohere or llama-server rerank format and OpenAI's embeddings format, as the real servers
reply (results best first, each with the ``index`` of its document in the request).

Scores and vectors come from plain functions of the words, so a test can compute what the
server must have said. It can misbehave on purpose: sleep past a timeout, answer with bad
JSON, the wrong shape, the wrong count, or HTTP 500."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSION = 64
FAULTS = ("sleep", "bad-json", "wrong-shape", "wrong-count", "http-500")


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def overlap(query: str, document: str) -> float:
    """The test reranker's logit: shared words minus 2 (negative for unrelated text)."""
    return float(len(words(query) & words(document))) - 2.0


def probability(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def vector(text: str) -> list[float]:
    """The test embedder: each word adds ±1 to a bucket picked by its hash."""
    out = [0.0] * DIMENSION
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        out[digest[0] % DIMENSION] += 1.0 if digest[1] % 2 else -1.0
    return out if any(out) else [1.0] + [0.0] * (DIMENSION - 1)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class EndpointServer:
    """Start with ``with EndpointServer("tei") as server``; ``server.url`` is its address."""

    format: str
    fault: str = ""
    sleep_s: float = 3.0
    scorer: Callable[[str, str], float] = overlap
    """The reranker's logit for (query, document)."""
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK wait

            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                server.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, payload = server.answer(self.path, body)
                if server.fault == "sleep":
                    time.sleep(server.sleep_s)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    if 300 <= status < 400:
                        self.send_header("Location", "http://elsewhere.invalid/rerank")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout tests)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def answer(self, path: str, body: Any) -> tuple[int, Any]:
        if self.fault == "http-500":
            return 500, {"error": "the model fell over"}
        if self.fault == "bad-json":
            return 200, b'{"results": [{"index": 0, "relevance'
        if path.endswith("/embeddings"):
            return 200, self.embeddings(body)
        return self.rerank(path, body)

    def embeddings(self, body: dict[str, Any]) -> Any:
        data = [{"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(body["input"])]
        data.reverse()  # in any order: the client must go by "index"
        if self.fault == "wrong-count":
            data = data[1:]
        if self.fault == "wrong-shape":
            return {"embeddings": [d["embedding"] for d in data]}
        return {"object": "list", "data": data, "model": body.get("model", ""), "usage": {}}

    def rerank(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        tei = self.format == "tei"
        expected = "/rerank" if tei else "/v1/rerank"
        if path != expected:
            return 404, {"error": f"no route {path}"}
        documents = body["texts"] if tei else body["documents"]
        logits = [self.scorer(body["query"], d) for d in documents]
        key = "score" if tei else "relevance_score"
        # TEI and Cohere send probabilities; llama-server sends a head's logit as it is.
        scores = logits if self.format == "llama-server" else [probability(x) for x in logits]
        results = [{"index": i, key: s} for i, s in enumerate(scores)]
        results.sort(key=lambda r: -r[key])
        if self.fault == "wrong-count":
            results = results[:-1]
        if self.fault == "wrong-shape":
            return 200, ({"scores": scores} if tei else results)
        if tei:
            return 200, results
        reply: dict[str, Any] = {"results": results}
        if self.format == "llama-server":
            reply.update(model=body.get("model", ""), object="list", usage={"prompt_tokens": 0, "total_tokens": 0})
        else:
            reply.update(id="test", meta={"billed_units": {"search_units": 1}})
        return 200, reply

    def __enter__(self) -> EndpointServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
