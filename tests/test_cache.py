"""The cache of loaded rules and scan tables: a later run reuses what an earlier one built, and
no edit of a rule file, of a rule or of the code can be answered from a stale entry."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cleaner import Cleaner, cache, matcher, rules
from cleaner.errors import CleanerError
from cleaner.rules import load_library, load_rules, select_rules

RULE = """
[[rule]]
code = "USR001"
category = "paywall"
description = "A meter"
kind = "line"
anchors = ["free stories left"]
regex = '''^you have \\d+ free stories left'''
max_len = {max_len}
examples = ["You have 3 free stories left this month."]
keep = ["Readers have three free stories left before the meter asks them to pay."]
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CLEANER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def entries(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.glob(f"{kind}-*.pickle"))


def never(*args, **kwargs):
    pytest.fail("built again, although the cache holds it")


def test_rules_loaded_once_are_read_from_the_cache_with_the_same_fields(folder, monkeypatch):
    fresh = load_library()
    assert len(entries(folder, "rules")) == 1
    monkeypatch.setattr(rules, "_parse_file", never)
    cached = load_library()
    assert [rule.code for rule in cached] == [rule.code for rule in fresh]
    for old, new in zip(fresh, cached):
        assert (new.anchors, new.end, new.kind, new.max_len, new.source, new.raw) == (
            old.anchors, old.end, old.kind, old.max_len, old.source, old.raw)
        assert (new.pattern and new.pattern.source) == (old.pattern and old.pattern.source)


def test_an_edited_rule_file_is_read_again(folder, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(RULE.format(max_len=80))
    assert load_rules([path])[0].max_len == 80
    path.write_text(RULE.format(max_len=90))
    assert load_rules([path])[0].max_len == 90


def test_a_broken_edit_is_reported_even_when_an_earlier_version_is_cached(folder, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(RULE.format(max_len=80))
    load_rules([path])
    path.write_text(RULE.format(max_len='"eighty"'))
    with pytest.raises(CleanerError, match=r"mine\.toml:\d+: .*max_len"):
        load_rules([path])


def test_scan_tables_come_from_the_cache_and_follow_a_changed_rule(folder, monkeypatch):
    library = select_rules(load_library())
    keys = matcher.Matcher(library).refs.key_count.sum()
    assert len(entries(folder, "scan")) == 1
    with monkeypatch.context() as patched:
        patched.setattr(matcher, "_build_tables", never)
        assert matcher.Matcher(library).refs.key_count.sum() == keys
    changed = [dataclasses.replace(r, anchors=(*r.anchors, "a brand new anchor")) if r.code == "PAY001" else r
               for r in library]
    rebuilt = matcher.Matcher(changed)
    assert " a brand new anchor " in [key for key, _ in rebuilt.automaton.items()]
    assert len(entries(folder, "scan")) == 2


def test_other_code_does_not_reuse_an_entry(folder, monkeypatch):
    made = []
    cache.memo("test", b"key", lambda: made.append(1) or "first")
    assert cache.memo("test", b"key", lambda: made.append(2) or "second") == "first"
    monkeypatch.setattr(cache, "code_fingerprint", lambda: b"the code after an edit")
    assert cache.memo("test", b"key", lambda: made.append(3) or "third") == "third"
    assert made == [1, 3]


@pytest.mark.parametrize("damage", ["truncated", "writable by others"])
def test_a_damaged_or_untrusted_entry_is_built_again(folder, damage):
    cache.memo("test", b"key", lambda: "built")
    (path,) = entries(folder, "test")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:5])
    else:
        path.chmod(0o666)
    assert cache.memo("test", b"key", lambda: "built again") == "built again"


def test_only_the_newest_entries_of_a_kind_stay(folder):
    for number in range(5):
        before = set(entries(folder, "test"))
        cache.memo("test", str(number).encode(), lambda made=number: made, keep=3)
        (written,) = set(entries(folder, "test")) - before
        os.utime(written, (number, number))  # write times in order, however coarse the clock
    assert len(entries(folder, "test")) == 3
    assert cache.memo("test", b"4", never, keep=3) == 4


def test_a_run_from_the_cache_cleans_exactly_as_a_run_without_it(folder, tmp_path):
    text = "".join(example.text + "\nThe council met on Tuesday and voted.\n"
                   for rule in select_rules(load_library()) for example in rule.examples[:1])
    source = tmp_path / "in.txt"
    source.write_text(text)

    def run(cache_dir: str) -> str:
        env = {**os.environ, "CLEANER_CACHE_DIR": cache_dir}
        done = subprocess.run([sys.executable, "-m", "cleaner", "clean", str(source)], capture_output=True,
                              text=True, env=env, check=True)
        return done.stdout

    without = run("")
    assert run(str(folder)) == without  # fills the cache
    assert entries(folder, "rules") and entries(folder, "scan")
    assert run(str(folder)) == without  # from the cache
    assert without != text and Cleaner().clean_text(text) == without
