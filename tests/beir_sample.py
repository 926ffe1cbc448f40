"""A small BEIR folder cut from SciFact dev: a few queries, their relevant abstracts and
distractors, so `quarry eval` runs in CI in seconds."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SHARED

SCIFACT = SHARED / "data" / "scifact"


def make_sample(target: Path, queries: int = 8, distractors: int = 150) -> Path:
    qrels_lines = (SCIFACT / "qrels" / "dev.tsv").read_text().splitlines()
    header, rows = qrels_lines[0], [line.split("\t") for line in qrels_lines[1:]]
    chosen: list[str] = []
    for qid, _, _ in rows:
        if qid not in chosen:
            chosen.append(qid)
        if len(chosen) == queries:
            break
    kept = [r for r in rows if r[0] in chosen]
    relevant = {r[1] for r in kept}
    corpus = []
    with (SCIFACT / "corpus.jsonl").open() as handle:
        for line in handle:
            doc_id = str(json.loads(line)["_id"])
            if doc_id in relevant or len(corpus) < len(relevant) + distractors:
                corpus.append(line)
    (target / "qrels").mkdir(parents=True)
    (target / "corpus.jsonl").write_text("".join(corpus))
    (target / "qrels" / "dev.tsv").write_text("\n".join([header] + ["\t".join(r) for r in kept]) + "\n")
    with (SCIFACT / "queries.jsonl").open() as handle:
        (target / "queries.jsonl").write_text(
            "".join(line for line in handle if str(json.loads(line)["_id"]) in chosen)
        )
    return target
