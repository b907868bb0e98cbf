"""The Multi-News source format: one example per line, its stories separated by '|||||', line
breaks inside a story written as NEWLINE_CHAR. Each story is a document; the separators (with
the spaces around them, as the source has them) and the line ends pass through unchanged."""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

from .base import Document, Item, RecordWriter, Write, split_ending

STORY_SEPARATOR = re.compile(rb"[ \t]*\|\|\|\|\|[ \t]*")
NEWLINE = b"NEWLINE_CHAR"


class MultiNewsFormat:
    name = "multinews"

    def read(self, stream: BinaryIO, at_start: bool = True) -> Iterator[Item]:
        for number, line in enumerate(stream, 1):
            body, ending = split_ending(line)
            stories, position = [], 0  # (story, what follows it: a separator or the line end)
            for match in STORY_SEPARATOR.finditer(body):
                stories.append((body[position : match.start()], match.group()))
                position = match.end()
            stories.append((body[position:], ending))
            for part, (story, after) in enumerate(stories, 1):
                text = story.replace(NEWLINE, b"\n")
                yield Document([text] if text else [], line=number, part=part, frame=after)

    def writer(self, write: Write) -> "MultiNewsWriter":
        return MultiNewsWriter(write)


class MultiNewsWriter(RecordWriter):
    def write_record(self, document: Document, cleaned: bytes) -> None:
        self.write(cleaned.replace(b"\n", NEWLINE) + document.frame)
