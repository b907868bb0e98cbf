"""check-rules: every rule's examples and keep-texts, run through the real engine."""

from __future__ import annotations

from dataclasses import dataclass

from .api import Cleaner
from .report import Report
from .rules import Rule


@dataclass(frozen=True)
class Failure:
    rule: Rule
    problem: str
    text: str
    expected: str
    got: str
    culprits: tuple[str, ...] = ()


def check_rules(library: list[Rule], rules: list[Rule]) -> list[Failure]:
    """Examples must come out as given with the rule alone and with the whole library;
    keep-texts must come out untouched by the whole library (the default selection and the
    rule's own language pack)."""
    default = [r for r in library if r.default]
    libraries: dict[str, Cleaner] = {}
    failures = []
    for rule in rules:
        # The library a text meets: the default selection, plus the rule's own language pack.
        if rule.lang not in libraries:
            libraries[rule.lang] = Cleaner(rules=default + [r for r in library if r.lang == rule.lang and not r.default])
        full = libraries[rule.lang]
        alone = Cleaner(rules=[rule])
        for example in rule.examples:
            for cleaner, setting in ((alone, "the rule alone"), (full, "the full library")):
                report = Report()
                got = cleaner.clean_text(example.text, report=report)
                if got != example.clean:
                    problem = f"example not cleaned as expected with {setting}"
                    failures.append(Failure(rule, problem, example.text, example.clean, got, tuple(report.counts)))
        for text in rule.keep:
            report = Report()
            got = full.clean_text(text, report=report)
            if got != text:
                failures.append(Failure(rule, "keep-text was touched", text, text, got, tuple(report.counts)))
    return failures


def format_failures(failures: list[Failure]) -> str:
    lines = []
    for failure in failures:
        lines.append(f"{failure.rule.code} ({failure.rule.source}): {failure.problem}")
        lines.append(f"    text:     {failure.text!r}")
        lines.append(f"    expected: {failure.expected!r}")
        lines.append(f"    got:      {failure.got!r}")
        if failure.culprits:
            lines.append(f"    removed by: {', '.join(sorted(failure.culprits))}")
    return "\n".join(lines)
