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

import string

import numpy as np

SPACES = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
DROPPED = "\u200b\u200c\u200d\u2060\ufeff\xad"
SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4`"
DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


def _symbols() -> str:
    """Non-ASCII punctuation and symbols: word edges, like ASCII punctuation (bullets, arrows,
    shapes, dingbats, the Latin-1 and General Punctuation signs)."""
    ranges = [(0xA1, 0xBF), (0xD7, 0xD7), (0xF7, 0xF7), (0x2016, 0x205E), (0x2100, 0x215F),
              (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2500, 0x27BF)]
    chars = (chr(c) for low, high in ranges for c in range(low, high + 1))
    return "".join(c for c in chars if not c.isalnum() and c not in DROPPED)


SYMBOLS = _symbols()

# char -> replacement ("" drops it)
CHAR_MAP: dict[str, str] = {
    **{c: " " for c in SPACES},
    **{c: "" for c in DROPPED},
    **{c: "'" for c in SINGLE_QUOTES},
    **{c: '"' for c in DOUBLE_QUOTES},
    **{c: "-" for c in DASHES},
}
_TRANSLATE = str.maketrans({c: (r or None) for c, r in CHAR_MAP.items()})
_NOT_WORD = frozenset(string.punctuation + string.whitespace + SYMBOLS)

# What `whole_line` trims from both ends of a line before comparing it with an anchor.
TRIM = string.whitespace + string.punctuation + SYMBOLS


def is_word(char: str) -> bool:
    """Letters and digits, and any non-ASCII character the scan cannot tell from one."""
    return char.isalnum() or (char >= "\x80" and char not in _NOT_WORD)


def normalize(text: str) -> str:
    """The comparable form of a line or phrase: lower case, plain punctuation, single spaces."""
    return " ".join(text.lower().translate(_TRANSLATE).split())


normalize_line = normalize


def origin_map(line: str, norm: str) -> list[int]:
    """For each character of `norm` (= normalize(line)), its index in `line`."""
    pairs = []  # (character, index in line), before spaces are squeezed
    for index, char in enumerate(line):
        for part in char.lower().translate(_TRANSLATE):
            pairs.append((part, index))
    origin = []
    previous_space = True  # drops leading spaces
    for part, index in pairs:
        if part.isspace():
            if not previous_space:
                origin.append(index)
            previous_space = True
        else:
            origin.append(index)
            previous_space = False
    if origin and previous_space:
        origin.pop()  # a trailing space
    if len(origin) != len(norm):  # a case mapping that depends on context: keep what lines up
        origin = (origin + [len(line)] * len(norm))[: len(norm)]
    return origin


def trim(text: str) -> str:
    """Strip spaces, punctuation and bullets from both ends (the `whole_line` comparison)."""
    return text.strip(TRIM)


# --- the byte-level scan view -------------------------------------------------------------

# ASCII punctuation and white space -> one space; letters, digits, line breaks and bytes of
# multi-byte characters stay.
_ASCII_MAP = bytes(b if (chr(b).isalnum() or b == 10 or b >= 128) else 32 for b in range(256))
# Non-ASCII characters that are word edges (-> space) or dropped, by code point.
_EDGE_POINTS = np.array(
    sorted({ord(c) for c, r in CHAR_MAP.items() if ord(c) >= 128 and r} | {ord(c) for c in SYMBOLS}),
    dtype=np.int64,
)
_DROPPED_POINTS = np.array(sorted(ord(c) for c in DROPPED), dtype=np.int64)


def scan_view(chunk: bytes) -> str:
    """The chunk as the automaton sees it: ASCII lower case, words separated by single spaces,
    every line framed by spaces. Only line breaks keep their count; offsets shift.

    Built from whole-chunk operations (bytes methods and numpy), never a loop over lines.
    """
    view = chunk.lower().translate(_ASCII_MAP)
    array = np.frombuffer(view, np.uint8)
    if not view.isascii():
        array = _map_multibyte(array)
    spaces = array == 32
    keep = np.ones(len(array), bool)
    keep[1:] = ~(spaces[1:] & spaces[:-1])
    squeezed = array[keep].tobytes()
    return (b" " + squeezed.replace(b"\n", b" \n ") + b" ").decode("latin-1")


def _map_multibyte(array: np.ndarray) -> np.ndarray:
    """Turn UTF-8 sequences of edge characters into spaces and drop the invisible ones."""
    padded = np.concatenate([array, np.zeros(3, np.uint8)])
    leads = np.flatnonzero((array >= 0xC2) & (array < 0xF0))
    first = padded[leads].astype(np.int64)
    second = padded[leads + 1].astype(np.int64)
    third = padded[leads + 2].astype(np.int64)
    two = first < 0xE0
    valid = ((second & 0xC0) == 0x80) & (two | ((third & 0xC0) == 0x80))
    point = np.where(two, ((first & 0x1F) << 6) | (second & 0x3F),
                     ((first & 0x0F) << 12) | ((second & 0x3F) << 6) | (third & 0x3F))
    width = np.where(two, 2, 3)
    edges = valid & np.isin(point, _EDGE_POINTS)
    dropped = valid & np.isin(point, _DROPPED_POINTS)
    capitals = valid & (point >= 0xC0) & (point <= 0xDE) & (point != 0xD7)  # À..Þ -> à..þ
    if not edges.any() and not dropped.any() and not capitals.any():
        return array
    array = array.copy()
    array[leads[capitals] + 1] += 0x20
    for offset in range(3):
        marked = edges & (offset < width)
        array[leads[marked] + offset] = 32
    if dropped.any():
        keep = np.ones(len(array), bool)
        for offset in range(3):
            marked = dropped & (offset < width)
            keep[leads[marked] + offset] = False
        array = array[keep]
    return array


def scan_text(text: str) -> str:
    """The scan form of a normalised phrase: words separated by single spaces."""
    return " ".join("".join(c if is_word(c) else " " for c in text).split())


def scan_keys(anchor: str) -> set[str]:
    """The automaton keys for a normalised anchor: its scan form, framed by a space on each side
    that ends in a word character. The scan lower-cases ASCII and Latin-1 letters; for other
    letters the keys spell out their case variants (every mix for up to four such letters)."""
    core = scan_text(anchor)
    if not core:
        return set()
    key = (" " if is_word(anchor[0]) else "") + core + (" " if is_word(anchor[-1]) else "")
    cased = [i for i, c in enumerate(key) if ord(c) > 0xFF and len(c.upper()) == 1 and c.upper() != c]
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
    return {v.encode().decode("latin-1") for v in variants}
