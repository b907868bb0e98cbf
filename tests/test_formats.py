"""Formats and compression: readers and writers that put back exactly what they read."""

import bz2
import gzip
import io
import json
import lzma

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner.batch import RecordError, Tally, clean_items
from cleaner.engine import Engine
from cleaner.formats import (
    BinaryInput,
    CorruptInput,
    Document,
    JsonlFormat,
    Malformed,
    MultiNewsFormat,
    Raw,
    TextFormat,
    compress,
    compressing,
    detect,
    make_format,
    open_input,
    wrap_input,
)
from cleaner.formats.jsonl import encode_string, top_level_fields
from cleaner.reader import separator_pattern
from cleaner.rules import load_rules

RULES = """
[[rule]]
code = "TST001"
category = "ads"
description = "Advertisement label"
kind = "line"
anchors = ["advertisement"]
whole_line = true
examples = ["Advertisement"]

[[rule]]
code = "TST002"
category = "comments"
description = "Comment section"
kind = "tail"
anchors = ["join the conversation"]
max_lines = 3
max_len = 40
examples = ["Join the conversation\\n3 comments"]

[[rule]]
code = "TST003"
category = "share"
description = "Share prompt inside a line"
kind = "span"
anchors = ["share this article"]
examples = [{ text = "Body. Share this article", clean = "Body." }]
"""

