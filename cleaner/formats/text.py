"""Plain text: a stream is one document, or several between separator lines.

Plain text has no records that frame its documents, so it has no reader of its own: a stream
is scanned a chunk at a time and its documents are found between the separator lines of the
scanned chunks (`parallel.clean_stream`, which `batch.clean_items` hands plain text to). A
reader that handed out one document at a time would have each short article scanned alone,
and a scan has a fixed cost that outweighs the cleaning of an article. The cleaned text is
written as it comes, so there is no writer either.
"""

from __future__ import annotations

from ..reader import CHUNK_SIZE, SeparatorLines


class TextFormat:
    name = "text"

    def __init__(self, separator: SeparatorLines | None = None, chunk_size: int = CHUNK_SIZE):
        self.separator = separator
        self.chunk_size = chunk_size
