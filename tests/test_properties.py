"""Properties that hold for any input: the engine only ever removes, and removes the same way
whatever the chunk size, and cleaning twice changes nothing."""

import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, load_rules
from cleaner.errors import CleanerError

RULES = """
[[rule]]
code = "ADV001"
category = "ads"
description = "Advertisement label"
kind = "line"
anchors = ["advertisement"]
whole_line = true
examples = ["Advertisement"]

[[rule]]
code = "SUP001"
category = "support"
description = "Appeal block"
kind = "block"
anchors = ["your support helps us"]
end = ["makes all the difference."]
max_lines = 3
max_len = 40
examples = ["Your support helps us\\nmakes all the difference."]

[[rule]]
code = "SUP002"
category = "support"
description = "Glued sign-off"
kind = "span"
anchors = ["thanks for reading!"]
examples = ["Thanks for reading!"]

[[rule]]
code = "COM001"
category = "comments"
description = "Comment section"
kind = "tail"
anchors = ["join the conversation"]
max_lines = 3
max_len = 40
examples = ["Join the conversation"]

[[rule]]
code = "REL001"
category = "related"
description = "Related label near the top"
kind = "line"
anchors = ["related"]
whole_line = true
where = "head"
window = 3
examples = ["Related"]

[[rule]]
code = "REL002"
category = "related"
description = "Cue and headline run"
kind = "list"
anchors = ["you may also like"]
whole_line = true
max_lines = 3
examples = ["You may also like"]

[[rule]]
code = "SHR001"
category = "share"
description = "Share label near the end"
kind = "line"
anchors = ["share this"]
whole_line = true
where = "tail"
window = 2
examples = ["Share this"]
"""

NOISE = [
    "Advertisement",
    "ADVERTISEMENT:",
    "Your support helps us",
    "makes all the difference.",
    "makes all the difference.The story goes on",
    "Thanks for reading!",
    "Thanks for reading!The story goes on",
    "Words before. Thanks for reading!",
    "Join the conversation",
    "Related",
    "Share this",
    "Share\u00a0this",
    "You may also like",
    "Floods Hit Three Towns",
    "- 15 Amazing Images",
]
WORDS = st.sampled_from(["the", "council", "voted", "on", "Tuesday", "café", "\u201cno\u201d", "\u2014", "ad", "share"])
CONTENT = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
BLANK = st.sampled_from(["", " ", "\t"])
LINES = st.lists(st.one_of(st.sampled_from(NOISE), CONTENT, BLANK), max_size=14)


