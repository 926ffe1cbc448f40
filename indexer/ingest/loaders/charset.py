"""Bytes to text: a declared charset where the bytes agree with it, else detection.

Order, for any text-like file:

1. a byte-order mark (UTF-8, UTF-16, UTF-32) decides; without one, UTF-16 and UTF-32 are
   recognised by where their zero bytes fall (mostly-Latin text: one zero byte in two, or
   three in four, all at the same offsets) and by decoding cleanly;
2. bytes that are valid UTF-8 (and not plain ASCII) are UTF-8, whatever a label says: valid
   UTF-8 by chance in a legacy charset is vanishingly rare, while pages labelled latin-1 and
   saved as UTF-8 are common (``CrÃ¨me`` is what trusting the label gives);
3. bytes labelled UTF-8 or ASCII that are neither, mostly ASCII (at most 30 % other bytes)
   and valid windows-1252, are windows-1252: a label that lies about 8-bit Western text
   (an e-mail body marked us-ascii) is the common case, and short text misleads detection;
4. a declared charset (``<meta charset>``, ``http-equiv``, the XML declaration) is used when the
   bytes decode without error in it (latin-1 and ASCII labels mean windows-1252, as browsers read
   them);
5. otherwise charset-normalizer detects it; where windows-1252 reads the bytes the same as its
   pick, windows-1252 is used (the commonest legacy charset for Western text);
6. windows-1252 with replacement characters as the last resort: never an exception.
"""

from __future__ import annotations

import codecs
import logging
import re

log = logging.getLogger(__name__)

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

PRESCAN_BYTES = 4096
"""How far into a file a charset declaration is looked for (browsers use 1024; some pages put
long scripts first)."""

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
# WHATWG: these labels are decoded as windows-1252.
_AS_CP1252 = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "iso_8859-1", "ascii", "us-ascii", "l1", "cp819"}


def bom_encoding(data: bytes) -> str | None:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding
    return None


UNICODE_SAMPLE_BYTES = 4096
"""Bytes looked at to recognise UTF-16/UTF-32 without a byte-order mark."""


def bomless_unicode(data: bytes) -> str | None:
    """'utf-32-le'/'utf-32-be'/'utf-16-le'/'utf-16-be' for text in that encoding without a
    byte-order mark, else None. Recognised by zero bytes at fixed offsets in the first
    UNICODE_SAMPLE_BYTES (at least 70 % of the characters there are Latin or other
    code points below U+0100) and a clean decode of that sample."""
    sample = data[: UNICODE_SAMPLE_BYTES - UNICODE_SAMPLE_BYTES % 4]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    candidates: list[tuple[str, int, tuple[int, ...]]] = [
        ("utf-32-le", 4, (1, 2, 3)),
        ("utf-32-be", 4, (0, 1, 2)),
        ("utf-16-le", 2, (1,)),
        ("utf-16-be", 2, (0,)),
    ]
    for encoding, width, zeros in candidates:
        usable = sample[: len(sample) - len(sample) % width]
        units = len(usable) // width
        if not units:
            continue
        zero_share = min(usable[k::width].count(0) for k in zeros) / units
        other = [k for k in range(width) if k not in zeros]
        text_share = min(units - usable[k::width].count(0) for k in other) / units
        if zero_share >= 0.7 and text_share >= 0.7:
            try:
                usable.decode(encoding)
            except UnicodeDecodeError:
                continue
            return encoding
    return None


def declared_charset(data: bytes) -> str | None:
    """The charset a markup file declares in its first bytes (meta charset, http-equiv
    content, XML declaration), as a Python codec name, or None when absent or unknown."""
    head = data[:PRESCAN_BYTES]
    match = _XML_DECLARATION.match(head) or _META_CHARSET.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", "ignore").strip().lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        log.debug("unknown declared charset %r", label)
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` by the rules in the module docstring. Never raises."""
    encoding = bom_encoding(data) or bomless_unicode(data)
    if encoding:
        return data.decode(encoding, errors="replace")
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared and codecs.lookup(declared).name in ("utf-8", "ascii"):
        western = _western(data)
        if western is not None:
            return western
    if declared and codecs.lookup(declared).name not in ("utf-8", "utf-16", "utf-32"):
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            log.debug("bytes disagree with the declared charset %s; detecting", declared)
    return _detect(data)


WESTERN_MAX_SHARE = 0.3
"""Largest share of non-ASCII bytes in text that a lying UTF-8/ASCII label is taken to mean
windows-1252 for (rule 3); more than that is left to detection (Cyrillic, Greek, ...)."""


def _western(data: bytes) -> str | None:
    other = sum(1 for b in data if b > 0x7F)
    if other > WESTERN_MAX_SHARE * len(data):
        return None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[: 256 * 1024]))
    if matches:
        best = matches[0]
        encoding = best.encoding
        # Short Western text fits several single-byte charsets equally well (cp1250 reads
        # 'naïve' as 'naďve'); among the equally good, windows-1252 is the likeliest.
        tied = [m for m in matches if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.01]
        if any("cp1252" in {_name(e) for e in m.could_be_from_charset} for m in tied):
            encoding = "cp1252"
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            log.debug("detected %s does not decode the whole file", encoding)
    return data.decode("cp1252", errors="replace")


def _name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding
