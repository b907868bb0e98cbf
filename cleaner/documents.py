"""Documents in a stream: split at separator lines, cleaned one by one, in order.

A chunk of a separated stream holds whole documents between its first and its last separator
line. Those need nothing from any other chunk, so the process that scans the chunk cleans them
too (`clean_chunk`, in the worker processes with several workers) and hands back their output.
Only the document that goes on from the chunk before and the one that goes on into the next
(the head and the tail) are cleaned by the caller, in order, with `Documents.take`.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from typing import Callable, NamedTuple

import numpy as np

from .engine import DocumentCleaner, Engine, Removal, shifted
from .matcher import Candidate
from .output import TidyWriter, Write
from .reader import SeparatorLines

Record = Callable[[int, Removal, bytes], None]  # (document number, removal, the removed bytes)
Keep = Callable[[bytes, int, int], None]  # (chunk, start, end): text that passes through as it is
_NO_SEPARATORS = (np.zeros(0, np.int64), np.zeros(0, np.int64))


class Cleaned(NamedTuple):
    """What the scanning process found and did in one chunk."""

    candidates: list[Candidate]  # all of them; the head's and the tail's when `output` is set
    separators: tuple[np.ndarray, np.ndarray]  # starts and ends of the chunk's separator lines
    output: tuple | None = None  # chunk[first separator's start : last separator's end], cleaned:
    # bytes, and (start, end) for text that passed through as it was (offsets from that start)
    removals: tuple = ()  # in it: (document number from 1 at the first separator, removal fields, bytes)


def scan_chunk(engine: Engine, chunk: bytes, separator: SeparatorLines | None) -> Cleaned:
    """The chunk's candidates and separator lines."""
    return Cleaned(engine.candidates(chunk), separator.find(chunk) if separator is not None else _NO_SEPARATORS)


def clean_chunk(engine: Engine, chunk: bytes, separator: SeparatorLines | None, recording: bool) -> Cleaned:
    """`scan_chunk`, and the complete documents cleaned (their removals kept if `recording`)."""
    scanned = scan_chunk(engine, chunk, separator)
    candidates, (starts, ends) = scanned.candidates, scanned.separators
    if len(starts) < 2:  # no complete document
        return scanned
    first, last = int(starts[0]), int(ends[-1])
    inside = slice(bisect_left(candidates, first, key=_start), bisect_left(candidates, last, key=_start))
    parts = _Parts()
    removals: list[tuple] = []
    record = _collect(removals, engine.positions) if recording else None
    documents = Documents(engine, parts.write, record, parts.keep)
    middle = candidates[inside]
    line = _line_number(chunk, first, middle[0]) if middle else 0
    documents.split(chunk[first:last], shifted(middle, -first, -line), (starts - first, ends - first))
    documents.finish()
    return Cleaned(candidates[: inside.start] + candidates[inside.stop :], (starts, ends), parts.done(), tuple(removals))


class _Parts:
    """Output handed back by offsets where it is the input's own text (most documents have no
    hit), so that only what changed goes back through the pipe."""

    def __init__(self):
        self.parts: list = []
        self.pending: list = []  # written bytes not yet joined

    def write(self, data) -> None:
        self.pending.append(data)

    def keep(self, text: bytes, start: int, end: int) -> None:
        self._join()
        self.parts.append((start, end))

    def done(self) -> tuple:
        self._join()
        return tuple(self.parts)

    def _join(self) -> None:
        if self.pending:
            self.parts.append(b"".join(self.pending))
            self.pending.clear()


def _collect(removals: list, position: dict[str, int]) -> Record:
    """Removals as plain fields (the rule by its position) to hand back to the caller."""

    def record(number: int, removal: Removal, removed: bytes) -> None:
        fields = (removal.start, removal.end, position[removal.rule.code], removal.line, removal.whole_lines)
        removals.append((number, fields, removed))

    return record


def _start(candidate: Candidate) -> int:
    return candidate.start


