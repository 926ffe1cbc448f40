"""The probe: a tiny random-weight BERT GGUF and a short decode through it, run in a
child process with one CPU variant loaded (indexer.runtime.variants).

The model holds the weight types real work multiplies (q8_0 like the embedder, bf16 like
the reranker's CPU copy, f16 like a reranker file as shipped) at widths every kernel
family accepts (multiples of 256), and the decode uses the batch shapes of real work (one
short query, one long passage, several sequences at once) on a thread other than the main
one with two threads per context, as the worker runs them: the AMX fault llama.cpp's
sapphirerapids variant shows on some Xeons happens only in helper threads.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PROBE_VERSION = 1
"""Part of the model's file name: a change to the model below makes a new file."""
_WIDTH, _FFN, _HEADS, _CONTEXT, _VOCAB = 256, 512, 4, 512, 128
_LAYER_TYPES = ("Q8_0", "BF16", "F16")
"""One layer per weight type: q8_0 (quantised embedders, and AMX's int8 path), bf16, f16."""


def probe_model_path(folder: Path | None = None) -> Path:
    """The probe model, written once (about 1.5 MB) into the cache folder or a temp folder."""
    import tempfile

    from indexer.runtime.variants import default_cache_dir

    base = folder or default_cache_dir()
    path = base / f"quarry-probe-v{PROBE_VERSION}.gguf"
    if path.exists():
        return path
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        base = Path(tempfile.gettempdir())
        path = base / f"quarry-probe-v{PROBE_VERSION}.gguf"
    write_probe_model(path)
    return path


def write_probe_model(path: Path) -> None:
    """Write the probe BERT (random weights, seed 0) to ``path`` atomically."""
    import os

    import gguf

    rng = np.random.default_rng(0)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    writer = gguf.GGUFWriter(str(partial), "bert")
    writer.add_name("quarry CPU variant probe")
    writer.add_context_length(_CONTEXT)
    writer.add_embedding_length(_WIDTH)
    writer.add_feed_forward_length(_FFN)
    writer.add_block_count(len(_LAYER_TYPES))
    writer.add_head_count(_HEADS)
    writer.add_layer_norm_eps(1e-12)
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_token_type_count(2)
    writer.add_tokenizer_model("bert")
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"t{i}" for i in range(_VOCAB - 5)]
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t.startswith("[") else 1 for t in tokens])
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(3)
    writer.add_unk_token_id(1)
    writer.add_sep_token_id(3)
    writer.add_pad_token_id(0)
    writer.add_mask_token_id(4)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)

    def f32(*shape: int, scale: float = 0.05) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def weight(name: str, rows: int, cols: int, kind: str) -> None:
        data = f32(rows, cols)
        qtype = gguf.GGMLQuantizationType[kind]
        if kind == "F16":
            writer.add_tensor(name, data.astype(np.float16))
        else:
            writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    writer.add_tensor("token_embd.weight", f32(_VOCAB, _WIDTH, scale=0.5))
    writer.add_tensor("token_types.weight", f32(2, _WIDTH))
    writer.add_tensor("position_embd.weight", f32(_CONTEXT, _WIDTH))
    writer.add_tensor("token_embd_norm.weight", np.ones(_WIDTH, np.float32))
    writer.add_tensor("token_embd_norm.bias", np.zeros(_WIDTH, np.float32))
    for layer, kind in enumerate(_LAYER_TYPES):
        blk = f"blk.{layer}"
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            weight(f"{blk}.{part}.weight", _WIDTH, _WIDTH, kind)
            writer.add_tensor(f"{blk}.{part}.bias", f32(_WIDTH))
        weight(f"{blk}.ffn_up.weight", _FFN, _WIDTH, kind)
        writer.add_tensor(f"{blk}.ffn_up.bias", f32(_FFN))
        weight(f"{blk}.ffn_down.weight", _WIDTH, _FFN, kind)
        writer.add_tensor(f"{blk}.ffn_down.bias", f32(_WIDTH))
        for norm in ("attn_output_norm", "layer_output_norm"):
            writer.add_tensor(f"{blk}.{norm}.weight", np.ones(_WIDTH, np.float32))
            writer.add_tensor(f"{blk}.{norm}.bias", np.zeros(_WIDTH, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(partial, path)


def probe_batches() -> dict[str, list[list[int]]]:
    """Token sequences shaped like real work: a query, a passage, a batch of pairs."""
    rng = np.random.default_rng(1)

    def sequence(n: int) -> list[int]:
        return [2, *(int(t) for t in rng.integers(5, _VOCAB, n - 2)), 3]

    return {
        "query": [sequence(8)],
        "passage": [sequence(250)],
        "pairs": [sequence(120), sequence(96), sequence(64), sequence(40)],
    }


def run_probe(variant: str, model: str) -> dict[str, list[list[float]]]:
    """In the child (QUARRY_CPU_VARIANT_PATH names ``variant``): decode every probe batch
    on a helper thread and return the L2-normalised pooled outputs as lists."""
    from indexer.runtime.llama import LlamaModel

    outputs: dict[str, list[list[float]]] = {}
    failure: list[BaseException] = []

    def work() -> None:
        try:
            for name, sequences in probe_batches().items():
                llm = LlamaModel(Path(model), n_seq_max=len(sequences), n_ctx=256, n_threads=2)
                try:
                    out = llm.decode(sequences)
                finally:
                    llm.release()
                norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
                outputs[name] = (out / norms).tolist()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the probe's main thread
            failure.append(exc)

    thread = threading.Thread(target=work, name="quarry-probe")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    log.debug("probe of %s done", variant)
    return outputs
