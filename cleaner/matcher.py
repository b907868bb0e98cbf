"""The scan: which lines of a chunk can concern which rules.

Two tiers, both run over whole chunks:
- all anchors of all selected rules in one Aho-Corasick automaton over the chunk's scan view;
- rules that match a whole line exactly (`whole_line` without a regex) by a hash lookup of the
  trimmed, normalised text of the chunk's short lines, so that a label such as "Share" or
  "Comments" costs nothing on the many lines where the word appears in prose.

The matcher knows nothing of documents or rule kinds: it turns a chunk of whole lines into the
few lines that need a closer look, with the rules (and block ends) that hit there.
"""

from __future__ import annotations

from typing import NamedTuple

import ahocorasick
import numpy as np

from .normalize import normalize, scan_keys, scan_view, trim
from .rules import WHOLE_LINE_BYTES, Rule


class Candidate(NamedTuple):
    index: int  # line number within the chunk, from 0
    start: int  # byte offset of the line
    end: int  # byte offset of its line break (or of the chunk's end)
    starts: tuple[int, ...]  # rules (by position) whose anchors hit this line
    ends: frozenset[int]  # block rules whose end phrase hit this line


def exact_tier(rule: Rule) -> bool:
    """Rules found by a lookup of the whole line rather than by the automaton."""
    return rule.whole_line and rule.pattern is None


class Matcher:
    def __init__(self, rules: list[Rule]):
        self.rules = rules
        refs: dict[str, set[tuple[int, bool]]] = {}
        self.exact: dict[str, set[int]] = {}  # trimmed anchor -> rules
        for position, rule in enumerate(rules):
            if exact_tier(rule):
                for phrase in rule.trimmed_anchors:
                    self.exact.setdefault(phrase, set()).add(position)
            else:
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
        """The lines of `chunk` that some rule may concern, in order."""
        if not chunk:
            return []
        hits: dict[int, set[tuple[int, bool]]] = {}
        if self.automaton is not None:
            self._scan_anchors(chunk, hits)
        lines = None
        if self.exact:
            lines = _line_bounds(chunk)
            self._scan_exact(chunk, lines, hits)
        if not hits:
            return []
        starts, ends = lines if lines is not None else _line_bounds(chunk)
        candidates = []
        for index in sorted(hits):
            refs = hits[index]
            candidates.append(
                Candidate(
                    index,
                    int(starts[index]),
                    int(ends[index]),
                    tuple(sorted({p for p, is_end in refs if not is_end})),
                    frozenset(p for p, is_end in refs if is_end),
                )
            )
        return candidates

    def _scan_anchors(self, chunk: bytes, hits: dict) -> None:
        view = scan_view(chunk)
        line = last = 0
        for end, refs in self.automaton.iter(view):
            line += view.count("\n", last, end)  # line breaks are what the view keeps in place
            last = end
            hits.setdefault(line, set()).update(refs)

    def _scan_exact(self, chunk: bytes, lines: tuple[np.ndarray, np.ndarray], hits: dict) -> None:
        starts, ends = lines
        lengths = ends - starts
        for index in np.flatnonzero((lengths > 1) & (lengths <= WHOLE_LINE_BYTES)).tolist():
            text = chunk[starts[index] : ends[index]].decode("utf-8", "surrogateescape")
            rules = self.exact.get(trim(normalize(text)))
            if rules:
                hits.setdefault(index, set()).update((p, False) for p in rules)


def _line_bounds(chunk: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (the line break's offset) of every line of the chunk."""
    breaks = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(chunk)]])
    return starts, ends
