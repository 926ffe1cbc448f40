"""Every reranker family scored right: Quarry's scorer against the PyTorch references of
the conformance fixtures in ../shared/models/conformance (tiny random-weight models; the
README there gives layouts and tolerances). The scores mean nothing about relevance; they
test the pair layout, template, pooling, head and read-out."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from indexer.errors import ModelInvalid
from indexer.models.catalogue import catalogue
from indexer.models.families import reranker_family
from indexer.models.files import find_models
from indexer.models.gguf_info import read_info, validate
from indexer.models.rerank import Reranker, sigmoid
from indexer.runtime.supervisor import InferenceWorker
from tests.conftest import MODELS, quarry

FIXTURES = MODELS / "conformance"


def reference(name: str) -> list[dict]:
    return json.loads((FIXTURES / f"{name}.reference.json").read_text("utf-8"))["pairs"]


# file, reference, family, what the reference gives, tolerance (README: logits 0.05 for
# BERT and XLM-R, 0.02 for ModernBERT; P(yes) 0.01 for Qwen3).
CASES = [
    ("bert-pooler-f16.gguf", "bert", "bert", "logit_token_types_zero", 0.05),
    ("xlmr-f16.gguf", "xlmr", "xlm-roberta", "logit", 0.05),
    ("modernbert-f16.gguf", "modernbert", "modern-bert", "logit", 0.02),
    ("qwen3-reranker-f16.gguf", "qwen3-reranker", "rank-template", "p_yes", 0.01),
    ("qwen3-lm-f16.gguf", "qwen3-lm", "llm-yes-no", "p_yes", 0.01),
]
FAMILY_FIXTURES = {family: file for file, _, family, _, _ in CASES}


@pytest.fixture(scope="module")
def worker():
    shared = InferenceWorker()
    yield shared
    shared.close()


@pytest.mark.parametrize(("file", "ref", "family", "key", "tolerance"), CASES, ids=[c[2] for c in CASES])
def test_scores_match_the_pytorch_reference(placement, worker, file, ref, family, key, tolerance):
    pairs = reference(ref)
    model = Reranker(FIXTURES / file, placement, pairs_per_decode=1, worker=worker)
    try:
        assert model.family == family
        result = model.score("unused", ["warm-up"])  # the score cache keys on the query: no overlap
        worst = 0.0
        for pair in pairs:
            assert model.pair_tokens(pair["query"], pair["document"]) == pair["input_ids"], pair["source"]
            result = model.score(pair["query"], [pair["document"]])
            got = result.scores[0] if key == "p_yes" else result.raw[0]
            worst = max(worst, abs(got - pair[key]))
            if family == "llm-yes-no":  # raw is logit(yes) - logit(no)
                assert abs(result.raw[0] - (pair["logit_yes"] - pair["logit_no"])) <= 0.02
        assert worst <= tolerance, f"{file}: max |Δ| {worst:.4f} over {len(pairs)} pairs"
        assert all(0.0 <= s <= 1.0 for s in result.scores)
    finally:
        model.close()


@pytest.mark.parametrize("file", ["xlmr-f16.gguf", "qwen3-reranker-f16.gguf", "qwen3-lm-f16.gguf"])
def test_several_pairs_per_decode_keep_the_scores(placement, worker, file):
    """Batching pairs in one decode (and sorting them by length) keeps each pair's score."""
    ref = {"xlmr-f16.gguf": "xlmr", "qwen3-reranker-f16.gguf": "qwen3-reranker", "qwen3-lm-f16.gguf": "qwen3-lm"}[file]
    pairs = [p for p in reference(ref) if p["query"] == reference(ref)[0]["query"]]
    single = Reranker(FIXTURES / file, placement, pairs_per_decode=1, worker=worker)
    batched = Reranker(FIXTURES / file, placement, pairs_per_decode=4, worker=worker)
    try:
        documents = [p["document"] for p in pairs]
        one = single.score(pairs[0]["query"], documents).scores
        four = batched.score(pairs[0]["query"], documents).scores
        assert len(documents) >= 2
        assert max(abs(a - b) for a, b in zip(one, four, strict=True)) <= 0.01
    finally:
        single.close()
        batched.close()


def test_the_stock_bert_conversion_is_refused_with_the_reason(placement, worker):
    path = FIXTURES / "bert-stock-f16.gguf"
    with pytest.raises(ModelInvalid, match="pooler"):
        validate(path, "reranker")
    with pytest.raises(ModelInvalid, match="pooler"):
        Reranker(path, placement, worker=worker)
    listed = {m.path.name: m for m in find_models([FIXTURES])}
    assert listed["bert-stock-f16.gguf"].kind == "invalid"
    assert "stock converter drops" in listed["bert-stock-f16.gguf"].problem
    assert listed["bert-pooler-f16.gguf"].kind == "reranker"
    assert listed["qwen3-lm-f16.gguf"].kind == "reranker"


