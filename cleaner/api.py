"""The Python API: a Cleaner holds the selected rules and the automaton, built once."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .engine import DocumentCleaner, Engine, shifted
from .matcher import Candidate
from .parallel import scanned_chunks
from .output import TidyWriter, Write
from .reader import CHUNK_SIZE, SeparatorLines, line_chunks
from .report import Report
from .rules import Rule, load_library, select_rules


class Cleaner:
    """Strip publisher noise from article text.

    >>> Cleaner().clean_text("Advertisement\\nThe council met on Tuesday.\\n")
    'The council met on Tuesday.\\n'
    """

    def __init__(
        self,
        rules: list[Rule] | None = None,
        *,
        select: list[str] | None = None,
        ignore: list[str] | None = None,
        langs: list[str] | None = None,
        rule_files: list[Path] = (),
        engine: str = "ahocorasick",
    ):
        if rules is not None and not (select or ignore or langs):
            self.rules = list(rules)  # exactly these
        else:
            library = rules if rules is not None else load_library(list(rule_files))
            self.rules = select_rules(library, select, ignore, langs)
        self.engine = Engine(self.rules, engine)

    def clean_stream(
        self,
        stream: BinaryIO,
        write: Write,
        *,
        name: str = "<stdin>",
        separator: SeparatorLines | None = None,
        chunk_size: int = CHUNK_SIZE,
        report: Report | None = None,
        workers: int = 1,
    ) -> None:
        """Clean a binary stream into `write`. The stream is one document unless `separator`
        (see reader.separator_pattern) marks document boundaries; separator lines pass through.

        With `workers` > 1, worker processes scan the chunks of a large input (the bulk of the
        work) while this process decides and writes, in order.
        """
        documents = _Documents(self.engine, TidyWriter(write), write, name, separator is not None, report)
        for chunk, candidates in scanned_chunks(self.engine, line_chunks(stream, chunk_size), workers, stream):
            if separator is None:
                documents.feed(chunk, candidates, 0, 0)
            else:
                documents.split(chunk, candidates, separator.find(chunk))
        documents.finish()

    def clean_bytes(self, data: bytes, **options) -> bytes:
        parts: list[bytes] = []
        self.clean_stream(io.BytesIO(data), parts.append, **options)
        return b"".join(parts)

    def clean_text(self, text: str, **options) -> str:
        data = text.encode("utf-8", "surrogateescape")
        return self.clean_bytes(data, **options).decode("utf-8", "surrogateescape")


class _Documents:
    """Splits chunks into documents at separator lines and feeds each to its DocumentCleaner.

    Most of a corpus's documents are only passed through, so the work is per document with a
    hit: a run of whole documents without one goes out, separators and all, as one slice.
    """

    def __init__(
        self, engine: Engine, out: TidyWriter, write: Write, name: str, numbered: bool, report: Report | None
    ):
        self.engine, self.out, self.write = engine, out, write
        self.name, self.numbered, self.report = name, numbered, report
        self.count = 1  # the current document's number, for the report
        self.current: DocumentCleaner | None = None  # made when document `count` is first fed
        self.fresh = True  # nothing of document `count` was fed yet

    def _document(self) -> DocumentCleaner:
        label = f"{self.name}#{self.count}" if self.numbered else self.name
        record = (lambda removal, removed: self.report.record(label, removal, removed)) if self.report else None
        return DocumentCleaner(self.engine, self.out, record)

    def split(self, chunk: bytes, candidates: list[Candidate], separators: tuple[np.ndarray, np.ndarray]) -> None:
        """Feed the chunk's documents; `separators` are the starts and ends of its separator lines."""
        starts, ends = separators
        base = self.count  # the number of the chunk's first document
        quiet = 0  # start of the pending run of passed-through text
        for document, first, stop in self._hit_documents(candidates, starts):
            begin = int(ends[document - 1]) if document else 0
            if quiet < begin:
                self.write(chunk[quiet:begin])
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
            self.write(chunk[quiet:begin])
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


def _line_number(chunk: bytes, offset: int, later: Candidate) -> int:
    """The line of the chunk that starts at `offset`, counted back from a candidate after it."""
    return later.index - chunk.count(b"\n", offset, later.start)
