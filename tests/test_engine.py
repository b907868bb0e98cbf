"""What each rule kind and guard does to a document, on rules written inline."""

import pytest

from cleaner import Report

LINE = """
[[rule]]
code = "ADV001"
category = "ads"
description = "Advertisement label"
kind = "line"
anchors = ["advertisement"]
whole_line = true
examples = ["Advertisement"]
"""

SPAN = """
[[rule]]
code = "SUP001"
category = "support"
description = "Appeal sign-off glued to the first sentence"
kind = "span"
anchors = ["your support makes all the difference."]
examples = ["Your support makes all the difference."]
"""

BLOCK = """
[[rule]]
code = "SUP002"
category = "support"
description = "Appeal block"
kind = "block"
anchors = ["your support helps us to tell the story"]
end = ["your support makes all the difference."]
max_lines = 4
max_len = 60
examples = ["Your support helps us to tell the story\\nYour support makes all the difference."]
"""

TAIL = """
[[rule]]
code = "COM001"
category = "comments"
description = "Comment section"
kind = "tail"
anchors = ["join the conversation"]
max_lines = 3
max_len = 40
examples = ["Join the conversation\\n3 comments"]
"""

METER = """
[[rule]]
code = "PAY001"
category = "paywall"
description = "Meter"
kind = "line"
anchors = ["free articles"]
regex = '''you've read \\d* ?of \\d* ?free articles'''
max_len = 100
examples = ["You've read 3 of 5 free articles."]
"""


def test_line_rule_drops_the_line_and_tidies_blank_lines(make_cleaner):
    cleaner = make_cleaner(LINE)
    assert cleaner.clean_text("First.\n\nAdvertisement\n\nSecond.\n") == "First.\n\nSecond.\n"


def test_whole_line_guard_keeps_the_word_inside_prose(make_cleaner):
    cleaner = make_cleaner(LINE)
    text = "The advertisement ran for a week.\n"
    assert cleaner.clean_text(text) == text
    assert cleaner.clean_text("ADVERTISEMENT:\n") == ""
    assert cleaner.clean_text("  — Advertisement —\n") == ""


def test_span_rule_cuts_only_the_glued_noise(make_cleaner):
    cleaner = make_cleaner(SPAN)
    glued = "Your support makes all the difference.Security forces moved in.\n"
    assert cleaner.clean_text(glued) == "Security forces moved in.\n"
    trailing = "Security forces moved in. Your support makes all the difference.\n"
    assert cleaner.clean_text(trailing) == "Security forces moved in.\n"


def test_block_runs_from_start_to_end_phrase_and_keeps_the_rest_of_the_end_line(make_cleaner):
    cleaner = make_cleaner(BLOCK)
    text = (
        "Title\n"
        "Your support helps us to tell the story\n"
        "We need reporters.\n"
        "Your support makes all the difference.Troops moved in.\n"
        "More.\n"
    )
    assert cleaner.clean_text(text) == "Title\nTroops moved in.\nMore.\n"


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_block_opened_after_a_sentence_leaves_that_sentence_a_whole_line(make_cleaner, ending):
    # The opener is glued after real text and the end phrase closes its line: what stays of the
    # first line keeps the document's own line break, with no space left before it.
    cleaner = make_cleaner(BLOCK)
    lines = ["Title", "Crowds gathered. Your support helps us to tell the story", "We need reporters.",
             "Your support makes all the difference.", "More."]
    expected = ending.join(["Title", "Crowds gathered.", "More."]) + ending
    assert cleaner.clean_text(ending.join(lines) + ending) == expected


def test_block_without_end_in_reach_acts_as_a_line_rule(make_cleaner):
    cleaner = make_cleaner(BLOCK)
    text = "Your support helps us to tell the story\n" + "Real line.\n" * 6 + "Your support makes all the difference.\n"
    assert cleaner.clean_text(text) == "Real line.\n" * 6 + "Your support makes all the difference.\n"


def test_tail_only_near_the_end_of_the_document(make_cleaner):
    cleaner = make_cleaner(TAIL)
    near = "Story.\nJoin the conversation\n3 comments\n"
    assert cleaner.clean_text(near) == "Story.\n"
    far = "Story.\nJoin the conversation\none\ntwo\nthree\n"
    assert cleaner.clean_text(far) == far


