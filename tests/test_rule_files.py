"""A faulty rule file is rejected with `path:line: message` and exit code 2."""

import pytest

from cleaner import CleanerError, load_rules, select_rules

from conftest import write_rules

GOOD = """\
[[rule]]
code = "PAY001"
category = "paywall"
description = "Meter"
kind = "line"
anchors = ["free articles"]
examples = ["You've read 3 of 5 free articles."]
"""


def error_for(tmp_path, text: str) -> str:
    path = write_rules(tmp_path, text)
    with pytest.raises(CleanerError) as caught:
        load_rules([path])
    assert caught.value.exit_code == 2
    return caught.value.message.replace(str(path), "FILE")


def test_good_file_loads(tmp_path):
    [rule] = load_rules([write_rules(tmp_path, GOOD)])
    assert rule.code == "PAY001" and rule.anchors == ("free articles",)


def test_bad_toml_names_the_line(tmp_path):
    message = error_for(tmp_path, GOOD + "\n[[rule]]\ncode = \n")
    assert message.startswith("FILE:10: invalid TOML")


@pytest.mark.parametrize(
    "change, line, words",
    [
        ('kind = "line"', 5, "unknown kind 'lines'"),
        ('anchors = ["free articles"]', 6, "unknown key 'anchor'"),
        ('anchors = ["free articles"]', 6, "regex does not compile"),
        ('examples = ["You\'ve read 3 of 5 free articles."]', 7, "'examples' must not be empty"),
        ('code = "PAY001"', 2, "code must be three capital letters"),
    ],
)
def test_semantic_errors_name_the_line(tmp_path, change, line, words):
    replacement = {
        "unknown kind 'lines'": 'kind = "lines"',
        "unknown key 'anchor'": 'anchor = ["free articles"]',
        "regex does not compile": 'anchors = ["free articles"]\nregex = "free (articles"',
        "'examples' must not be empty": "examples = []",
        "code must be three capital letters": 'code = "PAY1"',
    }[words]
    message = error_for(tmp_path, GOOD.replace(change, replacement))
    assert message.startswith(f"FILE:{line if words != 'regex does not compile' else 7}:")
    assert words in message


def test_regex_without_anchor_is_an_error(tmp_path):
    message = error_for(tmp_path, GOOD.replace('anchors = ["free articles"]', 'regex = "free articles"'))
    assert "missing required key 'anchors'" in message
    message = error_for(tmp_path, GOOD.replace('anchors = ["free articles"]', 'anchors = []\nregex = "x"'))
    assert "at least one anchor" in message and message.startswith("FILE:6:")


def test_duplicate_code_across_files(tmp_path):
    first = write_rules(tmp_path, GOOD, "a.toml")
    second = write_rules(tmp_path, "# another file\n\n" + GOOD, "b.toml")
    with pytest.raises(CleanerError) as caught:
        load_rules([first, second])
    assert caught.value.message.startswith(f"{second}:3: duplicate code PAY001")
    assert str(first) in caught.value.message


def test_block_and_tail_need_their_bounds(tmp_path):
    assert "needs 'end'" in error_for(tmp_path, GOOD.replace('kind = "line"', 'kind = "block"'))
    assert "needs 'max_lines'" in error_for(tmp_path, GOOD.replace('kind = "line"', 'kind = "tail"'))


def test_unknown_selection_suggests_near_codes(tmp_path):
    rules = load_rules([write_rules(tmp_path, GOOD)])
    assert [r.code for r in select_rules(rules, ["PAY"])] == ["PAY001"]
    assert select_rules(rules, None, ["paywall"]) == []
    with pytest.raises(CleanerError) as caught:
        select_rules(rules, ["PAY01"])
    assert caught.value.exit_code == 2 and "PAY001" in caught.value.message


def test_language_packs_are_opt_in_unless_marked_default(tmp_path):
    german = GOOD.replace('code = "PAY001"', 'code = "PAY501"') + 'lang = "de"\ndefault = false\n'
    rules = load_rules([write_rules(tmp_path, GOOD, "en.toml"), write_rules(tmp_path, german, "de.toml")])
    assert [r.code for r in select_rules(rules)] == ["PAY001"]
    assert [r.code for r in select_rules(rules, langs=["de"])] == ["PAY501"]
    assert [r.code for r in select_rules(rules, langs=["en,de"])] == ["PAY001", "PAY501"]
    assert [r.code for r in select_rules(rules, ["PAY"])] == ["PAY001"]  # a category does not opt in
    assert [r.code for r in select_rules(rules, ["PAY5"])] == ["PAY501"]  # a precise prefix does
    with pytest.raises(CleanerError) as caught:
        select_rules(rules, langs=["xx"])
    assert caught.value.exit_code == 2 and "xx" in caught.value.message


@pytest.mark.parametrize(
    "keys, words",
    [
        ("joined = true", "'joined' is for span rules"),  # a line rule
        ('kind = "span"\njoined = true\nregex = "free articles"', "'joined' is for span rules"),
        ('kind = "span"\njoined = true\nat = "end"', "cannot close the line"),
        ('kind = "span"\njoined = true\nanchors = ["free articles:"]', "must end in a letter or digit"),
    ],
)
def test_joined_is_refused_where_it_cannot_mean_anything(tmp_path, keys, words):
    text = GOOD.replace('kind = "line"\n', "").replace('anchors = ["free articles"]\n', "")
    if "anchors" not in keys:
        keys += '\nanchors = ["free articles"]'
    if "kind" not in keys:
        keys += '\nkind = "line"'
    assert words in error_for(tmp_path, text + keys + "\n")
