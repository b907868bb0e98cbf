"""Precision: real article prose that is full of the words publisher noise is made of must come
out of the shipped library byte for byte as it went in. A false removal is worse than a missed one.

The corpus (tests/precision/paragraphs.txt) is hand-written news prose, one paragraph per line,
paragraphs separated by a blank line: quotes, subheadings, captions, bullets, datelines and
paragraphs in German, French, Spanish, Portuguese and Italian. Every paragraph is real content.
If a rule touches one, fix the rule (or add the paragraph to its keep-texts), never the corpus.
`python benchmarks/precision_report.py` prints the same figure per rule.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cleaner import Cleaner, Report, load_library

CORPUS = Path(__file__).resolve().parent / "precision" / "paragraphs.txt"
PACK_LANGS = ["en", "de", "fr", "es", "pt", "it"]


def corpus_text() -> str:
    return CORPUS.read_text(encoding="utf-8")


def paragraphs(text: str | None = None) -> list[str]:
    """One paragraph per non-blank line (split on '\\n' only: the corpus holds non-breaking
    spaces and other Unicode that str.splitlines would treat differently)."""
    return [line for line in (corpus_text() if text is None else text).split("\n") if line.strip()]


def available_langs() -> list[str]:
    have = {rule.lang for rule in load_library()}
    return [lang for lang in PACK_LANGS if lang in have]


def clean_with_audit(cleaner: Cleaner, text: str, **options) -> tuple[str, Report, list[dict]]:
    audit = io.StringIO()
    report = Report(audit=audit)
    out = cleaner.clean_text(text, report=report, **options)
    records = [json.loads(line) for line in audit.getvalue().splitlines() if line]
    return out, report, records


def touched_paragraphs(cleaner: Cleaner, paras: list[str]) -> list[tuple[int, str, list[tuple[str, str]]]]:
    """Each paragraph cleaned as a document of its own: (number, paragraph, [(code, removed text)])."""
    touched = []
    for number, para in enumerate(paras, 1):
        text = para + "\n"
        out, report, records = clean_with_audit(cleaner, text)
        if out != text or report.counts:
            removals = [(r["code"], r["text"]) for r in records] or [(code, "?") for code in sorted(report.counts)]
            touched.append((number, para, removals))
    return touched


def document_removals(records: list[dict], text: str) -> list[tuple[int, str, str, str]]:
    """Audit records of a whole-corpus run mapped to paragraph numbers: (number, code, removed, paragraph)."""
    number_of_line, lines, count = {}, text.split("\n"), 0
    for index, line in enumerate(lines, 1):
        if line.strip():
            count += 1
            number_of_line[index] = count
    return [
        (number_of_line.get(r["line"], 0), r["code"], r["text"], lines[r["line"] - 1] if r["line"] <= len(lines) else "")
        for r in records
    ]


def describe(touched: list[tuple[int, str, list[tuple[str, str]]]]) -> str:
    rows = [f"{len(touched)} real paragraph(s) touched:"]
    for number, para, removals in touched:
        codes = ", ".join(sorted({code for code, _ in removals}))
        rows.append(f"  paragraph {number} [{codes}]: {para}")
        for code, removed in removals:
            what = "the whole paragraph" if removed == para else repr(removed)
            rows.append(f"      {code} removed {what}")
    return "\n".join(rows)


def describe_document(removals: list[tuple[int, str, str, str]]) -> str:
    rows = [f"{len(removals)} removal(s) from the corpus cleaned as one document:"]
    for number, code, removed, para in removals:
        rows.append(f"  paragraph {number} [{code}]: {para}")
        what = "the whole paragraph" if removed == para else repr(removed)
        rows.append(f"      {code} removed {what}")
    return "\n".join(rows)


def assert_untouched(cleaner: Cleaner, chunk_size: int | None = None) -> None:
    text = corpus_text()
    options = {"chunk_size": chunk_size} if chunk_size else {}
    out, report, records = clean_with_audit(cleaner, text, **options)
    per_paragraph = touched_paragraphs(cleaner, paragraphs(text))
    problems = []
    if per_paragraph:
        problems.append(describe(per_paragraph))
    if out != text or report.counts:
        problems.append(describe_document(document_removals(records, text)))
    assert not problems, "\n" + "\n".join(problems)


def test_corpus_is_well_formed():
    text = corpus_text()
    paras = paragraphs(text)
    assert len(paras) >= 220, len(paras)
    assert len(set(paras)) == len(paras), "duplicate paragraphs"
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert text.rstrip("\n").split("\n\n") == paras, "one paragraph per line, separated by one blank line"
    assert all(p == p.strip() for p in paras), "no leading or trailing spaces"


@pytest.mark.parametrize("chunk_size", [None, 257])
def test_default_library_leaves_real_prose_untouched(chunk_size):
    assert_untouched(Cleaner(), chunk_size)


def test_every_language_pack_leaves_real_prose_untouched():
    """All packs switched on: the non-English paragraphs are real content too."""
    langs = available_langs()
    assert "en" in langs
    assert_untouched(Cleaner(langs=langs))