def test_tail_acts_per_document_with_a_separator(make_cleaner):
    from cleaner.reader import separator_pattern

    cleaner = make_cleaner(TAIL)
    text = "A.\nJoin the conversation\n\f\nB.\nJoin the conversation\nx\ny\nz\n"
    cleaned = cleaner.clean_text(text, separator=separator_pattern("\\f"))
    assert cleaned == "A.\n\f\nB.\nJoin the conversation\nx\ny\nz\n"


def test_regex_confirms_templated_rules_and_normalisation_applies(make_cleaner):
    cleaner = make_cleaner(METER)
    assert cleaner.clean_text("You\u2019ve read\u00a0\u00a0of\u00a0\u00a0free articles. Subscribe.\nText.\n") == "Text.\n"
    assert cleaner.clean_text("YOU'VE  READ 3 OF 5 FREE ARTICLES\nText.\n") == "Text.\n"
    kept = "The site offers five free articles a month.\n"
    assert cleaner.clean_text(kept) == kept


def test_anchors_respect_word_boundaries(make_cleaner):
    cleaner = make_cleaner(
        """
        [[rule]]
        code = "COM002"
        category = "comments"
        description = "Comments label"
        kind = "line"
        anchors = ["comments"]
        max_len = 20
        examples = ["Comments"]
        """
    )
    assert cleaner.clean_text("Commentsgo\n") == "Commentsgo\n"
    assert cleaner.clean_text("Comments (12)\n") == ""


def test_head_and_tail_windows(make_cleaner):
    cleaner = make_cleaner(
        """
        [[rule]]
        code = "REL001"
        category = "related"
        description = "Related label near the top"
        kind = "line"
        anchors = ["related"]
        whole_line = true
        where = "head"
        window = 2
        examples = ["Related"]
        """
    )
    assert cleaner.clean_text("Related\nA.\nB.\n") == "A.\nB.\n"
    assert cleaner.clean_text("A.\nB.\nRelated\n") == "A.\nB.\nRelated\n"


def test_crlf_and_missing_final_newline_are_preserved(make_cleaner):
    cleaner = make_cleaner(LINE)
    assert cleaner.clean_text("One.\r\nAdvertisement\r\nTwo.") == "One.\r\nTwo."
    assert cleaner.clean_text("One.\r\nAdvertisement") == "One.\r\n"


def test_invalid_utf8_passes_through(make_cleaner):
    cleaner = make_cleaner(LINE)
    data = b"Caf\xe9 \xff\xfe news.\nAdvertisement\n\xc3\x28 end\n"
    assert cleaner.clean_bytes(data) == b"Caf\xe9 \xff\xfe news.\n\xc3\x28 end\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A.\n\nAdvertisement\n\nB.\n", "A.\n\nB.\n"),  # no doubled blank line
        ("Advertisement\n\nA.\n", "A.\n"),  # no new leading blank line
        ("A.\n\nAdvertisement\n\n", "A.\n"),  # no new trailing blank lines
        ("A.\n\n\nB.\n", "A.\n\n\nB.\n"),  # blank lines that were there stay
        ("\nA.\nAdvertisement\n", "\nA.\n"),
        ("A.\nAdvertisement\nB.\n", "A.\nB.\n"),
    ],
)
def test_blank_lines_after_removal(make_cleaner, text, expected):
    assert make_cleaner(LINE).clean_text(text) == expected


def test_report_records_each_removal(make_cleaner):
    cleaner = make_cleaner(LINE + TAIL)
    report = Report()
    cleaner.clean_text("A.\nAdvertisement\nB.\nJoin the conversation\n2 comments\n", report=report)
    assert dict(report.counts) == {"ADV001": 1, "COM001": 1}



@pytest.mark.parametrize("chunk_size", [1, 7, 1 << 21])
def test_audit_names_each_removal_by_its_document_number(make_cleaner, chunk_size):
    # Documents without a hit are passed through in one piece; they must still be counted.
    import io
    import json

    from cleaner.reader import separator_pattern

    audit = io.StringIO()
    text = "A.\n\f\nB.\n\f\nC.\nAdvertisement\n\f\nD.\n\f\n\f\nE.\nAdvertisement\n"
    out = make_cleaner(LINE).clean_text(
        text, separator=separator_pattern("\\f"), report=Report(audit), chunk_size=chunk_size, name="dump"
    )
    assert out == text.replace("Advertisement\n", "")
    documents = [json.loads(line)["document"] for line in audit.getvalue().splitlines()]
    assert documents == ["dump#3", "dump#6"]


