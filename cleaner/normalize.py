"""The one place that defines how text is compared: case, spaces, quotes, dashes.

Two views are derived from the same table:
- `normalize_line` (str): what rules see. Lower case, every space one plain space, plain quotes
  and dashes, zero-width characters dropped. It also returns where each character came from, so
  that a span found in the normalised line can be cut from the original.
- `scan_view` (bytes -> latin-1 str): what the automaton scans, whole chunks at a time, built
  only from C-level bytes operations. Spaces are *deleted* there (so runs of spaces need no
  squeezing); anchors are stored the same way by `scan_key`.
"""

from __future__ import annotations

import string

SPACES = "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
         "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
DROPPED = "\u200b\u200c\u200d\u2060\ufeff\xad"
SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4`"
DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"

# char -> replacement ("" drops it)
CHAR_MAP: dict[str, str] = {
    **{c: " " for c in SPACES},
    **{c: "" for c in DROPPED},
    **{c: "'" for c in SINGLE_QUOTES},
    **{c: '"' for c in DOUBLE_QUOTES},
    **{c: "-" for c in DASHES},
}
_TRANSLATE = str.maketrans({c: (r or None) for c, r in CHAR_MAP.items()})

# What `whole_line` trims from both ends of a line before comparing it with an anchor.
TRIM = string.whitespace + string.punctuation + "•·●◦▪▫■□►▶▸»«›‹→←|…✓✔★☆©®™"


def normalize(text: str) -> str:
    """Normalise a phrase (an anchor, an example): lower case, plain punctuation, single spaces."""
    return " ".join(text.lower().translate(_TRANSLATE).split())


def normalize_line(line: str) -> tuple[str, list[int] | None]:
    """Normalise one line; return it with the original index of each character.

    The index list is None when the normalised line lines up with the original one to one
    (the common case: plain ASCII with single spaces).
    """
    if line.isascii() and "  " not in line and "\t" not in line:
        lowered = line.lower()
        if "\r" not in lowered and "\x0b" not in lowered and "\x0c" not in lowered:
            return lowered, None
    chars: list[str] = []
    origin: list[int] = []
    previous_space = False
    for index, char in enumerate(line):
        replacement = CHAR_MAP.get(char)
        if replacement is None:
            replacement = char.lower()
        if not replacement:
            continue
        if replacement == " ":
            if previous_space:
                continue
            previous_space = True
        else:
            previous_space = False
        for part in replacement:
            chars.append(part)
            origin.append(index)
    return "".join(chars), origin


def trim(text: str) -> str:
    """Strip spaces, punctuation and bullets from both ends (the `whole_line` comparison)."""
    return text.strip(TRIM)


# --- the byte-level scan view -------------------------------------------------------------

_ASCII_DELETE = bytes(ord(c) for c in SPACES if ord(c) < 128) + b" "
_MULTIBYTE: list[tuple[bytes, bytes]] = sorted(
    (
        (c.encode(), b"" if r in ("", " ") else r.encode())
        for c, r in CHAR_MAP.items()
        if ord(c) >= 128
    ),
    key=lambda pair: pair[0],
)
# Group the multi-byte sequences by lead byte, so a chunk without that lead byte costs one search.
_BY_LEAD: dict[bytes, list[tuple[bytes, bytes]]] = {}
for _seq, _rep in _MULTIBYTE:
    _BY_LEAD.setdefault(_seq[:1], []).append((_seq, _rep))


def scan_view(chunk: bytes) -> str:
    """The chunk as the automaton sees it: ASCII lower case, no spaces, plain quotes and dashes.

    Only line breaks are guaranteed to survive in place; everything else may shift.
    """
    view = chunk.lower()
    if not view.isascii():
        for lead, pairs in _BY_LEAD.items():
            if lead in view:
                for sequence, replacement in pairs:
                    if sequence in view:
                        view = view.replace(sequence, replacement)
    return view.translate(None, _ASCII_DELETE).decode("latin-1")


def scan_keys(anchor: str) -> set[str]:
    """The automaton keys for a normalised anchor: its scan form, with upper-case variants of
    non-ASCII letters (bytes.lower() only folds ASCII)."""
    compact = anchor.replace(" ", "")
    variants = {compact}
    if not compact.isascii():
        upper = "".join(c.upper() if not c.isascii() and len(c.upper()) == 1 else c for c in compact)
        variants.add(upper)
    return {v.encode().decode("latin-1") for v in variants}
