"""The Python API: a Cleaner holds the selected rules and the automaton, built once."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Iterable

from .engine import DocumentCleaner, Engine, Removal, candidates_each
from .output import TidyWriter, Write
from .parallel import clean_stream
from .reader import CHUNK_SIZE, SeparatorLines
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
        work) and clean the documents that lie wholly inside a chunk, while this process cleans
        the rest and writes, in order.
        """
        record = _recorder(report, name, numbered=separator is not None)
        clean_stream(self.engine, stream, write, record, separator, chunk_size, workers)

    def clean_bytes(self, data: bytes, **options) -> bytes:
        parts: list[bytes] = []
        self.clean_stream(io.BytesIO(data), parts.append, **options)
        return b"".join(parts)

    def clean_text(self, text: str, **options) -> str:
        data = text.encode("utf-8", "surrogateescape")
        return self.clean_bytes(data, **options).decode("utf-8", "surrogateescape")

    def clean_batch(self, texts: Iterable[str]) -> list[str]:
        """Each text cleaned as `clean_text` cleans it, for many documents at once (a
        `datasets.map(batched=True)` batch, a list of articles). They are scanned together, a
        few MB at a time: one scan per document would cost more than the cleaning of an
        article itself.

        >>> Cleaner().clean_batch(["Advertisement\\nRain.", "Snow.\\nShare this article\\n"])
        ['Rain.', 'Snow.\\n']
        """
        cleaned: list[str] = []
        group: list[bytes] = []
        size = 0
        for text in texts:
            group.append(text.encode("utf-8", "surrogateescape"))
            size += len(group[-1])
            if size >= CHUNK_SIZE:
                cleaned.extend(self._clean_group(group))
                group, size = [], 0
        cleaned.extend(self._clean_group(group))
        return cleaned

    def _clean_group(self, texts: list[bytes]) -> list[str]:
        cleaned = []
        for text, candidates in zip(texts, candidates_each(self.engine, texts)):
            parts: list[bytes] = []
            document = DocumentCleaner(self.engine, TidyWriter(parts.append), None)
            if text:
                document.feed(text, candidates)
            document.close()
            cleaned.append(b"".join(parts).decode("utf-8", "surrogateescape"))
        return cleaned


def _recorder(report: Report | None, name: str, numbered: bool):
    """Removals to the report, under the input's name (and the document's number)."""
    if report is None:
        return None

    def record(number: int, removal: Removal, removed: bytes) -> None:
        report.record(f"{name}#{number}" if numbered else name, removal, removed)

    return record
