"""The optional Hyperscan engine must give exactly the output of the default engine."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, CleanerError
from cleaner.bench.corpus import sample

hyperscan = pytest.importorskip("hyperscan")

DEFAULT = Cleaner()
FAST = Cleaner(engine="hyperscan")


def test_same_output_on_a_generated_corpus():
    data = sample(3 << 20, seed=11)
    expected = DEFAULT.clean_bytes(data)
    assert expected != data  # the corpus has noise: the comparison is not vacuous
    assert FAST.clean_bytes(data) == expected
    assert FAST.clean_bytes(data, chunk_size=1 << 16) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "Advertisement", "Read more: Floods hit three towns", "Share this article", "You've read 3 of 5 free articles.",
    "Your support helps us to tell the story", "Your support makes all the difference.The council met.",
    "The council met on Tuesday.", "\u201cWe will share the cost,\u201d she said.", "© 2023 Reuters", "",
    "Join the conversation", "12 comments", "Caf\u00e9 owners \u2014 angry \u2014 protested.",
]), max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_same_output_on_any_mix_of_lines(lines, ending):
    data = ending.join(lines).encode()
    assert FAST.clean_bytes(data) == DEFAULT.clean_bytes(data)


def test_same_output_with_parallel_workers():
    data = sample(5 << 20, seed=11)
    out = []
    FAST.clean_stream(io.BytesIO(data), out.append, chunk_size=1 << 20, workers=2)
    assert b"".join(out) == DEFAULT.clean_bytes(data)


def test_a_short_texts_scan_finds_the_same_rules():
    lines = {line for rule in DEFAULT.rules for example in rule.examples for line in example.text.split("\n")}
    for line in lines:
        assert FAST.engine.matcher.rules_in(line) == DEFAULT.engine.matcher.rules_in(line), line


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(CleanerError) as caught:
        Cleaner(engine="regex")
    assert caught.value.exit_code == 2 and "hyperscan" in caught.value.message


def test_the_database_is_kept_in_the_cache_and_a_bad_one_is_compiled_again(tmp_path, monkeypatch):
    from cleaner import cache, matcher

    monkeypatch.setenv("CLEANER_CACHE_DIR", str(tmp_path))
    data = sample(1 << 20, seed=5)
    expected = DEFAULT.clean_bytes(data)
    assert Cleaner(engine="hyperscan").clean_bytes(data) == expected  # compiled, then kept
    (kept,) = tmp_path.glob("hyperscan-*.pickle")
    compile_ = matcher._hyperscan_database
    with monkeypatch.context() as patched:
        patched.setattr(matcher, "_hyperscan_database", lambda *args: pytest.fail("compiled again"))
        assert Cleaner(engine="hyperscan").clean_bytes(data) == expected
    cache.store(kept, b"not a database")  # from another machine, say: it cannot be loaded here
    compiled = []
    monkeypatch.setattr(matcher, "_hyperscan_database", lambda expressions: compiled.append(1) or compile_(expressions))
    assert Cleaner(engine="hyperscan").clean_bytes(data) == expected
    assert compiled == [1]