def test_a_reranker_without_its_layout_flags_is_refused(tmp_path: Path):
    """A BERT cross-encoder converted from vocab.txt alone has no add_*_token keys, and
    llama.cpp's defaults drop the final [SEP]. Renaming the keys (same length, so the file
    stays valid) makes such a file."""
    copy = tmp_path / "bert-no-flags.gguf"
    data = (FIXTURES / "bert-pooler-f16.gguf").read_bytes()
    for flag in (b"add_bos", b"add_eos", b"add_sep"):
        data = data.replace(b"tokenizer.ggml." + flag + b"_token", b"tokenizer.ggml.x" + flag[1:] + b"_token")
    copy.write_bytes(data)
    info = read_info(copy)
    assert info.add_bos is None and info.add_eos is None
    with pytest.raises(ModelInvalid, match="tokenizer flags"):
        validate(copy, "reranker")


def test_the_plain_llm_is_read_through_yes_no_not_rank_pooling():
    """Rank pooling on the plain Qwen3 LM returns 0.005-0.11 with no error; the family
    says it has no head, so its logits for 'yes' and 'no' are read instead."""
    info = read_info(FIXTURES / "qwen3-lm-f16.gguf")
    family = reranker_family(info)
    assert family.yes_no and not family.outputs_probability
    assert info.yes_no_ids == (2414, 2249)
    assert "{query}" in family.prompt and "<think>" in family.prompt
    ranked = reranker_family(read_info(FIXTURES / "qwen3-reranker-f16.gguf"))
    assert ranked.name == "rank-template" and ranked.prompt == family.prompt


def test_an_embedding_model_is_not_taken_for_a_reranker():
    with pytest.raises(ModelInvalid, match="not a reranker"):
        validate(MODELS / "all-MiniLM-L6-v2-q8_0.gguf", "reranker")


def test_every_catalogue_reranker_family_has_a_fixture():
    families = {entry.family for entry in catalogue() if entry.kind == "reranker"}
    assert families and families <= set(FAMILY_FIXTURES)
    assert all(entry.family for entry in catalogue())


def test_a_damaged_header_is_refused_not_crashed_on(tmp_path: Path):
    """The header reader never maps the file: a count running past the end is an error."""
    good = (FIXTURES / "xlmr-f16.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good[: len(good) // 50])
    with pytest.raises(ModelInvalid, match="damaged or truncated"):
        read_info(cut)
    huge = tmp_path / "huge-count.gguf"
    huge.write_bytes(good[:8] + (2**62).to_bytes(8, "little") + good[16:])
    with pytest.raises(ModelInvalid):
        read_info(huge)
    shutil.copy(FIXTURES / "xlmr-f16.gguf", tmp_path / "ok.gguf")
    assert read_info(tmp_path / "ok.gguf").tokenizer_model == "t5"
    assert not math.isnan(sigmoid(0.0))


QUERY = "Vitamin D deficiency increases the risk of fractures"
DOCUMENTS = ["Low serum vitamin D was associated with more hip fractures in older adults.", "The bakery opens at seven."]


def test_rerank_command_scores_with_any_family(tmp_path: Path):
    """`quarry rerank --json` on the plain LLM (yes/no path) and the rank-template build of
    the same weights: one object, results in input order, the same P(yes) from both."""
    outputs = {}
    for file in ("qwen3-lm-f16.gguf", "qwen3-reranker-f16.gguf"):
        done = quarry(tmp_path, "rerank", "--json", "--model", str(FIXTURES / file), QUERY, *DOCUMENTS)
        assert done.returncode == 0, done.stderr
        outputs[file] = json.loads(done.stdout)
    lm, ranked = outputs["qwen3-lm-f16.gguf"], outputs["qwen3-reranker-f16.gguf"]
    assert lm["model"] == "qwen3-lm-f16" and lm["family"] == "llm-yes-no"
    assert ranked["family"] == "rank-template"
    assert [r["index"] for r in lm["results"]] == [0, 1]
    for a, b in zip(lm["results"], ranked["results"], strict=True):
        assert abs(a["score"] - sigmoid(a["raw"])) < 1e-4  # P(yes) from logit(yes) - logit(no)
        assert abs(b["score"] - b["raw"]) < 1e-6  # the rank head gives P(yes) itself
        assert abs(a["score"] - b["score"]) <= 0.01


def test_rerank_command_refuses_in_one_line(tmp_path: Path):
    done = quarry(tmp_path, "rerank", "--model", str(FIXTURES / "bert-stock-f16.gguf"), QUERY, *DOCUMENTS)
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pooler" in lines[0]
    assert done.stdout == ""


def test_models_check_tells_a_trained_reranker_from_a_random_one(tmp_path: Path):
    trained = quarry(tmp_path, "models", "check", str(MODELS / "quarry-test-reranker-minilm-l6-f16.gguf"), "--json")
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout)
    assert report["passed"] and report["separated"] >= 5 and report["family"] == "bert"
    random_weights = quarry(tmp_path, "models", "check", str(FIXTURES / "modernbert-f16.gguf"))
    assert random_weights.returncode == 1
    assert "does NOT separate" in random_weights.stdout