LIST = """
[[rule]]
code = "REL002"
category = "related"
description = "Related-stories cue and the headlines after it"
kind = "list"
anchors = ["related", "you may also like"]
whole_line = true
max_lines = 6
examples = ["Related\\nFloods hit three towns"]
"""


def test_list_removes_the_cue_and_the_headline_run_up_to_prose(make_cleaner):
    cleaner = make_cleaner(LIST)
    text = (
        "The vote was close.\n"
        "Related\n"
        "Floods hit three towns in the north\n"
        "- 15 Amazing Images of Stars\n"
        "\n"
        "Who are the power brokers in Syria?\n"
        "The council will meet again next week.\n"
    )
    assert cleaner.clean_text(text) == "The vote was close.\nThe council will meet again next week.\n"


def test_list_stops_at_max_lines_and_keeps_prose(make_cleaner):
    cleaner = make_cleaner(LIST)
    headlines = "".join(f"Headline number {n} about the town\n" for n in range(8))
    cleaned = cleaner.clean_text("You may also like\n" + headlines)
    assert cleaned == "".join(f"Headline number {n} about the town\n" for n in range(6, 8))
    prose = "Related\nthe minister said the plan was sound.\n"
    assert cleaner.clean_text(prose) == "the minister said the plan was sound.\n"


def test_list_is_the_same_whatever_the_chunk_size(make_cleaner):
    cleaner = make_cleaner(LIST)
    text = "A.\nRelated\nOne more headline here\nAnother headline here\nProse ends here.\n"
    expected = cleaner.clean_text(text)
    assert expected == "A.\nProse ends here.\n"
    for size in (1, 5, 17):
        assert cleaner.clean_bytes(text.encode(), chunk_size=size) == expected.encode()


def test_a_shorter_anchor_matches_where_a_longer_one_fails_its_word_edge(make_cleaner):
    cleaner = make_cleaner(
        """
        [[rule]]
        code = "LIV001"
        category = "live"
        description = "Key events toggle"
        kind = "line"
        anchors = ["show key events only", "show key events"]
        max_len = 80
        examples = ["Show key events only"]
        """
    )
    assert cleaner.clean_text("Show key events onlyPlease turn on JavaScript\n") == ""


def test_list_stops_at_a_sentence_that_closes_a_quote(make_cleaner):
    cleaner = make_cleaner(LIST)
    text = 'Intro.\nRelated\nHe said: "We will fight."\nMore prose.\n'
    assert cleaner.clean_text(text) == 'Intro.\nHe said: "We will fight."\nMore prose.\n'


JOINED = """
[[rule]]
code = "ADV020"
category = "ads"
description = "Ad label pasted onto the next paragraph"
kind = "span"
anchors = ["advertisement", "listen to this article"]
joined = true
examples = [{ text = "AdvertisementThe council met.", clean = "The council met." }]
"""


@pytest.mark.parametrize(
    "text, expected",
    [
        ("AdvertisementThe council met.\n", "The council met.\n"),
        ("Turnout was high.AdvertisementThe council met.\n", "Turnout was high.The council met.\n"),
        ("\u201cListen to this articleÉmile Zola wrote it.\n", "\u201cÉmile Zola wrote it.\n"),  # a quote, a capital É
        ("Advertisement spending rose.\n", "Advertisement spending rose.\n"),  # a sentence that starts with it
        ("AdvertisementsThe word.\n", "AdvertisementsThe word.\n"),  # another word runs on, not the anchor
        ("ADVERTISEMENTThe council.\n", "ADVERTISEMENTThe council.\n"),  # no case change to show the join
        ("Advertisement\n", "Advertisement\n"),  # alone on its line: a line rule's business
        ('Advertisement"We met," she said.\n', 'Advertisement"We met," she said.\n'),  # a quote: only at the start
    ],
)
def test_joined_anchor_is_cut_only_where_it_runs_into_a_capitalised_word(make_cleaner, text, expected):
    cleaner = make_cleaner(JOINED)
    assert cleaner.clean_text(text) == expected
    assert cleaner.clean_text(text, chunk_size=5) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ('Advertisement"We met," she said.\n', '"We met," she said.\n'),  # an opening quote, then a capital
        ("Listen to this article\u201cWe met.\u201d\n", "\u201cWe met.\u201d\n"),
        ('"Advertisement"The end.\n', '"Advertisement"The end.\n'),  # the quote closes one: no join
        ("Advertisement\u201d They left.\n", "Advertisement\u201d They left.\n"),
        ('Advertisement "We met."\n', 'Advertisement "We met."\n'),  # a space: no join to see
        ('Advertisement"we met."\n', 'Advertisement"we met."\n'),  # no capital after the quote
        ('He said: Advertisement"We met."\n', 'He said: Advertisement"We met."\n'),  # not the line's start
    ],
)
def test_joined_anchor_opening_the_line_is_cut_before_an_opening_quote_too(make_cleaner, text, expected):
    cleaner = make_cleaner(JOINED.replace("joined = true", 'joined = true\nat = "start"'))
    assert cleaner.clean_text(text) == expected
    assert cleaner.clean_text(text, chunk_size=5) == expected


