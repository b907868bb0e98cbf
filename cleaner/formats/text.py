"""Plain text: a stream is one document, or several between separator lines."""

from __future__ import annotations

from typing import BinaryIO, Iterator

from ..reader import CHUNK_SIZE, SeparatorLines, document_pieces, line_chunks
from .base import Document, Item, Raw, Write


class TextFormat:
    name = "text"

    def __init__(self, separator: SeparatorLines | None = None, chunk_size: int = CHUNK_SIZE):
        self.separator = separator
        self.chunk_size = chunk_size

    def read(self, stream: BinaryIO, at_start: bool = True) -> Iterator[Item]:
        chunks = line_chunks(stream, self.chunk_size)
        if self.separator is None:
            yield Document(chunks)
            return
        pieces = (
            (chunk[start:end], is_separator)
            for chunk in chunks
            for start, end, is_separator in document_pieces(chunk, self.separator)
        )
        ended: list[bytes] = []  # the separator line that ended the last document

        def body() -> Iterator[bytes]:
            for piece, is_separator in pieces:
                if is_separator:
                    ended.append(piece)
                    return
                yield piece

        part = 1
        while True:
            document = Document(body(), part=part)
            yield document
            for _ in document.chunks:  # whatever the consumer left
                pass
            if not ended:
                return
            yield Raw(ended.pop())
            part += 1

    def writer(self, write: Write) -> "TextWriter":
        return TextWriter(write)


class TextWriter:
    def __init__(self, write: Write):
        self.write = write

    def begin(self, document: Document) -> Write:
        return self.write

    def end(self, document: Document) -> None:
        pass

    def raw(self, data: bytes) -> None:
        self.write(data)
