"""One JSON POST to an endpoint, with its API key and a timeout, through httpx2 (the HTTP
client huggingface_hub already brings: connection reuse, proxies from the environment, the
system's certificate store through truststore). Every failure becomes an EndpointError whose
message names the host and never the key."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from indexer.errors import QuarryError
from indexer.models.endpoints.config import Endpoint, redact

log = logging.getLogger(__name__)

BODY_SHOWN = 200
"""Characters of an error reply kept in the message."""


class EndpointError(QuarryError):
    """A remote endpoint failed: unreachable, too slow, an HTTP error, or a reply that is
    not what its format promises. The message names the host, never the API key."""


class EndpointTimeout(EndpointError):
    """The endpoint gave no answer in time."""


class EndpointClient:
    """Posts JSON to one endpoint. Thread-safe; the connection is kept between requests.

    Args:
        endpoint: where and how (its ``request_url``, ``api_key``, ``timeout_s``).
        what: how messages name it ('remote reranker', 'embeddings endpoint').
    """

    def __init__(self, endpoint: Endpoint, what: str) -> None:
        self.endpoint = endpoint
        self.what = what
        self._client: Any = None
        self._lock = threading.Lock()

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx2

                headers = {"Accept": "application/json"}
                if self.endpoint.api_key:
                    headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
                # retries: a refused connection is tried once more (a server restarting);
                # a request that reached the server is never sent twice.
                self._client = httpx2.Client(
                    headers=headers, transport=httpx2.HTTPTransport(retries=1), follow_redirects=False
                )
            return self._client

    def post(self, body: dict[str, Any], timeout_s: float | None = None) -> Any:
        """POST ``body`` as JSON and return the decoded JSON reply.

        Args:
            timeout_s: seconds for this request (connect, send, each read); default the
                endpoint's ``timeout_s``.

        Raises:
            EndpointTimeout: no answer within the timeout.
            EndpointError: the server could not be reached, answered an HTTP error, or sent
                something that is not JSON.
        """
        import httpx2

        seconds = self.endpoint.timeout_s if timeout_s is None else timeout_s
        where = f"{self.what} at {self.endpoint.host}"
        try:
            response = self._http().post(self.endpoint.request_url, json=body, timeout=seconds)
        except httpx2.TimeoutException:
            raise EndpointTimeout(f"the {where} gave no answer within {seconds:.3g} s") from None
        except httpx2.HTTPError as exc:
            reason = redact(str(exc) or type(exc).__name__, self.endpoint.api_key)
            raise EndpointError(f"the {where} could not be reached ({reason})") from None
        if response.status_code >= 300:
            text = redact(response.text[:BODY_SHOWN].strip(), self.endpoint.api_key)
            hint = " — check the API key" if response.status_code in (401, 403) else ""
            if response.is_redirect:  # not followed: the key goes to the host named, no other
                hint = f" — a redirect to {response.headers.get('location', '?')}: set that URL instead"
                text = ""
            raise EndpointError(
                f"the {where} answered HTTP {response.status_code}{hint}" + (f": {text}" if text else "")
            )
        try:
            return json.loads(response.content)
        except ValueError:
            raise EndpointError(f"the {where} answered with something that is not JSON") from None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