TEASER = """
[[rule]]
code = "REL001"
category = "related"
description = "Teaser label opening a line"
kind = "line"
anchors = ["read more:"]
at = "start"
max_len = 80
examples = ["Read more: Floods hit three towns"]
"""


@pytest.mark.parametrize(
    "line",
    [
        "\U0001f4cc Read more: Floods hit three towns",  # an emoji before the label
        "\U0001f449Read more: Floods hit three towns",  # glued to it
        "\u27a1\ufe0f Read more: Floods hit three towns",  # an arrow with the emoji variation selector
        "\U0001f1ec\U0001f1e7 Read more: Floods hit three towns",  # a flag (two regional indicators)
        "\u2b50 Read more: Floods hit three towns",  # a star of the Miscellaneous Symbols and Arrows
        "\uf02b Read more: Floods hit three towns",  # a web-font icon (private use)
        "\u200fRead more: Floods hit three towns",  # a right-to-left mark, invisible
        "\u3010Read more: Floods hit three towns",  # a CJK bracket
    ],
)
def test_emoji_and_symbols_before_a_label_are_marks_not_words(make_cleaner, line):
    cleaner = make_cleaner(TEASER)
    assert cleaner.clean_text(f"The dam burst.\n{line}\nRescuers came.\n") == "The dam burst.\nRescuers came.\n"


@pytest.mark.parametrize(
    "line",
    [
        "Council Read more: Floods hit three towns",  # a word first: the label does not open the line
        "\U0001d400 Read more: Floods hit three towns",  # a letter of another plane (mathematical bold A)
    ],
)
def test_a_word_before_a_label_keeps_the_line(make_cleaner, line):
    text = f"The dam burst.\n{line}\n"
    assert make_cleaner(TEASER).clean_text(text) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\u200eYour support makes all the difference.Security forces met.\n", "Security forces met.\n"),
        ("\ufeffYour support makes all the difference.\nSecurity forces met.\n", "Security forces met.\n"),
        ("\u200b \u00adYour support makes all the difference.\nSecurity forces met.\n", "Security forces met.\n"),
    ],
)
def test_a_cut_takes_the_invisible_characters_before_it_and_a_line_left_with_only_them(make_cleaner, text, expected):
    """A zero-width space, a soft hyphen or a direction mark left behind would be a line nobody sees."""
    cleaner = make_cleaner(SPAN)
    assert cleaner.clean_text(text) == expected
    assert cleaner.clean_text(text, chunk_size=7) == expected


WEAK = """
[[rule]]
code = "VID001"
category = "related"
description = "A video label: one common word, told apart by its colon"
kind = "line"
anchors = ["watch:"]
regex = '''^\\W*watch:'''
max_len = 80
examples = ["Watch: Floods hit three towns"]
"""


@pytest.mark.parametrize(
    "line, removed",
    [
        ("Watch: Floods hit three towns", True),
        ("Watch:", True),  # the mark is the line's last byte
        ("\u25b6 WATCH:", True),
        ("Watch", False),  # the word without its mark
        ("Watch the floods: three towns hit", False),  # the mark elsewhere in the line
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 64, 1 << 20])
def test_a_weak_anchor_needs_its_mark_on_its_own_line(make_cleaner, line, removed, chunk_size):
    """The scan finds "watch:" by its word and keeps the hit only where the line holds a colon."""
    text = f"Rescuers came:\n{line}\nThe river rose: two metres.\n"
    expected = "Rescuers came:\nThe river rose: two metres.\n" if removed else text
    assert make_cleaner(WEAK).clean_bytes(text.encode(), chunk_size=chunk_size).decode() == expected
