"""Readers and writers: plain text, JSON Lines, Multi-News; compression by file name.

Nothing here knows about rules. A format's reader turns a binary stream into documents (the
text as bytes in chunks of whole lines, with where it came from); its writer takes the cleaned
documents back and writes them in the same format, so that a stream with nothing removed comes
out byte for byte as it went in.
"""

from __future__ import annotations

from pathlib import Path

from ..reader import SeparatorLines
from .base import Document, Format, Item, Malformed, Raw, Write, Writer
from .compression import (
    BinaryInput,
    CorruptInput,
    compress,
    compressing,
    compression_of,
    open_input,
    strip_compression,
    wrap_input,
)
from .jsonl import JsonlFormat
from .multinews import MultiNewsFormat
from .text import TextFormat

FORMATS = ("text", "jsonl", "multinews")
# By extension (after any compression suffix); anything else is plain text.
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".src": "multinews", ".multinews": "multinews"}

__all__ = [
    "FORMATS", "BinaryInput", "CorruptInput", "Document", "Format", "Item", "JsonlFormat", "Malformed",
    "MultiNewsFormat", "Raw", "TextFormat", "Write", "Writer", "compress", "compressing", "compression_of",
    "detect", "make_format", "open_input", "strip_compression", "wrap_input",
]


def detect(name: str | Path) -> str:
    """The format a file name says it has: 'a.jsonl.zst' -> 'jsonl', Multi-News 'train.src'
    (and 'train.src.cleaned') -> 'multinews', anything else -> 'text'."""
    base = strip_compression(Path(name).name).lower()
    if base.endswith(".src.cleaned"):
        return "multinews"
    return EXTENSIONS.get(Path(base).suffix, "text")


def make_format(
    name: str,
    *,
    field: str = "text",
    id_field: str | None = None,
    separator: SeparatorLines | None = None,
) -> Format:
    if name == "text":
        return TextFormat(separator)
    if name == "jsonl":
        return JsonlFormat(field, id_field)
    if name == "multinews":
        return MultiNewsFormat()
    raise ValueError(f"unknown format {name!r} (expected {', '.join(FORMATS)})")
