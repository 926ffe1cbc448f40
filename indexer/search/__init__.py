"""Search: first stage (BM25 + vectors), rerank and final ranking, snippets, the topic check, page preview, evaluation."""
