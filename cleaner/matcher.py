"""The scan: which lines of a chunk can concern which rules.

All anchors of all selected rules go into one multi-literal scan over the chunk's scan view (see
`normalize.scan_view_bytes`): a pyahocorasick automaton or, with `engine="hyperscan"` (pip install
.[fast]), a Hyperscan literal database; both find every occurrence of the same keys, so the output
is the same. A `whole_line` label is a key framed by line breaks, so a label such as "Share" costs
nothing on the many lines where the word appears in prose. Anchors without words (a "©"), and
common words made telling by a rare mark ("% off"), are found by their mark in one pass per chunk.

Most rules only act on short lines (`max_len`, `whole_line`), while their anchors are common
words. A hit passes on to the engine only where the line is short enough for one of its rules;
the view gives a lower bound on each line's normalised length (its ASCII letters and digits plus
one character between each two words), per chunk, in numpy.

The matcher knows nothing of documents or rule kinds beyond that: it turns a chunk of whole lines
into the few lines that need a closer look, with the rules (and block ends) that hit there.
"""

from __future__ import annotations

import re
from itertools import chain
from typing import NamedTuple

import ahocorasick
import numpy as np

from . import cache
from .errors import CleanerError
from .normalize import (
    COMMON_MARKS,
    mark_literals,
    scan_keys,
    scan_view_bytes,
    scan_view_text,
    telling_mark,
    view_words,
)
from .rules import WHOLE_LINE_BYTES, Rule

ENGINES = ("ahocorasick", "hyperscan", "auto")
UNBOUNDED = 1 << 62  # no length limit
CACHED_RULE_SETS = 50  # rule sets at least this large keep their scan tables in the cache
_ASCII_BUT_BREAK = bytes(b for b in range(128) if b != 10)


class Candidate(NamedTuple):
    index: int  # line number within the chunk, from 0
    start: int  # byte offset of the line
    end: int  # byte offset of its line break (or of the chunk's end)
    starts: tuple[int, ...]  # rules (by position) whose anchors hit this line
    ends: frozenset[int]  # block rules whose end phrase hit this line
    norm: str | None = None  # the normalised line, once a rule was checked against it
    found: tuple[tuple[int, tuple[tuple[int, int], ...]], ...] = ()  # (rule, its spans in norm)


def length_limit(rule: Rule) -> int:
    """The longest normalised line the rule can act on (a `whole_line` label is at most
    WHOLE_LINE_BYTES raw bytes, so at most as many characters)."""
    limit = rule.max_len or UNBOUNDED
    return min(limit, WHOLE_LINE_BYTES) if rule.whole_line else limit


def weak_key(phrase: str) -> bool:
    """A phrase whose words alone are one common-looking word ("% off", "said:", "[ad]"): the
    scan finds it by its telling mark when that mark is rare in prose ("%"), else by its word on
    lines that hold the mark too ("said" on a line with ":")."""
    words = view_words(phrase)
    return words != phrase and " " not in words


def exact_label(rule: Rule) -> bool:
    """Rules that match a whole line against their anchors alone: keys framed by line breaks."""
    return rule.whole_line and rule.pattern is None


class Ref(NamedTuple):
    """What a key's hit means: a rule (by position) whose anchor or block end may be on the line."""

    rule: int
    is_end: bool
    limit: int  # the longest normalised line it can act on
    cuts: bool  # a span rule's anchor: the rule may cut a piece out of the line
    needs: tuple[bytes, ...] = ()  # raw forms of a character the line must hold (one of them)


