"""Remote endpoints: an optional reranker (TEI, Cohere or llama-server format) and an
optional OpenAI-compatible embeddings endpoint, in place of the local GGUF models.

Nothing here runs unless the settings name an endpoint; then the configured host is the
only one Quarry talks to besides a model download you ask for."""

from indexer.models.endpoints.config import EMBED_FORMATS, RERANK_FORMATS, Endpoint
from indexer.models.endpoints.http import EndpointError, EndpointTimeout

__all__ = ["EMBED_FORMATS", "RERANK_FORMATS", "Endpoint", "EndpointError", "EndpointTimeout"]
