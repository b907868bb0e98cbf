"""The command line: thin typer commands over the API. Errors become one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional

import functools

import typer

from .allocator import keep_freed_memory
from .api import Cleaner
from .batch import (
    BLOCK_SIZE,
    ON_ERROR,
    Batch,
    RecordError,
    Settings,
    check_side_file,
    clean_items,
    clean_records_in_order,
    default_workers,
    document_label,
    plan,
)
from .check import check_rules, format_failures
from .docs import describe, reference_markdown
from .errors import CleanerError
from .formats import FORMATS, CorruptInput, detect, open_input
from .parallel import WorkerDied
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
    files: Optional[List[Path]] = typer.Argument(
        None, help="Input files or, with -o, directories (default: standard input; '-' too)."
    ),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output", help="Clean into this directory, mirroring the inputs' tree (else: standard output).",
        metavar="OUTDIR",
    ),
    select: Optional[List[str]] = SELECT,
    ignore: Optional[List[str]] = IGNORE,
    rules: Optional[List[Path]] = RULES,
    lang: Optional[List[str]] = LANG,
    input_format: Optional[str] = typer.Option(
        None, "--format", help="text, jsonl or multinews (default: by extension; standard input: text)."
    ),
    field: str = typer.Option("text", "--field", help="JSONL: the field holding the text."),
    id_field: Optional[str] = typer.Option(None, "--id-field", help="JSONL: the field naming a record in the audit and report."),
    include: Optional[List[str]] = typer.Option(None, "--include", help="With -o: only files matching this glob; repeatable."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="With -o: leave out files or directories matching this glob; repeatable."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Processes (default: all cores; a small input uses one)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="With -o: write a JSON report here.", metavar="FILE.json"),
    resume: bool = typer.Option(False, "--resume", help="With -o: skip outputs that already exist (they are complete)."),
    on_error: str = typer.Option("stop", "--on-error", help="A malformed JSONL record: stop (the file), skip or keep it."),
    explain: Optional[Path] = typer.Option(None, "--explain", help="Write a JSONL audit of every removal here."),
    stats: bool = typer.Option(False, "--stats", help="Print removals per rule to stderr at the end."),
    doc_sep: Optional[str] = typer.Option(None, "--doc-sep", help="A line that separates documents (e.g. '\\f')."),
    doc_sep_regex: Optional[str] = typer.Option(None, "--doc-sep-regex", help="A regex matching separator lines."),
    chunk_size: int = typer.Option(CHUNK_SIZE, "--chunk-size", min=1, hidden=True),
    block_size: int = typer.Option(BLOCK_SIZE, "--block-size", min=1, hidden=True),
    engine: str = typer.Option(
        "ahocorasick", "--engine", help="The literal scan: ahocorasick, hyperscan (pip install '.\\[fast]') or auto."
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", metavar="ADDRESS",
        help="With -o: run on a Dask cluster (tcp://HOST:PORT, or local:N to start N workers here); inputs and "
        "OUTDIR may be fsspec URLs (s3://, gs://). Needs: pip install 'cleaner[dask]'.",
    ),
) -> int:
    """Clean files (or standard input) to standard output, or a whole corpus into a directory."""
    if input_format is not None and input_format not in FORMATS:
        raise CleanerError(f"unknown format '{input_format}' (expected {', '.join(FORMATS)})", exit_code=2)
    if on_error not in ON_ERROR:
        raise CleanerError(f"unknown --on-error '{on_error}' (expected {', '.join(ON_ERROR)})", exit_code=2)
    if output is None:
        needs_output = [name for name, value in (("--include", include), ("--exclude", exclude), ("--report", report_file), ("--resume", resume), ("--scheduler", scheduler)) if value]
        if needs_output:
            raise CleanerError(f"{needs_output[0]} needs -o OUTDIR", exit_code=2)
    chosen = _rules(select, ignore, rules, lang)
    try:
        separator = separator_pattern(doc_sep, doc_sep_regex)
    except Exception as error:  # re.error, or a bad escape in --doc-sep
        raise CleanerError(f"bad document separator: {error}", exit_code=2) from None
    settings = Settings(field=field, id_field=id_field, separator=separator, on_error=on_error, explain=explain is not None)
    if output is not None:
        status, report = _clean_tree(
            chosen, files, output, settings, input_format, include, exclude, workers, quiet, report_file, resume,
            explain, block_size, scheduler, (select, ignore, lang, rules),
        )
    else:
        cleaner = Cleaner(rules=chosen, engine=engine)
        status, report = _clean_files(
            cleaner, files, separator, explain, chunk_size, input_format, settings, workers, counted=stats
        )
    if stats:
        print(report.table(), file=sys.stderr)
    return status


def _clean_tree(rules, files, output, settings, input_format, include, exclude, workers, quiet, report_file, resume, explain, block_size, scheduler=None, selection=()):
    """`clean -o OUTDIR`: plan (refusals first), then the batch; the report at the end."""
    if not files or any(str(f) == "-" for f in files):
        raise CleanerError("-o OUTDIR needs input files or directories (not standard input)", exit_code=2)
    if scheduler is None:
        jobs = plan(list(files), output, include=include or [], exclude=exclude or [], format=input_format)
    for side, what in ((report_file, "report"), (explain, "audit")):
        if side is not None:
            check_side_file(side, list(files), what)
    settings.root = os.path.realpath(output)
    with _atomic_text(explain) as audit:
        if scheduler is not None:  # the same batch on a Dask cluster: cleaner/dask.py
            from .dask import RuleSpec, run_files

            summary = run_files(
                scheduler, files, output, RuleSpec.of(*selection), settings, input_format=input_format,
                include=include or (), exclude=exclude or (), resume=resume, audit=audit, block_size=block_size,
                workers=workers, client_rules=rules,
            )
        else:
            batch = Batch(
                jobs, rules, settings, workers=workers or default_workers(), resume=resume, audit=audit,
                progress=not quiet and sys.stderr.isatty(), block_size=block_size,
            )
            summary = batch.run()
    if report_file is not None:
        with _atomic_text(report_file) as handle:
            json.dump(summary.as_dict(), handle, indent=1, ensure_ascii=False)
            handle.write("\n")
    return summary.exit_code, summary.counts


def _clean_files(
    cleaner, files, separator, explain, chunk_size, input_format=None, settings=None, workers=None, counted=True
):
    """Clean to standard output. Removals are recorded only for --explain or --stats (`counted`):
    recording makes workers hand every removal back."""
    status = 0
    out = _stdout(files)
    workers = workers or default_workers()
    with _atomic_text(explain) as audit:
        report = Report(audit)
        recorded = report if explain is not None or counted else None
        for name in [str(f) for f in files] if files else ["-"]:
            try:
                if name == "-":
                    stream = sys.stdin.buffer
                else:
                    stream = open_input(name, binary_check=False)  # decompressed by extension
            except OSError as error:
                print(f"cleaner: {name}: {error.strerror or error}", file=sys.stderr)
                status = 1
                continue
            label = "<stdin>" if name == "-" else name
            fmt = input_format or ("text" if name == "-" else detect(name))
            try:
                if fmt == "text":
                    cleaner.clean_stream(
                        stream, out.write, name=label, separator=separator, chunk_size=chunk_size, report=recorded,
                        workers=workers,
                    )
                else:
                    _clean_records(cleaner, fmt, stream, out.write, label, report, settings, workers)
            except RecordError as error:
                print(f"cleaner: {label}:{error.line}: {error.message}", file=sys.stderr)
                status = 1
            except WorkerDied as error:  # what was written of this input is cut short: stop here
                raise CleanerError(f"{label}: {error.message}") from None
            except CorruptInput as error:
                print(f"cleaner: {name}: {error}", file=sys.stderr)
                status = 1
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


def _clean_records(cleaner, fmt_name, stream, write, label, report, settings, workers) -> None:
    """JSONL or Multi-News to standard output: with several workers, blocks of records are
    cleaned in worker processes and written in order."""

    class Recorder:
        documents = 0

        def removal(self, document, removal, removed):
            report.record(document_label(label, fmt_name, document.id, document.line, document.part), removal, removed)

        def problem(self, item, action):
            print(f"cleaner: {label}:{item.line}: {item.message} ({action})", file=sys.stderr)

    if workers > 1:
        clean_records_in_order(cleaner.engine, settings, fmt_name, stream, write, Recorder(), workers)
        return
    clean_items(settings.format(fmt_name), stream, write, cleaner.engine, Recorder(), settings.on_error)


OUTPUT_BUFFER = 1 << 20


def _stdout(files) -> BinaryIO:
    """Standard output for cleaned text. Kept text goes out as many slices, a few per removal:
    through the usual 8 KiB buffer each slice of more than 8 KiB is its own write call (about
    450 per MB), so inputs read from files get a 1 MiB buffer. Standard input keeps the small
    one: a slow stream's output is not held back."""
    if not files or any(str(f) == "-" for f in files):
        return sys.stdout.buffer
    sys.stdout.flush()
    return open(sys.stdout.fileno(), "wb", buffering=OUTPUT_BUFFER, closefd=False)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@contextmanager
