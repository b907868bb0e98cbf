"""Decisions: which bytes of a document go, by which rule.

The engine works on a buffer of whole lines. Only the lines the matcher reports are looked at in
Python. A decision that needs to see further than the buffer (a block's end, the end of the
document for a tail) is *deferred*: the engine reports how far everything is decided, and the
document cleaner carries the rest over to the next buffer. So a block or tail never loses state
at a chunk boundary, and the result does not depend on the chunk size.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Callable

from . import compiled
from .matcher import Candidate, Matcher
from .normalize import DROPPED, blank, normalize, origin_map
from .output import TidyWriter
from .rules import Rule


@dataclass(frozen=True)
class Removal:
    start: int  # byte offsets in the buffer
    end: int
    rule: Rule
    line: int  # 1-based line number in the document
    whole_lines: bool  # at least one whole line goes (matters for blank-line tidying)


CONFIRMED_LINES = 1 << 14  # distinct lines whose rule checks are remembered
REST_RESCANNED = 300  # what a cut leaves is scanned again up to this length: a noise line's, not prose
REST_ROUNDS = 10  # rounds of cuts in what earlier cuts left of a line (each may reveal one more at its end)


_Cut = tuple[int, int, Rule]  # (start, end, rule): a piece of a line's text to cut


class _Defer(Exception):
    """A line whose decision needs lines beyond the buffer."""


class _Line:
    """One candidate line, decoded and normalised on demand."""

    def __init__(self, buf: bytes, candidate: Candidate):
        self.candidate = candidate
        raw = buf[candidate.start : candidate.end]
        self.text = raw.decode("utf-8", "surrogateescape").removesuffix("\r")
        self.norm = candidate.norm  # set when the candidate was confirmed (Engine.candidates)
        self._origin: list[int] | None = None

    def original(self, position: int, end: bool = False) -> int:
        """The index in `text` of a position in `norm`; an `end` maps to just past its last character."""
        if self._origin is None:
            self._origin = origin_map(self.text, self.norm)
        if end:
            return self._origin[position - 1] + 1 if position > 0 else 0
        return self._origin[position] if position < len(self._origin) else len(self.text)

    def byte_offset(self, char_index: int) -> int:
        if self.text.isascii():
            return self.candidate.start + char_index
        return self.candidate.start + len(self.text[:char_index].encode("utf-8", "surrogateescape"))


class Engine:
    def __init__(self, rules: list[Rule], engine: str = "ahocorasick"):
        self.rules = rules
        self.matcher = Matcher(rules, engine)
        self.positions = {rule.code: position for position, rule in enumerate(rules)}  # to name a rule across processes
        self._confirmed: dict[tuple[bytes, tuple[int, ...]], tuple] = {}
        # How many kept lines from a document's start matter to `where = "head"` rules.
        self.head_window = max((r.window for r in rules if r.where == "head"), default=0)

    def candidates(self, chunk: bytes) -> list[Candidate]:
        """The chunk's lines where some rule's text conditions hold: the scan's hits, confirmed.

        This is everything about a line that does not depend on where it sits in its document,
        so it can run in the scan's worker processes; `decide` does the rest in order."""
        confirmed = []
        for candidate in self.matcher.scan(chunk):
            starts, norm, found = self._confirm(chunk[candidate.start : candidate.end], candidate.starts)
            if found or candidate.ends:
                confirmed.append(candidate._replace(starts=starts, norm=norm, found=found))
        compiled.save()  # the rule regexes this chunk compiled, for the next process
        return confirmed

    def _confirm(self, raw: bytes, starts: tuple[int, ...]):
        """The rules whose text conditions hold on a line, their spans, and the normalised line.
        Boilerplate repeats from article to article, so each distinct line is checked once."""
        key = (raw, starts)
        known = self._confirmed.get(key)
        if known is not None:
            return known
        text = raw.decode("utf-8", "surrogateescape").removesuffix("\r")
        norm = normalize(text)
        found = tuple((p, tuple(spans)) for p in starts if (spans := self.rules[p].find(norm, len(raw), text)))
        kept = tuple(p for p, _ in found)
        if any(self.rules[p].kind == "span" for p in kept):
            kept = starts  # what a cut leaves is checked against the line's other rules
        if len(self._confirmed) >= CONFIRMED_LINES:
            self._confirmed.clear()
        self._confirmed[key] = (kept, norm, found)
        return kept, norm, found

    def decide(
        self, buf: bytes, first_line: int, at_end: bool, head_kept: int = 0, candidates: list[Candidate] | None = None
    ) -> tuple[list[Removal], int, int]:
        """Removals in buf, the offset up to which everything is decided, and how many kept
        non-blank lines (up to the head window) the document has by then.

        `first_line` is the document line number (from 0) of the buffer's first line, `head_kept`
        the kept non-blank lines before it; `at_end` says the buffer runs to the end of the document.
        `candidates` are `candidates(buf)` when the caller found them for a larger chunk already.
        """
        if candidates is None:
            candidates = self.candidates(buf)
        context = _Context(self, buf, candidates, first_line, at_end, head_kept)
        outcomes = context.settle()
        removals: list[Removal] = []
        decided = len(buf)
        for position, outcome in sorted(outcomes.items()):
            if outcome is None:
                decided = context.candidates[position].start
                break
            removals.extend(outcome)
        context.gone = sorted((r.start, r.end) for r in removals if r.whole_lines)
        head = context.kept_lines(0, decided, self.head_window, head_kept) if self.head_window else 0
        return removals, decided, head


