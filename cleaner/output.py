"""Writing what is kept: slices of the original bytes, with blank lines tidied after removals.

Removing a line must not leave a doubled blank line, a leading blank line or trailing blank lines
that were not there before. Only blank lines next to a removal need a decision, so kept text is
written in whole slices and only the blank lines at the edges of a kept region are looked at.
"""

from __future__ import annotations

from typing import Callable

Write = Callable[[bytes | memoryview], object]


class TidyWriter:
    """Receives kept regions and removal marks for one document at a time, in order."""

    def __init__(self, write: Write):
        self.write = write
        self.start_document()

    def start_document(self) -> None:
        self.previous = "start"  # the last kept line: "start" (none yet), "blank" or "text"
        self.removed = False  # a line was removed since the last kept line
        self.held: list[bytes] = []  # kept blank lines after the last text line, not yet written
        self.removed_after_held = False

    def removed_line(self) -> None:
        self.removed = True
        if self.held:
            self.removed_after_held = True

    def end_document(self) -> None:
        # Blank lines that only a removal made trailing go; blank lines the document ended with stay.
        if self.held and not self.removed_after_held:
            for line in self.held:
                self.write(line)
        self.start_document()

    def kept(self, buf: bytes, start: int, end: int) -> None:
        """Keep buf[start:end]: whole lines, except at the edge of a span cut."""
        if start >= end:
            return
        if start == 0 or buf[start - 1] == 10:
            start = self._leading_blanks(buf, start, end)
            if start >= end:
                return
            first_is_partial = False
        else:
            first_is_partial = True
        text_end = end
        if end == len(buf) or buf[end - 1] == 10:
            text_end = self._trailing_blanks_start(buf, start, end, first_is_partial)
        if text_end > start:
            self._text(memoryview(buf)[start:text_end])
        self._leading_blanks(buf, text_end, end)

    def _leading_blanks(self, buf: bytes, start: int, end: int) -> int:
        """Handle the blank lines at buf[start:], return where the first non-blank line starts."""
        while start < end:
            newline = buf.find(b"\n", start, end)
            line_end = end if newline < 0 else newline + 1
            line = buf[start:line_end]
            if line.strip():
                break
            self._blank(line)
            start = line_end
        return start

    @staticmethod
    def _trailing_blanks_start(buf: bytes, start: int, end: int, first_is_partial: bool) -> int:
        while end > start:
            newline = buf.rfind(b"\n", start, end - 1)
            line_start = newline + 1 if newline >= 0 else start
            if (line_start == start and first_is_partial) or buf[line_start:end].strip():
                break
            end = line_start
        return end

    def _blank(self, line: bytes) -> None:
        if self.removed and self.previous != "text":
            return  # a removal made it a doubled (or leading) blank line
        self.held.append(line)
        self.previous = "blank"
        self.removed = False

    def _text(self, data: memoryview) -> None:
        for line in self.held:
            self.write(line)
        self.held.clear()
        self.removed_after_held = False
        self.write(data)
        self.previous = "text"
        self.removed = False
