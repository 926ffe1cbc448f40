"""`quarry rerank` and `quarry models check`: score documents against a query with any
reranker file, and check that a file separates relevant from irrelevant passages."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REFUSED = 3
"""Exit status for a model file refused before use (one line on stderr says why)."""


def add_rerank_parser(sub: Any) -> None:
    p = sub.add_parser("rerank", help="score documents against a query with a reranker file")
    p.add_argument("--model", help="reranker GGUF (path or file name); default: the configured reranker")
    p.add_argument("--json", action="store_true", help="one JSON object: model, family, results in input order")
    p.add_argument("query")
    p.add_argument("documents", nargs="+", metavar="document")


def add_check_parser(models_sub: Any) -> None:
    check = models_sub.add_parser("check", help="does a reranker file separate relevant from irrelevant passages?")
    check.add_argument("file", help="reranker GGUF (path or file name)")
    check.add_argument("--json", action="store_true")


@contextmanager
def _loaded(args: argparse.Namespace, paths: Any, wanted: str | None) -> Iterator[Any]:
    """The reranker named (or configured), in an inference worker closed afterwards.
    Raises ModelInvalid when the file is refused."""
    from indexer.models.setup import ModelSetup

    with ModelSetup(paths, args.device or args.saved.device, cpu_variant=args.saved.cpu_variant or None) as setup:
        # The file itself, not a faster bf16 copy: this reports what the file scores.
        reranker = setup.reranker(wanted or args.reranker or args.saved.reranker, bf16_copy=False)
        try:
            yield reranker
        finally:
            reranker.close()


def _refused(exc: Exception) -> int:
    print(f"quarry: {exc}", file=sys.stderr)
    return REFUSED


def cmd_rerank(args: argparse.Namespace, paths: Any) -> int:
    """Print, per document in input order, the model's raw output and the 0..1 score."""
    from indexer.errors import ModelInvalid

    try:
        with _loaded(args, paths, args.model) as reranker:
            result = reranker.score(args.query, list(args.documents))
    except ModelInvalid as exc:
        return _refused(exc)
    rows = [
        {"index": i, "raw": round(raw, 6), "score": round(score, 6)}
        for i, (raw, score) in enumerate(zip(result.raw, result.scores, strict=True))
    ]
    if args.json:
        print(json.dumps({"model": reranker.name, "family": reranker.family, "results": rows}))
        return 0
    print(f"{reranker.name} ({reranker.family}), raw = {_raw_meaning(reranker)}")
    print(f"{'#':>3} {'raw':>10} {'score':>7}  document")
    for row, document in zip(rows, args.documents, strict=True):
        text = " ".join(document.split())
        print(f"{row['index']:>3} {row['raw']:>10.4f} {row['score']:>7.4f}  {text[:70]}")
    return 0


def _raw_meaning(reranker: Any) -> str:
    if reranker.family == "llm-yes-no":
        return "logit(yes) - logit(no), score = P(yes)"
    if reranker.outputs_probability:
        return "P(yes) from the rank head, score = raw"
    return "the head's logit, score = sigmoid(raw)"


def cmd_models_check(args: argparse.Namespace, paths: Any) -> int:
    """Exit 0 when the model separates the built-in pairs, 1 when it does not, 3 when refused."""
    from indexer.errors import ModelInvalid
    from indexer.models.check import check_reranker

    try:
        with _loaded(args, paths, args.file) as reranker:
            report = check_reranker(reranker)
    except ModelInvalid as exc:
        return _refused(exc)
    if args.json:
        print(
            json.dumps(
                {
                    "model": reranker.name,
                    "family": reranker.family,
                    "passed": report.passed,
                    "separated": report.separated,
                    "total": report.total,
                    "margins": [round(m, 4) for m in report.margins],
                }
            )
        )
    else:
        print(f"{reranker.name} ({reranker.family}): {report.summary()}")
    return 0 if report.passed else 1
