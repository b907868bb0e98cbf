"""JSON Lines: one JSON object per line; one string field of each is the document.

Only that field is ever rewritten, and only when its text changed: the cleaned string is
encoded and spliced into the original line where the old one stood, so the other fields, the
key order, the spacing and the escaping of everything else stay byte for byte as they were.
The new string is written in the style of the old one (raw UTF-8 or \\u escapes, escaped
slashes, upper-case hex, escaped <>&) as far as the old one shows it.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import BinaryIO, Iterator

from .base import Document, Item, Malformed, Raw, RecordWriter, Write, split_ending

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Escapes whose use in the original literal the new one copies (each begins with its backslash).
_SLASH = re.compile(r"\\/")
_HTML_ESCAPES = ("\\u003c", "\\u003C", "\\u003e", "\\u003E", "\\u0026")
_HTML = re.compile("|".join(map(re.escape, _HTML_ESCAPES)))
_UPPER_HEX = re.compile(r"\\u(?=[0-9a-fA-F]{4})[0-9a-fA-F]{0,3}[A-F]")
_HEX_ESCAPE = re.compile(r"(\\+)u([0-9a-f]{4})")


class JsonlFormat:
    name = "jsonl"

    def __init__(self, field: str = "text", id_field: str | None = None):
        self.field = field
        self.id_field = id_field

    def read(self, stream: BinaryIO, at_start: bool = True) -> Iterator[Item]:
        for number, line in enumerate(stream, 1):
            yield self.parse(line, number, opens_stream=at_start and number == 1)

    def parse(self, line: bytes, number: int, opens_stream: bool = False) -> Item:
        body, ending = split_ending(line)
        if not body.strip():
            return Raw(line)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            return Malformed(number, f"not UTF-8 (byte {error.start + 1})", line)
        skip = 1 if opens_stream and text.startswith("\ufeff") else 0  # a byte-order mark stays as it is
        try:
            fields = top_level_fields(text, skip)
        except (ValueError, RecursionError) as error:
            return Malformed(number, f"invalid JSON: {_describe(error)}", line)
        record_id = None
        if self.id_field is not None and self.id_field in fields:
            value = fields[self.id_field][0]
            record_id = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if self.field not in fields:
            return Malformed(number, f"no field '{self.field}'", line, record_id)
        value, start, end = fields[self.field]
        if not isinstance(value, str):
            return Malformed(number, f"field '{self.field}' is not a string", line, record_id)
        data = value.encode("utf-8", "surrogatepass")
        frame = (body, text, start, end, ending, data)
        return Document([data] if data else [], line=number, id=record_id, frame=frame)

    def writer(self, write: Write) -> "JsonlWriter":
        return JsonlWriter(write)


class JsonlWriter(RecordWriter):
    def write_record(self, document: Document, cleaned: bytes) -> None:
        body, text, start, end, ending, data = document.frame
        if cleaned == data:
            self.write(body + ending)
            return
        literal = encode_string(cleaned.decode("utf-8", "surrogatepass"), text[start:end]).encode("utf-8")
        if len(text) != len(body):  # not ASCII: character offsets differ from byte offsets
            start, end = len(text[:start].encode("utf-8")), len(text[:end].encode("utf-8"))
        self.write(body[:start] + literal + body[end:] + ending)


def top_level_fields(text: str, start: int = 0) -> dict[str, tuple[object, int, int]]:
    """Each key of the JSON object in `text` (from `start`) with its value and the value's span.

    A key given twice counts with its last value, as json.loads has it. Raises ValueError
    (json.JSONDecodeError where it can) for anything that is not exactly one JSON object.
    """
    position = _SPACE.match(text, start).end()
    if text[position : position + 1] != "{":
        raise json.JSONDecodeError("expected a JSON object", text, position)
    fields: dict[str, tuple[object, int, int]] = {}
    position = _SPACE.match(text, position + 1).end()
    if text[position : position + 1] == "}":
        position += 1
    else:
        while True:
            if text[position : position + 1] != '"':
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, position)
            key, position = scanstring(text, position + 1)
            position = _SPACE.match(text, position).end()
            if text[position : position + 1] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", text, position)
            start = _SPACE.match(text, position + 1).end()
            value, position = _DECODER.raw_decode(text, start)
            fields[key] = (value, start, position)
            position = _SPACE.match(text, position).end()
            delimiter = text[position : position + 1]
            position += 1
            if delimiter == "}":
                break
            if delimiter != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", text, position - 1)
            position = _SPACE.match(text, position).end()
    if _SPACE.match(text, position).end() != len(text):
        raise json.JSONDecodeError("Extra data", text, position)
    return fields


def encode_string(value: str, like: str) -> str:
    """`value` as a JSON string literal, escaped in the style of the literal `like`.

    Called for every record whose text changed: each style question is asked with a substring
    test first, and only its hits are checked for being escapes."""
    ascii_only = like.isascii()
    result = encode_basestring_ascii(value) if ascii_only else encode_basestring(value)
    if not ascii_only:
        try:
            result.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: JSON can only carry them escaped
            result = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", result)
    if "\\/" in like and _escaped(_SLASH, like):
        result = result.replace("/", "\\/")
    unicode_escapes = "\\u" in like  # one scan where raw UTF-8 text has none, not one per HTML escape
    if unicode_escapes and any(escape in like for escape in _HTML_ESCAPES) and _escaped(_HTML, like):
        result = result.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if unicode_escapes and _escaped(_UPPER_HEX, like):
        result = _HEX_ESCAPE.sub(_upper_hex, result)
    return result


def _escaped(pattern: re.Pattern, literal: str) -> bool:
    """Whether `pattern` matches `literal` at a backslash that starts an escape: one after an
    even run of backslashes ('\\\\/' is an escaped backslash and a plain slash)."""
    for match in pattern.finditer(literal):
        before = match.start()
        while before > 0 and literal[before - 1] == "\\":
            before -= 1
        if (match.start() - before) % 2 == 0:
            return True
    return False


def _upper_hex(match: re.Match) -> str:
    slashes, digits = match.groups()
    return match.group() if len(slashes) % 2 == 0 else f"{slashes}u{digits.upper()}"


def _describe(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} (column {error.colno})"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error)
