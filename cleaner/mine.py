"""Mining: learn a publisher's noise from the corpus itself, as rules a person reviews.

Noise repeats across a publisher's articles (the same appeal, footer, promo); content does not.
`mine` makes one streaming pass over the documents and counts, per normalised key, in how many
documents it occurs and where (head, middle, tail). Keys are of three kinds:

- a whole line (normalised as the rules see it, numbers folded to `0`)          -> `line` rule
- the first or last one or two sentences of a longer line (glued noise)           -> `span` rule
- the run of the last 2..`tail_lines` lines of a document (a footer)              -> `tail` rule

Memory is bounded by `MineSettings.memory_mb` (default 256 MB for the mining structures):

- a Bloom filter (`SeenFilter`, 3/8 of the budget, 1 bit per cell) answers "was this key seen in
  an earlier document?". Only keys seen before are counted at all, so the unique lines that make up
  most of a corpus cost one bit pattern and nothing else;
- a `CandidateTable` of at most `capacity` entries (the rest of the budget, at a worst case of
  `ENTRY_BYTES` = 6 KiB per entry; a typical entry is under 2 KiB) counts the repeated keys
  exactly from the moment they repeat. When it is full the half with the lowest counts is
  dropped (as in lossy counting): a key that repeats often enough to matter keeps its entry, one
  that comes back later restarts from its Bloom bit. Counts are lower bounds (+1 for the
  occurrence the filter saw before the entry existed; a filter false positive, ~1-3% at eight to
  ten bits per key, adds one wrongly);
- documents are handled in batches of about `batch_bytes`; a document longer than
  `max_doc_bytes` is cut there (nothing repeats *across* documents inside one huge document).

The corpus size does not enter: a 10 GB corpus mines in a few hundred MB. The process adds the
interpreter, numpy and the two rule engines (the selection, and the library the proposals are
checked against: about 100 MB) to the budget.

A key only becomes a candidate when it occurs in at least `min_docs` documents that otherwise
differ: each document gets a small bottom-k sketch of its sentences, weighted by length, and a
candidate remembers up to `distinct_cap` sketches that are not near-duplicates of each other. An
article syndicated twice repeats every line, but in documents that are the same, so it never
gets enough distinct sketches; a glued sentence must also be glued to text that differs (a
sentence of a repeated paragraph is not glued noise). Lines longer than `max_line_len` (content
that legitimately repeats, such as a long quoted statement) are never keys, and what the
current rule selection removes is cut from each document before counting, so it is never
proposed again.

Candidates become TOML rules (`render_toml`) in the format of `patterns/`, checked with the same
code as `cleaner check-rules` before they are written (`validate`): every example must be removed
by the rule alone and by the shipped library plus the mined rules.
"""

from __future__ import annotations

import hashlib
import re
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np

from .api import Cleaner
from .check import check_rules
from .errors import CleanerError
from .normalize import is_word, normalize, trim
from .reader import CHUNK_SIZE, SeparatorLines, line_chunks, separator_pattern
from .rules import CODE_PATTERN, Rule, load_library, load_rules, select_rules

__all__ = [
    "MineSettings", "MineResult", "Candidate", "SeenFilter", "CandidateTable", "Miner",
    "iter_documents", "mine", "render_toml", "report_table", "run",
]

LINE, FIRST, LAST, TAIL = "line", "first", "last", "tail"
HEAD_ZONE, MIDDLE_ZONE, TAIL_ZONE = 1, 2, 4
ENTRY_BYTES = 6144  # worst-case memory of one candidate-table entry (texts, examples, sketches)
CONTEXT_CHARS = 160  # a neighbouring line kept for an in-context example is cut to this
RUN_CHARS = 1200  # a footer run longer than this (normalised) is content, not a footer


