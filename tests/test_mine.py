"""`cleaner mine`: repeated publisher noise becomes reviewable rules.

The main figures come from a small version of the generated 20-publisher corpus
(benchmarks/mine_corpus.py); the rest are small hand-made cases for each promise.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cleaner import Cleaner, load_library, load_rules, select_rules
from cleaner.check import check_rules, format_failures
from cleaner.mine import mine as mine_documents
from cleaner.mine import (
    CandidateTable,
    Entry,
    MineSettings,
    SeenFilter,
    anchor_of,
    fold,
    iter_documents,
    pattern_of,
    stable_hash,
)
from cleaner.normalize import normalize
from cleaner.reader import separator_pattern

ROOT = Path(__file__).resolve().parents[1]


def _corpus_module():
    spec = importlib.util.spec_from_file_location("mine_corpus", ROOT / "benchmarks" / "mine_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mine_corpus"] = module
    spec.loader.exec_module(module)
    return module


mine_corpus = _corpus_module()
SETTINGS = MineSettings(min_docs=5, top=300, memory_mb=64)


@functools.cache
def shipped():
    return load_library()


def mine(documents, settings=SETTINGS, selection=None):
    """Mining with the shipped library loaded once (by default the default selection, as the CLI has it)."""
    selection = select_rules(shipped()) if selection is None else selection
    return mine_documents(documents, settings=settings, selection=selection, library=shipped())


@pytest.fixture(scope="module")
def corpus():
    return mine_corpus.generate(per_publisher=30, seed=11)


@pytest.fixture(scope="module")
def mined(corpus):
    return mine(corpus.documents)


@pytest.fixture(scope="module")
def rule_file(mined, tmp_path_factory):
    path = tmp_path_factory.mktemp("mined") / "candidates.toml"
    path.write_text(mined.toml(), encoding="utf-8")
    return path


# --- the acceptance figures, on the small corpus ------------------------------------------


def test_generated_corpus_is_sound(corpus):
    """The injected noise is unknown to the shipped library, and the content survives it."""
    assert mine_corpus.check_corpus(corpus) == []
    assert len(corpus.publishers) == 20
    kinds = {p.kind for p in corpus.phrases}
    assert kinds == {"head", "middle", "tail", "glued_head", "glued_tail"}


def test_recall_and_share_of_content_candidates(corpus, mined):
    scores = mine_corpus.evaluate(corpus, mined, round_trip=False)
    assert scores["phrases"] >= 100
    assert scores["recall"] >= 0.95, scores["missed"]
    assert scores["content_rate"] <= 0.05, scores["content"]
    assert scores["shipped_noise_proposed"] == 0


def test_candidates_are_valid_rules_that_pass_check_rules(mined, rule_file):
    rules = load_rules([rule_file])
    assert [r.code for r in rules] == [f"USR{i:03d}" for i in range(1, len(rules) + 1)]
    assert {r.kind for r in rules} == {"line", "span", "tail"}
    assert all(r.category == "mined" and r.examples for r in rules)
    failures = check_rules(shipped() + rules, rules)
    assert not failures, format_failures(failures)
    # Evidence as comments, best first.
    text = rule_file.read_text(encoding="utf-8")
    assert text.count("# USR") == len(rules)
    counts = [c.evidence for c in mined.candidates]
    assert counts == sorted(counts, reverse=True)


def test_round_trip_removes_the_injected_noise_and_nothing_else(corpus, mined, rule_file):
    scores = mine_corpus.round_trip_scores(corpus, mined, rule_file)
    assert scores["content_lines_lost"] == 0
    assert scores["noise_left"] <= 0.02
    assert scores["round_trip_exact_documents"] >= 0.95


def test_rule_kinds_follow_the_evidence(mined):
    by_text = {c.text: c for c in mined.candidates}
    tail = next(c for c in mined.candidates if c.kind == "tail")
    assert tail.table["max_lines"] >= 2 and tail.table["whole_line"] is True
    assert tail.zones[2] == tail.df  # always at the end
    span = next(c for c in mined.candidates if c.kind == "span")
    assert any(isinstance(x, dict) and x["clean"] for x in span.table["examples"])
    numbered = [c for c in mined.candidates if "regex" in c.table and c.kind == "line"]
    assert numbered and all("\\d+" in c.table["regex"] for c in numbered)
    assert all(len(c.table["examples"]) >= 2 for c in mined.candidates)
    assert by_text  # the table is keyed by what the reviewer sees


# --- what is left out ------------------------------------------------------------------------


def _article(rnd: random.Random, paragraphs: int = 4) -> list[str]:
    prose = mine_corpus.Prose(rnd)
    return [prose.title()] + [prose.paragraph() for _ in range(paragraphs)]


def _texts(result) -> set[str]:
    return {fold(normalize(c.text)) for c in result.candidates}


def test_noise_the_selection_already_removes_is_not_proposed():
    rnd = random.Random(3)
    documents = []
    for _ in range(12):
        lines = _article(rnd)
        lines.insert(2, "Advertisement")
        lines.insert(3, "Hear the Wrenfield Clarion at dawn on Wrenfield Radio")
        documents.append("\n".join(lines) + "\n")
    proposed = _texts(mine(documents))
    assert "hear the wrenfield clarion at dawn on wrenfield radio" in proposed
    assert "advertisement" not in proposed
    # With no rules selected, nothing is removed beforehand and the label is proposed too.
    unselected = _texts(mine(documents, selection=[]))
    assert "advertisement" in unselected


def test_mining_again_with_the_mined_rules_selected_proposes_nothing_new_and_codes_continue(corpus, mined, rule_file):
    extra = load_rules([rule_file])
    again = mine(corpus.documents, selection=select_rules(shipped()) + extra)
    assert not {c.text for c in again.candidates} & {c.text for c in mined.candidates}
    assert len(again.candidates) <= 2
    if again.candidates:
        assert again.candidates[0].code == f"USR{len(extra) + 1:03d}"


def test_an_article_syndicated_to_several_documents_is_not_proposed():
    rnd = random.Random(5)
    shared = _article(rnd, paragraphs=6)
    documents = []
    for copy in range(8):  # the same article in 8 documents, each with its publisher's line
        documents.append("\n".join([f"Published by the Outlet {copy} newsroom"] + shared) + "\n")
    for _ in range(8):  # and 8 different articles with the same promo line
        documents.append("\n".join(_article(rnd) + ["Wrenfield Clarion members get the late edition first."]) + "\n")
    result = mine(documents)
    proposed = _texts(result)
    assert "wrenfield clarion members get the late edition first." in proposed
    article_lines = {fold(normalize(line)) for line in shared}
    assert not proposed & article_lines, proposed & article_lines
    assert all(c.kind != "span" for c in result.candidates)  # no first/last sentences of the article


def test_very_long_repeated_lines_are_content():
    rnd = random.Random(9)
    statement = mine_corpus.STATEMENT
    assert len(statement) > SETTINGS.max_line_len
    documents = ["\n".join(_article(rnd)[:3] + [statement] + _article(rnd)[1:3]) + "\n" for _ in range(10)]
    result = mine(documents)
    assert result.candidates == [], [c.text for c in result.candidates]


def test_min_docs_and_top():
    rnd = random.Random(13)
    documents = []
    for i in range(12):
        lines = _article(rnd)
        lines.append("Wrenfield Clarion: printed on Harbour Row")  # 12 documents
        if i < 4:
            lines.insert(1, "Nightjar Ledger sends its thanks to the night desk")  # 4 documents
        if i < 8:
            lines.insert(1, "Set in type by the Oriel Packet evening team")  # 8 documents
        documents.append("\n".join(lines) + "\n")
    result = mine(documents, settings=MineSettings(min_docs=5))
    assert [c.df for c in result.candidates] == [12, 8]
    assert len(mine(documents, settings=MineSettings(min_docs=3)).candidates) == 3
    top = mine(documents, settings=MineSettings(min_docs=3, top=1))
    assert [c.text for c in top.candidates] == ["Wrenfield Clarion: printed on Harbour Row"]
    assert top.candidates[0].code == "USR001"


# --- rule building -----------------------------------------------------------------------------


def test_numbers_vary_in_the_regex_and_the_anchor_is_a_stable_literal():
    norm = normalize("Listen to this story: 12 min (about 1,200 words)")
    assert anchor_of(norm) == "listen to this story"
    assert pattern_of(norm) == r"listen to this story: \d+(?:[.,]\d+)* min \(about \d+(?:[.,]\d+)* words\)"
    assert anchor_of("mp3 0 7") is None  # nothing literal with a letter: no rule
    assert fold("edition 4,532 of 2024.") == "edition 0 of 0."


def test_long_lines_get_an_exact_regex_with_max_len_instead_of_whole_line():
    rnd = random.Random(21)
    promo = ("The Wrenfield Clarion is owned by the people who read it: " + "a cooperative of readers, " * 6
             + "and every one of them gets a vote at the annual meeting in Wrenfield.")
    assert 200 < len(promo) < SETTINGS.max_line_len
    documents = ["\n".join(_article(rnd) + [promo]) + "\n" for _ in range(8)]
    result = mine(documents)
    (candidate,) = result.candidates
    table = candidate.table
    assert "whole_line" not in table and table["regex"].startswith("^") and table["regex"].endswith("$")
    assert table["max_len"] >= len(normalize(promo))
    cleaner = Cleaner(rules=list(_load(result).values()))
    assert cleaner.clean_text(documents[0]).count("\n") == documents[0].count("\n") - 1


def _load(result):
    from cleaner.mine import _load_tables

    return _load_tables([c.table for c in result.candidates])


def test_glued_sentences_become_span_rules_with_exact_expected_output():
    rnd = random.Random(17)
    documents = []
    for _ in range(10):
        lines = _article(rnd)
        lines[1] = "Wrenfield Clarion early edition." + lines[1]  # glued with no space
        lines[-1] = lines[-1] + " Wrenfield Clarion readers can write to the desk at any hour."
        documents.append("\n".join(lines) + "\n")
    result = mine(documents)
    spans = {c.text: c for c in result.candidates}
    assert set(spans) == {"Wrenfield Clarion early edition.", "Wrenfield Clarion readers can write to the desk at any hour."}
    first = spans["Wrenfield Clarion early edition."].table
    assert first["kind"] == "span" and first["regex"].startswith("^")
    for example in first["examples"]:
        assert example["clean"] and not example["clean"].startswith("Wrenfield")
    rules = _load(result)
    cleaner = Cleaner(rules=list(rules.values()))
    cleaned = cleaner.clean_text(documents[0])
    assert "Wrenfield" not in cleaned and cleaned.count("\n") == documents[0].count("\n")


def test_awkward_text_round_trips_through_toml_and_the_engine():
    """Curly quotes, non-breaking spaces, backslashes, TOML quote runs and tabs in repeated lines."""
    rnd = random.Random(23)
    awkward = [
        "Don\u2019t miss the Wrenfield \u201cNight\u00a0Owl\u201d edition",
        "Wrenfield Clarion \\ C:\\desk\\late \"night\" file",
        "It'''s the Wrenfield Clarion\tlate desk",
    ]
    documents = ["\n".join(_article(rnd)[:3] + awkward + _article(rnd)[1:3]) + "\n" for _ in range(7)]
    result = mine(documents)
    assert len(result.candidates) == 3
    rules = list(_load(result).values())
    assert not check_rules(shipped() + rules, rules)
    cleaned = Cleaner(rules=rules).clean_text(documents[0])
    assert not any(line in cleaned for line in awkward)
    assert cleaned.count("\n") == documents[0].count("\n") - 3


# --- the bounded-memory structures ------------------------------------------------------------


def test_seen_filter_has_no_false_negatives_and_few_false_positives():
    seen = SeenFilter(1 << 16)  # 524,288 bits
    keys = np.array([stable_hash(f"line {i}") for i in range(50_000)], dtype=np.uint64)  # ~10 bits per key
    assert not seen.seen_then_add(keys).any()
    assert seen.seen_then_add(keys).all()  # every key added is found again
    fresh = np.array([stable_hash(f"other {i}") for i in range(20_000)], dtype=np.uint64)
    assert seen.seen_then_add(fresh).mean() < 0.03
    assert seen.bits.nbytes == 1 << 16  # the memory is fixed, whatever is added
    assert 0.3 < seen.fill() < 0.6


def _packed(*values: int) -> bytes:
    return np.array(values, dtype=np.uint32).tobytes()


def test_candidate_table_keeps_its_capacity_and_the_heavy_hitters():
    table = CandidateTable(capacity=100, distinct_cap=8)
    rnd = random.Random(0)
    for step in range(5000):
        for key in (1, 2):  # two keys that repeat all the time
            entry = table.get(key) or table.add(key, Entry("line", f"k{key}", f"k{key}", 0))
            table.observe(entry, 1, frozenset({step}), _packed(step))
        noise = 1000 + rnd.randrange(10**9)  # and a stream of keys that rarely come back
        entry = table.get(noise) or table.add(noise, Entry("line", "n", "n", 0))
        table.observe(entry, 2, frozenset({step}), _packed(step))
        assert len(table) <= 100
    assert table.get(1).df == 5000 and table.get(2).df == 5000  # never dropped, so exact
    assert table.get(1).distinct == 8 and table.get(1).sketches is None  # saturated, sketches freed
    assert table.pruned > 4000 and table.floor <= 2


def test_memory_budget_sets_the_sizes():
    for budget in (32, 256, 1024):
        settings = MineSettings(memory_mb=budget)
        bloom = settings.bloom_bytes
        assert bloom & (bloom - 1) == 0 and bloom <= budget * (1 << 20) * 3 // 8
        from cleaner.mine import ENTRY_BYTES

        used = bloom + settings.capacity * ENTRY_BYTES + 8 * settings.batch_bytes
        assert used <= budget * (1 << 20)
    assert MineSettings(memory_mb=1024).capacity > 4 * MineSettings(memory_mb=256).capacity / 5


def test_mining_under_a_small_budget_still_finds_frequent_noise():
    """A table far too small for every repeated line: the frequent noise survives pruning."""
    corpus = mine_corpus.generate(per_publisher=12, seed=4)
    tiny = MineSettings(min_docs=5, memory_mb=8, batch_bytes=1 << 16)
    assert tiny.capacity == 1024
    result = mine(corpus.documents, settings=tiny)
    scores = mine_corpus.evaluate(corpus, result, round_trip=False)
    assert scores["recall"] >= 0.9 and scores["content_rate"] <= 0.05


# --- reading ---------------------------------------------------------------------------------


@pytest.fixture(params=["format layer", "plain text"])
def reader(request, monkeypatch):
    """iter_documents through the format layer (when it is there) and through the plain reader."""
    import cleaner.mine as mining

    if request.param == "plain text":
        monkeypatch.setattr(mining, "_formats", lambda: None)
    elif mining._formats() is None:
        pytest.skip("no format layer")
    return request.param


def test_iter_documents_files_separators_limits_and_errors(tmp_path, reader):
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    (tmp_path / "b.txt").write_text("x\n\f\ny\n\f\n")
    errors = []
    docs = list(iter_documents([tmp_path / "a.txt", tmp_path / "nope.txt"], on_error=lambda n, r: errors.append(n)))
    assert docs == ["one\ntwo\n"] and errors == [str(tmp_path / "nope.txt")]
    assert list(iter_documents([tmp_path / "b.txt"], separator_pattern("\\f"))) == ["x\n", "y\n"]
    stdin = io.BytesIO(b"first\n\x0c\nsecond\nlong line\n")
    assert list(iter_documents(["-"], separator_pattern("\\f"), stdin=stdin, max_doc_bytes=8)) == ["first\n", "second\n"]


def test_iter_documents_reads_jsonl_and_compressed_files_through_the_format_layer(tmp_path, reader):
    if reader != "format layer":
        pytest.skip("the plain reader knows only text")
    import gzip
    import json

    records = [{"id": i, "body": f"Article {i}.\nSecond line {i}.\n"} for i in range(3)]
    with gzip.open(tmp_path / "dump.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    texts = list(iter_documents([tmp_path / "dump.jsonl.gz"], field="body"))
    assert texts == [r["body"] for r in records]


# --- the command line --------------------------------------------------------------------------


def run(*args, input=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "cleaner", *args], input=input, capture_output=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    directory = tmp_path_factory.mktemp("corpus")
    path = directory / "corpus.txt"
    mine_corpus.write_corpus(path, per_publisher=10, seed=2)
    return path


def test_cli_mine_writes_a_rule_file_that_check_rules_and_clean_accept(corpus_file):
    directory = corpus_file.parent
    result = run("mine", corpus_file.name, "--doc-sep", "\\f", "-o", "candidates.toml", "--min-docs", "4", cwd=directory)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    assert not [p for p in os.listdir(directory) if p.startswith(".candidates")]  # no temporary left
    path = directory / "candidates.toml"
    rules = load_rules([path])  # what `cleaner check-rules candidates.toml` runs
    assert len(rules) >= 60
    assert not check_rules(load_library([path]), rules)
    cleaner = Cleaner(rule_files=[path])  # what `cleaner clean --rules candidates.toml` uses
    text = corpus_file.read_text(encoding="utf-8")
    cleaned = cleaner.clean_text(text, separator=separator_pattern("\\f"))
    assert "Morning Edition." not in cleaned and "Members' Club" not in cleaned
    assert cleaned.count("\f\n") == text.count("\f\n")


def test_cli_mine_report_from_stdin_with_a_missing_input(corpus_file, tmp_path):
    data = corpus_file.read_bytes()
    result = run("mine", "-", "nope.txt", "--report", "--top", "5", "--min-docs", "4", "--doc-sep", "\\f",
                 input=data, cwd=tmp_path)
    assert result.returncode == 1  # an input could not be read; the others are still mined
    errors = result.stderr.decode()
    assert errors.startswith("cleaner: nope.txt: No such file or directory")
    assert "candidates from 200 documents" in errors
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["code", "kind", "docs", "head", "mid", "tail", "text"]
    assert [line.split()[0] for line in lines[1:]] == ["USR001", "USR002", "USR003", "USR004", "USR005"]
    assert "[[rule]]" not in result.stdout.decode()  # the table only, without -o


def test_cli_mine_bad_options_are_usage_errors(corpus_file, tmp_path):
    bad = run("mine", str(corpus_file), "--prefix", "usr1", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.decode().startswith("cleaner: prefix")
