"""Read a GGUF file's header before llama.cpp ever opens it: llama.cpp aborts the whole
process on some malformed files, so a file must pass these checks first."""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

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
RERANK_TEMPLATE_KEY = "tokenizer.chat_template.rerank"


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    path: str
    size: int
    version: int
    architecture: str
    name: str
    context_length: int
    embedding_length: int
    pooling_type: int | None
    has_cls_head: bool
    rerank_template: str | None
    languages: tuple[str, ...]
    license: str
    file_type: int | None

    @property
    def kind(self) -> str:
        """'reranker', 'embedder' or 'other'."""
        if self.has_cls_head or self.rerank_template:
            return "reranker"
        if self.pooling_type is not None and self.pooling_type > 0:
            return "embedder"
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


def read_info(path: Path) -> GGUFInfo:
    """Parse the header with the ``gguf`` package; ModelInvalid for anything broken."""
    version = check_magic(path)
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path, "r")
    except Exception as exc:
        raise ModelInvalid(f"{path.name}: damaged or truncated GGUF ({type(exc).__name__})") from exc

    def field(key: str) -> object:
        entry = reader.fields.get(key)
        if entry is None:
            return None
        try:
            return entry.contents()
        except Exception:  # noqa: BLE001
            return None

    arch = str(field("general.architecture") or "")
    if not arch:
        raise ModelInvalid(f"{path.name}: GGUF without an architecture")
    tensor_names = {tensor.name for tensor in reader.tensors}
    pooling = field(f"{arch}.pooling_type")
    languages = field("general.languages") or []
    file_type = field("general.file_type")
    template = field(RERANK_TEMPLATE_KEY)
    info = GGUFInfo(
        path=str(path),
        size=path.stat().st_size,
        version=version,
        architecture=arch,
        name=str(field("general.name") or path.stem),
        context_length=int(field(f"{arch}.context_length") or 0),
        embedding_length=int(field(f"{arch}.embedding_length") or 0),
        pooling_type=int(pooling) if pooling is not None else None,
        has_cls_head="cls.output.weight" in tensor_names or "cls.weight" in tensor_names,
        rerank_template=str(template) if template else None,
        languages=tuple(str(x) for x in languages) if isinstance(languages, list) else (),
        license=str(field("general.license") or ""),
        file_type=int(file_type) if file_type is not None else None,
    )
    _check_complete(path, reader)
    return info


def _check_complete(path: Path, reader: object) -> None:
    """A truncated download keeps its header; the tensor data must reach the file's end."""
    end = 0
    for tensor in reader.tensors:  # type: ignore[attr-defined]
        end = max(end, int(tensor.data_offset) + int(tensor.n_bytes))
    if end > path.stat().st_size:
        raise ModelInvalid(f"{path.name}: truncated (tensor data ends past the end of the file)")


def validate(path: Path, kind: str, info: GGUFInfo | None = None) -> GGUFInfo:
    """Check a file can serve as ``kind`` ('embedder' or 'reranker'); ModelInvalid if not.
    ``info`` is a header already read (from InfoCache): parsing one costs ~130 ms of pure
    Python holding the GIL, which a loading thread must not spend twice."""
    info = info or read_info(path)
    if info.architecture not in EMBEDDING_ARCHS:
        raise ModelInvalid(f"{path.name}: architecture '{info.architecture}' is not an encoder Quarry can run")
    if kind == "reranker" and info.kind != "reranker":
        raise ModelInvalid(f"{path.name}: has no classification head or rerank template, so it is not a reranker")
    if kind == "embedder" and info.kind != "embedder":
        raise ModelInvalid(f"{path.name}: is a {info.kind}, not an embedding model (no pooling type)")
    if info.context_length <= 0:
        raise ModelInvalid(f"{path.name}: no context length in the header")
    return info


class InfoCache:
    """Header reads cost ~1 s per file; remember them by (path, size, mtime)."""

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
        key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
        cached = self._data.get(key)
        if cached is not None:
            if "error" in cached:
                raise ModelInvalid(str(cached["error"]))
            fields = dict(cached)
            fields["languages"] = tuple(fields.get("languages") or ())  # type: ignore[arg-type]
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
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._data), "utf-8")
            tmp.replace(self.file)
        except OSError as exc:
            log.debug("cannot save model info cache: %s", exc)
