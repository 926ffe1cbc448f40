"""Rerank throughput, side by side: Quarry's llama.cpp reranker (the GGUF the app picks from
../shared/models, loaded as the app loads it) against sentence-transformers' CrossEncoder
(PyTorch, CPU, float32) and onnxruntime (the same weights exported to ONNX), on ~224-token
(query, passage) pairs from SciFact. All run in this process, taking turns run by run, so
their ratios come from the same machine state. Prints a table, or with --json one object:
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

from benchmarks.common import MODELS, RERANKER, SHARED, default_reranker, machine, median, table

HF_DIR = MODELS / "quarry-test-reranker-minilm-l6-hf"
QUERY = "Vitamin D supplementation reduces the risk of fractures in older adults."
PAIR_TOKENS = 224
BATCH = 16
"""Pairs per forward pass for PyTorch and onnxruntime (their fastest on this CPU among 1, 8, 16, 32)."""


def load_pairs(n: int, tokens: int = PAIR_TOKENS) -> tuple[str, list[str], float]:
    """The claim, n SciFact abstracts each cut so that the pair is about ``tokens`` word
    pieces with [CLS] and the two [SEP]s (counted with the reranker's own tokenizer), and
    the pairs' mean length in tokens."""
    from indexer.models.gguf_info import read_info  # noqa: F401 - fail early if the package is broken
    from indexer.runtime.llama import LlamaModel

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
    query_tokens = len(model.tokenize(QUERY))
    mean = sum(query_tokens + len(model.tokenize(d)) + 3 for d in docs) / len(docs)
    model.release()
    return QUERY, docs, mean


Runner = tuple[Callable[[], object], Callable[[], None]]
"""One engine, loaded and warm: (score all pairs once, release)."""


def quarry_runner(
    query: str,
    docs: list[str],
    path: Path,
    tuned_dir: Path | None,
    lanes: int | None = None,
    per_decode: int | None = None,
) -> Runner:
    """Quarry's Reranker as the app builds it (tuned_dir set, lanes and pairs per decode
    left to the defaults), or with the given overrides."""
    from benchmarks.common import start_worker
    from indexer.models.rerank import Reranker
    from indexer.models.score_cache import ScoreCache

    worker, placement = start_worker()
    reranker = Reranker(
        path,
        placement,
        pairs_per_decode=per_decode,
        cache=ScoreCache(0),
        lanes=lanes,
        tuned_dir=tuned_dir,
        worker=worker,
    )

    def close() -> None:
        reranker.close()
        worker.close()  # type: ignore[attr-defined]

    return (lambda: reranker.score(query, docs)), close


def quarry_variants(path: Path, tuned_dir: Path, extra: bool) -> dict[str, dict]:
    """Name -> Reranker arguments. The first is what the app runs."""
    variants = {"quarry (app default)": {"path": path, "tuned_dir": tuned_dir}}
    if extra:
        variants[f"quarry {path.stem.rsplit('-', 1)[-1]} as is, 2 lanes"] = {"path": path, "tuned_dir": None}
        variants[f"quarry {path.stem.rsplit('-', 1)[-1]} as is, 1 context, 2 per decode"] = {
            "path": path,
            "tuned_dir": None,
            "lanes": 1,
            "per_decode": 2,
        }
        if path != RERANKER:
            variants[f"quarry {RERANKER.stem.rsplit('-', 1)[-1]}, 2 lanes"] = {"path": RERANKER, "tuned_dir": None}
    return variants


def interleaved(runners: dict[str, Runner], pairs: int, repeats: int) -> dict[str, float]:
    """Median pairs/s per engine, taking turns run by run so that a noisy spell on a shared
    machine hits every engine alike. Each runs once first (allocation, kernel choice)."""
    for run, _ in runners.values():
        run()
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, (run, _) in runners.items():
            time.sleep(0.2)  # let another engine's spinning threads go idle
            start = time.perf_counter()
            run()
            rates[name].append(pairs / (time.perf_counter() - start))
    return {name: median(values) for name, values in rates.items()}


def side_by_side(
    measured: dict[str, float], others: list[str], notes: dict[str, str], batch: int
) -> tuple[dict[str, float], dict[str, float | None], dict[str, float], list[list[str]]]:
    """From ``interleaved``'s rates ("quarry (app default)" and other "quarry …" variants, then
    the comparison engines named in ``others``): (Quarry's variants, the rate per engine,
    Quarry's ratio to each, table rows; a missing engine's row gives its note)."""
    variants = {k: v for k, v in measured.items() if k.startswith("quarry")}
    rates: dict[str, float | None] = {"quarry": measured["quarry (app default)"]}
    rates.update({name: measured.get(name) for name in others})
    ratios = {f"quarry/{k}": rates["quarry"] / v for k, v in rates.items() if k != "quarry" and v}  # type: ignore[operator]
    rows = [[name, f"{rate:.1f}", ""] for name, rate in variants.items()]
    for name in others:
        value = rates[name]
        ratio = f"quarry is {ratios[f'quarry/{name}']:.2f}x" if value else notes.get(name, "")
        rows.append([f"{name} (batch {batch})", f"{value:.1f}" if value else "-", ratio])
    return variants, rates, ratios, rows


def sentence_transformers_runner(query: str, docs: list[str]) -> Runner:
    import torch
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(os.cpu_count() or 1)
    model = CrossEncoder(str(HF_DIR), max_length=512, device="cpu")
    model.model.float()  # stored as float16 to save space; its config says float32
    pairs = [(query, d) for d in docs]
    return (lambda: model.predict(pairs, batch_size=BATCH, show_progress_bar=False)), lambda: None


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


def onnxruntime_runner(query: str, docs: list[str]) -> Runner:
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
            session.run(None, {k: batch[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")})

    return run, lambda: None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--variants", action="store_true", help="also run Quarry without its CPU tuning")
    parser.add_argument("--only-quarry", action="store_true", help="skip PyTorch and onnxruntime")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    query, docs, mean_tokens = load_pairs(args.pairs)
    chosen = default_reranker()
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tuned:
        runners: dict[str, Runner] = {}
        for name, kwargs in quarry_variants(chosen, Path(tuned), args.variants).items():
            runners[name] = quarry_runner(query, docs, **kwargs)
        others = {"sentence_transformers": sentence_transformers_runner, "onnxruntime": onnxruntime_runner}
        for name, make in ({} if args.only_quarry else others).items():
            try:
                runners[name] = make(query, docs)
            except ImportError as exc:
                notes[name] = f"not installed ({exc.name}); run make bench-deps"
        measured = interleaved(runners, len(docs), args.repeats)
        for _, close in runners.values():
            close()
    names = [] if args.only_quarry else list(others)
    variants, rates, ratios, rows = side_by_side(measured, names, notes, BATCH)
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
    print(
        f"Rerank throughput, {len(docs)} pairs of ~{mean_tokens:.0f} tokens, median of {args.repeats} interleaved runs"
    )
    print(f"Machine: {machine()}; app default reranker file: {chosen.name}\n")
    print(table(["engine", "pairs/s", "ratio"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
