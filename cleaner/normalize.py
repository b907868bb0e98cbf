"""The one place that defines how text is compared: case, spaces, quotes, dashes, word edges.

Two views are derived from the same tables:
- `normalize_line` (str): what rules see. Lower case, every space one plain space (none at the
  ends), plain quotes and dashes, zero-width characters dropped. `origin_map` says where each of
  its characters came from, so that a span found there can be cut from the original line.
- `scan_view` (bytes -> latin-1 str): what the automaton scans, whole chunks at a time, built
  only from C-level bytes operations. Everything that is not a word character becomes one space
  and every line is framed by spaces, so an anchor key framed by spaces (`scan_key`) only hits
  whole words, as `is_word` defines them for the rules.
"""

from __future__ import annotations

import functools
import re
import string

import numpy as np

SPACES = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Invisible: zero-width characters, the soft hyphen, marks of writing direction, and the variation
# selectors that ask for an emoji or text rendering ("➡️" is U+27A1 U+FE0F).
DROPPED = (
    "\u200b\u200c\u200d\u2060\ufeff\xad\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)
SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4`"
DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


def _symbols() -> str:
    """Non-ASCII punctuation and symbols: word edges, like ASCII punctuation (bullets, arrows,
    shapes, dingbats, the Latin-1, General, CJK and fullwidth punctuation, the
    marks that enclose a symbol such as a keycap, the icons of web fonts (private use), and the
    emoji and pictographs publishers put before a label: "📌 Related", "⭐ Read more").
    The euro sign and the other currency signs of U+20A0.. stay words: as marks they would make
    "€ pro Monat" a mark anchor, found on every line that gives a price in euros."""
    ranges = [(0x80, 0xBF), (0xD7, 0xD7), (0xF7, 0xF7), (0x2016, 0x205E), (0x20D0, 0x20FF),
              (0x2100, 0x215F), (0x2190, 0x2BFF), (0x2E00, 0x2E7F), (0x3000, 0x303F), (0xE000, 0xF8FF),
              (0xFE10, 0xFE1F), (0xFE30, 0xFE6F), (0xFF01, 0xFF65), (0x1F000, 0x1FBFF)]
    chars = "".join("".join(map(chr, range(low, high + 1))) for low, high in ranges)
    return re.sub(r"\w", "", chars).translate({ord(c): None for c in DROPPED})  # \w: letters, digits


SYMBOLS = _symbols()

# char -> replacement ("" drops it)
CHAR_MAP: dict[str, str] = {
    **{c: " " for c in SPACES},
    **{c: "" for c in DROPPED},
    **{c: "'" for c in SINGLE_QUOTES},
    **{c: '"' for c in DOUBLE_QUOTES},
    **{c: "-" for c in DASHES},
}
_SPECIAL = re.compile("[" + re.escape("".join(CHAR_MAP)) + "]")
_NOT_WORD = frozenset(string.punctuation + string.whitespace + SYMBOLS)


def is_word(char: str) -> bool:
    """Letters and digits, and any non-ASCII character the scan cannot tell from one."""
    return char.isalnum() or (char >= "\x80" and char not in _NOT_WORD)


def normalize(text: str) -> str:
    """The comparable form of a line or phrase: lower case, plain punctuation, single spaces."""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(_SPECIAL.sub(_plain, text.lower()).split())


def _plain(match: re.Match) -> str:
    return CHAR_MAP[match.group()]


normalize_line = normalize


_WHITESPACE_TO_SPACE = {p: " " for p in range(0x3001) if chr(p).isspace()}
_DROPS = re.compile("[" + DROPPED + "]")


def origin_map(line: str, norm: str) -> list[int]:
    """For each character of `norm` (= normalize(line)), its index in `line`."""
    lowered = line.lower()
    if line.isascii():  # only case and spaces change: each word keeps its characters
        folded, owner = line, None
    elif len(lowered) == len(line) and not _DROPS.search(line):  # still one character for one
        folded, owner = _SPECIAL.sub(_plain, lowered), None
    else:
        parts = [_fold(char) for char in line]
        folded = "".join(parts)
        owner = [index for index, part in enumerate(parts) for _ in part]
    if owner is None and len(norm) == len(folded):  # spaced as normalised already: one for one
        return list(range(len(norm)))
    origin = _kept_positions(folded)
    if owner is not None:
        origin = [owner[i] for i in origin]
    if len(origin) != len(norm):  # a case mapping that depends on context: keep what lines up
        origin = (origin + [len(line)] * len(norm))[: len(norm)]
    return origin


def _kept_positions(text: str) -> list[int]:
    """The positions of `text` that " ".join(text.split()) keeps: every non-space character
    and the first space of each run between two of them."""
    spaced = text.translate(_WHITESPACE_TO_SPACE).encode("utf-32-le", "surrogatepass")
    space = np.frombuffer(spaced, np.uint32) == 32
    solid = np.flatnonzero(~space)
    if not len(solid):
        return []
    keep = ~space
    keep[1:] |= space[1:] & ~space[:-1]  # the first space of a run
    keep[: solid[0]] = False  # spaces before the first character
    keep[solid[-1] + 1 :] = False  # and after the last
    return np.flatnonzero(keep).tolist()


@functools.lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """What `normalize` makes of one character, before spaces are squeezed."""
    return _SPECIAL.sub(_plain, char.lower())


def blank(text: str) -> bool:
    """Only spaces and invisible characters: what a cut may leave of a line and remove with it."""
    return not text.strip(_BLANK)


_BLANK = string.whitespace + SPACES + DROPPED


def trim(text: str) -> str:
    """Strip spaces, punctuation, bullets and other symbols (all that is not a word character)
    from both ends: the `whole_line` comparison. ASCII first, as `str.strip` checks each end
    against its whole argument, and the symbols are thousands."""
    text = text.strip(_ASCII_TRIM)
    start, end = 0, len(text)
    while start < end and text[start] in _NOT_WORD:
        start += 1
    while end > start and text[end - 1] in _NOT_WORD:
        end -= 1
    return text[start:end]


_ASCII_TRIM = string.whitespace + string.punctuation


# --- the byte-level scan view -------------------------------------------------------------

# The scan's byte map: ASCII letters to lower case; every ASCII byte that is not a letter, a digit
# or a line break to a space. Bytes >= 128 stay (multibyte characters are mapped below).
_VIEW_MAP = bytes(
    b if b >= 128 or b == 10 or chr(b).isalnum() and not chr(b).isupper() else b + 32 if chr(b).isupper() else 32
    for b in range(256)
)
# Non-ASCII characters of two- and three-byte UTF-8 by code point: what the scan makes of them.
_WORD, _SPACE, _MAPPED, _DROPPED, _SYMBOL, _CAPITAL = range(6)
_POINT_CLASS = np.zeros(0x10000, np.uint8)
_symbol_points = np.frombuffer(SYMBOLS.encode("utf-32-le"), np.uint32)
_POINT_CLASS[_symbol_points[_symbol_points < 0x10000]] = _SYMBOL
for _char, _replacement in CHAR_MAP.items():  # spaces, quotes and dashes among them map as CHAR_MAP says
    if ord(_char) >= 128:
        _POINT_CLASS[ord(_char)] = _SPACE if _replacement == " " else _DROPPED if not _replacement else _MAPPED
for _point in range(0xC0, 0xDF):  # À..Þ: the scan folds them to à..þ
    if _point != 0xD7:
        _POINT_CLASS[_point] = _CAPITAL
# Four-byte characters are words (letters of other planes) but for the emoji and pictographs.
_PICTOGRAPHS = 0x1F000
_IS_PICTOGRAPH = np.array([chr(p) in _NOT_WORD for p in range(_PICTOGRAPHS, 0x1FC00)])


def scan_view(chunk: bytes) -> str:
    """`scan_view_bytes` as a latin-1 str (one character per byte), for pyahocorasick."""
    return scan_view_bytes(chunk).decode("latin-1")


def scan_view_bytes(chunk: bytes) -> bytes:
    """The chunk as the scan sees it: only its words, in ASCII and Latin-1 lower case, separated
    by single spaces; every line framed as `\n words \n`. Punctuation, symbols and spaces all
    become the one space between words, invisible characters go. Line breaks keep their count
    (plus the one in front); offsets shift.

    Built from whole-chunk operations (bytes methods and numpy), never a loop over lines.
    """
    framed = b"".join((b"\n ", chunk.replace(b"\n", b" \n "), b" \n"))  # one copy, where `+` makes two
    array = np.frombuffer(framed.translate(_VIEW_MAP), np.uint8)
    if not chunk.isascii():
        array = _fold_multibyte(array)
    spaces = array == 32
    keep = np.ones(len(array), bool)
    keep[1:] = ~(spaces[1:] & spaces[:-1])
    return array[keep].tobytes()


def scan_view_text(text: str) -> str:
    """`scan_view` of a short text given as str (valid UTF-8, no lone surrogates), without
    numpy: one `str.translate` and a split. For a line of a few hundred characters the whole-
    chunk operations cost 100-200 µs in fixed overhead; this costs 5-20 µs."""
    framed = "".join(("\n ", text.replace("\n", " \n "), " \n")).translate(_view_table())
    return " ".join([word for word in framed.split(" ") if word]).encode().decode("latin-1")


@functools.cache
def _view_table() -> dict[int, str]:
    """What the view makes of each character that it changes (see `scan_view_bytes`)."""
    table = {byte: chr(_VIEW_MAP[byte]) for byte in range(128)}
    replaced = {_SPACE: " ", _MAPPED: " ", _SYMBOL: " ", _DROPPED: ""}
    for point in np.flatnonzero(_POINT_CLASS).tolist():
        kind = int(_POINT_CLASS[point])
        table[point] = chr(point + 0x20) if kind == _CAPITAL else replaced[kind]
    table.update(dict.fromkeys((_PICTOGRAPHS + np.flatnonzero(_IS_PICTOGRAPH)).tolist(), " "))
    return table


def _fold_multibyte(array: np.ndarray) -> np.ndarray:
    """Map UTF-8 sequences as the view maps characters: spaces, quotes, dashes and symbols to
    spaces, invisible characters to nothing, Latin-1 capitals to lower case."""
    padded = np.concatenate([array, np.zeros(3, np.uint8)])
    leads = np.flatnonzero(array >= 0xC2)
    lead_bytes = padded[leads]
    _blank_pictographs(padded, leads[lead_bytes >= 0xF0])
    leads = leads[lead_bytes < 0xF0]
    first = padded[leads].astype(np.int64)
    second = padded[leads + 1].astype(np.int64)
    third = padded[leads + 2].astype(np.int64)
    two = first < 0xE0
    valid = ((second & 0xC0) == 0x80) & (two | ((third & 0xC0) == 0x80))
    point = np.where(two, ((first & 0x1F) << 6) | (second & 0x3F),
                     ((first & 0x0F) << 12) | ((second & 0x3F) << 6) | (third & 0x3F))
    width = np.where(two, 2, 3)
    kind = np.where(valid, _POINT_CLASS[point & 0xFFFF], _WORD)

    padded[leads[kind == _CAPITAL] + 1] += 0x20
    blank = (kind == _SPACE) | (kind == _MAPPED) | (kind == _SYMBOL)
    dropped = kind == _DROPPED
    for offset in (0, 1, 2):
        inside = offset < width
        padded[leads[blank & inside] + offset] = 32
    array = padded[: len(array)]
    if dropped.any():
        gone = np.concatenate([leads[dropped & (offset < width)] + offset for offset in (0, 1, 2)])
        array = np.delete(array, gone)
    return array


def _blank_pictographs(padded: np.ndarray, leads: np.ndarray) -> None:
    """Four-byte sequences: emoji and pictographs become spaces, like other symbols."""
    if not len(leads):
        return
    rest = [padded[leads + offset].astype(np.int64) for offset in (1, 2, 3)]
    valid = np.logical_and.reduce([(byte & 0xC0) == 0x80 for byte in rest])
    point = ((padded[leads].astype(np.int64) & 0x07) << 18) | (rest[0] & 0x3F) << 12 | (rest[1] & 0x3F) << 6 | rest[2] & 0x3F
    index = point - _PICTOGRAPHS
    inside = valid & (index >= 0) & (index < len(_IS_PICTOGRAPH))
    symbols = leads[inside][_IS_PICTOGRAPH[index[inside]]]
    for offset in (0, 1, 2, 3):
        padded[symbols + offset] = 32


# What the view makes a space of: every ASCII character but letters and digits, and the non-word ones.
_NOT_WORD_TO_SPACE = dict.fromkeys(map(ord, _NOT_WORD), " ") | {b: " " for b in range(128) if not chr(b).isalnum()}


@functools.lru_cache(maxsize=None)  # the matcher asks once per key and once per weak-key test
def view_words(anchor: str) -> str:
    """What the scan view makes of a normalised phrase: its words, single-spaced."""
    return " ".join(word for word in anchor.translate(_NOT_WORD_TO_SPACE).split(" ") if word)


def scan_keys(anchor: str, whole_line: bool = False, at: str = "", joined: bool = False) -> set[str]:
    """The automaton keys for a normalised anchor: its words framed by spaces, and by the line's
    break on the side where it must open or close the line (`at`; both for a `whole_line` label).
    A `joined` anchor runs on into the next word (at the line's start also into a quote, a space
    in the view): its keys end in each byte that can follow in the view (a letter, a digit, the
    first byte of a non-ASCII character; a space). The scan lower-cases ASCII
    and Latin-1 letters; for other letters the keys spell out their case variants (every mix for
    up to four such letters).
    An anchor without words (a symbol such as "©") has no key: the scan finds its `telling_mark`."""
    core = view_words(anchor)
    if not core:
        return set()
    key = f" {core}" if joined else f" {core} "
    if whole_line or at == "start":
        key = "\n" + key
    if whole_line or at == "end":
        key += "\n"
    cased = [] if key.isascii() else [i for i, c in enumerate(key) if ord(c) > 0xFF and len(c.upper()) == 1 and c.upper() != c]
    variants = {key}
    if len(cased) <= 4:
        for mask in range(1, 1 << len(cased)):
            chars = list(key)
            for bit, i in enumerate(cased):
                if mask >> bit & 1:
                    chars[i] = chars[i].upper()
            variants.add("".join(chars))
    else:
        variants.add("".join(c.upper() if i in cased else c for i, c in enumerate(key)))
    keys = {v.encode().decode("latin-1") for v in variants}
    if not joined:
        return keys
    # Straight on into a word; at the line's start also into a quote, a space in the view (a key
    # that common words end in anywhere in a line would make a candidate of every line holding one).
    ends = (" ", *map(chr, _WORD_START_BYTES)) if at == "start" else tuple(map(chr, _WORD_START_BYTES))
    return {key + end for key in keys for end in ends}


# The bytes a word of the scan view may start with: lower-case ASCII letters, digits, and the lead
# bytes of UTF-8 sequences.
_WORD_START_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789" + bytes(range(0xC2, 0xF5))


# Marks that ordinary prose is full of: a phrase's word is more telling than they are.
COMMON_MARKS = frozenset(".,;:'\"-()!?/&")


def telling_mark(anchor: str) -> str | None:
    """The character of a phrase that says most about it, of those that are not word characters:
    a non-ASCII symbol before a rare ASCII mark before a common one. None for a phrase of words."""
    marks = [c for c in anchor if not is_word(c) and not c.isspace()]
    return max(marks, key=lambda c: (c >= "\x80", c not in COMMON_MARKS)) if marks else None


def mark_literals(mark: str) -> set[bytes]:
    """The raw forms (UTF-8) a mark may take in a line: itself and what normalises to it."""
    return {source.encode() for source in {mark} | {k for k, v in CHAR_MAP.items() if v == mark}}
