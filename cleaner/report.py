"""Statistics and the audit trail: one place that every removal passes through."""

from __future__ import annotations

import json
from collections import Counter
from typing import TextIO

from .engine import Removal


class Report:
    """Counts removals per rule and, if asked, writes one JSON line per removal."""

    def __init__(self, audit: TextIO | None = None):
        self.audit = audit
        self.counts: Counter[str] = Counter()
        self.bytes_removed: Counter[str] = Counter()
        self.categories: dict[str, str] = {}

    def record(self, document: str, removal: Removal, removed: bytes) -> None:
        code = removal.rule.code
        self.counts[code] += 1
        self.bytes_removed[code] += len(removed)
        self.categories[code] = removal.rule.category
        if self.audit is not None:
            record = {
                "document": document,
                "line": removal.line,
                "code": code,
                "category": removal.rule.category,
                "kind": removal.rule.kind,
                "text": removed.decode("utf-8", "replace").rstrip("\r\n"),
            }
            self.audit.write(json.dumps(record, ensure_ascii=False) + "\n")

    def table(self) -> str:
        """The per-rule count table printed by --stats."""
        if not self.counts:
            return "no removals"
        rows = [f"{'code':<8} {'category':<12} {'removals':>8} {'bytes':>10}"]
        for code, count in sorted(self.counts.items(), key=lambda item: (-item[1], item[0])):
            rows.append(f"{code:<8} {self.categories[code]:<12} {count:>8} {self.bytes_removed[code]:>10}")
        rows.append(f"{'total':<21} {sum(self.counts.values()):>8} {sum(self.bytes_removed.values()):>10}")
        return "\n".join(rows)