@st.composite
def documents(draw) -> bytes:
    lines = draw(LINES)
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    text = ending.join(lines) + draw(st.sampled_from([ending, ""]))
    data = text.encode()
    if draw(st.booleans()) and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3(", b"\xe2\x80"])) + data[at:]
    return data


def cleaner() -> Cleaner:
    import pathlib
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "rules.toml"
        path.write_text(RULES, encoding="utf-8")
        return Cleaner(rules=load_rules([path]))


CLEANER = cleaner()
SETTINGS = settings(max_examples=int(os.environ.get("CLEANER_PROPERTY_EXAMPLES", "400")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def is_subsequence(small: bytes, big: bytes) -> bool:
    remaining = iter(big)
    return all(byte in remaining for byte in small)


@SETTINGS
@given(documents())
def test_cleaning_is_idempotent(data):
    once = CLEANER.clean_bytes(data)
    assert CLEANER.clean_bytes(once) == once


@SETTINGS
@given(documents())
def test_output_is_the_input_with_pieces_removed(data):
    assert is_subsequence(CLEANER.clean_bytes(data), data)


@SETTINGS
@given(documents(), st.integers(1, 64))
def test_result_does_not_depend_on_chunk_size(data, chunk_size):
    assert CLEANER.clean_bytes(data, chunk_size=chunk_size) == CLEANER.clean_bytes(data)


@SETTINGS
@given(
    st.sampled_from(["", "\\f", "---"]),
    st.lists(st.sampled_from(["", "\r", "\f", "\f\r", "---", "---\r", "----", "-- -", "x", "x\r"]), max_size=12),
    st.booleans(),
)
def test_separator_lines_found_as_the_separator_regex_finds_them(separator, lines, final_break):
    """A separator given as a line is found in numpy; it must find what the regex it stands for does."""
    import re

    from cleaner.reader import separator_pattern

    chunk = "\n".join(lines).encode() + (b"\n" if final_break and lines else b"")
    literal = separator_pattern(separator)
    assert literal.literal is not None  # the numpy path is the one under test
    regex = separator_pattern(None, re.escape(separator.replace("\\f", "\f")))
    assert [list(a) for a in literal.find(chunk)] == [list(a) for a in regex.find(chunk)]


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=6), st.integers(1, 64))
def test_each_document_between_separators_is_cleaned_on_its_own(docs, chunk_size):
    """A stream of documents cleans as each document alone, whatever falls in which chunk."""
    from cleaner.reader import separator_pattern

    docs = [d if d.endswith(b"\n") else d + b"\n" for d in docs if d]
    assume(docs and not any(b"\f" in d for d in docs))
    stream = b"\f\n".join(docs)
    expected = b"\f\n".join(CLEANER.clean_bytes(d) for d in docs)
    assert CLEANER.clean_bytes(stream, separator=separator_pattern("\\f"), chunk_size=chunk_size) == expected


def _clean_documents(data: bytes, chunk_size: int, worker_side: bool) -> tuple[bytes, list]:
    """A separated stream cleaned as `Cleaner.clean_stream` does; with `worker_side`, the
    documents wholly inside a chunk are cleaned as a worker process cleans them."""
    import io

    from cleaner.documents import Documents, clean_chunk, scan_chunk
    from cleaner.reader import line_chunks, separator_pattern

    out, records = [], []
    separator = separator_pattern("")
    documents = Documents(CLEANER.engine, out.append, lambda n, r, b: records.append((n, r.line, r.rule.code, r.whole_lines, b)))
    for chunk in line_chunks(io.BytesIO(data), chunk_size):
        found = clean_chunk(CLEANER.engine, chunk, separator, True) if worker_side else scan_chunk(CLEANER.engine, chunk, separator)
        documents.take(chunk, found)
    documents.finish()
    return b"".join(out), records


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=8), st.sampled_from([b"\n", b"\r\n"]), st.integers(1, 200))
def test_documents_cleaned_where_the_chunk_is_scanned_come_out_the_same(docs, ending, chunk_size):
    """Workers clean the documents between a chunk's first and last separator and hand back the
    output and removals: the same bytes and the same report, numbered the same, as in one process."""
    stream = ending.join(docs)
    worker_side = _clean_documents(stream, chunk_size, worker_side=True)
    assert worker_side == _clean_documents(stream, chunk_size, worker_side=False)
    assert worker_side == _clean_documents(stream, 1 << 20, worker_side=False)


@SETTINGS
@given(st.binary(max_size=300))
def test_input_without_hits_is_byte_identical(data):
    assume(not CLEANER.engine.matcher.scan(data))
    assert CLEANER.clean_bytes(data) == data
    assert CLEANER.clean_bytes(data, chunk_size=3) == data