class RefTable:
    """The refs of every key as flat arrays, so a chunk's hits are filtered without a loop."""

    def __init__(self, key_refs: list[list[Ref]]):
        flat = [ref for refs in key_refs for ref in refs]
        counts = np.array([len(refs) for refs in key_refs], np.int64)
        self.key_first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.key_count = counts
        self.key_limit = np.array([max(r.limit for r in refs) for refs in key_refs], np.int64)
        self.rule = np.array([r.rule for r in flat], np.int64)
        self.is_end = np.array([r.is_end for r in flat], bool)
        self.limit = np.array([r.limit for r in flat], np.int64)
        self.cuts = np.array([r.cuts for r in flat], bool)
        self.rule_count = int(self.rule.max(initial=-1)) + 1
        self.ref_code = self.rule + self.rule_count * self.is_end  # end phrases after all rules
        # What a weak key's ref needs: one of a few raw characters, checked per line at once.
        need_sets = sorted({r.needs for r in flat if r.needs})
        self.need_patterns = [re.compile(b"|".join(map(re.escape, needs))) for needs in need_sets]  # one pass a line
        need_ids = {needs: i for i, needs in enumerate(need_sets)}
        self.need_id = np.array([need_ids.get(r.needs, -1) for r in flat], np.int64)
        # The rules (not block ends) each key may open, for a short text's scan.
        self.rules_of = [frozenset(r.rule for r in refs if not r.is_end) for refs in key_refs]

    def expand(self, lines: np.ndarray, key_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One row per ref of each hit: (line, ref index)."""
        counts = self.key_count[key_ids]
        total = int(counts.sum())
        row_start = np.repeat(np.cumsum(counts) - counts, counts)
        refs = np.repeat(self.key_first[key_ids], counts) + np.arange(total) - row_start
        return np.repeat(lines, counts), refs

    def has_needed(self, chunk: bytes, starts, ends, lines: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """Whether each row's line holds a character its ref needs (rows without needs: True).
        The few rows with needs are checked line by line: the marks they need (":", ".") are in
        most lines of prose, so finding all of them in the chunk would cost more."""
        need_ids = self.need_id[refs]
        usable = need_ids < 0
        asking = np.flatnonzero(~usable)
        if not len(asking):
            return usable
        asked = lines[asking]
        known: dict[tuple[int, int], bool] = {}
        holds = []
        patterns = self.need_patterns
        for line, need, start, end in zip(
            asked.tolist(), need_ids[asking].tolist(), starts[asked].tolist(), ends[asked].tolist()
        ):
            held = known.get((line, need))
            if held is None:
                held = known[line, need] = patterns[need].search(chunk, start, end) is not None
            holds.append(held)
        usable[asking] = holds
        return usable

    def candidates(self, lines: np.ndarray, refs: np.ndarray, starts, ends) -> list[Candidate]:
        """One candidate per line, with its rules and block ends."""
        if not len(lines):
            return []
        # One number per (line, is_end, rule): sorted so, repeats dropped.
        lines, code = np.divmod(_distinct(lines * 2 * self.rule_count + self.ref_code[refs]), 2 * self.rule_count)
        is_end = code >= self.rule_count
        rules = (code % self.rule_count).tolist()
        first = np.flatnonzero(np.diff(lines, prepend=-1))
        split = first + np.add.reduceat((~is_end).astype(np.int64), first)  # where a line's block ends begin
        last = [*first[1:].tolist(), len(rules)]
        lines = lines[first]
        found = [
            Candidate(line, start, end, tuple(rules[a:b]), frozenset(rules[b:c]))
            for line, start, end, a, b, c in zip(
                lines.tolist(), starts[lines].tolist(), ends[lines].tolist(), first.tolist(), split.tolist(), last
            )
        ]
        return found


def scan_tables(rules: list[Rule]) -> tuple[list[str], RefTable, dict[bytes, int], bytes]:
    """The automaton's keys, what each key's hit means, the literals found by their marks, and
    the bytes the mark pass keeps. About 0.1 s for the shipped library, so a large rule set's
    tables are kept in the user's cache (see `cache`), under the rule fields they come from."""
    if len(rules) < CACHED_RULE_SETS:  # built in a few milliseconds
        return _build_tables(rules)
    key = repr([_scanned_fields(rule) for rule in rules]).encode("utf-8", "surrogateescape")
    return cache.memo("scan", key, lambda: _build_tables(rules), valid=lambda found: isinstance(found, tuple))


def _scanned_fields(rule: Rule) -> tuple:
    """Everything of a rule that goes into the scan tables."""
    return (rule.anchors, sorted(rule.trimmed_anchors), rule.end, rule.kind, rule.whole_line,
            rule.pattern is None, rule.at, rule.joined, rule.max_len)


def _build_tables(rules: list[Rule]) -> tuple[list[str], RefTable, dict[bytes, int], bytes]:
    keys: dict[str, set[Ref]] = {}
    literals: dict[bytes, set[Ref]] = {}
    for position, rule in enumerate(rules):
        # An exact label is compared once trimmed: its keys come from the trimmed anchors.
        anchors = sorted(rule.trimmed_anchors) if exact_label(rule) else rule.anchors
        for phrase, is_end in chain(((a, False) for a in anchors), ((e, True) for e in rule.end)):
            limit = UNBOUNDED if is_end else length_limit(rule)
            cuts = rule.kind == "span" and not is_end
            found = scan_keys(
                phrase, exact_label(rule) and not is_end, rule.at if not is_end else "", rule.joined and not is_end
            )
            weak = bool(found) and weak_key(phrase)
            mark = telling_mark(phrase) if weak or not found else None
            if found and not (weak and mark not in COMMON_MARKS):
                needs = tuple(sorted(mark_literals(mark))) if weak else ()
                for key in found:
                    keys.setdefault(key, set()).add(Ref(position, is_end, limit, cuts, needs))
            else:  # a symbol ("©"), or a common word made telling by a rare mark ("% off")
                for literal in mark_literals(mark):
                    literals.setdefault(literal, set()).add(Ref(position, is_end, limit, cuts))
    refs = RefTable([sorted(refs) for refs in chain(keys.values(), literals.values())])
    literal_ids = {literal: len(keys) + i for i, literal in enumerate(literals)}
    wanted = set(b"".join(literals)) | {10}
    not_marks = bytes(b for b in range(256) if b not in wanted)
    return list(keys), refs, literal_ids, not_marks


class Matcher:
    def __init__(self, rules: list[Rule], engine: str = "ahocorasick"):
        self.rules = rules
        self.engine = resolve_engine(engine)
        keys, self.refs, self.literal_ids, self.not_marks = scan_tables(rules)
        self.automaton = self.database = None
        if keys and self.engine == "hyperscan":
            self._build_hyperscan(keys)
        elif keys:
            self.automaton = ahocorasick.Automaton()
            for key_id, key in enumerate(keys):
                self.automaton.add_word(key, key_id)
            self.automaton.make_automaton()

    def _build_hyperscan(self, keys: list[str]) -> None:
        """Compiling the database takes about 0.13 s: it is kept in the user's cache, serialized.
        A database serialized on another machine (a shared home) may not load here: compiled then."""
        import hyperscan

        expressions = [k.encode("latin-1") for k in keys]
        serialized = cache.memo(
            "hyperscan", b"\0".join([hyperscan.__version__.encode(), *expressions]),
            lambda: hyperscan.dumpb(_hyperscan_database(expressions)), valid=lambda found: isinstance(found, bytes)
        )
        try:
            self.database = hyperscan.loadb(serialized, hyperscan.HS_MODE_BLOCK)
            self.database.scratch = hyperscan.Scratch(self.database)  # compile() makes one, loadb() not
        except hyperscan.error:
            self.database = _hyperscan_database(expressions)

    def __getstate__(self):  # a Hyperscan database does not pickle: workers rebuild the matcher
        return {"rules": self.rules, "engine": self.engine}

    def __setstate__(self, state):
        self.__init__(state["rules"], state["engine"])

    def scan(self, chunk: bytes) -> list[Candidate]:
        """The lines of `chunk` that some rule may concern, in order."""
        if not chunk:
            return []
        view, view_breaks, lines, key_ids = self._hits(chunk)
        if not len(lines):
            return []
        table = self.refs
        lengths = shortest_lengths(view, view_breaks)
        # Drop the hits no rule of the key can use on a line that long, then spell out the rest
        # as one row per (hit, ref).
        kept = table.key_limit[key_ids] >= lengths[lines]
        lines, refs = table.expand(lines[kept], key_ids[kept])
        if not len(refs):
            return []
        starts, ends = _line_bounds(chunk)
        usable = table.has_needed(chunk, starts, ends, lines, refs)
        fits = table.limit[refs] >= lengths[lines]
        # A line where a span rule may cut keeps all its refs: what the cut leaves is checked
        # against the line's other rules.
        opened = np.zeros(len(lengths), bool)
        opened[lines[usable & fits & table.cuts[refs]]] = True
        chosen = usable & (fits | opened[lines])
        return table.candidates(lines[chosen], refs[chosen], starts, ends)

    def rules_in(self, text: str) -> set[int]:
        """The rules (by position) whose anchors hit a short text, with no length or mark filter:
        for what a cut leaves of a line, which each rule's own check then decides. Without
        numpy, whose whole-chunk steps cost more in fixed overhead than such a text's scan."""
        try:
            raw = text.encode()
        except UnicodeEncodeError:  # lone surrogates (undecodable input): the view of its bytes
            return self._chunk_rules_in(text.encode("utf-8", "surrogateescape"))
        view = scan_view_text(text)
        if self.automaton is not None:
            key_ids = [key_id for _, key_id in self.automaton.iter(view)]
        elif self.database is not None:
            key_ids = []
            self.database.scan(view.encode("latin-1"), match_event_handler=lambda key, *_: key_ids.append(key))
        else:
            key_ids = []
        key_ids += [key_id for literal, key_id in self.literal_ids.items() if literal in raw]
        return set().union(*(self.refs.rules_of[key_id] for key_id in key_ids))

    def _chunk_rules_in(self, line: bytes) -> set[int]:
        _, _, lines, key_ids = self._hits(line)
        refs = self.refs.expand(lines, key_ids)[1]
        return set(self.refs.rule[refs[~self.refs.is_end[refs]]].tolist())

    def _hits(self, chunk: bytes) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
        """The chunk's scan view and its line breaks (one more than the chunk has), and the line
        (in the chunk) and key of every hit."""
        view = scan_view_bytes(chunk)
        view_breaks = np.flatnonzero(np.frombuffer(view, np.uint8) == 10)
        if self.automaton is not None:
            found = np.fromiter(chain.from_iterable(self.automaton.iter(view.decode("latin-1"))), np.int64)
            last, key_ids = found[0::2], found[1::2]
        elif self.database is not None:
            pairs: list[int] = []
            self.database.scan(view, match_event_handler=lambda key, _, end, *rest: pairs.extend((end - 1, key)))
            found = np.array(pairs, np.int64)
            last, key_ids = found[0::2], found[1::2]
        else:
            last = key_ids = np.zeros(0, np.int64)
        lines = np.searchsorted(view_breaks, last) - 1  # the view opens with a line break of its own
        if self.literal_ids:
            symbol_lines, symbol_ids = self._symbol_hits(Marks(chunk, self.not_marks))
            lines, key_ids = np.concatenate([lines, symbol_lines]), np.concatenate([key_ids, symbol_ids])
        return view, view_breaks, lines, key_ids

    def _symbol_hits(self, marks: Marks) -> tuple[np.ndarray, np.ndarray]:
        """Lines holding a literal: a symbol or a rare mark."""
        lines, key_ids = [_NO_LINES], [_NO_LINES]
        for literal, key_id in self.literal_ids.items():
            found = marks.lines_of(literal)
            if len(found):
                lines.append(found)
                key_ids.append(np.full(len(found), key_id, np.int64))
        return np.concatenate(lines), np.concatenate(key_ids)


class Marks:
    """Where a chunk's marks and symbols are. They are rare, so one pass deletes every byte but
    theirs and the line breaks: a character's bytes stay together and what is left is small."""

    def __init__(self, chunk: bytes, not_marks: bytes):
        self.chunk = chunk
        self.not_marks = not_marks
        self._rest: np.ndarray | None = None
        self._starting: dict[int, np.ndarray] = {}  # byte -> where it is, shared by literals

    def lines_of(self, literal: bytes) -> np.ndarray:
        """The line of each occurrence of the literal."""
        if self._rest is None:
            self._kept = self.chunk.translate(None, self.not_marks)
            self._rest = np.frombuffer(self._kept, np.uint8)
            self._breaks = np.flatnonzero(self._rest == 10)
        if literal not in self._kept:  # most literals are in no line: a search of the few kept bytes
            return _NO_LINES
        rest = self._rest
        if literal[0] not in self._starting:
            self._starting[literal[0]] = np.flatnonzero(rest == literal[0])
        at = self._starting[literal[0]]
        at = at[at <= len(rest) - len(literal)]
        for offset in range(1, len(literal)):
            at = at[rest[at + offset] == literal[offset]]
        return np.searchsorted(self._breaks, at)


_NO_LINES = np.zeros(0, np.int64)


def _hyperscan_database(expressions: list[bytes]):
    import hyperscan

    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions), flags=0, literal=True
    )
    return database


def shortest_lengths(view: bytes, breaks: np.ndarray) -> np.ndarray:
    """For each line, a lower bound on the length of its normalised form: its ASCII letters and
    digits plus one character between each two of its words (a space or a mark). In the view a
    line is ` word word ` between line breaks: that is its length less its non-ASCII bytes and
    the two framing spaces. `breaks` are the view's line breaks."""
    lengths = np.diff(breaks) - 1
    if not view.isascii():
        lengths -= _per_line(view.translate(None, _ASCII_BUT_BREAK))[1:-1]
    return np.maximum(lengths - 2, 0)


def _distinct(values: np.ndarray) -> np.ndarray:
    """np.unique without its check for masked arrays, which imports numpy.ma (17 ms, in every
    process) on first use."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


def _per_line(kept: bytes) -> np.ndarray:
    """The bytes between line breaks, per line, of what a delete-translate kept."""
    breaks = np.flatnonzero(np.frombuffer(kept, np.uint8) == 10)
    return np.diff(np.concatenate([[-1], breaks, [len(kept)]])) - 1


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
