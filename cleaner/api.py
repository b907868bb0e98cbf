"""The Python API: a Cleaner holds the selected rules and the automaton, built once."""

from __future__ import annotations

import io
from bisect import bisect_left
from pathlib import Path
from typing import BinaryIO

from .engine import DocumentCleaner, Engine, candidates_in
from .parallel import scanned_chunks
from .output import TidyWriter, Write
from .reader import CHUNK_SIZE, SeparatorLines, document_pieces, line_chunks
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
        out = TidyWriter(write)
        count = 1

        def document() -> DocumentCleaner:
            label = f"{name}#{count}" if separator is not None else name
            record = (lambda removal, removed: report.record(label, removal, removed)) if report else None
            return DocumentCleaner(self.engine, out, record)

        current = document()
        for chunk, candidates in scanned_chunks(self.engine, line_chunks(stream, chunk_size), workers, stream):
            if separator is None:
                current.feed(chunk, candidates)
                continue
            hits = [c.start for c in candidates]
            pieces = list(document_pieces(chunk, separator))
            line = index = 0  # the chunk line where the piece starts, and the piece
            while index < len(pieces):
                start, end, is_separator = pieces[index]
                if is_separator:
                    # Whole documents without a hit go out as they are, with their separators.
                    last = _quiet_stretch(pieces, index, hits)
                    current.close()
                    end = pieces[last][1]
                    write(chunk[start:end])
                    count += sum(1 for piece in pieces[index : last + 1] if piece[2])
                    current = document()
                    index = last
                elif (start, end) == (0, len(chunk)):
                    current.feed(chunk, candidates)
                else:
                    current.feed(chunk[start:end], candidates_in(candidates, start, end, line))
                line += chunk.count(b"\n", start, end)
                index += 1
        current.close()

    def clean_bytes(self, data: bytes, **options) -> bytes:
        parts: list[bytes] = []
        self.clean_stream(io.BytesIO(data), parts.append, **options)
        return b"".join(parts)

    def clean_text(self, text: str, **options) -> str:
        data = text.encode("utf-8", "surrogateescape")
        return self.clean_bytes(data, **options).decode("utf-8", "surrogateescape")


def _quiet_stretch(pieces: list[tuple[int, int, bool]], first: int, hits: list[int]) -> int:
    """The last separator at or after pieces[first] (a separator) up to which no piece holds a
    hit: the documents in between are complete and need no decision."""
    last = first
    for index in range(first + 1, len(pieces)):
        start, end, is_separator = pieces[index]
        if is_separator:
            last = index
        elif bisect_left(hits, start) != bisect_left(hits, end):
            break
    return last
