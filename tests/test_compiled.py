"""The cache of compiled rule regexes: a later process loads what an earlier one compiled, and
nothing about the cache can change a result or stop a run."""

import os
import pickle
import subprocess
import sys

import pytest
import regex

from cleaner import compiled

SOURCE = r"(?:read more|see also)\s*:\s*\w+"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory, and this process as if it had just started."""
    monkeypatch.setenv("CLEANER_CACHE_DIR", str(tmp_path / "cache"))
    restart(monkeypatch)
    return tmp_path / "cache"


def restart(monkeypatch):
    monkeypatch.setattr(compiled, "_known", None)
    monkeypatch.setattr(compiled, "_added", {})


def test_a_pattern_compiled_and_saved_is_loaded_by_the_next_process_without_compiling(cache, monkeypatch):
    compiled.pattern(SOURCE, regex.IGNORECASE)
    compiled.save()
    restart(monkeypatch)
    monkeypatch.setattr(regex, "compile", lambda *args: pytest.fail("compiled again"))
    loaded = compiled.pattern(SOURCE, regex.IGNORECASE)
    assert loaded.search("Read More: weather").group() == "Read More: weather"
    assert loaded.search("read less") is None


def test_flags_are_part_of_the_key(cache, monkeypatch):
    compiled.pattern(SOURCE, regex.IGNORECASE)
    compiled.save()
    restart(monkeypatch)
    assert compiled.pattern(SOURCE, 0).search("Read More: weather") is None


def test_saving_keeps_what_another_process_saved_meanwhile(cache, monkeypatch):
    compiled.pattern("first", 0)
    compiled.save()
    restart(monkeypatch)
    compiled._known = {}  # this process loaded the cache before the other one saved
    compiled.pattern("second", 0)
    compiled.save()
    restart(monkeypatch)
    monkeypatch.setattr(regex, "compile", lambda *args: pytest.fail("compiled again"))
    assert compiled.pattern("first", 0).pattern == "first"
    assert compiled.pattern("second", 0).pattern == "second"


def test_the_cache_keeps_the_most_recently_compiled_patterns(cache, monkeypatch):
    monkeypatch.setattr(compiled, "KEPT_PATTERNS", 3)
    for source in ["one", "two", "three", "four"]:
        compiled.pattern(source, 0)
        compiled.save()
    restart(monkeypatch)
    compiled.pattern("one", 0)  # compiled again (it was dropped), so it is the newest now
    compiled.save()
    restart(monkeypatch)
    monkeypatch.setattr(regex, "compile", lambda source, flags: pytest.fail(f"compiled {source} again"))
    for source in ["three", "four", "one"]:
        assert compiled.pattern(source, 0).pattern == source
    assert ("two", 0) not in compiled._known


@pytest.mark.parametrize("damage", ["truncated", "not a pickle", "not patterns", "writable by others"])
def test_a_damaged_or_untrusted_cache_file_is_ignored_and_replaced(cache, monkeypatch, damage):
    compiled.pattern(SOURCE, regex.IGNORECASE)
    compiled.save()
    path = compiled.cache_file()
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "not a pickle":
        path.write_bytes(b"garbage\n")
    elif damage == "not patterns":
        path.write_bytes(pickle.dumps({(SOURCE, regex.IGNORECASE): "not a pattern"}))
    else:
        os.chmod(path, 0o666)
    restart(monkeypatch)
    calls = []
    real_compile = regex.compile
    monkeypatch.setattr(regex, "compile", lambda *args: calls.append(args) or real_compile(*args))
    assert compiled.pattern(SOURCE, regex.IGNORECASE).search("see also: sport")
    assert calls, "an untrusted or damaged file must not be used"
    compiled.save()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    restart(monkeypatch)
    monkeypatch.setattr(regex, "compile", lambda *args: pytest.fail("compiled again"))
    assert compiled.pattern(SOURCE, regex.IGNORECASE)


def test_an_empty_cache_dir_setting_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("CLEANER_CACHE_DIR", "")
    monkeypatch.setattr(compiled, "_known", None)
    assert compiled.cache_file() is None
    compiled.pattern(SOURCE, 0)
    compiled.save()
    assert list(tmp_path.iterdir()) == []


def test_cleaning_works_unchanged_when_the_cache_cannot_be_written(tmp_path):
    blocked = tmp_path / "a-file"  # a cache directory inside a file: no one can create it, root neither
    blocked.write_text("")
    text = "The council met on Tuesday.\nAdvertisement\nRead more: Storm closes the bridge\nIt voted.\n"
    env = {**os.environ, "CLEANER_CACHE_DIR": str(blocked / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "cleaner", "clean"], input=text, capture_output=True, text=True, env=env, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert run.stdout == "The council met on Tuesday.\nIt voted.\n"
