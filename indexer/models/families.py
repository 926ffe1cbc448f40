"""Reranker families: how a GGUF reranker is scored, told from its header alone, and the
files that cannot score right refused with a reason a person understands.

Layouts and the traps each family has are measured against PyTorch references in
``../shared/models/conformance`` (tests/test_conformance.py):

- ``bert``: a BERT cross-encoder (WordPiece). ``[CLS] q [SEP] d [SEP]``, read by llama.cpp's
  rank pooling through the pooler (``cls.weight``) and the classifier (``cls.output``).
  llama.cpp's stock converter drops the pooler; such a file misses by up to 17 logits.
- ``xlm-roberta``: the bge-reranker family (architecture ``bert`` with a SentencePiece
  tokenizer). ``<s> q </s></s> d </s>``.
- ``modern-bert``: gte-reranker-modernbert and kin. ``[CLS] q [SEP] d [SEP]``.
- ``rank-template``: an LLM reranker converted with llama.cpp's rank head and rerank
  template (ggml-org's Qwen3-Reranker builds): the template rendered whole, rank pooling
  gives P(yes).
- ``llm-yes-no``: an LLM with no head (most community Qwen3-Reranker uploads): the family's
  prompt, a causal decode, and the last position's logits for "yes" against "no". Rank
  pooling on such a file returns a number that means nothing, without an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.errors import ModelInvalid
from indexer.models.gguf_info import CAUSAL_ARCHS, GGUFInfo

QWEN3_RERANK_PROMPT = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the "
    'Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
    "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n"
    "<Query>: {query}\n<Document>: {document}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
)
"""Qwen3-Reranker's documented prompt with its default instruction (the same text ggml-org
stores as ``tokenizer.chat_template.rerank``)."""

DEFAULT_PROMPTS = {"qwen3": QWEN3_RERANK_PROMPT}
"""Prompts for LLM rerankers without a head, by architecture, where the catalogue has none."""

_POOLED_HEADS = frozenset({"bert", "xlm-roberta", "modern-bert"})


@dataclass(frozen=True, slots=True)
class Family:
    """How one reranker file is scored."""

    name: str
    """'bert', 'xlm-roberta', 'modern-bert', 'rank-template', 'llm-yes-no', or another
    encoder architecture with a classification head (e.g. 'jina-bert-v2')."""
    label: str
    """For people, e.g. 'XLM-RoBERTa cross-encoder (bge-reranker family)'."""
    prompt: str | None = None
    """The template with ``{query}`` and ``{document}`` for templated families."""

    @property
    def yes_no(self) -> bool:
        """Scored by the LLM's next-token logits for 'yes' against 'no' (no rank pooling)."""
        return self.name == "llm-yes-no"

    @property
    def outputs_probability(self) -> bool:
        """The model's raw output is already P(yes) (0..1), not a logit."""
        return self.name == "rank-template"


def reranker_family(info: GGUFInfo, prompt: str | None = None) -> Family:
    """The family ``info`` belongs to.

    Args:
        prompt: the catalogue's prompt for this file, if it has one (LLM rerankers).

    Raises:
        ModelInvalid: the file cannot score right, with the reason (a BERT cross-encoder
            without its pooler, pair-layout flags missing, an LLM with no prompt known…).
    """
    name = Path(info.path).name
    tensors = set(info.tensors)
    if info.rerank_template:
        if "cls.output.weight" in tensors:
            return Family("rank-template", "LLM reranker with llama.cpp's rank head and rerank template", info.rerank_template)
        if info.architecture in CAUSAL_ARCHS and info.yes_no_ids:
            return Family("llm-yes-no", "LLM reranker answering yes/no", info.rerank_template)
        raise ModelInvalid(f"{name}: has a rerank template but neither a rank head nor 'yes'/'no' tokens to read")
    if info.has_cls_head:
        if info.architecture in CAUSAL_ARCHS:
            raise ModelInvalid(
                f"{name}: an LLM with a rank head but no rerank template, so Quarry cannot know the prompt it "
                "was trained with; use a conversion that keeps tokenizer.chat_template.rerank"
            )
        return _encoder_family(info, name, tensors)
    if info.pooling_type:
        raise ModelInvalid(f"{name}: is an embedding model (pooling type {info.pooling_type}), not a reranker")
    if info.architecture in CAUSAL_ARCHS and info.yes_no_ids:
        prompt = prompt or DEFAULT_PROMPTS.get(info.architecture)
        if not prompt:
            raise ModelInvalid(
                f"{name}: an LLM ({info.architecture}) with no rerank head, and Quarry knows no yes/no prompt "
                f"for it (known: {', '.join(sorted(DEFAULT_PROMPTS))}; the catalogue can name one)"
            )
        return Family("llm-yes-no", f"LLM reranker answering yes/no ({info.architecture} prompt)", prompt)
    raise ModelInvalid(f"{name}: has no classification head or rerank template, so it is not a reranker")


def _encoder_family(info: GGUFInfo, name: str, tensors: set[str]) -> Family:
    if info.architecture == "bert":
        family = ("xlm-roberta", "XLM-RoBERTa cross-encoder (bge-reranker family)") if info.tokenizer_model == "t5" else ("bert", "BERT cross-encoder")
    elif info.architecture == "modern-bert":
        family = ("modern-bert", "ModernBERT cross-encoder")
    else:
        family = (info.architecture, f"{info.architecture} cross-encoder")
    if family[0] in _POOLED_HEADS and not {"cls.weight", "cls.output.weight"} <= tensors:
        missing = "cls.weight" if "cls.output.weight" in tensors else "cls.output.weight"
        raise ModelInvalid(
            f"{name}: a {family[1]} without its {'pooler' if family[0] == 'bert' else 'head'} layer ({missing}); "
            "llama.cpp's stock converter drops BERT's pooler, and such a file scores wrong by many logits. "
            "Convert it again with the pooler kept (as cls.weight/cls.bias)"
        )
    needed = ["add_bos", "add_eos"] + (["add_sep"] if family[0] == "xlm-roberta" else [])
    missing_flags = [flag for flag in needed if getattr(info, flag) is None]
    if missing_flags:
        raise ModelInvalid(
            f"{name}: the tokenizer flags its query/passage layout needs are missing "
            f"({', '.join(f'tokenizer.ggml.{f}_token' for f in missing_flags)}); it was probably converted "
            "without tokenizer.json, and llama.cpp's defaults would build the pair wrongly"
        )
    return Family(*family)


def catalogue_prompt(path: Path) -> str | None:
    """The catalogue's yes/no prompt for ``path``, if the catalogue lists the file with one."""
    from indexer.models.catalogue import entry_for_file

    entry = entry_for_file(path)
    return entry.prompt if entry and entry.prompt else None


def family_of(info: GGUFInfo) -> Family:
    """``reranker_family`` with the catalogue's prompt for the file. Raises ModelInvalid."""
    return reranker_family(info, catalogue_prompt(Path(info.path)))
