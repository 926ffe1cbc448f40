"""Rerank throughput, side by side: Quarry's llama.cpp reranker (GGUF q8_0) against
sentence-transformers' CrossEncoder (PyTorch, CPU, float32) and onnxruntime (the same
weights exported to ONNX), on ~224-token (query, passage) pairs from SciFact. All three
run in this process, one after the other, so their ratios come from the same machine
state. Prints a table, or with --json one object:
{"pairs_per_s": {"quarry": …, "sentence_transformers": …, "onnxruntime": …}, "ratios": …}.

The comparison engines need `make bench-deps` (torch 2.13.0 CPU, sentence-transformers,
onnxruntime, onnx); without them their rows say "not installed"."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import MODELS, RERANKER, SHARED, machine, median, table

HF_DIR = MODELS / "quarry-test-reranker-minilm-l6-hf"
QUERY = "Vitamin D supplementation reduces the risk of fractures in older adults."
PAIR_TOKENS = 224
BATCH = 16
"""Pairs per forward pass for PyTorch and onnxruntime (their fastest on this CPU among 1, 8, 16, 32)."""


def load_pairs(n: int, tokens: int = PAIR_TOKENS) -> tuple[str, list[str]]:
    """The claim and n SciFact abstracts, each cut so that the pair is about ``tokens``
    word pieces with [CLS] and the two [SEP]s (counted with the reranker's own tokenizer)."""
    from indexer.gguf_info import read_info  # noqa: F401 - fail early if the package is broken
    from indexer.llm import LlamaModel

    model = LlamaModel(RERANKER, n_threads=1)
    budget = tokens - len(model.tokenize(QUERY)) - 3
    docs: list[str] = []
    with (SHARED / "data" / "scifact" / "corpus.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            words = f"{row['title']}\n{row['text']}".split()
            if len(model.tokenize(" ".join(words))) < budget:
                continue
            while len(model.tokenize(" ".join(words))) > budget:
                words = words[: max(1, len(words) - max(1, (len(model.tokenize(" ".join(words))) - budget) // 2))]
            docs.append(" ".join(words))
            if len(docs) == n:
                break
    model.close()
    return QUERY, docs


def timed(run: Callable[[], object], pairs: int, repeats: int) -> float:
    run()  # warm-up: first calls allocate and pick kernels
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        rates.append(pairs / (time.perf_counter() - start))
    return median(rates)


def default_reranker() -> Path:
    """The reranker file the app picks from ../shared/models (models.pick)."""
    from indexer.models import find_models, pick

    return pick(find_models([MODELS]), "reranker")


def bench_quarry(query: str, docs: list[str], per_decode: int, repeats: int, path: Path) -> tuple[float, float]:
    from indexer.hardware import detect, place
    from indexer.rerank import Reranker
    from indexer.score_cache import ScoreCache

    reranker = Reranker(path, place(detect()), pairs_per_decode=per_decode, cache=ScoreCache(0))
    tokens = [len(reranker._pair_tokens(reranker.model.tokenize(query), d)) for d in docs]
    rate = timed(lambda: reranker.score(query, docs), len(docs), repeats)
    reranker.close()
    return rate, sum(tokens) / len(tokens)


def bench_sentence_transformers(query: str, docs: list[str], repeats: int) -> float:
    import torch
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(os.cpu_count() or 1)
    model = CrossEncoder(str(HF_DIR), max_length=512, device="cpu")
    model.model.float()  # stored as float16 to save space; its config says float32
    pairs = [(query, d) for d in docs]
    return timed(lambda: model.predict(pairs, batch_size=BATCH, show_progress_bar=False), len(pairs), repeats)


def export_onnx(folder: Path) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(HF_DIR), torch_dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(HF_DIR))
    sample = tokenizer(["a query"], ["a passage"], return_tensors="pt")
    path = folder / "reranker.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        str(path),
        input_names=names,
        output_names=["logits"],
        dynamic_axes={**axes, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    return path


def bench_onnxruntime(query: str, docs: list[str], repeats: int) -> float:
    import numpy as np
    import onnxruntime as ort
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(HF_DIR))
    with tempfile.TemporaryDirectory() as folder:
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(export_onnx(Path(folder))), options, providers=["CPUExecutionProvider"])

        def run() -> None:
            for start in range(0, len(docs), BATCH):
                batch = tokenizer(
                    [query] * len(docs[start : start + BATCH]),
                    docs[start : start + BATCH],
                    padding=True,
                    truncation=True,
                    max_length=512,
                    return_tensors="np",
                )
                session.run(
                    None, {k: batch[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
                )

        return timed(run, len(docs), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--per-decode", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--only-quarry", action="store_true", help="skip PyTorch and onnxruntime")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    query, docs = load_pairs(args.pairs)
    variants: dict[str, float] = {}
    mean_tokens = 0.0
    chosen = default_reranker()
    for per in args.per_decode:
        rate, mean_tokens = bench_quarry(query, docs, per, args.repeats, chosen)
        variants[f"quarry {chosen.stem.rsplit('-', 1)[-1]} ({per} per decode)"] = rate
    rates: dict[str, float | None] = {"quarry": max(variants.values())}
    if chosen != RERANKER and not args.only_quarry:
        rate, _ = bench_quarry(query, docs, 2, args.repeats, RERANKER)
        variants[f"quarry {RERANKER.stem.rsplit('-', 1)[-1]} (2 per decode)"] = rate
    notes: dict[str, str] = {}
    if not args.only_quarry:
        for name, bench in (("sentence_transformers", bench_sentence_transformers), ("onnxruntime", bench_onnxruntime)):
            try:
                rates[name] = bench(query, docs, args.repeats)
            except ImportError as exc:
                rates[name], notes[name] = None, f"not installed ({exc.name}); run make bench-deps"
    ratios = {f"quarry/{k}": rates["quarry"] / v for k, v in rates.items() if k != "quarry" and v}  # type: ignore[operator]
    if args.json:
        out = {
            "pairs_per_s": rates,
            "ratios": ratios,
            "variants": variants,
            "mean_pair_tokens": mean_tokens,
            "pairs": len(docs),
            "notes": notes,
            "machine": machine(),
        }
        print(json.dumps(out))
        return 0
    print(f"Rerank throughput, {len(docs)} pairs of ~{mean_tokens:.0f} tokens, median of {args.repeats} runs")
    print(f"Machine: {machine()}\n")
    rows = [[name, f"{rate:.1f}", ""] for name, rate in variants.items()]
    for name in ("sentence_transformers", "onnxruntime"):
        if name in rates:
            value = rates[name]
            ratio = f"quarry is {ratios[f'quarry/{name}']:.2f}x" if value else notes.get(name, "")
            rows.append([f"{name} (batch {BATCH})", f"{value:.1f}" if value else "-", ratio])
    print(table(["engine", "pairs/s", "ratio"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
