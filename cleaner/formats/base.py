"""What readers hand out and what writers take back."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Protocol

Write = Callable[[bytes | memoryview], object]


class Document:
    """One document of a stream: its text in chunks of whole lines, where it came from, and
    (in `frame`) whatever its format's writer needs to put the cleaned text back."""

    __slots__ = ("chunks", "line", "part", "id", "frame")

    def __init__(self, chunks: Iterable[bytes], line: int = 0, part: int = 0, id: str | None = None, frame: Any = None):
        self.chunks = chunks
        self.line = line  # 1-based line of the record in the stream (0: the stream is the record)
        self.part = part  # 1-based index inside the record or stream, 0 when there is one
        self.id = id  # the record's own id (JSONL --id-field), if any
        self.frame = frame


class Raw:
    """Bytes that pass through unchanged (a blank line, a document-separator line)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


class Malformed:
    """A record that cannot be read; `data` is its line as it stands, `id` its id if known."""

    __slots__ = ("line", "message", "data", "id")

    def __init__(self, line: int, message: str, data: bytes, id: str | None = None):
        self.line = line
        self.message = message
        self.data = data
        self.id = id


Item = Document | Raw | Malformed


class Writer(Protocol):
    def begin(self, document: Document) -> Write:
        """Where the cleaned text of `document` goes (whole, in order, before `end`)."""

    def end(self, document: Document) -> None: ...

    def raw(self, data: bytes) -> None: ...


class Format(Protocol):
    name: str

    def read(self, stream, at_start: bool = True) -> Iterator[Item]:
        """The documents of a binary stream of records, each whole (its text in a list of
        chunks). `at_start` is False for a block cut from further on in a stream (where a
        byte-order mark is no longer the stream's own). Plain text has no reader: see
        formats.text."""

    def writer(self, write: Write) -> Writer: ...


class RecordWriter:
    """A writer for formats that wrap each document in a record (a JSON line around its field, a
    Multi-News story with NEWLINE_CHAR and its separator): the record can only be written once the
    cleaned text is complete, so the text is collected here and handed whole to `write_record`."""

    def __init__(self, write: Write):
        self.write = write
        self.parts: list[bytes] = []

    def begin(self, document: Document) -> Write:
        self.parts.clear()
        return self.parts.append

    def end(self, document: Document) -> None:
        cleaned = b"".join(self.parts)
        self.parts.clear()
        self.write_record(document, cleaned)

    def write_record(self, document: Document, cleaned: bytes) -> None:
        raise NotImplementedError

    def raw(self, data: bytes) -> None:
        self.write(data)


def split_ending(line: bytes) -> tuple[bytes, bytes]:
    """A line and its line break ('\\n', '\\r\\n' or none)."""
    if line.endswith(b"\r\n"):
        return line[:-2], b"\r\n"
    if line.endswith(b"\n"):
        return line[:-1], b"\n"
    return line, b""