# Documents with noise (and without), in the shapes every format can carry.
DOCUMENTS = [
    "Title\n\nAdvertisement\n\nThe council met on Tuesday.\nJoin the conversation\n4 comments\n",
    "No noise at all.\nA second line with ünïcödé – and “quotes”.\n",
    "Body text. Share this article\nMore body.",
    "Advertisement",
    "",
    "Line one\r\nAdvertisement\r\nLine three\r\n",
    "Tabs\tand  spaces / slashes \\ backslashes \"quoted\" <b>&amp;</b>\n\nJoin the conversation\n",
]
COMPRESSIONS = [None, "gzip", "bz2", "xz", "zstd"]
SUFFIX = {None: "", "gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return Engine(load_rules([path]))


@pytest.fixture(scope="module")
def quiet_engine(tmp_path_factory):
    """Rules that hit nothing in the test data: cleaning must be the identity."""
    path = tmp_path_factory.mktemp("rules") / "none.toml"
    path.write_text(RULES.replace("advertisement", "zzqx").replace("join the conversation", "zzqy zzqy")
                    .replace("share this article", "zzqz zzqz").replace("Advertisement", "zzqx")
                    .replace("Join the conversation", "zzqy zzqy").replace("Share this article", "zzqz zzqz"))
    return Engine(load_rules([path]))


def run(fmt, data: bytes, engine, on_error="stop") -> tuple[bytes, Tally]:
    parts, tally = [], Tally(audit=[])
    clean_items(fmt, wrap_input(io.BytesIO(data)), parts.append, engine, tally, on_error)
    return b"".join(parts), tally


def clean_text(engine, text: str) -> str:
    out, _ = run(TextFormat(), text.encode(), engine)
    return out.decode()


# --- the same documents, whichever format carries them ------------------------------------


def as_jsonl(documents, ensure_ascii=True) -> bytes:
    return "".join(json.dumps({"id": i, "text": d, "n": i}, ensure_ascii=ensure_ascii) + "\n" for i, d in enumerate(documents)).encode()


def as_multinews(documents) -> bytes:
    # Multi-News cannot carry a story that starts or ends with spaces next to a separator.
    return (" ||||| ".join(d.replace("\n", "NEWLINE_CHAR") for d in documents) + "\n").encode()


def test_same_documents_same_cleaned_text_in_every_format(engine):
    expected = [clean_text(engine, d) for d in DOCUMENTS]
    assert expected[0] == "Title\n\nThe council met on Tuesday.\n"  # the rules do hit

    for ensure_ascii in (True, False):
        out, tally = run(JsonlFormat(), as_jsonl(DOCUMENTS, ensure_ascii), engine)
        records = [json.loads(line) for line in out.decode().splitlines()]
        assert [r["text"] for r in records] == expected
        assert [(r["id"], r["n"]) for r in records] == [(i, i) for i in range(len(DOCUMENTS))]
        assert tally.documents == len(DOCUMENTS)

    out, tally = run(MultiNewsFormat(), as_multinews(DOCUMENTS), engine)
    stories = out.decode().rstrip("\n").split(" ||||| ")
    assert [s.replace("NEWLINE_CHAR", "\n") for s in stories] == expected
    assert tally.documents == len(DOCUMENTS)


def test_removal_counts_are_the_same_in_every_format(engine):
    counts = []
    for fmt, data in (
        (JsonlFormat(), as_jsonl(DOCUMENTS)),
        (MultiNewsFormat(), as_multinews(DOCUMENTS)),
    ):
        _, tally = run(fmt, data, engine)
        counts.append(dict(tally.counts.counts))
    text_counts: dict = {}
    for d in DOCUMENTS:
        _, tally = run(TextFormat(), d.encode(), engine)
        for code, n in tally.counts.counts.items():
            text_counts[code] = text_counts.get(code, 0) + n
    assert counts == [text_counts, text_counts]


# --- round trips with nothing removed are byte-identical ----------------------------------

ODD_JSONL = (
    b'{"text": "plain", "id": 1}\n'
    b'{ "id" : "x" ,  "text" : "spaced \\u00e9\\u00C9 \\/ slash \\ud83d\\ude00" , "z": [1, {"a": null}] }\r\n'
    b"\n"
    b'{"text":"raw \xc3\xa9 utf-8 and \\"escapes\\"\\t","meta":{"text":"inner"}}\n'
    b'   \n'
    b'{"a": 1.50e3, "text": "", "b": true}\n'
    b'{"text": "last line without a break"}'
)
ODD_MULTINEWS = (
    b"First story NEWLINE_CHAR NEWLINE_CHAR second paragraph ||||| Second story ||||| \n"
    b"One story only, no separators.NEWLINE_CHAR\n"
    b"spaced|||||tight   |||||\tloose\r\n"
    b"\n"
    b"last example without a break"
)
ODD_TEXT = "Title\r\n\n\nBody with ünïcödé.\n   \nNo final line break".encode()


@pytest.mark.parametrize(
    "fmt, data",
    [(JsonlFormat(), ODD_JSONL), (MultiNewsFormat(), ODD_MULTINEWS), (TextFormat(), ODD_TEXT)],
    ids=["jsonl", "multinews", "text"],
)
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_round_trip_without_hits_is_byte_identical(fmt, data, compression, quiet_engine, tmp_path):
    source = tmp_path / f"in{SUFFIX[compression]}"
    source.write_bytes(compress(data, compression))
    target = tmp_path / f"out{SUFFIX[compression]}"
    with open_input(source) as stream, open(target, "wb") as raw:
        out = compressing(raw, compression)
        clean_items(fmt, stream, out.write, quiet_engine, Tally())
        out.close()
    with open_input(target) as stream:
        assert stream.read() == data


def test_jsonl_changes_only_the_field_and_keeps_its_escaping(engine):
    line_ascii = b'{"b": 2, "text": "Caf\\u00e9 \\/ news\\nAdvertisement\\n", "a": "\\u00e9"}\n'
    out, _ = run(JsonlFormat(), line_ascii, engine)
    assert out == b'{"b": 2, "text": "Caf\\u00e9 \\/ news\\n", "a": "\\u00e9"}\n'

    line_raw = '{"text" :  "Café\\nAdvertisement",  "x": "é"}\r\n'.encode()
    out, _ = run(JsonlFormat(), line_raw, engine)
    assert out == '{"text" :  "Café\\n",  "x": "é"}\r\n'.encode()


def test_jsonl_id_field_and_other_text_field(engine):
    data = b'{"body": "Advertisement\\nKept.", "text": "Advertisement", "key": "doc-7"}\n'
    out, tally = run(JsonlFormat("body", "key"), data, engine)
    assert out == b'{"body": "Kept.", "text": "Advertisement", "key": "doc-7"}\n'
    assert [entry[0] for entry in tally.audit] == ["doc-7"]


def test_malformed_jsonl_stop_skip_keep(engine):
    data = b'{"text": "Advertisement\\nA."}\n{"text": broken}\n{"id": 3}\n{"text": 3}\n[1]\n\xff\n{"text": "B."}\n'
    with pytest.raises(RecordError) as stopped:
        run(JsonlFormat(), data, engine)
    assert stopped.value.line == 2 and "invalid JSON" in stopped.value.message

    out, tally = run(JsonlFormat(), data, engine, on_error="skip")
    assert out == b'{"text": "A."}\n{"text": "B."}\n'
    assert tally.skipped == 5 and [p[0] for p in tally.problems] == [2, 3, 4, 5, 6]
    assert "no field 'text'" in tally.problems[1][2] and "not a string" in tally.problems[2][2]

    out, tally = run(JsonlFormat(), data, engine, on_error="keep")
    assert out == data.replace(b"Advertisement\\n", b"")
    assert tally.kept == 5


def test_top_level_fields_agree_with_json_loads():
    text = '{"a": [1, {"b": "c"}], "text": "x\\"y", "a": 2, "n": null}'
    fields = top_level_fields(text)
    assert {k: v[0] for k, v in fields.items()} == json.loads(text)
    value, start, end = fields["text"]
    assert text[start:end] == '"x\\"y"'
    for bad in ['{"a": 1', '{"a" 1}', '{"a": 1} x', "[]", '{"a": 1,}', '{a: 1}']:
        with pytest.raises(ValueError):
            top_level_fields(bad)


@settings(max_examples=200, deadline=None)
@given(value=st.text(), like=st.sampled_from(['"abc"', '"é"', '"\\u00e9"', '"\\u00E9 \\/"', '"\\u003c"', '"\\\\/"']))
def test_encoded_string_decodes_to_the_value(value, like):
    literal = encode_string(value, like)
    assert json.loads(literal) == value
    literal.encode("utf-8")  # always valid UTF-8 (lone surrogates escaped)


def _reference_encode_string(value: str, like: str) -> str:
    """The first encode_string: every escape of `like` parsed left to right, on every call."""
    import re

    ascii_only = like.isascii()
    result = json.dumps(value, ensure_ascii=ascii_only)
    if not ascii_only and re.search("[\ud800-\udfff]", result):
        result = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", result)
    if "\\/" in like or "\\u" in like:
        escapes = set(re.findall(r"\\(u[0-9a-fA-F]{4}|.)", like, re.S))
        if "/" in escapes:
            result = result.replace("/", "\\/")
        if escapes & {"u003c", "u003C", "u003e", "u003E", "u0026"}:
            result = result.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        if any(e[0] == "u" and e[1:] != e[1:].lower() for e in escapes):
            upper = lambda m: m.group() if len(m.group(1)) % 2 == 0 else f"{m.group(1)}u{m.group(2).upper()}"
            result = re.sub(r"(\\+)u([0-9a-f]{4})", upper, result)
    return result


_ESCAPES = ["\\/", "\\\\", "\\\\/", "\\u00e9", "\\u00E9", "\\u003c", "\\u003E", "\\u0026", "\\\\u003c",
            "\\\\u00E9", "\\n", "/", "<", "é", "a", "\\ud83d\\ude00"]


@settings(max_examples=300, deadline=None)
@given(value=st.text(alphabet=st.sampled_from(list("ab/<>&\\\"é\u00e9\ud800\n\x01"))),
       parts=st.lists(st.sampled_from(_ESCAPES), max_size=8))
def test_encoded_string_keeps_the_style_the_first_version_kept(value, parts):
    """Only the cost changed: the substring tests and the backslash count answer as the full parse."""
    like = '"' + "".join(parts) + '"'
    assert encode_string(value, like) == _reference_encode_string(value, like)


def test_multinews_keeps_separators_and_line_ends_as_they_were(engine):
    data = b"Advertisement NEWLINE_CHAR A. |||||B. NEWLINE_CHARAdvertisement   |||||\tC.\r\n"
    out, tally = run(MultiNewsFormat(), data, engine)
    assert out == b" A. |||||B. NEWLINE_CHAR   |||||\tC.\r\n"
    assert tally.documents == 3
    assert [(e[1], e[2]) for e in tally.audit] == [(1, 1), (1, 2)]  # line 1, stories 1 and 2


def test_text_with_separator_lines(engine):
    fmt = TextFormat(separator_pattern("\\f"))
    out, tally = run(fmt, b"A.\nJoin the conversation\n\f\nAdvertisement\nB.\n", engine)
    assert out == b"A.\n\f\nB.\n" and tally.documents == 2


def test_separated_text_is_scanned_a_chunk_at_a_time(engine, monkeypatch):
    # A scan has a fixed cost larger than cleaning a short article: documents are found in
    # scanned chunks, not scanned one by one. They keep their own numbers and line numbers.
    scans = []
    scan = engine.candidates
    monkeypatch.setattr(engine, "candidates", lambda chunk: scans.append(len(chunk)) or scan(chunk))
    data = b"A.\nJoin the conversation\n\f\nAdvertisement\nB.\n\f\n" * 200
    for chunk_size, chunks in ((1 << 21, 1), (100, len(data) // 100)):
        scans.clear()
        out, tally = run(TextFormat(separator_pattern("\\f"), chunk_size), data, engine)
        assert out == b"A.\n\f\nB.\n\f\n" * 200 and tally.documents == 401
        assert [(part, line, code) for _, _, part, line, code, _ in tally.audit] == [
            (part, 1 + part % 2, "TST002" if part % 2 else "TST001") for part in range(1, 401)
        ]
        assert chunks <= len(scans) <= chunks + 1


def test_readers_hand_out_documents_raw_and_malformed_items():
    items = list(JsonlFormat(id_field="id").read(io.BytesIO(b'{"id": 5, "text": "a"}\n\n{"id": 6}\n')))
    assert [type(i) for i in items] == [Document, Raw, Malformed]
    assert items[0].id == "5" and items[0].line == 1 and items[2].id == "6"
    stories = list(MultiNewsFormat().read(io.BytesIO(b"aNEWLINE_CHARb ||||| c\n")))
    assert [s.chunks for s in stories] == [[b"a\nb"], [b"c"]] and [s.part for s in stories] == [1, 2]


# --- detection and compression ------------------------------------------------------------


def test_detect_by_extension():
    assert detect("a/b.jsonl") == detect("b.jsonl.zst") == detect("B.NDJSON.gz") == "jsonl"
    assert detect("train.src") == detect("train.src.cleaned") == detect("x.src.bz2") == "multinews"
    assert detect("a.txt") == detect("a.txt.xz") == detect("README") == "text"
    assert make_format("jsonl", field="body").field == "body"


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz", "zstd"])
def test_truncated_or_corrupt_compressed_input_is_an_error(compression, tmp_path):
    data = ("A line of text that is long enough to compress into several blocks. %d\n" * 1).encode()
    blob = compress(b"".join(data.replace(b"%d", str(i).encode()) for i in range(20000)), compression)
    truncated = tmp_path / f"t{SUFFIX[compression]}"
    truncated.write_bytes(blob[: len(blob) * 2 // 3])
    with pytest.raises(CorruptInput, match="corrupt or truncated"):
        with open_input(truncated) as stream:
            while stream.read(1 << 16):
                pass
    damaged = tmp_path / f"d{SUFFIX[compression]}"
    damaged.write_bytes(blob[:20] + bytes(b ^ 0x5A for b in blob[20:60]) + blob[60:])
    with pytest.raises(CorruptInput):
        with open_input(damaged) as stream:
            while stream.read(1 << 16):
                pass


@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz", "zstd"])
def test_concatenated_blocks_read_as_one_file(compression, tmp_path):
    path = tmp_path / f"c{SUFFIX[compression]}"
    path.write_bytes(compress(b"one\n", compression) + compress(b"two\n", compression))
    with open_input(path) as stream:
        assert stream.read() == b"one\ntwo\n"
    # and the standard tools agree
    decompress = {"gzip": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}.get(compression)
    if decompress:
        assert decompress(path.read_bytes()) == b"one\ntwo\n"
    else:
        reader = zstandard.ZstdDecompressor().stream_reader(path.read_bytes(), read_across_frames=True)
        assert reader.read() == b"one\ntwo\n"


def test_nul_bytes_mean_binary(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"GIF89a\x00\x01")
    with pytest.raises(BinaryInput):
        with open_input(path) as stream:
            stream.read()
    with open_input(path, binary_check=False) as stream:
        assert stream.read() == b"GIF89a\x00\x01"
