"""Rule files: loading and validating TOML, the registry, selection by code, prefix or category.

A rule is data. This module turns one `[[rule]]` table into a `Rule` with its anchors
normalised and its regex compiled, and knows how a rule matches one normalised line.
Everything about *where* in a document a rule may act lives in the engine.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import regex
import rtoml

from . import cache, compiled
from .errors import CleanerError
from .normalize import DOUBLE_QUOTES, is_word, normalize, origin_map, trim

KINDS = ("line", "span", "block", "tail", "list")
LOOKAHEAD_KINDS = ("block", "tail", "list")
WHOLE_LINE_BYTES = 256  # a `whole_line` label is never longer than this (raw bytes)
PLACES = ("anywhere", "head", "tail")
EDGES = ("start", "end")
CODE_PATTERN = re.compile(r"^[A-Z]{3}[0-9]{3}$")
CATEGORY_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")

# key -> (accepted types, description used in messages)
KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "code": ((str,), "a string"),
    "category": ((str,), "a string"),
    "description": ((str,), "a string"),
    "rationale": ((str,), "a string"),
    "kind": ((str,), "a string"),
    "anchors": ((list,), "a list of strings"),
    "regex": ((str,), "a string"),
    "end": ((list,), "a list of strings"),
    "max_lines": ((int,), "a positive integer"),
    "max_len": ((int,), "a positive integer"),
    "whole_line": ((bool,), "true or false"),
    "where": ((str,), "a string"),
    "window": ((int,), "a positive integer"),
    "at": ((str,), "a string"),
    "joined": ((bool,), "true or false"),
    "item_max_len": ((int,), "a positive integer"),
    "lang": ((str,), "a two-letter language code"),
    "default": ((bool,), "true or false"),
    "examples": ((list,), "a list"),
    "keep": ((list,), "a list of strings"),
}
REQUIRED = ("code", "category", "description", "kind", "anchors", "examples")


@dataclass(frozen=True)
class Example:
    """A text a rule must change: `clean` is the exact expected output ("" = removed entirely)."""

    text: str
    clean: str = ""


@dataclass(frozen=True, eq=False)
class Rule:
    code: str
    category: str
    description: str
    kind: str
    anchors: tuple[str, ...]  # normalised
    examples: tuple[Example, ...]
    keep: tuple[str, ...] = ()
    rationale: str = ""
    pattern: LazyPattern | None = None
    end: tuple[str, ...] = ()  # normalised block-end anchors
    max_lines: int = 0
    max_len: int = 0
    whole_line: bool = False
    where: str = "anywhere"
    window: int = 0
    at: str = ""  # "start" / "end": an anchor must open / close the line (marks and spaces aside)
    joined: bool = False  # span rules: the anchor counts only where it runs into a capitalised word
    item_max_len: int = 100  # list rules: the longest line that still counts as a headline
    lang: str = "en"
    default: bool = True  # on without --lang / --select naming it
    source: str = ""  # "path:line", for messages
    trimmed_anchors: frozenset[str] = frozenset()  # what `whole_line` compares a trimmed line with
    anchor_finder: PhraseFinder | None = None
    end_finder: PhraseFinder | None = None
    raw: dict = field(default_factory=dict, repr=False)  # the table as written, for display

    def find(self, line: str, raw_length: int = 0, text: str | None = None) -> list[tuple[int, int]]:
        """Spans of a normalised line selected by this rule's text conditions ([] = no hit).

        `raw_length` is the line's length in bytes, which bounds `whole_line` labels; `text` is
        the line itself (decoded), which `joined` rules need: only it shows a case change.
        """
        if self.max_len and len(line) > self.max_len:
            return []
        if self.joined:
            return self._joined_spans(line, text)
        if self.whole_line:
            if raw_length > WHOLE_LINE_BYTES:
                return []
            trimmed = trim(line)
            if self.pattern is not None:
                selected = self.pattern.fullmatch(trimmed) is not None and self.anchor_finder.first(line)
            else:
                selected = trimmed in self.trimmed_anchors
            return [(0, len(line))] if selected else []
        if self.pattern is None:
            return [span for span in self.anchor_finder.spans(line) if self._at_edge(line, span)]
        if not any(self._at_edge(line, span) for span in self._anchor_hits(line)):
            return []
        if self.kind != "span":  # only whether, and where first, the rule hits
            match = self.pattern.search(line)
            if match is None or match.end() > match.start():
                return [match.span()] if match is not None else []
        return [(m.start(), m.end()) for m in self.pattern.finditer(line) if m.end() > m.start()]

    def _joined_spans(self, line: str, text: str | None) -> list[tuple[int, int]]:
        """Anchors pasted onto the next word with no space between, the way extracted text runs
        a label into a paragraph: in the line itself the anchor ends in a lower-case letter and
        a capital follows at once ("AdvertisementThe council"), or, where the anchor opens the
        line (`at = "start"`), after an opening quote ('Listen to this article"We asked')."""
        if text is None:
            return []
        found, origin = [], None
        start = 0
        while (match := self.anchor_finder.pattern.search(line, start)) is not None:
            begin, end = match.span()
            start = begin + 1
            on_left_edge = begin == 0 or not is_word(line[begin]) or not is_word(line[begin - 1])
            quoted = self.at == "start" and end < len(line) and line[end] == '"'
            if not (on_left_edge and end < len(line) and (is_word(line[end]) or quoted)):
                continue
            if not self._at_edge(line, (begin, end)):
                continue
            origin = origin or origin_map(text, line)
            if _runs_into_capital(text, origin[begin], origin[end - 1], quoted):
                found.append((begin, end))
                start = end
        return found

    def _anchor_hits(self, line: str) -> list[tuple[int, int]]:
        if not self.at:
            first = self.anchor_finder.first(line)
            return [first] if first else []
        return self.anchor_finder.spans(line)

    def _at_edge(self, line: str, span: tuple[int, int]) -> bool:
        """Whether the anchor at `span` opens (closes) the line as `at` asks, marks aside."""
        if self.at == "start":
            return not any(is_word(c) for c in line[: span[0]])
        if self.at == "end":
            return not any(is_word(c) for c in line[span[1] :])
        return True

    def find_end(self, line: str, start: int = 0) -> int | None:
        """Where the first block-end phrase at or after `start` ends, or None."""
        found = self.end_finder.first(line, start)
        return found[1] if found else None


class LazyPattern:
    """A `regex` pattern compiled on first use (or loaded compiled, see `compiled`). Compiling
    hundreds of rule regexes costs seconds, so the shipped rules (compiled and checked by the test
    suite) compile only when a line makes a rule look; user rule files are compiled when loaded,
    to report a bad regex at once."""

    def __init__(self, source: str):
        self.source = source
        self._compiled = None

    def __getstate__(self):  # kept in the cache as its source: `compiled` keeps the compiled form
        return {"source": self.source, "_compiled": None}

    def _get(self):
        if self._compiled is None:
            self._compiled = compiled.pattern(self.source, regex.IGNORECASE)
        return self._compiled

    def search(self, *args):
        return self._get().search(*args)

    def fullmatch(self, *args):
        return self._get().fullmatch(*args)

    def finditer(self, *args):
        return self._get().finditer(*args)


class PhraseFinder:
    """Finds phrases in a normalised line, on word edges where a phrase ends in a word
    character (as `normalize.is_word` defines it, like the scan), leftmost and longest first."""

    def __init__(self, phrases: tuple[str, ...]):
        self.ordered = sorted(phrases, key=len, reverse=True)
        self._pattern: re.Pattern | None = None

    def __getstate__(self):
        return {"ordered": self.ordered, "_pattern": None}

    @property
    def pattern(self) -> re.Pattern:
        if self._pattern is None:  # compiled on first use: most rules never meet a hit in a small input
            self._pattern = re.compile("|".join(map(re.escape, self.ordered)) or "(?!)")
        return self._pattern

    def spans(self, line: str, start: int = 0) -> list[tuple[int, int]]:
        found = []
        while (match := self.pattern.search(line, start)) is not None:
            span = self._at(line, match)
            if span is not None:
                found.append(span)
                start = span[1]
            else:
                start = match.start() + 1
        return found

    def first(self, line: str, start: int = 0) -> tuple[int, int] | None:
        while (match := self.pattern.search(line, start)) is not None:
            span = self._at(line, match)
            if span is not None:
                return span
            start = match.start() + 1
        return None

    def _at(self, line: str, match: re.Match) -> tuple[int, int] | None:
        """The longest phrase at the match that sits on word edges (a shorter one may where a
        longer one does not: "show key events" in "show key events onlyplease")."""
        begin = match.start()
        if _on_edges(line, begin, match.end()):  # the alternation tries the longest phrases first
            return begin, match.end()
        for phrase in self.ordered:
            if line.startswith(phrase, begin) and _on_edges(line, begin, begin + len(phrase)):
                return begin, begin + len(phrase)
        return None


_DOUBLE_QUOTES = frozenset('"' + DOUBLE_QUOTES)


def _runs_into_capital(text: str, first: int, last: int, quoted: bool) -> bool:
    """Whether text[first:last + 1], ending in a lower-case letter, runs straight into a capital,
    or (`quoted`) into an opening double quote and a capital. A quote after an odd number of
    double quotes in the line closes one ('"a listen to this article"The'): that is no join."""
    after = last + 1
    if not text[last].islower() or after >= len(text):
        return False
    if quoted and text[after] in _DOUBLE_QUOTES:
        opening = sum(text.count(quote, 0, first) for quote in _DOUBLE_QUOTES) % 2 == 0
        return opening and after + 1 < len(text) and text[after + 1].isupper()
    return text[after].isupper()


def _on_edges(line: str, begin: int, end: int) -> bool:
    left_ok = begin == 0 or not is_word(line[begin]) or not is_word(line[begin - 1])
    right_ok = end == len(line) or not is_word(line[end - 1]) or not is_word(line[end])
    return left_ok and right_ok


# --- loading ------------------------------------------------------------------------------


_RULE_HEADER = re.compile(r"\s*\[\[\s*rule\s*\]\]")


class _Locator:
    """Finds the line of a rule (or of one of its keys) in the file text, for error messages."""

    def __init__(self, path: Path, text: str, trusted: bool = False):
        self.path = path
        self.trusted = trusted  # a shipped file: its regexes are compiled on first use
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if _RULE_HEADER.match(line)]

    def line_of(self, rule_index: int, key: str | None = None) -> int:
        if rule_index >= len(self.headers):
            return 1
        first = self.headers[rule_index]
        last = self.headers[rule_index + 1] if rule_index + 1 < len(self.headers) else len(self.lines)
        if key:
            for i in range(first, last):
                if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                    return i + 1
        return first + 1

    def error(self, rule_index: int, message: str, key: str | None = None) -> CleanerError:
        return CleanerError(f"{self.path}:{self.line_of(rule_index, key)}: {message}", exit_code=2)


def load_file(path: Path) -> list[Rule]:
    """Read and validate one rule file; raise CleanerError(`path:line: message`, 2) on any fault."""
    return _parse_file(path, _read(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise CleanerError(f"{path}: cannot read rule file: {reason}", exit_code=2) from None


def _parse_file(path: Path, text: str) -> list[Rule]:
    data = _parse_toml(path, text)
    locator = _Locator(path, text, trusted=Path(path).resolve().is_relative_to(shipped_dir().resolve()))
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise CleanerError(f"{path}:1: unknown top-level key '{unknown[0]}' (rules go in [[rule]] tables)", 2)
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise CleanerError(f"{path}:1: 'rule' must be a list of [[rule]] tables", 2)
    return [_build_rule(table, index, locator) for index, table in enumerate(tables)]


def _parse_toml(path: Path, text: str) -> dict:
    """rtoml (Rust) reads the shipped library ten times faster than tomllib; tomllib's message
    gives the line of a fault, so a file rtoml refuses is read again by tomllib."""
    try:
        return rtoml.loads(text)
    except rtoml.TomlParsingError:
        pass
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+), column \d+\)", str(error))
        line = found.group(1) if found else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise CleanerError(f"{path}:{line}: invalid TOML: {message}", exit_code=2) from None


def _build_rule(table: dict, index: int, locator: _Locator) -> Rule:
    def fail(message: str, key: str | None = None) -> CleanerError:
        name = table.get("code") if isinstance(table.get("code"), str) else f"#{index + 1}"
        return locator.error(index, f"rule {name}: {message}", key)

    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise fail(f"unknown key '{key}'{hint}", key)
        types, wanted = KEYS[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise fail(f"'{key}' must be {wanted}", key)
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            raise fail(f"'{key}' must be {wanted}", key)
    for key in REQUIRED:
        if key not in table:
            raise fail(f"missing required key '{key}'")

    code, kind = table["code"], table["kind"]
    if not CODE_PATTERN.match(code):
        raise fail("code must be three capital letters and three digits, like PAY001", "code")
    if not CATEGORY_PATTERN.match(table["category"]):
        raise fail("category must be one lower-case word", "category")
    if "\n" in table["description"] or not table["description"].strip():
        raise fail("description must be one non-empty line", "description")
    if kind not in KINDS:
        raise fail(f"unknown kind '{kind}' (expected one of: {', '.join(KINDS)})", "kind")

    anchors = _phrases(table, "anchors", fail)
    if not anchors:
        raise fail("a rule needs at least one anchor (the literal phrase the scan finds)", "anchors")
    if table.get("whole_line") and "regex" not in table and not all(trim(a) for a in anchors):
        raise fail("a whole_line anchor must keep some text once punctuation is trimmed from its ends", "anchors")
    pattern = None
    if "regex" in table:
        pattern = LazyPattern(table["regex"])
        try:
            if not locator.trusted:
                pattern.search("")  # compile now, to report a bad regex with its line
        except regex.error as error:
            raise fail(f"regex does not compile: {error}", "regex") from None

    end = _phrases(table, "end", fail)
    if kind == "block" and not end:
        raise fail("a block rule needs 'end' phrases", "kind")
    if kind != "block" and end:
        raise fail("'end' is only for block rules", "end")
    if kind in LOOKAHEAD_KINDS and "max_lines" not in table:
        raise fail(f"a {kind} rule needs 'max_lines'", "kind")
    if kind not in LOOKAHEAD_KINDS and "max_lines" in table:
        raise fail("'max_lines' is only for block, tail and list rules", "max_lines")
    if kind != "list" and "item_max_len" in table:
        raise fail("'item_max_len' is only for list rules", "item_max_len")
    if not re.fullmatch(r"[a-z]{2}", table.get("lang", "en")):
        raise fail("'lang' must be a two-letter language code such as \"de\"", "lang")
    if kind == "span" and table.get("whole_line"):
        raise fail("'whole_line' cuts the whole line: use kind = \"line\"", "whole_line")
    where = table.get("where", "anywhere")
    if where not in PLACES:
        raise fail(f"unknown where '{where}' (expected one of: {', '.join(PLACES)})", "where")
    if table.get("at", "start") not in EDGES:
        raise fail(f"unknown at '{table['at']}' (expected one of: {', '.join(EDGES)})", "at")
    if table.get("joined") and (kind != "span" or pattern is not None or table.get("at") == "end"):
        raise fail("'joined' is for span rules without a regex, and an anchor that runs on cannot close the line",
                   "joined")
    if table.get("joined") and not all(is_word(a[-1]) for a in anchors):
        raise fail("a 'joined' anchor must end in a letter or digit: it runs on into the next word", "anchors")
    if (where != "anywhere") != ("window" in table):
        raise fail("'where' = head or tail goes with 'window' (a number of lines)", "where")

    examples = _examples(table, fail)
    keep = table.get("keep", [])
    if not all(isinstance(k, str) and k for k in keep):
        raise fail("'keep' must be a list of non-empty strings", "keep")
    return Rule(
        code=code,
        category=table["category"],
        description=table["description"].strip(),
        rationale=table.get("rationale", "").strip(),
        kind=kind,
        anchors=anchors,
        pattern=pattern,
        end=end,
        max_lines=table.get("max_lines", 0),
        max_len=table.get("max_len", 0),
        whole_line=table.get("whole_line", False),
        where=where,
        window=table.get("window", 0),
        at=table.get("at", ""),
        joined=table.get("joined", False),
        item_max_len=table.get("item_max_len", 100),
        lang=table.get("lang", "en"),
        default=table.get("default", True),
        examples=examples,
        keep=tuple(keep),
        source=f"{locator.path}:{locator.line_of(index)}",
        trimmed_anchors=frozenset(trim(a) for a in anchors),
        anchor_finder=PhraseFinder(anchors),
        end_finder=PhraseFinder(end),
        raw=table,
    )


def _phrases(table: dict, key: str, fail) -> tuple[str, ...]:
    values = table.get(key, [])
    if not all(isinstance(v, str) for v in values):
        raise fail(f"'{key}' must be a list of strings", key)
    phrases = tuple(dict.fromkeys(normalize(v) for v in values))
    if any(not phrase for phrase in phrases):
        raise fail(f"'{key}' has an empty phrase", key)
    return phrases


def _examples(table: dict, fail) -> tuple[Example, ...]:
    examples = []
    for item in table["examples"]:
        if isinstance(item, str) and item:
            examples.append(Example(item))
        elif isinstance(item, dict) and set(item) <= {"text", "clean"} and isinstance(item.get("text"), str):
            if not isinstance(item.get("clean", ""), str):
                raise fail("an example's 'clean' must be a string", "examples")
            examples.append(Example(item["text"], item.get("clean", "")))
        else:
            raise fail("each example is a string or a table { text = ..., clean = ... }", "examples")
    if not examples:
        raise fail("'examples' must not be empty", "examples")
    return tuple(examples)


# --- the registry -------------------------------------------------------------------------


def shipped_dir() -> Path:
    """The shipped patterns: package data when installed, the repo's patterns/ in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "patterns"
    return installed if installed.is_dir() else here.parent / "patterns"


