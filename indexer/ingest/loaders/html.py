"""HTML to text through an HTML5 parser (Lexbor, via selectolax): the WHATWG tree-building
rules, so an omitted ``</head>``, ``<head>`` or ``<body>`` is handled as a browser handles it.
Visible text only; block elements on their own lines, inline elements joined as written."""

from __future__ import annotations

from pathlib import Path

from indexer.errors import UnsupportedFile
from indexer.ingest.loaders.charset import declared_charset, decode_bytes
from indexer.ingest.loaders.text import garbage_ratio, read_bytes
from indexer.types import LoadedDocument, Page

_SKIP = ("script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object", "canvas")
_BLOCK = frozenset(
    "address article aside blockquote body br dd details dialog div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table td th tr ul caption "
    "option legend".split()
)
_PARAGRAPH = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre table section article".split())


def html_to_text(markup: str | bytes) -> tuple[str, str]:
    """Return (title, text) of an HTML document (text, or bytes in the UTF-8 the parser assumes)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    title_node = tree.css_first("title")
    title = " ".join((title_node.text(deep=True) if title_node else "").split())
    root = tree.body
    if root is None:
        return title, ""
    root.strip_tags(list(_SKIP))
    parts: list[str] = []
    # Iterative walk (deeply nested pages would overflow recursion): ('open', node) emits the
    # node's text or its children; ('close', tag) emits the line break after a block.
    stack: list[tuple[str, object]] = [("open", root)]
    while stack:
        action, item = stack.pop()
        if action == "close":
            parts.append("\n\n" if item in _PARAGRAPH else "\n")
            continue
        node = item
        if node.is_text_node:  # type: ignore[attr-defined]
            parts.append(node.text_content or "")  # type: ignore[attr-defined]
            continue
        if not node.is_element_node:  # type: ignore[attr-defined]
            continue
        tag = node.tag  # type: ignore[attr-defined]
        if tag in _BLOCK:
            parts.append("\n\n" if tag in _PARAGRAPH else "\n")
            stack.append(("close", tag))
        elif tag in ("td", "th"):
            parts.append(" ")
        children = list(node.iter(include_text=True))  # type: ignore[attr-defined]
        stack.extend(("open", child) for child in reversed(children))
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return title, text.strip()


def load_html(path: Path) -> LoadedDocument:
    data = read_bytes(path)
    markup = decode_bytes(data, declared_charset(data))
    if garbage_ratio(markup) > 0.10:
        raise UnsupportedFile("mostly unreadable characters")
    title, text = html_to_text(markup)
    return LoadedDocument(pages=[Page(text=text, number=None)], title=title or path.stem)