@SETTINGS
@given(documents())
def test_crlf_lines_keep_their_endings(data):
    assume(b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n"))
    out = CLEANER.clean_bytes(data)
    assert out.count(b"\n") == out.count(b"\r\n")


@SETTINGS
@given(st.lists(documents(), max_size=6))
def test_a_batch_is_cleaned_as_each_document_alone(texts):
    # Scanned together, documents must not run into each other (one without a final line break
    # above all), nor a rule see past its own document.
    decoded = [text.decode("utf-8", "surrogateescape") for text in texts]
    assert CLEANER.clean_batch(decoded) == [CLEANER.clean_text(text) for text in decoded]


TEXT = st.lists(
    st.sampled_from(
        list("abcxyz AB,.:;'\"-()/!?\n") + ["\u00a0", "\u2019", "\u201c", "\u2014", "\u200b", "\u2022", "\xad",
                                           "é", "É", "à", "Å", "\t", "ß", "…", "©", "\u2009", "½", "😀", "\r\n",
                                           "\U0001f4cc", "\ufe0f", "\u20e3", "\U0001d400", "\U0001f1ec", "\u2b50",
                                           "\uf02b", "\u200f", "\u3010", "\x9d"]
    ),
    max_size=40,
).map("".join)
ANCHOR = st.text(alphabet="abcxyzéàÅ' -:.(©•/", min_size=1, max_size=8)


@st.composite
def decorated(draw, anchor: str) -> str:
    """The anchor as a page might print it: other case, odd spaces, curly apostrophes, hyphens."""
    out = []
    for char in anchor:
        if char == " ":
            char = draw(st.sampled_from([" ", "  ", "\u00a0", "\t", " \u200b"]))
        elif char == "'":
            char = draw(st.sampled_from(["'", "\u2019", "\u2018"]))
        elif char == "-":
            char = draw(st.sampled_from(["-", "\u2014", "\u2013"]))
        elif draw(st.booleans()):
            char = char.upper()
        out.append(char)
    return "".join(out)


# Rule shapes the scan treats differently: anywhere in any line; only in short lines (the scan
# drops long lines by a bound on their length); whole-line labels (keys framed by line breaks);
# anchors that must open or close the line.
SHAPES = [
    {"kind": "span"},
    {"kind": "line", "max_len": 12},
    {"kind": "line", "whole_line": True},
    {"kind": "span", "at": "start"},
    {"kind": "span", "at": "end"},
    {"kind": "span", "joined": True},
    {"kind": "span", "joined": True, "at": "start"},
]


def _rule(anchor: str, shape: dict):
    from pathlib import Path

    from cleaner.rules import _build_rule, _Locator

    table = {"code": "TST001", "category": "test", "description": "d", "anchors": [anchor], "examples": ["x"], **shape}
    return _build_rule(table, 0, _Locator(Path("test.toml"), ""))


@SETTINGS
@given(TEXT, ANCHOR, TEXT, st.booleans(), st.sampled_from(SHAPES), st.data())
def test_scan_finds_every_line_the_rules_would_match(before, anchor, after, broken, shape, data_strategy):
    """The scan is only a prefilter: it may hit more lines than the rules confirm, never fewer."""
    from cleaner.matcher import Matcher
    from cleaner.normalize import normalize

    text = before + data_strategy.draw(decorated(anchor)) + after
    assume(normalize(anchor))
    try:
        rule = _rule(anchor, shape)
    except CleanerError:  # e.g. a whole-line label of punctuation only: refused at load
        assume(False)
    data = text.encode() + (b"\xff\xc3" if broken else b"")
    hit_lines = {c.index for c in Matcher([rule]).scan(data) if c.starts}
    for index, line in enumerate(data.split(b"\n")):
        text = line.decode("utf-8", "surrogateescape").removesuffix("\r")
        if rule.find(normalize(text), len(line.removesuffix(b"\r")), text):
            assert index in hit_lines, (line, anchor, shape)


@SETTINGS
@given(st.text(alphabet="ab C\t\x1c .,\u00a0\u200b\u2019\u2014ßé\xad\u3000\u201c\x85\u2028", max_size=40))
def test_origin_map_points_each_normalised_character_at_its_source(line):
    """Span cuts are found in the normalised line and made in the original one: each normalised
    character must come from the character the map points at, in order."""
    from cleaner.normalize import _fold, normalize, origin_map

    norm = normalize(line)
    origin = origin_map(line, norm)
    assert len(origin) == len(norm)
    assert all(a <= b for a, b in zip(origin, origin[1:]))
    for char, source in zip(norm, origin):
        folded = _fold(line[source])
        assert char in folded or (char == " " and folded.isspace())


@SETTINGS
@given(st.lists(st.integers(-5, 40), max_size=30))
def test_the_scans_unique_agrees_with_numpy(values):
    """The scan's own unique (numpy's imports numpy.ma on first use)."""
    import numpy as np

    from cleaner.matcher import _distinct

    values = np.array(values, np.int64)
    assert _distinct(values).tolist() == np.unique(values).tolist()


@SETTINGS
@given(st.text(alphabet="ab .,:-\"\t\u2022\u2b50\ue001\u00e9\x85\U0001f4cc\u00bd\x01\u3010", max_size=12))
def test_trim_strips_what_a_strip_of_every_mark_and_space_would(text):
    """trim() strips ASCII first and then walks the ends: the same as str.strip with all of them."""
    import string

    from cleaner.normalize import SYMBOLS, trim

    assert trim(text) == text.strip(string.whitespace + string.punctuation + SYMBOLS)


VIEW_CHARACTERS = st.one_of(
    st.sampled_from("aZ9 \n\r\t.,'\"\x85\xa0\u200b\u2019\u201c\u2014\u00c9\u00d7\u00de\u00e9\u00a9\u2026\ufe0f\u3000\u2028"),
    st.sampled_from("\U0001f4cc\U0001f600\U00020000\u27a1\u20ac\u0130\u0391\u4e2d\ue001"),
    st.characters(blacklist_categories=("Cs",)),
)


@SETTINGS
@given(st.text(alphabet=VIEW_CHARACTERS, max_size=40))
def test_the_view_of_a_short_text_is_the_view_of_its_bytes(text):
    """What a cut leaves of a line is scanned through the str view (no numpy): it must find the
    keys the chunk view finds."""
    from cleaner.normalize import scan_view_bytes, scan_view_text

    assert scan_view_text(text) == scan_view_bytes(text.encode()).decode("latin-1")
