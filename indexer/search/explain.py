"""Why a hit is where it is, in words: the one text the window's details pane, `quarry search
--explain` and the MCP server give."""

from __future__ import annotations

from indexer.types import Hit


def explain_hit(hit: Hit) -> str:
    """Every number that placed ``hit``: its BM25 and vector ranks and similarity, the rerank
    score and topic weight, the reranker's weight in the fusion, and the shown score with its
    strength word. Plain text (escape it for HTML)."""
    bm25 = f"BM25 #{hit.bm25_rank}" if hit.bm25_rank else "not in the BM25 list"
    vector = f"vectors #{hit.vector_rank}" if hit.vector_rank else "not in the vector list"
    parts = [f"first stage #{hit.first_stage_rank} ({bm25}, {vector}; similarity {hit.first_stage_score:.3f})"]
    if hit.rerank_score is None:
        parts.append("not reranked")
    else:
        rerank = f"rerank score {hit.rerank_score:.3f}"
        if hit.topic_weight < 1.0:
            rerank += f" × topic weight {hit.topic_weight:.2f}"
        parts.append(rerank)
        parts.append(
            f"reranker's weight {hit.rerank_weight:.2f}" if hit.rerank_weight else "reranker's weight 0 (first-stage order)"
        )
    if hit.score is not None:
        parts.append(f"score {hit.score:.2f} ({hit.strength})")
    parts.append(f"shown #{hit.rank}")
    if hit.ocr:
        parts.append("text recognised by OCR from the page's image")
    return " · ".join(parts)