_DEFERRED = None
_MAX_ROUNDS = 64


class _Context:
    """Everything one buffer's decisions need.

    Position guards (`window`, a tail's `max_lines`) count only non-blank lines that stay, so
    that cleaning a cleaned text changes nothing. What stays depends on those same guards, so
    the decisions are made in rounds, each counting with the removals of the round before,
    until nothing changes. Removing lines only ever brings more lines within a window, so the
    rounds settle; almost every buffer needs one round, as no count was taken.
    """

    def __init__(self, engine: Engine, buf: bytes, candidates: list[Candidate], first_line, at_end, head_kept):
        self.rules = engine.rules
        self.matcher = engine.matcher
        self.buf = buf
        self.candidates = candidates
        self.first_line = first_line
        self.total = buf.count(b"\n") + (1 if buf and not buf.endswith(b"\n") else 0)
        self.at_end = at_end
        self.head_kept = head_kept
        self._lines: dict[int, _Line] = {}
        self.gone: list[tuple[int, int]] = []  # whole-line removals of the round before
        self.unsure: set[int] = set()  # starts of the lines the round before deferred
        self.counted = False
        self.counting: set[int] = set()  # candidates whose outcome depended on a count
        self._last: dict[int, int] = {}

    def settle(self) -> dict[int, list[Removal] | None]:
        """Each candidate's removals (None: deferred), once the rounds agree."""
        previous = None
        for _ in range(_MAX_ROUNDS):
            self.counted = False
            outcomes = self._round(previous)
            if not self.counted or outcomes == previous:
                break
            previous = outcomes
            self.gone = sorted((r.start, r.end) for found in outcomes.values() if found for r in found if r.whole_lines)
            self.unsure = {self.candidates[p].start for p, found in outcomes.items() if found is _DEFERRED}
        return outcomes

    def _round(self, previous: dict | None) -> dict[int, list[Removal] | None]:
        outcomes: dict[int, list[Removal] | None] = {}
        covered = -1  # lines up to here are already gone with a block or tail
        for position, candidate in enumerate(self.candidates):
            if candidate.index <= covered:
                continue
            if previous is not None and position in previous and position not in self.counting:
                outcome = previous[position]  # no count went into it: the same as last round
                last = self._last.get(position, candidate.index)
            else:
                counted_before, self.counted = self.counted, False
                try:
                    outcome, last = self.evaluate(position)
                except _Defer:
                    outcome, last = _DEFERRED, candidate.index
                if self.counted:
                    self.counting.add(position)
                self.counted = self.counted or counted_before
                self._last[position] = last
            outcomes[position] = outcome
            if outcome is not _DEFERRED:
                covered = max(covered, last)
        return outcomes

    def line(self, position: int) -> _Line:
        if position not in self._lines:
            self._lines[position] = _Line(self.buf, self.candidates[position])
        return self._lines[position]

    def evaluate(self, position: int) -> tuple[list[Removal], int]:
        """The removals for one candidate line and the last line they touch."""
        candidate = self.candidates[position]
        line = self.line(position)
        tails, blocks, whole, spans = [], [], [], []
        for rule_position, found in candidate.found:  # the rules whose text conditions hold
            rule = self.rules[rule_position]
            if not self._placed(rule, candidate):
                continue
            if rule.kind == "tail":
                if self._near_end(candidate, rule.max_lines):
                    tails.append(rule)
            elif rule.kind == "block":
                blocks.append(self._block(rule, rule_position, line, found[0], position))
            elif rule.kind == "list":
                removal, last = self._list(rule, candidate)
                blocks.append(([removal], last))
            elif rule.kind == "line":
                whole.append(rule)
            else:
                spans.extend((start, end, rule) for start, end in found)
        if tails:
            return [Removal(candidate.start, len(self.buf), tails[0], self._number(candidate), True)], self.total
        if blocks:
            return blocks[0]
        if whole:
            return [self._whole_line(candidate, whole[0])], candidate.index
        if spans:
            return self._spans(line, spans), candidate.index
        return [], candidate.index

    # --- where a rule may act ---------------------------------------------------------------

    def _placed(self, rule: Rule, candidate: Candidate) -> bool:
        if rule.where == "head":
            if self.first_line + candidate.index < rule.window:
                return True
            return self.kept_lines(0, candidate.start, rule.window, self.head_kept) < rule.window
        if rule.where == "tail":
            return self._near_end(candidate, rule.window)
        return True

    def _near_end(self, candidate: Candidate, lines: int) -> bool:
        """Whether at most `lines` kept lines, this one included, remain in the document."""
        if self.total - candidate.index > lines and 1 + self._kept_after(candidate, lines) > lines:
            return False
        if not self.at_end:
            raise _Defer  # the document may go on past this buffer
        return True

    def _kept_after(self, candidate: Candidate, cap: int) -> int:
        """Non-blank lines after this one that stay (counting stops past cap)."""
        return self._count_kept(self._line_end(candidate), len(self.buf), cap + 1, unsure_defers=True)

    def kept_lines(self, start: int, stop: int, cap: int, base: int = 0) -> int:
        """`base` plus the non-blank lines in buf[start:stop] that stay (up to cap)."""
        return min(cap, base + self._count_kept(start, stop, cap - base, unsure_defers=False))

    def _count_kept(self, start: int, stop: int, cap: int, unsure_defers: bool) -> int:
        self.counted = True
        count = 0
        while start < stop and count < cap:
            if unsure_defers and start in self.unsure:
                raise _Defer  # a line whose fate is not known yet
            newline = self.buf.find(b"\n", start, stop)
            end = stop if newline < 0 else newline + 1
            if self.buf[start:end].strip() and not self._gone(start, end):
                count += 1
            start = end
        return count

    def _gone(self, start: int, end: int) -> bool:
        """Whether the round before removed the whole line buf[start:end]."""
        index = bisect_right(self.gone, (start, len(self.buf) + 1)) - 1
        return index >= 0 and self.gone[index][1] >= end

    # --- removals ---------------------------------------------------------------------------

    def _number(self, candidate: Candidate) -> int:
        return self.first_line + candidate.index + 1

    def _line_end(self, candidate: Candidate) -> int:
        """The offset just past the line's break."""
        return candidate.end + 1 if candidate.end < len(self.buf) else candidate.end

    def _whole_line(self, candidate: Candidate, rule: Rule) -> Removal:
        return Removal(candidate.start, self._line_end(candidate), rule, self._number(candidate), True)

    def _spans(self, line: _Line, spans: list[tuple[int, int, Rule]]) -> list[Removal]:
        candidate = line.candidate
        cuts = _merged(line.text, [(line.original(s), line.original(e, end=True), rule) for s, e, rule in spans])
        whole, cuts = self._settled(candidate, line.text, cuts)
        if whole is not None:
            return [self._whole_line(candidate, whole)]
        number = self._number(candidate)
        return [Removal(line.byte_offset(s), line.byte_offset(e), rule, number, False) for s, e, rule in cuts]

    def _settled(self, candidate: Candidate, text: str, cuts: list[_Cut]) -> tuple[Rule | None, list[_Cut]]:
        """The cuts of a line once what they leave is settled: that may itself be a noise line
        (then the rule that takes the whole line is returned), or hold a span that only a cut
        revealed (a credit that ends the line once the footer after it is gone, a label whose
        anchor the cut made whole). Cleaning twice must change nothing."""
        for _ in range(REST_ROUNDS):
            kept = _kept_pieces(cuts, len(text))
            rest = "".join(text[a:b] for a, b in kept)
            if blank(rest):
                return cuts[0][2], cuts
            rest_norm = normalize(rest)
            rules = [self.rules[position] for position in self._rules_of_rest(candidate, rest, rest_norm)]
            for rule in rules:
                if rule.kind == "line" and rule.find(rest_norm):  # _placed may defer to the document end
                    if self._placed(rule, candidate):
                        return rule, cuts
            size = len(rest.encode("utf-8", "surrogateescape"))
            found = [(s, e, rule) for rule in rules if rule.kind == "span"
                     for s, e in rule.find(rest_norm, size, rest) if self._placed(rule, candidate)]
            if not found:
                break
            origin = origin_map(rest, rest_norm)
            widened_in_rest = [(*_widen(rest, origin[s], origin[e - 1] + 1), rule) for s, e, rule in found]  # cuts gone
            more = [(_in_text(kept, a), _in_text(kept, b - 1) + 1, rule) for a, b, rule in widened_in_rest]
            widened = _merged(text, cuts + more)
            if widened == cuts:
                break
            cuts = widened
        return None, cuts

    def _rules_of_rest(self, candidate: Candidate, rest: str, rest_norm: str) -> list[int]:
        """The rules (by position) that may act on what cuts left of a line: those whose anchors
        hit the line, and, in a short rest, those whose anchor a cut made whole
        ("AdvertisementRead more: ...")."""
        starts = candidate.starts
        joined = ()
        if len(rest_norm) <= REST_RESCANNED:
            joined = sorted(self.matcher.rules_in(rest).difference(starts))
        return [*starts, *joined]

    def _block(self, rule: Rule, rule_position: int, line: _Line, hit: tuple[int, int], position: int):
        """From the start phrase through the first end phrase within max_lines lines.

        Returns the removals and the index of the last line they touch.
        """
        start_line = line.candidate
        end_here = rule.find_end(line.norm, hit[1])
        if end_here is not None:
            return self._cut(line, hit[0], line, end_here, rule, position)
        limit = start_line.index + rule.max_lines
        for later_position in range(position + 1, len(self.candidates)):
            later = self.candidates[later_position]
            if later.index > limit:
                break
            if rule_position in later.ends:
                end_line = self.line(later_position)
                end = rule.find_end(end_line.norm)
                if end is not None:
                    return self._cut(line, hit[0], end_line, end, rule, later_position)
        if not self.at_end and self.total - 1 < limit:
            raise _Defer
        return [self._whole_line(start_line, rule)], start_line.index  # no end in reach: as a line rule

    def _list(self, rule: Rule, cue: Candidate) -> tuple[Removal, int]:
        """The cue line and the run of headline-shaped lines after it (at most max_lines lines);
        the run stops at the first line that reads like prose."""
        position = end_of_run = self._line_end(cue)
        index = last = cue.index
        while index < cue.index + rule.max_lines:
            if position >= len(self.buf):
                if not self.at_end:
                    raise _Defer  # the run may go on in the next chunk
                break
            newline = self.buf.find(b"\n", position)
            end = len(self.buf) if newline < 0 else newline + 1
            text = self.buf[position:end].decode("utf-8", "surrogateescape")
            index += 1
            position = end
            if not text.strip():
                continue  # a blank line inside the run: look past it
            if not headline_shaped(text, rule.item_max_len):
                break
            end_of_run, last = end, index
        return Removal(cue.start, end_of_run, rule, self._number(cue), True), last

    def _cut(self, first: _Line, start: int, last: _Line, end: int, rule: Rule, position: int):
        """A block's removals, from `start` in the first line's norm to `end` in the last one's
        (at `position` among the candidates), and the index of the last line they touch."""
        end_norm = end
        start, end = first.original(start), last.original(end, end=True)
        at_line_start = blank(first.text[:start])
        rest = last.text[end:]
        if at_line_start and not blank(rest):  # what stays of the last line is settled as a cut line's rest
            return self._cut_lines(first.candidate, last, end, rule, position, end_norm)
        if at_line_start:
            begin = first.candidate.start
        else:  # where the cut runs to the end of the line, the space before it goes too
            begin = first.byte_offset(_widen(first.text, start, len(first.text) if blank(rest) else start)[0])
        if blank(rest):  # what stays of the first line keeps the last one's break ("\r\n" included)
            finish = self._line_end(last.candidate) if at_line_start else last.byte_offset(len(last.text))
        else:
            finish = last.byte_offset(end + len(rest) - len(rest.lstrip()))
        whole = at_line_start and (last.candidate.index > first.candidate.index or blank(rest))
        return [Removal(begin, finish, rule, self._number(first.candidate), whole)], last.candidate.index

    def _cut_lines(self, first: Candidate, last: _Line, end: int, rule: Rule, position: int, end_norm: int):
        """A block from the start of a line into a later part of the last one: what it leaves
        of that line may be noise too (a paywall line glued after a share panel's end), or open
        another block (two appeals glued end to opener)."""
        index = last.candidate.index
        whole, cuts = self._settled(last.candidate, last.text, _merged(last.text, [(0, end, rule)]))
        block_end = last.byte_offset(cuts[0][1])
        removals = [Removal(first.start, block_end, rule, self._number(first), index > first.index)]
        number = self._number(last.candidate)
        if whole is rule:  # spans took all the rest of the line: it goes under the first of them
            if len(cuts) == 1:  # one that merged into the block's cut: all of it is the block's
                return [Removal(first.start, self._line_end(last.candidate), rule, self._number(first), True)], index
            whole = cuts[1][2]
        if whole is not None:
            return removals + [Removal(block_end, self._line_end(last.candidate), whole, number, True)], index
        spans = [Removal(last.byte_offset(s), last.byte_offset(e), other, number, False) for s, e, other in cuts[1:]]
        following = self._block_after(last, position, end_norm)
        if following is None:
            return removals + spans, index
        more, index = following
        if more[0].start < block_end:  # no end in reach: the opener went as a line, which begins in this block
            more = [Removal(block_end, self._line_end(last.candidate), more[0].rule, number, True)]
        return removals + [span for span in spans if span.end <= more[0].start] + more, index

    def _block_after(self, line: _Line, position: int, after: int) -> tuple[list[Removal], int] | None:
        """A block that opens in a line after a block's end (`after`, an index in its norm) and
        what it removes, judged on that rest of the line (its `max_len` included)."""
        offset = after + len(line.norm[after:]) - len(line.norm[after:].lstrip())
        rest_norm = line.norm[offset:]
        rest = line.text[line.original(offset):]
        for rule_position in self._rules_of_rest(line.candidate, rest, rest_norm):
            rule = self.rules[rule_position]
            found = rule.find(rest_norm) if rule.kind == "block" else []
            if found and self._placed(rule, line.candidate):
                hit = (found[0][0] + offset, found[0][1] + offset)
                return self._block(rule, rule_position, line, hit, position)
        return None


