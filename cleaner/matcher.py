"""The scan: all anchors of all selected rules in one Aho-Corasick automaton, run over whole chunks.

The matcher knows nothing of documents or rule kinds: it turns a chunk of whole lines into the
few lines where some anchor hit, with the rules (and block ends) that hit there.
"""

from __future__ import annotations

from itertools import accumulate
from typing import NamedTuple

import ahocorasick

from .normalize import scan_keys, scan_view
from .rules import Rule


class Candidate(NamedTuple):
    index: int  # line number within the chunk, from 0
    start: int  # byte offset of the line
    end: int  # byte offset of its line break (or of the chunk's end)
    starts: tuple[int, ...]  # rules (by position) whose anchors hit this line
    ends: frozenset[int]  # block rules whose end phrase hit this line


class Matcher:
    def __init__(self, rules: list[Rule]):
        self.rules = rules
        refs: dict[str, set[tuple[int, bool]]] = {}
        for position, rule in enumerate(rules):
            for phrase in rule.anchors:
                for key in scan_keys(phrase):
                    refs.setdefault(key, set()).add((position, False))
            for phrase in rule.end:
                for key in scan_keys(phrase):
                    refs.setdefault(key, set()).add((position, True))
        self.automaton = None
        if refs:
            self.automaton = ahocorasick.Automaton()
            for key, value in refs.items():
                self.automaton.add_word(key, tuple(sorted(value)))
            self.automaton.make_automaton()

    def scan(self, chunk: bytes) -> list[Candidate]:
        """The lines of `chunk` where an anchor hit, in order."""
        if self.automaton is None or not chunk:
            return []
        view = scan_view(chunk)
        hits: dict[int, set[tuple[int, bool]]] = {}
        line = last = 0
        for end, refs in self.automaton.iter(view):
            line += view.count("\n", last, end)
            last = end
            hits.setdefault(line, set()).update(refs)
        if not hits:
            return []
        # Line breaks are the only thing the scan view keeps in place, so map line numbers back
        # through the original chunk's line lengths (one C-level pass, only when something hit).
        lengths = list(accumulate(map(len, chunk.split(b"\n"))))
        candidates = []
        for index in sorted(hits):
            start = (lengths[index - 1] if index else 0) + index
            refs = hits[index]
            candidates.append(
                Candidate(
                    index,
                    start,
                    lengths[index] + index,
                    tuple(sorted({p for p, is_end in refs if not is_end})),
                    frozenset(p for p, is_end in refs if is_end),
                )
            )
        return candidates
