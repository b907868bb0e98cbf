"""The command line: thin typer commands over the API. Errors become one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import functools

import typer

from .api import Cleaner
from .check import check_rules, format_failures
from .docs import describe, reference_markdown
from .errors import CleanerError
from .reader import CHUNK_SIZE, separator_pattern
from .report import Report
from .rules import Rule, load_library, load_rules, select_rules, shipped_files

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Strip publisher noise (appeals, paywall counters, share prompts, ...) from news article text.",
)

SELECT = typer.Option(None, "--select", help="Only these rules: codes, prefixes or categories (PAY, PAY001, ads).")
IGNORE = typer.Option(None, "--ignore", help="Leave out these rules: codes, prefixes or categories.")
RULES = typer.Option(None, "--rules", help="An extra rule file (TOML); repeatable.", metavar="FILE.toml")
LANG = typer.Option(None, "--lang", help="Only rules of these languages (en,de,fr,...); opt-in packs join too.")


def command(function):
    """Turn our errors, Ctrl-C and a closed pipe into a message and an exit code, never a traceback."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            code = function(*args, **kwargs)
        except CleanerError as error:
            print(f"cleaner: {error.message}", file=sys.stderr)
            code = error.exit_code
        except KeyboardInterrupt:
            code = 130
        except BrokenPipeError:
            # The reader went away (`cleaner clean big.txt | head -1`): that is not an error.
            _silence_stdout()
            code = 0
        if code:
            raise typer.Exit(code)

    return run


def _rules(select, ignore, extra, langs) -> list[Rule]:
    return select_rules(load_library(extra or []), select, ignore, langs)


@app.command()
@command
def clean(
    files: Optional[List[Path]] = typer.Argument(None, help="Input files (default: standard input; '-' too)."),
    select: Optional[List[str]] = SELECT,
    ignore: Optional[List[str]] = IGNORE,
    rules: Optional[List[Path]] = RULES,
    lang: Optional[List[str]] = LANG,
    explain: Optional[Path] = typer.Option(None, "--explain", help="Write a JSONL audit of every removal here."),
    stats: bool = typer.Option(False, "--stats", help="Print removals per rule to stderr at the end."),
    doc_sep: Optional[str] = typer.Option(None, "--doc-sep", help="A line that separates documents (e.g. '\\f')."),
    doc_sep_regex: Optional[str] = typer.Option(None, "--doc-sep-regex", help="A regex matching separator lines."),
    chunk_size: int = typer.Option(CHUNK_SIZE, "--chunk-size", min=1, hidden=True),
) -> int:
    """Clean files (or standard input) to standard output."""
    cleaner = Cleaner(rules=_rules(select, ignore, rules, lang))
    try:
        separator = separator_pattern(doc_sep, doc_sep_regex)
    except Exception as error:  # re.error, or a bad escape in --doc-sep
        raise CleanerError(f"bad document separator: {error}", exit_code=2) from None
    status, report = _clean_files(cleaner, files, separator, explain, chunk_size)
    if stats:
        print(report.table(), file=sys.stderr)
    return status


def _clean_files(cleaner, files, separator, explain, chunk_size) -> tuple[int, Report]:
    status = 0
    out = sys.stdout.buffer
    with _atomic_text(explain) as audit:
        report = Report(audit)
        for name in [str(f) for f in files] if files else ["-"]:
            try:
                stream = sys.stdin.buffer if name == "-" else open(name, "rb")
            except OSError as error:
                print(f"cleaner: {name}: {error.strerror}", file=sys.stderr)
                status = 1
                continue
            try:
                label = "<stdin>" if name == "-" else name
                cleaner.clean_stream(
                    stream, out.write, name=label, separator=separator, chunk_size=chunk_size, report=report
                )
            except OSError as error:
                if isinstance(error, BrokenPipeError):
                    raise
                print(f"cleaner: {name}: {error.strerror or error}", file=sys.stderr)
                status = 1
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()
        out.flush()
    return status, report


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@contextmanager
def _atomic_text(path: Path | None) -> Iterator:
    """A text file that appears at `path` only when complete (temporary file, then rename)."""
    if path is None:
        yield None
        return
    directory = path.resolve().parent
    try:
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, prefix=f".{path.name}.", delete=False)
    except OSError as error:
        raise CleanerError(f"{path}: cannot write: {error.strerror}") from None
    try:
        with handle:
            yield handle
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


@app.command("rules")
@command
def list_rules(
    select: Optional[List[str]] = SELECT,
    ignore: Optional[List[str]] = IGNORE,
    rules: Optional[List[Path]] = RULES,
    lang: Optional[List[str]] = LANG,
    output_format: str = typer.Option("table", "--format", help="table, json or markdown (the rule reference)."),
) -> int:
    """List the rules: code, category, kind, description."""
    chosen = _rules(select, ignore, rules, lang)
    if output_format == "markdown":
        print(reference_markdown(chosen), end="")
    elif output_format == "json":
        rows = [
            {"code": r.code, "category": r.category, "kind": r.kind, "lang": r.lang, "description": r.description}
            for r in chosen
        ]
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    elif output_format == "table":
        for r in chosen:
            print(f"{r.code}  {r.category:<11} {r.kind:<5} {r.lang}  {r.description}")
    else:
        raise CleanerError(f"unknown format '{output_format}' (expected table, json or markdown)", exit_code=2)
    return 0


@app.command("rule")
@command
def show_rule(
    code: str = typer.Argument(..., help="A rule code, e.g. PAY001."),
    rules: Optional[List[Path]] = RULES,
) -> int:
    """Explain one rule: what it matches, where it acts, its examples and keep-texts."""
    matches = [r for r in select_rules(load_library(rules or []), [code], langs=None) if r.code == code.upper()]
    if not matches:
        raise CleanerError(f"'{code}' is a prefix, not one rule: see 'cleaner rules --select {code}'", exit_code=2)
    print(describe(matches[0]))
    return 0


@app.command("check-rules")
@command
def check(files: Optional[List[Path]] = typer.Argument(None, help="Rule files to check (default: the shipped ones).")) -> int:
    """Run every rule's examples and keep-texts through the engine; fail on any miss."""
    library = load_library(files or [])
    to_check = load_rules(files) if files else load_rules(shipped_files())
    failures = check_rules(library, to_check)
    examples = sum(len(r.examples) for r in to_check)
    keeps = sum(len(r.keep) for r in to_check)
    if failures:
        print(format_failures(failures))
        print(f"{len(failures)} failed: {len(to_check)} rules, {examples} examples, {keeps} keep-texts")
        return 1
    print(f"all passed: {len(to_check)} rules, {examples} examples, {keeps} keep-texts")
    return 0


def main() -> None:
    try:
        app(prog_name="cleaner")
    except KeyboardInterrupt:
        sys.exit(130)