def headline_shaped(text: str, max_len: int) -> bool:
    """A line that reads like a link's title, not like prose: short, no closing full stop, either
    a list bullet or at least two words starting with a capital, a digit or a quote."""
    norm = normalize(text)
    if not norm or len(norm) > max_len:
        return False
    stripped = text.strip()
    if norm[0] in "-*•·>" and len(norm) > 2:
        return True
    if norm.rstrip("\"')]}").endswith((".", ",", ";", ":")) or len(norm.split()) < 2:
        return False  # a sentence, even one that closes a quote: ."
    return stripped[0].isupper() or stripped[0].isdigit() or norm[0] in "'\""


def _merged(text: str, spans: list[_Cut]) -> list[_Cut]:
    """Spans of a line (indices in its text), widened over the space they leave and merged
    where they overlap (keeping the rule of the first); spans that only meet stay apart, each
    reported under its own rule."""
    cuts: list[_Cut] = []
    for start, end, rule in sorted(spans, key=lambda span: (span[0], span[1])):
        start, end = _widen(text, start, end)
        if cuts and start < cuts[-1][1]:
            cuts[-1] = (cuts[-1][0], max(cuts[-1][1], end), cuts[-1][2])
        else:
            cuts.append((start, end, rule))
    return cuts


def _kept_pieces(cuts: list[_Cut], length: int) -> list[tuple[int, int]]:
    """The (start, end) pieces of a line of `length` characters that no cut takes."""
    starts = [0] + [end for _, end, _ in cuts]
    ends = [start for start, _, _ in cuts] + [length]
    return [(a, b) for a, b in zip(starts, ends) if b > a]


