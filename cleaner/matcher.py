"""The scan: which lines of a chunk can concern which rules.

Two tiers, both run over whole chunks:
- all anchors of all selected rules in one multi-literal scan over the chunk's scan view: a
  pyahocorasick automaton, or, with `engine="hyperscan"` (pip install .[fast]), a Hyperscan
  literal database; both find every occurrence of the same keys, so the output is the same;
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

from .normalize import normalize, scan_keys, scan_view, scan_view_bytes, trim
from .errors import CleanerError

ENGINES = ("ahocorasick", "hyperscan", "auto")
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
    def __init__(self, rules: list[Rule], engine: str = "ahocorasick"):
        self.rules = rules
        self.engine = resolve_engine(engine)
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
        self.automaton = self.database = None
        if refs and self.engine == "hyperscan":
            self._build_hyperscan(refs)
        elif refs:
            self.automaton = ahocorasick.Automaton()
            for key, value in refs.items():
                self.automaton.add_word(key, tuple(sorted(value)))
            self.automaton.make_automaton()

    def _build_hyperscan(self, refs: dict[str, set[tuple[int, bool]]]) -> None:
        import hyperscan

        keys = list(refs)
        self.key_refs = [tuple(sorted(refs[k])) for k in keys]
        self.database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        expressions = [k.encode("latin-1") for k in keys]
        self.database.compile(
            expressions=expressions, ids=list(range(len(keys))), elements=len(keys), flags=0, literal=True
        )

    def __getstate__(self):  # a Hyperscan database does not pickle: workers rebuild the matcher
        return {"rules": self.rules, "engine": self.engine}

    def __setstate__(self, state):
        self.__init__(state["rules"], state["engine"])

    def scan(self, chunk: bytes) -> list[Candidate]:
        """The lines of `chunk` that some rule may concern, in order."""
        if not chunk:
            return []
        hits: dict[int, set[tuple[int, bool]]] = {}
        if self.automaton is not None:
            self._scan_anchors(chunk, hits)
        elif self.database is not None:
            self._scan_hyperscan(chunk, hits)
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

    def _scan_hyperscan(self, chunk: bytes, hits: dict) -> None:
        view = scan_view_bytes(chunk)
        found: list[tuple[int, int]] = []
        self.database.scan(view, match_event_handler=lambda key, start, end, flags, context: found.append((end, key)))
        found.sort()
        line = last = 0
        for end, key in found:
            line += view.count(b"\n", last, end)
            last = end
            hits.setdefault(line, set()).update(self.key_refs[key])

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


def resolve_engine(engine: str) -> str:
    """'auto' is Hyperscan when it is installed, else pyahocorasick."""
    if engine not in ENGINES:
        raise CleanerError(f"unknown engine '{engine}' (expected one of: {', '.join(ENGINES)})", exit_code=2)
    if engine == "ahocorasick":
        return engine
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        if engine == "hyperscan":
            raise CleanerError("the hyperscan engine needs the 'hyperscan' package: pip install '.[fast]'", 2) from None
        return "ahocorasick"
    return "hyperscan"
