"""Read a GGUF file's header before llama.cpp ever opens it: llama.cpp aborts the whole
process on some malformed files, so a file must pass these checks first.

The header is parsed here with plain buffered reads, not ``gguf.GGUFReader``: the reader
memory-maps the whole file, and a model file replaced or truncated while mapped (a
download finishing, a copy in progress) faults the process with SIGBUS/SIGSEGV instead of
raising. Only the format's constants (quantisation block sizes) come from ``gguf``.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from indexer.atomic import write_text_atomic
from indexer.errors import ModelInvalid

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
# Architectures llama.cpp can run as encoders for embedding or rank pooling.
EMBEDDING_ARCHS = frozenset(
    {
        "bert",
        "nomic-bert",
        "nomic-bert-moe",
        "jina-bert-v2",
        "jina-bert-v3",
        "modern-bert",
        "neo-bert",
        "gemma-embedding",
        "qwen3",
        "qwen2",
        "t5encoder",
        "xlm-roberta",
        "llama",
    }
)
CAUSAL_ARCHS = frozenset({"qwen3", "qwen2", "llama", "gemma2", "gemma3", "mistral3", "phi3"})
"""Decoder-only architectures: with no classification head they can still rerank as an
LLM answering "yes" or "no" (indexer.models.families)."""
RERANK_TEMPLATE_KEY = "tokenizer.chat_template.rerank"
CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
TOKENS_KEY = "tokenizer.ggml.tokens"
YES_NO = ("yes", "no")

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_SMALL_ARRAY = 64
"""Arrays longer than this (vocabularies, merges, scores) are skipped, not kept."""
_DEFAULT_ALIGNMENT = 32


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """What Quarry needs to know of a GGUF before loading it (all from the header)."""

    path: str
    size: int
    """File size in bytes."""
    version: int
    architecture: str
    name: str
    context_length: int
    """Trained context in tokens."""
    embedding_length: int
    """Hidden size."""
    pooling_type: int | None
    has_cls_head: bool
    """A classification head (``cls.output.weight`` or ``cls.weight``)."""
    rerank_template: str | None
    languages: tuple[str, ...]
    license: str
    file_type: int | None
    tensors: tuple[str, ...] = ()
    """Names of the tensors outside the blocks (``blk.*``), e.g. ``cls.weight``."""
    tokenizer_model: str = ""
    """llama.cpp's tokenizer kind: 'bert' (WordPiece), 't5' (SentencePiece unigram), 'gpt2' (BPE) …"""
    add_bos: bool | None = None
    add_eos: bool | None = None
    add_sep: bool | None = None
    """The tokenizer's pair-layout flags; None where the key is missing from the file."""
    output_labels: tuple[str, ...] = ()
    has_chat_template: bool = False
    yes_no_ids: tuple[int, int] | None = None
    """Vocabulary ids of the tokens 'yes' and 'no', when the vocabulary holds both."""

    @property
    def kind(self) -> str:
        """'reranker', 'embedder' or 'other'."""
        if self.has_cls_head or self.rerank_template:
            return "reranker"
        if self.pooling_type is not None and self.pooling_type > 0:
            return "embedder"
        if self.architecture in CAUSAL_ARCHS and self.yes_no_ids is not None:
            return "reranker"  # an LLM that can answer yes/no (indexer.models.families)
        return "other"