class Documents:
    """Splits chunks into documents at separator lines and feeds each to its DocumentCleaner.

    Most of a corpus's documents are only passed through, so the work is per document with a
    hit: a run of whole documents without one goes out, separators and all, as one slice.
    Documents are numbered from 1 for `record`.
    """

    def __init__(self, engine: Engine, write: Write, record: Record | None, keep: Keep | None = None):
        self.engine, self.write, self.record = engine, write, record
        # Not a method of self: that would make a cycle, and each Documents (one per chunk in a
        # worker) would hold its chunks through its output until the garbage collector ran.
        self.keep = keep or functools.partial(_keep_slice, write)
        self.out = TidyWriter(write)
        self.count = 1  # the current document's number
        self.current: DocumentCleaner | None = None  # made when document `count` is first fed
        self.fresh = True  # nothing of document `count` was fed yet

    def _document(self) -> DocumentCleaner:
        number, record = self.count, self.record
        return DocumentCleaner(self.engine, self.out, record and (lambda removal, removed: record(number, removal, removed)))

    def take(self, chunk: bytes, cleaned: Cleaned) -> None:
        """Feed a chunk whose complete documents the scanning process cleaned already: the
        document going on from the last chunk ends at the first separator, the cleaned output
        follows, and the document after the last separator goes on into the next chunk."""
        starts, ends = cleaned.separators
        if cleaned.output is None:  # nothing cleaned yet
            self.split(chunk, cleaned.candidates, cleaned.separators)
            return
        first, last = int(starts[0]), int(ends[-1])
        cut = bisect_left(cleaned.candidates, first, key=_start)
        head, tail = cleaned.candidates[:cut], cleaned.candidates[cut:]
        self.feed(chunk[:first], head, 0, 0)
        if not self.fresh:
            self.current.close()
            self.fresh = True
        text = memoryview(chunk)[first:]
        for part in cleaned.output:
            self.write(part if isinstance(part, bytes) else text[part[0] : part[1]])
        if self.record is not None:
            rules = self.engine.rules
            for number, (start, end, rule, line, whole), removed in cleaned.removals:
                self.record(self.count + number - 1, Removal(start, end, rules[rule], line, whole), removed)
        self.count += len(starts)
        line = _line_number(chunk, last, tail[0]) if tail else 0
        if last < len(chunk):
            self.feed(chunk[last:], tail, last, line)

    def split(self, chunk: bytes, candidates: list[Candidate], separators: tuple[np.ndarray, np.ndarray]) -> None:
        """Feed the chunk's documents; `separators` are the starts and ends of its separator lines."""
        starts, ends = separators
        base = self.count  # the number of the chunk's first document
        quiet = 0  # start of the pending run of passed-through text
        for document, first, stop in self._hit_documents(candidates, starts):
            begin = int(ends[document - 1]) if document else 0
            if quiet < begin:
                self.keep(chunk, quiet, begin)
            self.count = base + document
            end = int(starts[document]) if document < len(starts) else len(chunk)
            line = _line_number(chunk, begin, candidates[first]) if first < stop else 0
            self.feed(chunk[begin:end], candidates[first:stop], begin, line)
            if document == len(starts):  # the last document: it may go on in the next chunk
                return
            self.current.close()
            self.fresh = True
            quiet = end  # the separator line goes out with the next run
        self.count = base + len(starts)
        begin = int(ends[-1]) if len(ends) else 0
        if quiet < begin:
            self.keep(chunk, quiet, begin)
        if begin < len(chunk):
            self.feed(chunk[begin:], [], begin, 0)

    def _hit_documents(self, candidates: list[Candidate], separator_starts: np.ndarray) -> list[tuple[int, int, int]]:
        """(document, first, stop): the chunk's documents (0 = the text before its first
        separator) that have candidates[first:stop]. The first document also when one fed in an
        earlier chunk goes on in it: it has lines to close."""
        owners = np.searchsorted(separator_starts, [c.start for c in candidates], side="right")
        documents, firsts = np.unique(owners, return_index=True)
        stops = [*firsts[1:].tolist(), len(candidates)]
        found = list(zip(documents.tolist(), firsts.tolist(), stops))
        if not self.fresh and (not found or found[0][0] != 0):
            found.insert(0, (0, 0, 0))
        return found

    def feed(self, piece: bytes, candidates: list[Candidate], offset: int, line: int) -> None:
        """Feed the current document a piece that starts at `offset` and line `line` of the
        chunk the candidates were found in."""
        if piece or candidates:
            if self.fresh:  # made now, so that it reports under its own number
                self.current, self.fresh = self._document(), False
            self.current.feed(piece, shifted(candidates, -offset, -line))

    def finish(self) -> None:
        if not self.fresh:
            self.current.close()


def _keep_slice(write: Write, chunk: bytes, start: int, end: int) -> None:
    write(memoryview(chunk)[start:end])


def _line_number(chunk: bytes, offset: int, later: Candidate) -> int:
    """The line of the chunk that starts at `offset`, counted back from a candidate after it."""
    return later.index - chunk.count(b"\n", offset, later.start)