def shipped_files() -> list[Path]:
    """patterns/*.toml (English, one file per category) and patterns/<lang>/*.toml (packs)."""
    return sorted(shipped_dir().rglob("*.toml"))


def load_rules(paths: list[Path]) -> list[Rule]:
    """Load several rule files; codes must be unique across all of them. Sorted by code.

    Parsing and checking the shipped library takes about 0.1 s, in every run: the result is kept
    in the user's cache (see `cache`), under the files' names and text."""
    paths = [Path(p) for p in paths]
    texts = [_read(path) for path in paths]
    key = "\0".join(f"{path}\0{os.path.abspath(path)}\0{text}" for path, text in zip(paths, texts))
    return cache.memo("rules", key.encode("utf-8", "surrogateescape"), lambda: _load_rules(paths, texts),
                      valid=lambda found: isinstance(found, list))


def _load_rules(paths: list[Path], texts: list[str]) -> list[Rule]:
    rules: dict[str, Rule] = {}
    for path, text in zip(paths, texts):
        for rule in _parse_file(path, text):
            if rule.code in rules:
                raise CleanerError(
                    f"{rule.source}: duplicate code {rule.code} (first defined at {rules[rule.code].source})", 2
                )
            rules[rule.code] = rule
    return sorted(rules.values(), key=lambda r: r.code)


