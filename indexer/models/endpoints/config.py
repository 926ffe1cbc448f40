"""What an endpoint is: its wire format, URL, model, API key and timeout, as the settings
hold it. No HTTP here (indexer.models.endpoints.http sends the requests).

The API key is the one secret Quarry keeps: it is left out of ``repr`` (so a logged or
printed settings object never shows it) and out of ``export`` (what Quarry shows or copies
of its settings); only the settings file itself holds it, written readable by its owner only."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

RERANK_FORMATS = {"tei": "TEI", "cohere": "Cohere", "llama-server": "llama-server"}
"""Reranker wire formats, by the name the settings use, with the name people know."""
EMBED_FORMATS = {"openai": "OpenAI-compatible"}
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 600.0

SCORE_SCALES = ("", "probability", "logit")
"""What a reranker endpoint's numbers are: '' the format's usual ('probability' for TEI,
which applies the sigmoid itself unless asked for raw scores, and for Cohere; 'logit' for
llama-server, which returns a cross-encoder head's logit as it is, but P(yes) for a
Qwen3-style reranker, so such a server is set to 'probability')."""
_USUAL_SCALE = {"tei": "probability", "cohere": "probability", "llama-server": "logit"}

_PATHS = {"tei": "/rerank", "cohere": "/v1/rerank", "llama-server": "/v1/rerank", "openai": "/v1/embeddings"}
"""The path each format is served at when the URL names only the server."""

REDACTED = "(set)"
"""What an export shows in place of an API key that is set."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A remote reranker or embeddings endpoint.

    Attributes:
        format: one of RERANK_FORMATS or EMBED_FORMATS.
        url: ``http(s)://host[:port][/path]``; a bare server gets the format's usual path
            (``/rerank`` for TEI, ``/v1/rerank`` for Cohere and llama-server,
            ``/v1/embeddings``), a base such as ``https://api.example.com/v1`` gets the last
            part (``/rerank`` or ``/embeddings``), a URL ending in it is used as it is.
        model: the model name sent with each request ('' sends none where the format allows).
        api_key: sent as ``Authorization: Bearer <key>``; '' sends no header.
        timeout_s: how long one request may take, seconds.
        scores: for rerankers, SCORE_SCALES.
    """

    format: str
    url: str
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    scores: str = ""

    @property
    def kind(self) -> str:
        """'reranker' or 'embedder'."""
        return "embedder" if self.format in EMBED_FORMATS else "reranker"

    def checked(self) -> Endpoint:
        """Raise ValueError, with a message for people, when a value is unusable."""
        formats = EMBED_FORMATS if self.kind == "embedder" else RERANK_FORMATS
        if self.format not in formats:
            known = ", ".join(RERANK_FORMATS | EMBED_FORMATS)
            raise ValueError(f"endpoint format must be one of {known}, not {self.format!r}")
        parts = urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the {self.kind} endpoint URL must start with http:// or https:// and name a server")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"the {self.kind} endpoint URL has a bad port ({exc})") from None
        if not (isinstance(self.timeout_s, int | float) and math.isfinite(self.timeout_s)):
            raise ValueError("the endpoint timeout must be a number of seconds")
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(f"the endpoint timeout must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds")
        if self.scores not in SCORE_SCALES:
            raise ValueError(f"endpoint scores must be one of {', '.join(s for s in SCORE_SCALES if s)}")
        if any(c in self.api_key for c in "\r\n"):
            raise ValueError("the API key holds a line break")
        return self

    @property
    def host(self) -> str:
        """``host[:port]`` without any user name or password in the URL: what logs and labels show."""
        parts = urlsplit(self.url.strip())
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        return f"{host}:{parts.port}" if parts.port else host

    @property
    def request_url(self) -> str:
        """Where requests go (see ``url``)."""
        url = self.url.strip().rstrip("/")
        parts = urlsplit(url)
        usual = _PATHS[self.format]
        last = usual.rsplit("/", 1)[1]
        path = parts.path
        if not path:
            return url + usual
        if path.rsplit("/", 1)[-1] == last:
            return url
        return f"{url}/{last}"

    @property
    def scale(self) -> str:
        """'probability' or 'logit': how to read a reranker endpoint's numbers."""
        return self.scores or _USUAL_SCALE.get(self.format, "probability")

    @property
    def identity(self) -> str:
        """What scores or vectors depend on (format, URL, model); never the key."""
        return f"{self.format}|{self.request_url}|{self.model}"

    def describe(self) -> str:
        """'<model> at <host>' for people."""
        return f"{self.model or self.format} at {self.host}"

    def to_dict(self) -> dict[str, Any]:
        """Everything, the key included: for the settings file only (use ``export`` elsewhere)."""
        return asdict(self)

    def export(self) -> dict[str, Any]:
        """What may be shown or copied: the key replaced by REDACTED when set."""
        data = asdict(self)
        data["api_key"] = REDACTED if self.api_key else ""
        return data

    @classmethod
    def from_dict(cls, data: Any, kind: str) -> Endpoint:
        """Read a settings value; ValueError when it is not a usable ``kind`` endpoint."""
        if not isinstance(data, dict):
            raise ValueError(f"the {kind} endpoint setting must be an object")
        names = {"format", "url", "model", "api_key", "timeout_s", "scores"}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"the {kind} endpoint setting has unknown keys: {', '.join(sorted(unknown))}")
        for key in ("format", "url", "model", "api_key", "scores"):
            if key in data and not isinstance(data[key], str):
                raise ValueError(f"the {kind} endpoint's {key} must be a string")
        timeout = data.get("timeout_s", DEFAULT_TIMEOUT_S)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ValueError(f"the {kind} endpoint's timeout_s must be a number")
        if "format" not in data or "url" not in data:
            raise ValueError(f"the {kind} endpoint setting needs a format and a url")
        endpoint = cls(**{**data, "timeout_s": float(timeout)}).checked()
        if endpoint.kind != kind:
            raise ValueError(f"{endpoint.format!r} is not a {kind} endpoint format")
        return endpoint


def redact(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` replaced (a server may echo a header back)."""
    return text.replace(secret, "***") if secret else text
