"""Reading: chunks of whole lines, and document boundaries inside a stream.

The reader knows nothing of rules. It carries an incomplete last line over to the next read, so
every chunk it hands out ends at a line break (or at the end of the input).
"""

from __future__ import annotations

import codecs
import os
import re
import select
import stat
from typing import BinaryIO, Iterator

import numpy as np

CHUNK_SIZE = 1 << 21  # 2 MiB: large enough that per-chunk costs vanish, small enough to stay flat


def line_chunks(stream: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks of at most about `size` bytes that never split a line.

    It takes what the stream has (read1) and reads on only while more is ready at once: a pipe
    hands out 64 KiB at a time, and chunks that small would cost per-chunk work thirty times
    over, while a slow producer in a pipeline is still not waited on.
    """
    read = getattr(stream, "read1", stream.read)
    partial: list[bytes] = []
    while True:
        data = read(size)
        if not data:
            break
        if len(data) < size:
            data, ended = _read_on(stream, read, data, size)
            if ended:  # the input's last line goes with the rest, not as a chunk of its own
                partial.append(data)
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


def _read_on(stream: BinaryIO, read, data: bytes, size: int) -> tuple[bytes, bool]:
    """`data` and what else the stream has ready now, up to `size` bytes, and whether the
    stream ended."""
    parts, total = [data], len(data)
    ended = False
    while total < size and _ready(stream):
        more = read(size - total)
        if not more:
            ended = True
            break
        parts.append(more)
        total += len(more)
    return b"".join(parts) if len(parts) > 1 else data, ended


def _ready(stream: BinaryIO) -> bool:
    """Whether reading would return at once: always for files and memory, for pipes and
    sockets when data is waiting."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return True  # no descriptor: in memory, or a decompressor over a file
    try:
        return is_regular_file(descriptor) or bool(select.select([descriptor], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def is_regular_file(descriptor: int) -> bool:
    """A file on disk, as opposed to a pipe, socket or terminal."""
    try:
        return stat.S_ISREG(os.fstat(descriptor).st_mode)
    except OSError:
        return False


class SeparatorLines:
    """Finds the whole lines of a chunk that separate documents.

    A separator given as a line (`--doc-sep`) is found in numpy from the chunk's line breaks:
    a corpus separated by blank lines has hundreds of them per MB. A separator regex searches
    for the line break before a separator (and looks ahead for the line itself), so that `re`
    jumps from line break to line break instead of trying every byte as `(?m)^...` would.
    """

    def __init__(self, body: bytes, literal: bytes | None = None):
        line = rb"(?:" + body + rb")\r?(?:\n|\Z)"
        self._first = re.compile(line)
        self._later = re.compile(rb"\n(?=(" + line + rb"))")
        self.literal = literal if literal is not None and not {10, 13} & set(literal) else None

    def find(self, chunk: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of each separator line, its line break included, in order."""
        if self.literal is not None:
            return _literal_lines(chunk, self.literal)
        found = [match.span(1) for match in self._later.finditer(chunk)]
        first = self._first.match(chunk)
        if first is not None and first.end() > 0:
            found.insert(0, (0, first.end()))
        spans = np.array([span for span in found if span[1] > span[0]], np.int64).reshape(-1, 2)
        return spans[:, 0], spans[:, 1]

    def matches(self, line: bytes) -> bool:
        """Whether one line (with its line break, if it has one) is a separator line."""
        return bool(line) and self._first.fullmatch(line) is not None

    def spans(self, chunk: bytes) -> Iterator[tuple[int, int]]:
        """(start, end) of each separator line, its line break included."""
        starts, ends = self.find(chunk)
        return zip(starts.tolist(), ends.tolist())


def _literal_lines(chunk: bytes, body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The lines of a chunk that are `body`, before an optional carriage return."""
    data = np.frombuffer(chunk, np.uint8)
    breaks = np.flatnonzero(data == 10)
    starts = np.concatenate([[0], breaks + 1])
    stops = np.concatenate([breaks, [len(chunk)]])  # where each line's text ends
    if starts[-1] == len(chunk):  # no line after the last break
        starts, stops = starts[:-1], stops[:-1]
    crlf = np.zeros(len(stops), bool)
    crlf[stops > starts] = data[stops[stops > starts] - 1] == 13
    lines = np.flatnonzero(stops - starts - crlf == len(body))
    if body:
        lines = np.array([i for i in lines.tolist() if chunk.startswith(body, starts[i])], np.int64)
    return starts[lines], np.minimum(stops[lines] + 1, len(chunk))


def separator_pattern(line: str | None = None, pattern: str | None = None) -> SeparatorLines | None:
    """What marks a document boundary: a whole line, given literally or as a regex."""
    if line is not None:
        literal = codecs.decode(line, "unicode_escape").encode("utf-8")
        return SeparatorLines(re.escape(literal), literal)
    if pattern is not None:
        return SeparatorLines(pattern.encode("utf-8"))
    return None