def _in_text(pieces: list[tuple[int, int]], index: int) -> int:
    """The index in the line's text of a character of the pieces joined."""
    for start, end in pieces:
        if index < end - start:
            return start + index
        index -= end - start
    return pieces[-1][1] if pieces else 0


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take the space a cut leaves behind: after it at the start of a line, before it elsewhere."""
    if blank(text[:start]):
        while end < len(text) and text[end].isspace():
            end += 1
        while start > 0 and text[start - 1] in DROPPED:  # an invisible mark the cut's text began with
            start -= 1
        return start, end
    if end >= len(text) or text[end].isspace():
        while start > 0 and text[start - 1].isspace():
            start -= 1
    return start, end


class DocumentCleaner:
    """Feeds one document through the engine piece by piece, carrying undecided lines over.

    A piece comes with the matcher's candidates for it (the caller scans whole chunks, which
    may hold many documents); the carried lines keep theirs, so nothing is scanned twice.
    """

    def __init__(self, engine: Engine, out: TidyWriter, on_removal: Callable[[Removal, bytes], None] | None):
        self.engine = engine
        self.out = out
        self.on_removal = on_removal
        self.carry = b""
        self.carry_candidates: list[Candidate] = []
        self.line = 0
        self.head_kept = 0

    def feed(self, piece: bytes, candidates: list[Candidate] | None = None) -> None:
        if candidates is None:
            candidates = self.engine.candidates(piece)
        if not candidates and not self.carry:
            self.out.kept(piece, 0, len(piece))  # nothing hit: the piece goes out as it is
            self.line += piece.count(b"\n")
            window = self.engine.head_window
            if self.head_kept < window:
                self.head_kept += _nonblank_lines(piece, window - self.head_kept)
            return
        if self.carry:
            lines = self.carry.count(b"\n")
            candidates = self.carry_candidates + shifted(candidates, len(self.carry), lines)
            piece = self.carry + piece
        decided, lines = self._process(piece, candidates, at_end=False)
        self.carry = piece[decided:]
        self.carry_candidates = shifted([c for c in candidates if c.start >= decided], -decided, -lines)

    def close(self) -> None:
        if self.carry:
            self._process(self.carry, self.carry_candidates, at_end=True)
        self.carry, self.carry_candidates = b"", []
        self.out.end_document()

    def _process(self, buf: bytes, candidates: list[Candidate], at_end: bool) -> tuple[int, int]:
        removals, decided, self.head_kept = self.engine.decide(buf, self.line, at_end, self.head_kept, candidates)
        position = 0
        for removal in removals:
            self.out.kept(buf, position, removal.start)
            if removal.whole_lines:
                self.out.removed_line()
            if self.on_removal is not None:
                self.on_removal(removal, buf[removal.start : removal.end])
            position = removal.end
        self.out.kept(buf, position, decided)
        lines = buf.count(b"\n", 0, decided)
        self.line += lines
        return decided, lines


def _nonblank_lines(piece: bytes, cap: int) -> int:
    """How many lines of the piece hold more than spaces (counting stops at cap)."""
    count = start = 0
    while count < cap and start < len(piece):
        newline = piece.find(b"\n", start)
        end = len(piece) if newline < 0 else newline + 1
        count += bool(piece[start:end].strip())
        start = end
    return count


def candidates_each(engine: Engine, texts: list[bytes]) -> list[list[Candidate]]:
    """Each text's candidates (in its own offsets and lines) from one scan of them all. A scan
    has a fixed cost (about 0.2 ms) that would outweigh a short document's own; lines are
    scanned each on its own, so the result is what a scan of each text alone would give."""
    pieces, bounds = [], []
    offset = line = 0
    for text in texts:
        bounds.append((offset, offset + len(text), line))
        pieces.append(text)
        line += text.count(b"\n")
        offset += len(text)
        if text and not text.endswith(b"\n"):  # the next text starts on a line of its own
            pieces.append(b"\n")
            line += 1
            offset += 1
    found = engine.candidates(b"".join(pieces)) if offset else []
    return [candidates_in(found, start, end, first_line) for start, end, first_line in bounds]


def candidates_in(candidates: list[Candidate], start: int, end: int, line: int) -> list[Candidate]:
    """The candidates of the piece chunk[start:end] that starts at line `line` of the chunk, in
    the piece's own offsets and line numbers."""
    first = bisect_left(candidates, start, key=lambda c: c.start)
    last = bisect_left(candidates, end, key=lambda c: c.start)
    return shifted(candidates[first:last], -start, -line) if first < last else []


def shifted(candidates: list[Candidate], offset: int, lines: int) -> list[Candidate]:
    """Candidates moved by `offset` bytes and `lines` lines (into or out of a larger buffer)."""
    if not offset and not lines:
        return candidates
    return [c._replace(index=c.index + lines, start=c.start + offset, end=c.end + offset) for c in candidates]