def _atomic_text(path: Path | None) -> Iterator:
    """A text file that appears at `path` only when complete (temporary file, then rename).
    A stream given by name (/dev/stderr, a named pipe) is written as it goes: there is nothing
    to replace."""
    if path is None:
        yield None
        return
    if _is_stream(path):
        with _open_for_writing(path) as handle:
            yield handle
        return
    directory = path.resolve().parent
    try:
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, prefix=f".{path.name}.", delete=False)
    except OSError as error:
        raise _cannot_write(path, error) from None
    try:
        with handle:
            yield handle
        try:
            os.replace(handle.name, path)
        except OSError as error:
            raise _cannot_write(path, error) from None
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _is_stream(path: Path) -> bool:
    """A device, pipe or descriptor named as a file: /dev/stdout, /dev/fd/3, a FIFO."""
    return str(path).startswith(("/dev/", "/proc/")) or (path.exists() and not path.is_file())


def _cannot_write(path: Path, error: OSError) -> CleanerError:
    return CleanerError(f"{path}: cannot write: {error.strerror}")


def _open_for_writing(path: Path):
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as error:
        raise _cannot_write(path, error) from None


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


@app.command("mine")
@command
def mine(
    inputs: Optional[List[str]] = typer.Argument(None, help="Input files (default: standard input; '-' too)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the candidate rules (TOML) here.", metavar="FILE.toml"),
    min_docs: int = typer.Option(5, "--min-docs", min=2, help="Propose only what occurs in at least this many documents."),
    top: int = typer.Option(200, "--top", min=1, max=999, help="At most this many candidates, best evidence first."),
    report: bool = typer.Option(False, "--report", help="Print the candidates as a table (with -o: as well)."),
    doc_sep: Optional[str] = typer.Option(None, "--doc-sep", help="A line that separates documents (e.g. '\\f')."),
    doc_sep_regex: Optional[str] = typer.Option(None, "--doc-sep-regex", help="A regex matching separator lines."),
    input_format: Optional[str] = typer.Option(None, "--format", help="text, jsonl or multinews (default: by extension; standard input: text)."),
    field: str = typer.Option("text", "--field", help="JSONL: the field holding the text."),
    select: Optional[List[str]] = SELECT,
    ignore: Optional[List[str]] = IGNORE,
    rules: Optional[List[Path]] = RULES,
    lang: Optional[List[str]] = LANG,
    prefix: str = typer.Option("USR", "--prefix", help="Code prefix of the mined rules (three capital letters)."),
    memory: int = typer.Option(256, "--memory", min=16, help="Memory budget for the counting, in MB."),
) -> int:
    """Mine repeated lines and sentences into candidate rules for review (what the selected rules remove is left out)."""
    from . import mine as mining

    try:
        separator = separator_pattern(doc_sep, doc_sep_regex)
    except Exception as error:  # re.error, or a bad escape in --doc-sep
        raise CleanerError(f"bad document separator: {error}", exit_code=2) from None
    if input_format is not None and input_format not in FORMATS:
        raise CleanerError(f"unknown format '{input_format}' (expected {', '.join(FORMATS)})", exit_code=2)
    settings = mining.MineSettings(min_docs=min_docs, top=top, memory_mb=memory, prefix=prefix)
    shipped = load_library()  # what check-rules runs the mined rules against
    selection = select_rules(load_library(rules) if rules else shipped, select, ignore, lang)

    def write(text: str) -> None:
        with _atomic_text(output) as handle:
            handle.write(text)

    return mining.run(
        [str(name) for name in inputs or ["-"]], output=write if output is not None else None, report=report,
        settings=settings, selection=selection, library=shipped, separator=separator, input_format=input_format,
        field=field,
    )


@app.command("bench")
@command
def bench(
    size: str = typer.Option("200MB", "--size", help="Corpus size to generate (and reuse) in --data."),
    data: Path = typer.Option(Path("benchmarks/data"), "--data", help="Where the corpus and outputs go."),
    runs: int = typer.Option(3, "--runs", min=1, help="Rounds, each running every command once; the median counts."),
) -> int:
    """Measure cleaner against GNU grep, ripgrep, a Python re cleaner and cat, on one corpus."""
    from .bench.compare import main as compare

    compare(["--size", size, "--data", str(data), "--runs", str(runs)])
    return 0


def main() -> None:
    keep_freed_memory()
    try:
        app(prog_name="cleaner")
    except KeyboardInterrupt:
        sys.exit(130)
