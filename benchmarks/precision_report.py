"""How many real paragraphs of the precision corpus each rule touches (goal: zero).

    python benchmarks/precision_report.py                 # default selection of the shipped library
    python benchmarks/precision_report.py --langs all     # every language pack switched on
    python benchmarks/precision_report.py --quiet         # the table only, without the paragraphs

Each paragraph of tests/precision/paragraphs.txt is cleaned as a document of its own, so every
removal is attributed to one paragraph; the corpus is also cleaned as one document, and removals
that only happen there (position, block and list rules) are listed separately.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

from cleaner import Cleaner, Report, load_library

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "precision" / "paragraphs.txt"
PACK_LANGS = ["en", "de", "fr", "es", "pt", "it"]


def clean(cleaner: Cleaner, text: str) -> tuple[str, list[dict]]:
    audit = io.StringIO()
    out = cleaner.clean_text(text, report=Report(audit=audit))
    return out, [json.loads(line) for line in audit.getvalue().splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--langs", help="comma-separated language packs, or 'all' (default: default selection)")
    parser.add_argument("--quiet", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    if args.langs:
        have = {rule.lang for rule in load_library()}
        wanted = PACK_LANGS if args.langs == "all" else [l.strip() for l in args.langs.split(",") if l.strip()]
        langs = [lang for lang in wanted if lang in have]
        cleaner, label = Cleaner(langs=langs), f"langs={','.join(langs)}"
    else:
        cleaner, label = Cleaner(), "default selection"

    text = args.corpus.read_text(encoding="utf-8")
    lines = text.split("\n")
    paras = [(index, line) for index, line in enumerate(lines, 1) if line.strip()]

    by_rule: dict[str, list[int]] = defaultdict(list)
    details: list[tuple[int, str, list[tuple[str, str]]]] = []
    for number, (_, para) in enumerate(paras, 1):
        out, records = clean(cleaner, para + "\n")
        if out != para + "\n" or records:
            removals = [(r["code"], r["text"]) for r in records] or [("?", "")]
            for code in sorted({code for code, _ in removals}):
                by_rule[code].append(number)
            details.append((number, para, removals))

    number_of_line = {index: number for number, (index, _) in enumerate(paras, 1)}
    whole_out, whole_records = clean(cleaner, text)
    per_paragraph = {(number, code) for number, _, removals in details for code, _ in removals}
    document_only = [
        (number_of_line.get(r["line"], 0), r["code"], r["text"])
        for r in whole_records
        if (number_of_line.get(r["line"], 0), r["code"]) not in per_paragraph
    ]

    rules = len(cleaner.rules)
    print(f"precision corpus: {len(paras)} paragraphs, {rules} rules ({label})")
    print(f"{'code':<8} {'paragraphs':>10}")
    for code, numbers in sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0])):
        print(f"{code:<8} {len(numbers):>10}")
    print(f"{'total':<8} {len(details):>10}   touched paragraphs (goal 0)")
    if document_only:
        print(f"{'doc-only':<8} {len(document_only):>10}   removals only when the corpus is one document")
    print(f"one document unchanged: {'yes' if whole_out == text else 'no'}")

    if not args.quiet:
        for number, para, removals in details:
            print(f"\nparagraph {number} [{', '.join(sorted({c for c, _ in removals}))}]\n  text:    {para}")
            for code, removed in removals:
                print(f"  {code} removed: {'the whole paragraph' if removed == para else repr(removed)}")
        for number, code, removed in document_only:
            print(f"\nparagraph {number} [{code}] (one-document run only)\n  removed: {removed!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
