"""Records (JSONL, Multi-News) to one output on several processes: the same bytes, removals,
problems and record errors, in the same order, as `clean_items` in one process."""

import io
import json

import pytest

from cleaner import batch
from cleaner.batch import RecordError, Settings, clean_items, clean_records_in_order
from cleaner.engine import Engine
from cleaner.formats import make_format, wrap_input
from cleaner.rules import load_library, select_rules

ARTICLES = [
    "Advertisement\nThe council met on Tuesday.\nShare this article\n",
    "Rescuers came.\nRead more: Floods hit three towns\nThe river rose.\n",
    "No noise here, only a “quoted” line and ünïcödé.\n",
    "You've read 3 of 5 free articles.\nThe mayor resigned.\nJoin the conversation\n12 comments\n",
]
BAD = {17: b"{not json", 23: b'{"id": 3}', 41: b"\x00\x01 binary", 58: b"[1, 2]"}


@pytest.fixture(scope="module")
def engine():
    return Engine(select_rules(load_library()))


def jsonl(count: int) -> bytes:
    lines = [json.dumps({"id": f"r{i}", "text": ARTICLES[i % len(ARTICLES)] * (1 + i % 3)}).encode()
             for i in range(count)]
    for line, bad in BAD.items():
        lines[line] = bad
    return b"\n".join(lines) + b"\n"


def multinews(count: int) -> bytes:
    story = " ||||| ".join(a.replace("\n", " NEWLINE_CHAR ") for a in ARTICLES)
    return "".join(f"{story}\n" for _ in range(count)).encode()


class Tally:
    """What clean_items tells a tally, as plain values."""

    def __init__(self):
        self.told, self.documents = [], 0

    def removal(self, document, removal, removed):
        told = (document.id, document.line, document.part, removal.rule.code, removal.line, removed)
        self.told.append(("removal", *told))

    def problem(self, item, action):
        self.told.append(("problem", item.line, item.message, item.id, action))


def one_process(engine, fmt_name, data, on_error):
    fmt = make_format(fmt_name, id_field="id")
    out, tally = [], Tally()
    try:
        clean_items(fmt, wrap_input(io.BytesIO(data), binary_check=False), out.append, engine, tally, on_error)
    except RecordError as error:
        return b"".join(out), tally.told, (error.line, error.message)
    return b"".join(out), tally.told, None


def in_order(engine, fmt_name, data, on_error, workers):
    settings = Settings(id_field="id", on_error=on_error)
    out, tally = [], Tally()
    try:
        clean_records_in_order(engine, settings, fmt_name, io.BytesIO(data), out.append, tally, workers)
    except RecordError as error:
        return b"".join(out), tally.told, (error.line, error.message)
    return b"".join(out), tally.told, None


@pytest.mark.parametrize("on_error", ["skip", "keep", "stop"])
@pytest.mark.parametrize("workers", [1, 2])
def test_jsonl_in_blocks_matches_one_process(engine, monkeypatch, on_error, workers):
    monkeypatch.setattr(batch, "BLOCK_SIZE", 2000)  # dozens of blocks, bad records in several
    data = jsonl(80)
    expected = one_process(engine, "jsonl", data, on_error)
    assert expected[0] != data and any(t[0] == "removal" for t in expected[1])  # the rules do hit
    assert in_order(engine, "jsonl", data, on_error, workers) == expected


def test_record_numbers_are_the_streams_own(engine, monkeypatch):
    monkeypatch.setattr(batch, "BLOCK_SIZE", 2000)
    _, told, _ = in_order(engine, "jsonl", jsonl(80), "skip", 2)
    assert [t[1] for t in told if t[0] == "problem"] == [line + 1 for line in BAD]
    assert {t[1]: t[2] for t in told if t[0] == "removal"}["r72"] == 73


def test_multinews_in_blocks_matches_one_process(engine, monkeypatch):
    monkeypatch.setattr(batch, "BLOCK_SIZE", 1500)
    data = multinews(40)
    expected = one_process(engine, "multinews", data, "stop")
    assert expected[0] != data
    assert in_order(engine, "multinews", data, "stop", 2) == expected


def test_more_problems_in_a_block_than_a_worker_lists_are_all_told(engine, monkeypatch):
    monkeypatch.setattr(batch, "BLOCK_SIZE", 4096)  # about 9 blocks of some 70 records
    monkeypatch.setattr(batch, "MAX_PROBLEMS", 2)
    data = b"".join(b"{bad\n" if i % 3 == 0 else json.dumps({"id": i, "text": ARTICLES[0]}).encode() + b"\n"
                    for i in range(600))
    expected = one_process(engine, "jsonl", data, "skip")
    assert sum(t[0] == "problem" for t in expected[1]) == 200
    assert in_order(engine, "jsonl", data, "skip", 2) == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_a_byte_order_mark_opens_only_the_stream_not_a_block(engine, monkeypatch, workers):
    """A mark at the very start of the stream is the stream's; before a later record (files
    joined with `cat`) it makes that record malformed, wherever the blocks happen to be cut."""
    monkeypatch.setattr(batch, "BLOCK_SIZE", 600)
    records = [json.dumps({"id": f"r{i}", "text": ARTICLES[i % len(ARTICLES)]}).encode() for i in range(60)]
    data = b"\xef\xbb\xbf" + b"\n".join(b"\xef\xbb\xbf" + r if i % 5 == 4 else r for i, r in enumerate(records)) + b"\n"
    expected = one_process(engine, "jsonl", data, "skip")
    assert sum(t[0] == "problem" for t in expected[1]) == 12  # every fifth record; the first is fine
    assert in_order(engine, "jsonl", data, "skip", workers) == expected