@dataclass(frozen=True)
class MineSettings:
    """What to count, what to propose, and how much memory the counting may use."""

    min_docs: int = 5  # a candidate occurs in at least this many documents that otherwise differ
    top: int = 200  # at most this many candidates, best evidence first
    memory_mb: int = 256  # budget of the Bloom filter + candidate table + one batch
    max_line_len: int = 400  # longer lines (normalised) are content, never candidates
    max_sentence_len: int = 250  # longest glued sentence(s) considered
    tail_lines: int = 6  # longest footer run considered (non-blank lines)
    zone_lines: int = 3  # head / tail = within this many non-blank lines of the start / end
    distinct_cap: int = 8  # distinct-document sketches a candidate remembers
    sketch_size: int = 8  # bottom-k values per document sketch
    batch_bytes: int = 2 << 20
    max_doc_bytes: int = 8 << 20
    prefix: str = "USR"
    category: str = "mined"

    @property
    def bloom_bytes(self) -> int:
        """The Bloom filter: the largest power of two within 3/8 of the budget."""
        share = max(1 << 16, self.memory_mb * (1 << 20) * 3 // 8)
        return 1 << (share.bit_length() - 1)

    @property
    def capacity(self) -> int:
        """Candidate-table entries: what is left of the budget after the filter and a batch."""
        rest = self.memory_mb * (1 << 20) - self.bloom_bytes - 8 * self.batch_bytes
        return max(1024, rest // ENTRY_BYTES)

    @property
    def needed_distinct(self) -> int:
        return min(self.min_docs, self.distinct_cap)

    def __post_init__(self):
        if not re.fullmatch(r"[A-Z]{3}", self.prefix):
            raise CleanerError(f"prefix must be three capital letters, like USR (got '{self.prefix}')", 2)
        if self.min_docs < 2:
            raise CleanerError("min-docs must be at least 2", 2)
        if not 1 <= self.top <= 999:
            raise CleanerError("top must be between 1 and 999 (codes have three digits)", 2)
        if self.memory_mb < 4:
            raise CleanerError("the memory budget must be at least 4 MB", 2)


# --- reading ------------------------------------------------------------------------------


def iter_documents(
    inputs: Iterable[str | Path],
    separator: SeparatorLines | None = None,
    *,
    max_doc_bytes: int = MineSettings.max_doc_bytes,
    on_error: Callable[[str, str], None] | None = None,
    stdin: BinaryIO | None = None,
    input_format: str | None = None,
    field: str = "text",
) -> Iterator[str]:
    """Every document of every input, as text, one at a time: the one place mining reads input.

    With the format layer (cleaner.formats) a file's name says its format and compression
    (JSON Lines, Multi-News, plain text; .gz, .zst, ...) unless `input_format` does (JSONL: the
    text is in `field`; malformed records are skipped); without it, input is plain text. Plain
    text is one document per file, or documents between `separator` lines; '-' is standard input
    (plain text). A document is cut at `max_doc_bytes` (at a line break): nothing repeats across
    documents inside one huge document. An input that cannot be read is reported to
    `on_error(name, reason)` and skipped.
    """
    formats = _formats()
    for item in inputs:
        name = str(item)
        try:
            if formats is not None:
                documents = _format_documents(formats, name, separator, max_doc_bytes, stdin, input_format, field)
            else:
                documents = _plain_documents(name, separator, max_doc_bytes, stdin)
            for text in documents:
                if text:
                    yield text
        except OSError as error:
            if on_error:
                on_error(name, error.strerror or str(error))
        except Exception as error:  # the format layer's CorruptInput / BinaryInput
            if formats is None or not isinstance(error, (formats.CorruptInput, formats.BinaryInput)):
                raise
            if on_error:
                on_error(name, str(error))


def _formats():
    """The format layer, if it is there with the reader this module uses."""
    try:
        from . import formats
    except ImportError:
        return None
    needed = ("make_format", "detect", "open_input", "wrap_input", "Document", "CorruptInput", "BinaryInput")
    return formats if all(hasattr(formats, name) for name in needed) else None


def _format_documents(formats, name, separator, max_doc_bytes, stdin, input_format, field) -> Iterator[str]:
    if name == "-":
        stream = formats.wrap_input(stdin or sys.stdin.buffer)
        kind = input_format or "text"
    else:
        stream = formats.open_input(name)
        kind = input_format or formats.detect(name)
    with stream:
        if kind == "text":  # no records: split at separator lines as without the format layer
            yield from _split_stream(stream, separator, max_doc_bytes)
            return
        for item in formats.make_format(kind, field=field, separator=separator).read(stream):
            if isinstance(item, formats.Document):
                parts: list[bytes] = []
                size = 0
                for chunk in item.chunks:
                    size = _keep(parts, size, bytes(chunk), max_doc_bytes)
                yield _text(parts)


def _plain_documents(name, separator, max_doc_bytes, stdin) -> Iterator[str]:
    stream = (stdin or sys.stdin.buffer) if name == "-" else open(name, "rb")
    try:
        yield from _split_stream(stream, separator, max_doc_bytes)
    finally:
        if name != "-":
            stream.close()


def _split_stream(stream: BinaryIO, separator: SeparatorLines | None, max_doc_bytes: int) -> Iterator[str]:
    parts: list[bytes] = []
    size = 0
    for chunk in line_chunks(stream, CHUNK_SIZE):  # whole lines, so a separator line is never split
        position = 0
        for start, end in separator.spans(chunk) if separator is not None else ():
            size = _keep(parts, size, chunk[position:start], max_doc_bytes)
            yield _text(parts)
            parts, size = [], 0
            position = end
        size = _keep(parts, size, chunk[position:] if position else chunk, max_doc_bytes)
    if parts or separator is None:
        yield _text(parts)


def _keep(parts: list[bytes], size: int, piece: bytes, limit: int) -> int:
    """Add a piece of document text, up to `limit` bytes in all (cut at a line break)."""
    if not piece or size >= limit:
        return size
    if size + len(piece) > limit:
        piece = piece[: limit - size]
        piece = piece[: piece.rfind(b"\n") + 1]
        size = limit  # full: the rest of this document is skipped
        if piece:
            parts.append(piece)
        return size
    parts.append(piece)
    return size + len(piece)


def _text(parts: list[bytes]) -> str:
    return b"".join(parts).decode("utf-8", "surrogateescape")


# --- keys ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LETTER = re.compile(r"[^\W\d_]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A sentence ends with . ! ? or an ellipsis (and closing quotes or brackets), followed by space
# or, glued, by a capital letter or an opening quote ("...the difference.Security forces...").
_BOUNDARY = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?:\s+(?=\S)|(?=[A-Z\u201c\u2018\"]))")
_MASK = (1 << 64) - 1
_NUMBER_PATTERN = r"\d+(?:[.,]\d+)*"
WHOLE_LINE_LIMIT = 200  # bytes: longer lines get a ^...$ regex (the engine's whole_line is for short labels)


def fold(norm: str) -> str:
    """The counting key of a normalised text: every number (with its , and . groups) is `0`."""
    return _NUMBER.sub("0", norm)


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every run (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def sentence_bounds(line: str) -> list[tuple[int, int]]:
    """(end of a sentence, start of the next) for each sentence boundary inside the line."""
    return [(m.start() + len(m.group().rstrip()), m.end()) for m in _BOUNDARY.finditer(line)]


def _good_sentence(norm: str, settings: MineSettings) -> bool:
    """Long enough to be a phrase (not "Mr." or "U.S."), short enough to be one sentence or two."""
    return 10 <= len(norm) <= settings.max_sentence_len and " " in norm and _LETTER.search(norm) is not None


def _shorten(text: str, limit: int, keep_end: bool = False) -> str:
    """At most about `limit` characters, cut at a space (from the start, or keeping the end)."""
    if len(text) <= limit:
        return text
    if keep_end:
        cut = text.find(" ", len(text) - limit)
        return text[cut + 1 :] if 0 <= cut < len(text) - 1 else text[-limit:]
    cut = text.rfind(" ", 0, limit)
    return text[:cut] if cut > 0 else text[:limit]


# --- bounded-memory structures --------------------------------------------------------------


class SeenFilter:
    """A Bloom filter over 64-bit key hashes: `seen_then_add` says which keys were added before.

    No false negatives; false positives about (1 - e^(-k n / m))^k for n keys in m bits.
    Memory: exactly `size_bytes` (a power of two), whatever the corpus size.
    """

    def __init__(self, size_bytes: int, hashes: int = 4):
        if size_bytes <= 0 or size_bytes & (size_bytes - 1):
            raise ValueError("size_bytes must be a power of two")
        self.bits = np.zeros(size_bytes, dtype=np.uint8)
        self.mask = np.uint64(size_bytes * 8 - 1)
        self.hashes = hashes

    def seen_then_add(self, keys: np.ndarray) -> np.ndarray:
        """For each key (uint64), whether it was in the filter before this call; then add all."""
        keys = np.asarray(keys, dtype=np.uint64)
        present = np.ones(len(keys), dtype=bool)
        step = (keys >> np.uint64(33)) | np.uint64(1)
        positions = []
        for i in range(self.hashes):
            position = (keys + step * np.uint64(i)) & self.mask
            byte = (position >> np.uint64(3)).astype(np.intp)
            bit = (position & np.uint64(7)).astype(np.uint8)
            present &= ((self.bits[byte] >> bit) & 1).astype(bool)
            positions.append((byte, np.left_shift(np.uint8(1), bit)))
        for byte, value in positions:
            np.bitwise_or.at(self.bits, byte, value)
        return present

    def fill(self) -> float:
        """The fraction of bits set (the false-positive rate is about fill ** hashes)."""
        ones = sum(int(np.bitwise_count(self.bits[i : i + (1 << 22)]).sum()) for i in range(0, len(self.bits), 1 << 22))
        return ones / (len(self.bits) * 8)


class Entry:
    """One repeated key: how many documents, where, in how many distinct contexts, examples."""

    __slots__ = ("kind", "key", "norm", "df", "zones", "sketches", "distinct", "examples", "context", "run", "rests")

    def __init__(self, kind: str, key: str, norm: str, df: int):
        self.kind = kind
        self.key = key  # folded key text (a tail run: the folded lines joined by \n)
        self.norm = norm  # normalised text of the first occurrence (rules are built from it)
        self.df = df
        self.zones = [0, 0, 0]  # documents where it stood in the head, middle, tail
        self.sketches: list[bytes] | None = []  # packed uint32 sketches; None: distinct_cap reached
        self.distinct = 0
        self.examples: list[str] = []
        self.context: list[tuple[str | None, str | None]] = []  # up to 3 (line before, line after)
        self.run = 0  # lines of a tail run
        self.rests: set[int] | None = set() if kind in (FIRST, LAST) else None  # glued: what else is on the line


class CandidateTable:
    """Exact counts for keys that repeat, in at most `capacity` entries. When it is full the
    lower half (by count) goes; a key that comes back starts again, so `floor`, the highest count
    ever dropped, bounds what a count may miss."""

    def __init__(self, capacity: int, distinct_cap: int = 8):
        self.capacity = capacity
        self.distinct_cap = distinct_cap
        self.entries: dict[int, Entry] = {}
        self.floor = 0
        self.pruned = 0

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key_hash: int) -> Entry | None:
        return self.entries.get(key_hash)

    def add(self, key_hash: int, entry: Entry) -> Entry:
        self.entries[key_hash] = entry
        if len(self.entries) > self.capacity:
            self.prune()
        return entry

    def prune(self) -> None:
        """Keep the best half: highest document count, then most distinct contexts."""
        ranked = sorted(self.entries.items(), key=lambda item: (item[1].df, item[1].distinct), reverse=True)
        keep = self.capacity // 2
        for key_hash, entry in ranked[keep:]:
            self.floor = max(self.floor, entry.df)
            del self.entries[key_hash]
            self.pruned += 1

    def observe(self, entry: Entry, zone: int, sketch: frozenset[int], packed: bytes) -> None:
        """One more document holds the key, at `zone`, with this document's sketch."""
        entry.df += 1
        if zone & HEAD_ZONE:
            entry.zones[0] += 1
        if zone & MIDDLE_ZONE:
            entry.zones[1] += 1
        if zone & TAIL_ZONE:
            entry.zones[2] += 1
        if entry.sketches is not None and not any(_similar(sketch, other) for other in entry.sketches):
            entry.sketches.append(packed)
            entry.distinct += 1
            if entry.distinct >= self.distinct_cap:
                entry.sketches = None


def _similar(sketch: frozenset[int], other: bytes) -> bool:
    """Near-duplicate documents: their bottom-k sketches share at least half their values."""
    values = memoryview(other).cast("I")
    shared = len(sketch.intersection(values))
    return shared > 0 and 2 * shared >= min(len(sketch), len(values))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def document_sketches(doc_ids: np.ndarray, hashes: np.ndarray, lengths: np.ndarray, size: int) -> list[np.ndarray]:
    """Bottom-`size` sketches of many documents at once, from their sentences' checksums. A
    sentence counts once per 64 characters (at most 16 times), so two documents that share only
    short boilerplate look different and two copies of one article look the same (a
    length-weighted Jaccard similarity)."""
    if len(hashes) == 0:
        return []
    weights = np.minimum(1 + lengths // 64, 16).astype(np.int64)
    hashes = np.repeat(hashes, weights)
    owners = np.repeat(doc_ids, weights)
    starts = np.cumsum(weights) - weights
    within = (np.arange(len(hashes)) - np.repeat(starts, weights) + 1).astype(np.uint64)
    x = hashes + within * _GOLDEN
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    values = (x >> np.uint64(34)).astype(np.int64)
    order = np.lexsort((values, owners))
    owners, values = owners[order], values[order]
    edges = np.flatnonzero(np.diff(owners)) + 1
    group_starts = np.concatenate([[0], edges])
    rank = np.arange(len(values)) - np.repeat(group_starts, np.diff(np.concatenate([group_starts, [len(values)]])))
    keep = rank < size
    owners, values = owners[keep], values[keep]
    result: list[np.ndarray] = [np.empty(0, np.int64)] * (int(doc_ids.max()) + 1)
    if len(owners):
        bounds = np.flatnonzero(np.diff(owners)) + 1
        heads = owners[np.concatenate([[0], bounds])].tolist()
        for owner, chunk in zip(heads, np.split(values, bounds)):
            result[owner] = chunk
    return result


# --- one document ---------------------------------------------------------------------------


class _Doc:
    """What one document contributes: its keys (hash -> [kind, line, zones, extra...])."""

    __slots__ = ("lines", "norms", "folded", "keys", "pieces")

    def __init__(self):
        self.lines: list[str] = []
        self.norms: list[str] = []
        self.folded: list[str] = []
        self.keys: dict[int, list] = {}
        self.pieces: dict[int, int] = {}  # sentence checksum -> length, for the document sketch


def analyse(text: str, settings: MineSettings) -> _Doc:
    """Split a (pre-cleaned) document into its keys."""
    doc = _Doc()
    for raw in text.split("\n"):
        if raw.endswith("\r"):
            raw = raw[:-1]
        norm = normalize(raw)
        if norm:
            doc.lines.append(raw)
            doc.norms.append(norm)
    count = len(doc.lines)
    window = settings.zone_lines
    keys = doc.keys
    pieces = doc.pieces
    for index, (line, norm) in enumerate(zip(doc.lines, doc.norms)):
        from_end = count - 1 - index
        if index >= window and from_end >= window:
            zone = MIDDLE_ZONE
        else:
            zone = HEAD_ZONE if index <= from_end else TAIL_ZONE
        if len(norm) <= settings.max_line_len:
            folded = _NUMBER.sub("0", norm)
            if _LETTER.search(norm):
                line_hash = stable_hash("L" + folded)
                found = keys.get(line_hash)
                if found is None:
                    keys[line_hash] = [LINE, index, zone, folded, norm]
                else:
                    found[2] |= zone
        else:
            folded = norm  # never a key, nor part of a footer run
        doc.folded.append(folded)
        bounds = sentence_bounds(line) if len(line) > 20 else ()
        # The document sketch is made of sentences, so that a sentence glued to a paragraph
        # does not hide that two documents carry the same article.
        position = 0
        for end, start in bounds:
            piece = line[position:end]
            pieces[zlib.crc32(piece.encode("utf-8", "surrogateescape"))] = len(piece)
            position = start
        piece = line[position:]
        pieces[zlib.crc32(piece.encode("utf-8", "surrogateescape"))] = len(piece)
        for k in range(1, min(2, len(bounds)) + 1):
            _sentence_key(keys, FIRST, index, zone, line, line[: bounds[k - 1][0]], bounds[k - 1][0], settings)
            start = bounds[len(bounds) - k][1]
            _sentence_key(keys, LAST, index, zone, line, line[start:], start, settings)
    size = len(doc.norms[-1]) if count else 0
    for run in range(2, min(settings.tail_lines, count) + 1):
        first = count - run
        norm = doc.norms[first]
        size += len(norm)
        if len(norm) > settings.max_line_len or size > RUN_CHARS:
            break  # footers are short lines; a paragraph ends the run
        if _LETTER.search(norm):
            key = "\n".join(doc.folded[first:])
            keys.setdefault(stable_hash("T" + key), [TAIL, first, TAIL_ZONE, key, norm, run])
    return doc


def _sentence_key(keys, kind, index, zone, line, part, cut, settings) -> None:
    if len(part) > 2 * settings.max_sentence_len:
        return
    norm = normalize(part)
    if not _good_sentence(norm, settings):
        return
    folded = _NUMBER.sub("0", norm)
    key_hash = stable_hash(("F" if kind == FIRST else "E") + folded)
    found = keys.get(key_hash)
    if found is None:
        rest = line[cut:] if kind == FIRST else line[:cut]
        keys[key_hash] = [kind, index, zone, folded, norm, cut, hash(rest.strip())]
    else:
        found[2] |= zone


# --- the pass -----------------------------------------------------------------------------


@dataclass
class MineStats:
    documents: int = 0
    lines: int = 0
    bytes: int = 0
    keys: int = 0
    counted: int = 0  # key occurrences counted in the table (keys that repeat)
    table_entries: int = 0
    table_capacity: int = 0
    pruned: int = 0
    floor: int = 0
    bloom_bytes: int = 0
    bloom_fill: float = 0.0


class Miner:
    """Feed documents (`add`), then `finish` for the entries that pass the thresholds."""

    _SEPARATOR = "\x00cleaner-mine\x1edocument-break\x00"

    def __init__(self, settings: MineSettings = MineSettings(), selection: list[Rule] | None = None):
        self.settings = settings
        self.cleaner = Cleaner(rules=selection) if selection else None
        self.seen = SeenFilter(settings.bloom_bytes)
        self.table = CandidateTable(settings.capacity, settings.distinct_cap)
        self.stats = MineStats(table_capacity=settings.capacity, bloom_bytes=settings.bloom_bytes)
        self.pending: list[str] = []
        self.pending_bytes = 0

    def add(self, text: str) -> None:
        self.pending.append(text)
        self.pending_bytes += len(text)
        if self.pending_bytes >= self.settings.batch_bytes:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        texts, self.pending, self.pending_bytes = self.pending, [], 0
        self.stats.documents += len(texts)
        self.stats.bytes += sum(len(t) for t in texts)
        docs = [analyse(text, self.settings) for text in self._preclean(texts)]
        self._count(docs)

    def _preclean(self, texts: list[str]) -> list[str]:
        """The documents minus what the current rule selection removes, cleaned as one stream."""
        if self.cleaner is None:
            return texts
        separator = self._SEPARATOR
        if any(separator in text for text in texts):
            return [self.cleaner.clean_text(text) for text in texts]
        joined = "".join(t + ("\n" if t and not t.endswith("\n") else "") + separator + "\n" for t in texts)
        pattern = separator_pattern(separator.replace("\\", "\\\\"))
        cleaned = self.cleaner.clean_text(joined, separator=pattern)
        parts = cleaned.split(separator + "\n")
        if len(parts) != len(texts) + 1:  # cannot happen; be safe
            return [self.cleaner.clean_text(text) for text in texts]
        return parts[:-1]

    def _count(self, docs: list[_Doc]) -> None:
        settings = self.settings
        all_keys = [h for doc in docs for h in doc.keys]
        self.stats.keys += len(all_keys)
        self.stats.lines += sum(len(doc.lines) for doc in docs)
        if not all_keys:
            return
        hashes = np.fromiter(all_keys, dtype=np.uint64, count=len(all_keys))
        unique, counts = np.unique(hashes, return_counts=True)
        seen = self.seen.seen_then_add(unique)
        admit = seen | (counts >= 2)
        admitted = set(unique[admit].tolist())
        seen_before = set(unique[admit & seen].tolist())
        if not admitted:
            return
        # Sketches of the documents that hold a repeated key.
        chosen = [i for i, doc in enumerate(docs) if not admitted.isdisjoint(doc.keys)]
        ids = np.concatenate([np.full(len(docs[i].pieces), n, np.int64) for n, i in enumerate(chosen)])
        piece_hashes = np.fromiter((h for i in chosen for h in docs[i].pieces), dtype=np.uint64, count=len(ids))
        lengths = np.fromiter((n for i in chosen for n in docs[i].pieces.values()), dtype=np.int64, count=len(ids))
        sketches = document_sketches(ids, piece_hashes, lengths, settings.sketch_size)
        table = self.table
        for n, i in enumerate(chosen):
            doc = docs[i]
            packed = sketches[n].astype(np.uint32).tobytes()  # one small object per document
            sketch = frozenset(sketches[n].tolist())
            for key_hash, info in doc.keys.items():
                if key_hash not in admitted:
                    continue
                entry = table.get(key_hash)
                if entry is None:
                    entry = table.add(key_hash, self._new_entry(info, doc, key_hash in seen_before))
                self._example(entry, info, doc)
                if entry.rests is not None and len(entry.rests) < settings.distinct_cap:
                    entry.rests.add(info[6])
                table.observe(entry, info[2], sketch, packed)
                self.stats.counted += 1

    def _new_entry(self, info: list, doc: _Doc, seen_before: bool) -> Entry:
        kind = info[0]
        entry = Entry(kind, info[3], info[4], 1 if seen_before else 0)
        if kind == TAIL:
            entry.run = info[5]
        return entry

    @staticmethod
    def _example(entry: Entry, info: list, doc: _Doc) -> None:
        """Keep up to two (spans: three) distinct observed texts as examples, and up to three
        neighbourhoods of a line or footer for an example in context."""
        kind, index = info[0], info[1]
        lines = doc.lines
        if kind in (LINE, TAIL) and len(entry.context) < 3:
            before = _shorten(lines[index - 1], CONTEXT_CHARS, keep_end=True) if index > 0 else None
            after = _shorten(lines[index + 1], CONTEXT_CHARS) if kind == LINE and index + 1 < len(lines) else None
            if (before or after) and not _SURROGATE.search(f"{before}{after}"):
                entry.context.append((before, after))
        limit = 3 if entry.kind in (FIRST, LAST) else 2
        if len(entry.examples) >= limit:
            return
        line = lines[index]
        if kind == LINE:
            text = line.strip()
        elif kind == TAIL:
            text = "\n".join(l.strip() for l in doc.lines[index:])
        elif kind == FIRST:
            cut = info[5]
            text = (line[:cut] + _shorten(line[cut:], 160)).strip()
        else:
            cut = info[5]
            text = (_shorten(line[:cut], 160, keep_end=True) + line[cut:]).strip()
        if text and text not in entry.examples and not _SURROGATE.search(text):
            entry.examples.append(text)

    def finish(self) -> list[Entry]:
        """Flush, then the entries with enough evidence, best first."""
        self.flush()
        self.stats.table_entries = len(self.table)
        self.stats.pruned = self.table.pruned
        self.stats.floor = self.table.floor
        self.stats.bloom_fill = self.seen.fill()
        return select(self.table.entries.values(), self.settings)


# --- choosing candidates ------------------------------------------------------------------


@dataclass
class Candidate:
    """A proposed rule: the evidence, and the rule table that `render_toml` writes."""

    kind: str  # line | span | tail
    text: str  # what it removes, for display
    df: int
    zones: tuple[int, int, int]
    distinct: int
    entry: Entry
    standalone: int = 0  # spans: documents where the sentence stood alone as a line
    max_lines: int = 0
    code: str = ""
    table: dict = field(default_factory=dict)

    @property
    def evidence(self) -> int:
        return self.df + self.standalone


def select(entries: Iterable[Entry], settings: MineSettings) -> list[Candidate]:
    """Entries with enough documents, overlaps resolved (a footer run takes its lines, a glued
    sentence takes the same text standing alone, a longer glued run takes its shorter part)."""
    need = settings.needed_distinct
    good = [
        e for e in entries
        if e.df >= settings.min_docs and e.examples
        and (e.sketches is None or e.distinct >= need)  # in documents that otherwise differ
        and (e.rests is None or len(e.rests) >= need)  # glued to text that differs
    ]
    lines = {e.key: e for e in good if e.kind == LINE}
    tails = {e.key: e for e in good if e.kind == TAIL}
    spans = {(e.kind, e.key): e for e in good if e.kind in (FIRST, LAST)}
    dropped: set[int] = set()

    # Footer runs: a run that is (nearly always) preceded by the same line is part of the longer one.
    for key, entry in tails.items():
        shorter = key.split("\n", 1)[1]
        parent = tails.get(shorter)
        if parent is not None and entry.df >= 0.9 * parent.df:
            dropped.add(id(parent))
    runs: dict[str, list[Entry]] = {}
    for entry in tails.values():
        if id(entry) not in dropped:
            runs.setdefault(entry.key.split("\n", 1)[0], []).append(entry)
    candidates: list[Candidate] = []
    covered: dict[str, int] = {}  # line key -> documents where a kept footer run holds it
    for first_line, group in runs.items():
        group.sort(key=lambda e: (-e.df, e.key))
        best = group[0]
        df = sum(e.df for e in group)
        for e in group:
            for line_key in e.key.split("\n"):
                covered[line_key] = covered.get(line_key, 0) + e.df
        candidates.append(_candidate("tail", best, df, group, max_lines=max(e.run for e in group)))

    # Glued sentences: the same text as a whole line joins the span; a longer glued part that
    # (nearly) always comes with it replaces the shorter one; a part of a repeated line is that line.
    wider: dict[tuple[str, str], int] = {}  # a glued key -> documents of a line or glued run holding it
    for entry in list(lines.values()) + list(spans.values()):
        for part in _parts(entry):
            wider[part] = max(wider.get(part, 0), entry.df)
    for (kind, key), entry in spans.items():
        if wider.get((kind, key), 0) >= 0.9 * entry.df and key not in lines:
            dropped.add(id(entry))
    for (kind, key), entry in spans.items():
        if id(entry) in dropped:
            continue
        alone = lines.get(key)
        standalone = 0
        if alone is not None:
            dropped.add(id(alone))
            standalone = alone.df
        candidates.append(_candidate("span", entry, entry.df, [entry], standalone=standalone))

    for key, entry in lines.items():
        if id(entry) in dropped:
            continue
        if covered.get(key, 0) >= 0.9 * entry.df:
            continue  # (nearly) always inside a footer run that becomes a tail rule
        candidates.append(_candidate("line", entry, entry.df, [entry]))
    candidates.sort(key=lambda c: (-c.evidence, -c.distinct, c.kind, c.text))
    return candidates


def _parts(entry: Entry) -> Iterator[tuple[str, str]]:
    """The shorter glued keys inside a repeated line (its first and last sentences) or inside a
    glued run of two sentences (its outer sentence)."""
    text = entry.examples[0] if entry.kind == LINE else _shown(entry)
    bounds = sentence_bounds(text)
    if entry.kind in (LINE, FIRST):
        for k in range(1, min(2, len(bounds)) + 1):
            yield FIRST, fold(normalize(text[: bounds[k - 1][0]]))
    if entry.kind in (LINE, LAST):
        for k in range(1, min(2, len(bounds)) + 1):
            yield LAST, fold(normalize(text[bounds[len(bounds) - k][1] :]))


def _candidate(kind: str, entry: Entry, df: int, group: list[Entry], **extra) -> Candidate:
    zones = tuple(sum(e.zones[i] for e in group) for i in range(3))
    distinct = max(e.distinct for e in group)
    text = entry.examples[0].split("\n")[0] if kind == "tail" else _shown(entry)
    return Candidate(kind, text, df, zones, distinct, entry, **extra)


def _shown(entry: Entry) -> str:
    """The repeated text in its observed spelling (for a glued sentence, just the sentence)."""
    example = entry.examples[0]
    if entry.kind == LINE:
        return example
    bounds = sentence_bounds(example)
    for k in range(1, len(bounds) + 1):
        if entry.kind == FIRST:
            part = example[: bounds[k - 1][0]]
        else:
            part = example[bounds[len(bounds) - k][1] :]
        if fold(normalize(part)) == entry.key:
            return part.strip()
    return entry.norm


# --- rules --------------------------------------------------------------------------------


def _tokens(norm: str) -> list[tuple[int, int]]:
    """Word tokens (runs of word characters, as the rule engine sees words) and single other characters."""
    spans, start = [], None
    for i, char in enumerate(norm):
        if is_word(char):
            if start is None:
                start = i
        else:
            if start is not None:
                spans.append((start, i))
                start = None
            spans.append((i, i + 1))
    if start is not None:
        spans.append((start, len(norm)))
    return spans


def anchor_of(norm: str) -> str | None:
    """The longest stable literal phrase of a normalised text: whole tokens without digits,
    trimmed of spaces and punctuation at both ends (so it starts and ends on word edges)."""
    digits = {m.start() for m in re.finditer(r"\d", norm)}
    best, run = "", []
    for start, end in _tokens(norm) + [(len(norm), len(norm) + 1)]:
        variable = end > len(norm) or any(i in digits for i in range(start, end))
        if not variable:
            run.append((start, end))
            continue
        if run:
            phrase = trim(norm[run[0][0] : run[-1][1]])
            if len(_LETTER.findall(phrase)) > len(_LETTER.findall(best)):
                best = phrase
        run = []
    return best if _LETTER.search(best) else None


def pattern_of(norm: str) -> str:
    """A regex for a normalised text in which every number may vary."""
    pieces, position = [], 0
    for match in _NUMBER.finditer(norm):
        pieces.append(_escape(norm[position : match.start()]))
        pieces.append(_NUMBER_PATTERN)
        position = match.end()
    pieces.append(_escape(norm[position:]))
    return "".join(pieces)


def _escape(text: str) -> str:
    return re.sub(r"([\\.^$*+?{}\[\]|()])", r"\\\1", text)


def rule_table(candidate: Candidate, code: str, settings: MineSettings) -> dict | None:
    """The TOML table of a candidate (examples still to be checked), or None if no anchor fits."""
    entry = candidate.entry
    shown = candidate.text if len(candidate.text) <= 80 else candidate.text[:77] + "..."
    shown = shown.replace("\n", " ")
    if candidate.kind in ("line", "tail"):
        trimmed = trim(entry.norm)
        anchor = anchor_of(trimmed)
        if anchor is None:
            return None
        table = {"code": code, "category": settings.category}
        if candidate.kind == "line":
            table["description"] = f"Repeated line: \"{shown}\""
        else:
            table["description"] = f"Repeated {candidate.max_lines}-line run at document ends, from \"{shown}\""
        table["kind"] = candidate.kind
        table["anchors"] = [anchor]
        longest = max(len(x.split("\n", 1)[0].encode("utf-8", "surrogateescape")) for x in entry.examples)
        if longest <= WHOLE_LINE_LIMIT:
            if _NUMBER.search(trimmed):
                table["regex"] = pattern_of(trimmed)
            table["whole_line"] = True
        else:  # the engine takes `whole_line` for short labels only: the exact line, numbers free
            table["regex"] = "^" + pattern_of(entry.norm) + "$"
            table["max_len"] = len(entry.norm) + 20
        if candidate.kind == "tail":
            table["max_lines"] = candidate.max_lines
        examples: list = list(entry.examples)
        middle = examples[0]
        for before, after in entry.context:  # in context (validate keeps the first that passes)
            if candidate.kind == "tail" and before:
                examples.append({"text": f"{before}\n{middle}", "clean": before + "\n"})
            elif candidate.kind == "line":
                text = "\n".join(x for x in (before, middle, after) if x)
                clean = "\n".join(x for x in (before, after) if x)
                examples.append({"text": text, "clean": clean})
        table["examples"] = examples
        return table
    norm = entry.norm
    anchor = anchor_of(trim(norm))
    if anchor is None:
        return None
    body = pattern_of(norm)
    if entry.kind == FIRST:
        regex = "^" + body
        where = "start"
    else:
        regex = "(?:^|(?<=[.!?\u2026][\"')\\]]*\\s?))" + body + "$"
        where = "end"
    return {
        "code": code,
        "category": settings.category,
        "description": f"Sentence repeated at the {where} of lines: \"{shown}\"",
        "kind": "span",
        "anchors": [anchor],
        "regex": regex,
        "examples": list(entry.examples),
    }


# --- TOML ---------------------------------------------------------------------------------

_BASIC_ESCAPES = {ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"}
_BASIC_ESCAPES.update({c: f"\\u{c:04x}" for c in list(range(0x20)) + [0x7F] if c not in _BASIC_ESCAPES})


def toml_string(text: str) -> str:
    return '"' + text.translate(_BASIC_ESCAPES) + '"'


def _toml_regex(text: str) -> str:
    if "'''" in text or text.endswith("'") or text.startswith("'") or any(ord(c) < 0x20 or c == "\x7f" for c in text):
        return toml_string(text)
    return f"'''{text}'''"


def _toml_value(key: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_regex(value) if key == "regex" else toml_string(value)
    items = []
    for item in value:
        if isinstance(item, dict):
            items.append("{ " + ", ".join(f"{k} = {toml_string(v)}" for k, v in item.items()) + " }")
        else:
            items.append(toml_string(item))
    if key == "anchors" or len(items) == 1:
        return "[" + ", ".join(items) + "]"
    return "[\n" + "".join(f"    {item},\n" for item in items) + "]"


_ORDER = ("code", "category", "description", "rationale", "kind", "anchors", "regex", "max_len", "whole_line",
          "max_lines", "where", "window", "examples", "keep")


def render_rule(table: dict) -> str:
    return "[[rule]]\n" + "".join(f"{k} = {_toml_value(k, table[k])}\n" for k in _ORDER if k in table)


def _comment(candidate: Candidate) -> str:
    df = max(candidate.df, 1)
    h, m, t = (round(100 * z / df) for z in candidate.zones)
    distinct = f"{candidate.distinct}+" if candidate.entry.sketches is None else str(candidate.distinct)
    parts = [f"# {candidate.code}: {candidate.kind}, in {candidate.df} documents"]
    if candidate.standalone:
        parts.append(f" (+{candidate.standalone} as a line of its own)")
    parts.append(f"; position head {h}% middle {m}% tail {t}%; distinct contexts {distinct}")
    return "".join(parts)


def render_toml(candidates: list[Candidate], stats: MineStats | None = None, settings: MineSettings | None = None) -> str:
    """The candidates as a rule file: review, then use with `cleaner clean --rules FILE`."""
    head = [
        "# Rules mined by `cleaner mine` from repeated lines and sentences: review before use.",
        "# Each comment gives the evidence: documents, position (head/middle/tail), distinct contexts.",
    ]
    if stats is not None:
        head.append(f"# Corpus: {stats.documents} documents, {stats.lines} lines, {stats.bytes} characters.")
    if settings is not None:
        head.append(f"# Settings: min_docs={settings.min_docs}, top={settings.top}.")
    blocks = ["\n".join(head) + "\n"]
    for candidate in candidates:
        blocks.append(_comment(candidate) + "\n" + render_rule(candidate.table))
    return "\n".join(blocks)


def _load_tables(tables: list[dict]) -> dict[str, Rule]:
    """Load rule tables through the real loader (a temporary file), by code."""
    with tempfile.TemporaryDirectory(prefix="cleaner-mine-") as directory:
        path = Path(directory) / "mined.toml"
        path.write_text("\n".join(render_rule(t) for t in tables), encoding="utf-8")
        rules = load_rules([path])
    return {rule.code: rule for rule in rules}


# --- checking the proposals ---------------------------------------------------------------


def validate(candidates: list[Candidate], selection: list[Rule], library: list[Rule]) -> list[Candidate]:
    """Keep only what `cleaner check-rules` accepts, and only what the selection misses.

    Span examples get their expected output from the rule itself; an example the selection
    already changes, or that check-rules rejects, is dropped, and a candidate left without
    examples goes.
    """
    selected = Cleaner(rules=selection) if selection else None
    for candidate in candidates:
        examples = candidate.table["examples"]
        if selected is not None:
            examples = [x for x in examples if selected.clean_text(_text_of(x)) == _text_of(x)]
        candidate.table["examples"] = examples
    candidates = [c for c in candidates if c.table["examples"]]
    if not candidates:
        return []
    rules = _load_tables([c.table for c in candidates])
    for candidate in candidates:
        if candidate.kind != "span":
            continue
        alone = Cleaner(rules=[rules[candidate.code]])
        examples = []
        for example in candidate.table["examples"]:
            text = _text_of(example)
            clean = alone.clean_text(text)
            if clean == text:
                continue  # the rule does not cut it (cannot happen for an observed line; be safe)
            examples.append(text if clean == "" else {"text": text, "clean": clean})
        candidate.table["examples"] = examples
    for _ in range(3):
        candidates = [c for c in candidates if c.table["examples"]]
        if not candidates:
            return []
        rules = _load_tables([c.table for c in candidates])
        failures = check_rules(library + list(rules.values()), list(rules.values()))
        if not failures:
            for candidate in candidates:
                _trim_examples(candidate)
            return candidates
        bad = {(f.rule.code, f.text) for f in failures}
        for candidate in candidates:
            candidate.table["examples"] = [
                x for x in candidate.table["examples"] if (candidate.code, _text_of(x)) not in bad
            ]
    return []


def _trim_examples(candidate: Candidate) -> None:
    """Observed texts first, then one example in context (line and tail rules); three at most."""
    examples = candidate.table["examples"]
    if candidate.kind in ("line", "tail"):
        observed = [x for x in examples if isinstance(x, str)]
        in_context = [x for x in examples if isinstance(x, dict)][:1]
        examples = observed + in_context
    candidate.table["examples"] = examples[:3]


def _text_of(example) -> str:
    return example["text"] if isinstance(example, dict) else example


# --- the whole thing ----------------------------------------------------------------------


@dataclass
class MineResult:
    candidates: list[Candidate]
    stats: MineStats
    settings: MineSettings

    def toml(self) -> str:
        return render_toml(self.candidates, self.stats, self.settings)

    def report(self) -> str:
        return report_table(self.candidates)


def mine(
    documents: Iterable[str],
    *,
    settings: MineSettings = MineSettings(),
    selection: list[Rule] | None = None,
    library: list[Rule] | None = None,
) -> MineResult:
    """Mine candidate rules from documents.

    `selection`: the rules whose removals are left out (default: the shipped library).
    `library`: what the rules are checked against, as `cleaner check-rules` does (default: the
    shipped library); the codes continue after the highest code with the prefix already there.
    """
    if selection is None or library is None:
        shipped = load_library()
        selection = select_rules(shipped) if selection is None else selection
        library = shipped if library is None else library
    miner = Miner(settings, selection)
    for text in documents:
        miner.add(text)
    found = miner.finish()
    taken = [int(r.code[3:]) for r in list(library) + list(selection) if r.code.startswith(settings.prefix)]
    number = max(taken, default=0)
    spare = settings.top + max(10, settings.top // 5)
    candidates = []
    for candidate in found:
        if len(candidates) >= spare:
            break
        if number + len(candidates) + 1 > 999:
            break
        code = f"{settings.prefix}{number + len(candidates) + 1:03d}"
        table = rule_table(candidate, code, settings)
        if table is None:
            continue
        candidate.code, candidate.table = code, table
        candidates.append(candidate)
    candidates = validate(candidates, selection, library)[: settings.top]
    for offset, candidate in enumerate(candidates, start=1):  # final codes in order of evidence
        candidate.code = candidate.table["code"] = f"{settings.prefix}{number + offset:03d}"
        assert CODE_PATTERN.match(candidate.code)
    return MineResult(candidates, miner.stats, settings)


def report_table(candidates: list[Candidate], width: int = 72) -> str:
    """The candidates as a table: code, kind, documents, position, text."""
    if not candidates:
        return "no candidates"
    rows = [f"{'code':<7} {'kind':<4} {'docs':>6} {'head':>5} {'mid':>5} {'tail':>5}  text"]
    for c in candidates:
        df = max(c.df, 1)
        h, m, t = (f"{round(100 * z / df)}%" for z in c.zones)
        text = c.text.replace("\n", " ")
        if c.kind == "tail":
            text = f"[{c.max_lines} lines] {text}"
        if len(text) > width:
            text = text[: width - 3] + "..."
        rows.append(f"{c.code:<7} {c.kind:<4} {c.evidence:>6} {h:>5} {m:>5} {t:>5}  {text}")
    return "\n".join(rows)


def run(
    inputs: list[str],
    *,
    output: Callable[[str], None] | None,
    report: bool,
    settings: MineSettings,
    selection: list[Rule],
    library: list[Rule],
    separator: SeparatorLines | None = None,
    input_format: str | None = None,
    field: str = "text",
    stdout=None,
    stderr=None,
) -> int:
    """The `cleaner mine` command: read, mine, write the rule file and/or print the table."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    status = 0

    def failed(name: str, reason: str) -> None:
        nonlocal status
        print(f"cleaner: {name}: {reason}", file=stderr)
        status = 1

    documents = iter_documents(
        inputs or ["-"], separator, max_doc_bytes=settings.max_doc_bytes, on_error=failed,
        input_format=input_format, field=field,
    )
    result = mine(documents, settings=settings, selection=selection, library=library)
    text = result.toml()
    if output is not None:
        output(text)
    if report:
        print(result.report(), file=stdout)
    elif output is None:
        stdout.write(text)
    if report or output is not None:
        s = result.stats
        print(
            f"{len(result.candidates)} candidates from {s.documents} documents, {s.lines} lines "
            f"(table {s.table_entries}/{s.table_capacity} entries, filter {s.bloom_bytes >> 20} MB "
            f"{100 * s.bloom_fill:.1f}% full)",
            file=stderr,
        )
    return status