def load_library(extra: list[Path] | None = None, shipped: bool = True) -> list[Rule]:
    """The shipped rules plus the user's rule files (a shipped file named again counts once)."""
    paths = (shipped_files() if shipped else []) + [Path(p) for p in extra or []]
    return load_rules(list({p.resolve(): p for p in reversed(paths)}.values())[::-1])


def select_rules(
    rules: list[Rule],
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    langs: list[str] | None = None,
) -> list[Rule]:
    """Resolve --lang, --select and --ignore.

    Tokens are codes, code prefixes, category names or ALL. Rules marked `default = false`
    (language packs that could touch English prose) join only when --lang names their language
    or a --select token names them more precisely than a category (ALL, ADV5, ADV501).
    """
    languages = {code.strip().lower() for value in langs or [] for code in value.split(",") if code.strip()}
    unknown = languages - {r.lang for r in rules}
    if unknown:
        known = ", ".join(sorted({r.lang for r in rules}))
        raise CleanerError(f"no rules for language '{sorted(unknown)[0]}' (have: {known})", exit_code=2)
    tokens = _tokens(rules, select or [])
    chosen = []
    for rule in rules:
        if languages and rule.lang not in languages:
            continue
        named = [t for t in tokens if _matches(rule, t)]
        if tokens and not named:
            continue
        if not (rule.default or languages or any(_names_precisely(rule, t) for t in named)):
            continue
        chosen.append(rule)
    dropped = _tokens(rules, ignore or [])
    return [r for r in chosen if not any(_matches(r, t) for t in dropped)]


def _tokens(rules: list[Rule], values: list[str]) -> list[str]:
    tokens = [t.strip() for value in values for t in value.split(",") if t.strip()]
    for token in tokens:
        if not any(_matches(r, token) for r in rules):
            known = sorted({r.code for r in rules} | {r.code[:3] for r in rules} | {r.category for r in rules})
            close = difflib.get_close_matches(token.upper(), known, n=3, cutoff=0.5)
            close += [k for k in difflib.get_close_matches(token.lower(), known, n=3, cutoff=0.5) if k not in close]
            hint = f" (did you mean: {', '.join(close[:3])}?)" if close else ""
            raise CleanerError(f"unknown rule code or prefix '{token}'{hint}", exit_code=2)
    return tokens


def _names_precisely(rule: Rule, token: str) -> bool:
    """ALL, or a code prefix longer than the category's three letters (ADV5, ADV501)."""
    return token.upper() == "ALL" or (len(token) > 3 and rule.code.startswith(token.upper()))


def _matches(rule: Rule, token: str) -> bool:
    return token.upper() == "ALL" or rule.code.startswith(token.upper()) or rule.category == token.lower()
