"""Reading: chunks of whole lines, and document boundaries inside a stream.

The reader knows nothing of rules. It carries an incomplete last line over to the next read, so
every chunk it hands out ends at a line break (or at the end of the input).
"""

from __future__ import annotations

import codecs
import re
from typing import BinaryIO, Iterator

CHUNK_SIZE = 1 << 21  # 2 MiB: large enough that per-chunk costs vanish, small enough to stay flat


def line_chunks(stream: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks of at most about `size` bytes that never split a line.

    It takes what the stream has (read1), so a slow producer in a pipeline is not waited on.
    """
    read = getattr(stream, "read1", stream.read)
    partial: list[bytes] = []
    while True:
        data = read(size)
        if not data:
            break
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            partial.append(data)  # a line longer than the chunk: keep reading
            continue
        head = b"".join(partial) + data[:cut] if partial else data[:cut]
        partial = [data[cut:]] if cut < len(data) else []
        yield head
    if partial:
        yield b"".join(partial)


def separator_pattern(line: str | None = None, pattern: str | None = None) -> re.Pattern[bytes] | None:
    """A pattern matching one whole separator line, given as a literal line or as a regex."""
    if line is not None:
        literal = codecs.decode(line, "unicode_escape").encode("utf-8")
        return re.compile(rb"(?m)^" + re.escape(literal) + rb"\r?(?:\n|\Z)")
    if pattern is not None:
        return re.compile(rb"(?m)^(?:" + pattern.encode("utf-8") + rb")\r?(?:\n|\Z)")
    return None


def document_pieces(chunk: bytes, separator: re.Pattern[bytes] | None) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is_separator) spans of a chunk: document text and separator lines, in order."""
    position = 0
    if separator is not None:
        for match in separator.finditer(chunk):
            if match.end() == match.start():
                continue
            if match.start() > position:
                yield position, match.start(), False
            yield match.start(), match.end(), True
            position = match.end()
    if position < len(chunk):
        yield position, len(chunk), False