def check_magic(path: Path) -> int:
    """Return the GGUF version, or raise ModelInvalid saying what the file looks like instead."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ModelInvalid(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if head[:4] != GGUF_MAGIC:
        lowered = head.lower()
        if lowered.startswith((b"<!doc", b"<html", b"<?xml", b"{", b"<head")):
            raise ModelInvalid(f"{path.name}: is a web page or text, not a GGUF model (a failed download?)")
        raise ModelInvalid(f"{path.name}: not a GGUF file (wrong magic bytes)")
    if len(head) < 8:
        raise ModelInvalid(f"{path.name}: truncated GGUF header")
    version = struct.unpack("<I", head[4:8])[0]
    if version not in (2, 3):
        raise ModelInvalid(f"{path.name}: unsupported GGUF version {version}")
    return version


class _Damaged(Exception):
    """The header does not parse: a count or length runs past the end of the file."""


@dataclass(slots=True)
class _Header:
    fields: dict[str, Any] = field(default_factory=dict)
    tensors: list[tuple[str, int, int]] = field(default_factory=list)
    """(name, ggml type, element count)"""
    tensor_offsets: list[int] = field(default_factory=list)
    data_start: int = 0
    yes_no_ids: tuple[int, int] | None = None


class _Reader:
    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle, self.size = handle, size

    def take(self, n: int) -> bytes:
        if n < 0 or self.handle.tell() + n > self.size:
            raise _Damaged
        data = self.handle.read(n)
        if len(data) != n:
            raise _Damaged
        return data

    def scalar(self, kind: int) -> Any:
        fmt = _SCALARS.get(kind)
        if fmt is None:
            raise _Damaged
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.scalar(10)).decode("utf-8", errors="replace")

    def value(self, kind: int, on_item: Callable[[int, Any], None] | None = None) -> Any:
        if kind == _STRING:
            return self.string()
        if kind != _ARRAY:
            return self.scalar(kind)
        item_kind, count = self.scalar(4), self.scalar(10)
        if count > self.size:
            raise _Damaged
        if item_kind in _SCALARS and count > _SMALL_ARRAY and on_item is None:
            self.take(count * struct.calcsize(_SCALARS[item_kind]))  # skip scores, token types
            return None
        items = []
        for index in range(count):
            item = self.value(item_kind)
            if on_item is not None:
                on_item(index, item)
            if count <= _SMALL_ARRAY:
                items.append(item)
        return items if count <= _SMALL_ARRAY else None


def _parse(handle: BinaryIO, size: int) -> _Header:
    reader = _Reader(handle, size)
    reader.take(8)  # magic and version, checked already
    n_tensors, n_fields = reader.scalar(10), reader.scalar(10)
    header = _Header()
    yes_no: dict[str, int] = {}

    def find_yes_no(index: int, token: Any) -> None:
        if token in YES_NO and token not in yes_no:
            yes_no[token] = index

    for _ in range(n_fields):
        key = reader.string()
        kind = reader.scalar(4)
        header.fields[key] = reader.value(kind, find_yes_no if key == TOKENS_KEY else None)
    for _ in range(n_tensors):
        name = reader.string()
        n_dims = reader.scalar(4)
        if n_dims > 8:
            raise _Damaged
        elements = 1
        for _ in range(n_dims):
            elements *= reader.scalar(10)
        ggml_type, offset = reader.scalar(4), reader.scalar(10)
        header.tensors.append((name, ggml_type, elements))
        header.tensor_offsets.append(offset)
    alignment = header.fields.get("general.alignment") or _DEFAULT_ALIGNMENT
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _Damaged
    position = handle.tell()
    header.data_start = position + (-position % alignment)
    if len(yes_no) == 2:
        header.yes_no_ids = (yes_no["yes"], yes_no["no"])
    return header


def read_info(path: Path) -> GGUFInfo:
    """Parse the header; ModelInvalid for anything broken (damaged, truncated, no architecture).

    Reads the key/value fields and tensor table only (a 600 MB model: a few MB, ~0.3 s of
    Python for a 150,000-token vocabulary)."""
    version = check_magic(path)
    try:
        size = path.stat().st_size
        with path.open("rb", buffering=1 << 20) as handle:
            header = _parse(handle, size)
    except _Damaged as exc:
        raise ModelInvalid(f"{path.name}: damaged or truncated GGUF (the header runs past the end)") from exc
    except (OSError, struct.error, RecursionError) as exc:
        raise ModelInvalid(f"{path.name}: damaged or truncated GGUF ({type(exc).__name__})") from exc
    fields = header.fields
    arch = str(fields.get("general.architecture") or "")
    if not arch:
        raise ModelInvalid(f"{path.name}: GGUF without an architecture")
    _check_complete(path, header, size)
    names = [name for name, _, _ in header.tensors]
    pooling = fields.get(f"{arch}.pooling_type")
    languages = fields.get("general.languages")
    template = fields.get(RERANK_TEMPLATE_KEY)
    labels = fields.get(f"{arch}.classifier.output_labels")

    def flag(name: str) -> bool | None:
        value = fields.get(f"tokenizer.ggml.{name}_token")
        return bool(value) if value is not None else None

    return GGUFInfo(
        path=str(path),
        size=size,
        version=version,
        architecture=arch,
        name=str(fields.get("general.name") or path.stem),
        context_length=int(fields.get(f"{arch}.context_length") or 0),
        embedding_length=int(fields.get(f"{arch}.embedding_length") or 0),
        pooling_type=int(pooling) if pooling is not None else None,
        has_cls_head="cls.output.weight" in names or "cls.weight" in names,
        rerank_template=str(template) if template else None,
        languages=tuple(str(x) for x in languages) if isinstance(languages, list) else (),
        license=str(fields.get("general.license") or ""),
        file_type=int(fields["general.file_type"]) if fields.get("general.file_type") is not None else None,
        tensors=tuple(name for name in names if not name.startswith("blk.")),
        tokenizer_model=str(fields.get("tokenizer.ggml.model") or ""),
        add_bos=flag("add_bos"),
        add_eos=flag("add_eos"),
        add_sep=flag("add_sep"),
        output_labels=tuple(str(x) for x in labels) if isinstance(labels, list) else (),
        has_chat_template=CHAT_TEMPLATE_KEY in fields,
        yes_no_ids=header.yes_no_ids,
    )


def _check_complete(path: Path, header: _Header, size: int) -> None:
    """A truncated download keeps its header; the tensor data must reach the file's end."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    end = header.data_start
    for (name, ggml_type, elements), offset in zip(header.tensors, header.tensor_offsets, strict=True):
        try:
            block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
        except (ValueError, KeyError) as exc:
            raise ModelInvalid(f"{path.name}: tensor {name} has an unknown type {ggml_type}") from exc
        end = max(end, header.data_start + offset + elements * type_size // block)
    if end > size:
        raise ModelInvalid(f"{path.name}: truncated (tensor data ends past the end of the file)")


def validate(path: Path, kind: str, info: GGUFInfo | None = None) -> GGUFInfo:
    """Check a file can serve as ``kind`` ('embedder' or 'reranker'); ModelInvalid if not.
    ``info`` is a header already read (from InfoCache): parsing one costs ~130 ms of pure
    Python holding the GIL, which a loading thread must not spend twice."""
    info = info or read_info(path)
    if info.architecture not in EMBEDDING_ARCHS | CAUSAL_ARCHS:
        raise ModelInvalid(f"{path.name}: architecture '{info.architecture}' is not one Quarry can run")
    if kind == "reranker":
        from indexer.models.families import family_of

        family_of(info)  # raises ModelInvalid, saying why, for a file that cannot score right
    if kind == "embedder" and info.kind != "embedder":
        raise ModelInvalid(f"{path.name}: is a {info.kind}, not an embedding model (no pooling type)")
    if info.context_length <= 0:
        raise ModelInvalid(f"{path.name}: no context length in the header")
    return info


INFO_VERSION = 2
"""Bumped when GGUFInfo gains fields, so cached headers are read again."""


class InfoCache:
    """Remember header reads by (path, size, mtime): a model folder is listed often."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self._data: dict[str, dict[str, object]] = {}
        if file and file.exists():
            try:
                self._data = json.loads(file.read_text("utf-8"))
            except (OSError, ValueError):
                self._data = {}

    def get(self, path: Path) -> GGUFInfo:
        stat = path.stat()
        key = f"{INFO_VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}"
        cached = self._data.get(key)
        if cached is not None:
            if "error" in cached:
                raise ModelInvalid(str(cached["error"]))
            fields = dict(cached)
            for name in ("languages", "tensors", "output_labels"):
                fields[name] = tuple(fields.get(name) or ())  # type: ignore[arg-type]
            if fields.get("yes_no_ids") is not None:
                fields["yes_no_ids"] = tuple(fields["yes_no_ids"])  # type: ignore[arg-type]
            return GGUFInfo(**fields)  # type: ignore[arg-type]
        try:
            info = read_info(path)
            self._data[key] = asdict(info)
        except ModelInvalid as exc:
            self._data[key] = {"error": str(exc)}
            self._save()
            raise
        self._save()
        return info

    def _save(self) -> None:
        if not self.file:
            return
        try:
            write_text_atomic(self.file, json.dumps(self._data))
        except OSError as exc:
            log.debug("cannot save model info cache: %s", exc)
