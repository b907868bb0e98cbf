"""Cleaning a corpus: directory trees and large files in, a mirrored tree out, on all cores.

- Planning walks the inputs, applies --include/--exclude, maps every input to its place under
  OUTDIR and refuses what could touch an input or leave OUTDIR, before anything is written.
- Each output is written to a temporary file in its destination directory (named after the
  process that writes it) and renamed into place when complete, so an output file that exists
  is complete; a temporary left by a killed process is removed by the next run.
- Work goes to a pool of processes that build the engine once (an initializer). A file is one
  task, small plain-text files go several to a task (scanned together, each still written on
  its own); a large JSONL or Multi-News file is cut into blocks of whole lines (byte ranges of
  the file, or decompressed blocks read by this process) whose results are written in order,
  each block compressed on its own where the output is compressed (gzip members, bz2 and xz
  streams, zstd frames concatenate into one valid file).
- `clean_items` is the one place where a format's reader, the engine and the format's writer
  meet, for the batch and for `cleaner clean --format ...` to standard output alike.
"""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from .engine import DocumentCleaner, Engine, Removal, candidates_each
from .errors import CleanerError
from .formats import (
    BinaryInput,
    CorruptInput,
    Document,
    Format,
    Malformed,
    TextFormat,
    compress,
    compressing,
    compression_of,
    detect,
    make_format,
    open_input,
    wrap_input,
)
from .output import TidyWriter, Write
from .parallel import WorkerDied, clean_stream
from .reader import SeparatorLines, line_chunks
from .report import Report
from .rules import Rule

BLOCK_SIZE = 1 << 22  # 4 MiB: JSONL and Multi-News files larger than this are split into blocks
BATCH_BYTES = 1 << 20  # small documents are scanned together, about this much text at a time
SMALL_FILE = 1 << 18  # plain-text files up to 256 KiB on disk go to the workers several to a task
GROUP_FILES = 64  # (at most this many, about BATCH_BYTES of them), scanned together
IN_FLIGHT_PER_WORKER = 3
MAX_PROBLEMS = 1000  # record problems listed in the report (all are counted)
ON_ERROR = ("stop", "skip", "keep")
_TEMPORARY = re.compile(r"^\..+\.cleaner-(\d+)-[0-9a-f]+\.tmp$")


# --- the pipeline: one stream of one format through the engine ----------------------------


class RecordError(Exception):
    """A malformed record under --on-error stop."""

    def __init__(self, line: int, message: str):
        super().__init__(line, message)
        self.line = line
        self.message = message


class OutputError(Exception):
    """Writing an output failed (a full disk, no permission): the whole run stops."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Tally:
    """What cleaning one stream (a file or a block) did. It travels back from the workers."""

    documents: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    lines: int = 0  # lines of the block (split files number their records with it)
    skipped: int = 0  # malformed records left out (--on-error skip)
    kept: int = 0  # malformed records passed through (--on-error keep)
    problems: list = field(default_factory=list)  # (line, id, message, action)
    counts: Report = field(default_factory=Report)
    audit: list | None = None  # (doc id, doc line, doc part, removal line, code, removed text)

    def removal(self, document: Document, removal: Removal, removed: bytes) -> None:
        self.counts.record("", removal, removed)
        if self.audit is not None:
            self.audit.append((document.id, document.line, document.part, removal.line, removal.rule.code, removed))

    def problem(self, item: Malformed, action: str) -> None:
        if action == "skipped":
            self.skipped += 1
        else:
            self.kept += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((item.line, item.id, item.message, action))


def clean_items(
    fmt: Format,
    stream: BinaryIO,
    write: Write,
    engine: Engine,
    tally,
    on_error: str = "stop",
    batch_bytes: int = BATCH_BYTES,
    at_start: bool = True,
) -> None:
    """Read `stream` in format `fmt`, clean each document, write it back in the same format.
    `at_start` is False for a block cut from further on in a stream (see Format.read).

    `tally` receives removals (`removal(document, removal, removed)`), malformed records under
    skip/keep (`problem(item, action)`) and the document count. Records (a JSONL line, a
    Multi-News story) are scanned together, about `batch_bytes` at a time; plain text is
    scanned a chunk at a time by `parallel.clean_stream`.
    """
    if isinstance(fmt, TextFormat):
        _clean_text(fmt, stream, write, engine, tally)
        return
    writer = fmt.writer(write)
    waiting: list = []
    size = 0

    def flush() -> None:
        nonlocal size
        _clean_together(waiting, writer, engine, lambda item: tally, on_error)
        waiting.clear()
        size = 0

    for item in fmt.read(stream, at_start):
        waiting.append(item)
        if isinstance(item, Document) and item.chunks:
            size += len(item.chunks[0])
        if size >= batch_bytes or len(waiting) >= 4096:
            flush()
    flush()


def _clean_text(fmt: TextFormat, stream: BinaryIO, write: Write, engine: Engine, tally) -> None:
    """Plain text, scanned a chunk at a time however many documents a chunk holds (see
    formats.text); a document is named by its number when separator lines number them."""
    numbered = fmt.separator is not None

    def record(number: int, removal: Removal, removed: bytes) -> None:
        tally.removal(Document((), part=number if numbered else 0), removal, removed)

    tally.documents += clean_stream(engine, stream, write, record, fmt.separator, fmt.chunk_size)


def clean_records_in_order(
    engine: Engine, settings: Settings, format_name: str, stream: BinaryIO, write: Write, tally, workers: int
) -> None:
    """`clean_items` over one stream of records (JSONL, Multi-News) on `workers` processes, written
    in order: blocks of whole lines go to the workers, and what a block did comes back to `tally`
    as clean_items would have told it, with the stream's own line numbers. A block that a worker
    could not finish as one process would (a record error, NUL bytes, more problems than it lists)
    is cleaned again here, so that the output and the messages are the same as in one process.
    Input too small for two blocks never starts a pool."""
    _RecordsInOrder(engine, settings, format_name, write, tally).run(stream, workers)


class _RecordsInOrder:
    def __init__(self, engine: Engine, settings: Settings, format_name: str, write: Write, tally):
        self.engine, self.settings, self.write, self.tally = engine, settings, write, tally
        self.format = settings.format(format_name)
        self.job = Job(0, "<stream>", "", format_name, None, 0)
        self.by_code = {rule.code: rule for rule in engine.rules}

    def run(self, stream: BinaryIO, workers: int) -> None:
        blocks = line_chunks(stream, BLOCK_SIZE)
        head = list(islice(blocks, 2))
        # Every removal comes back with its record (the audit form): the tally is told of each.
        settings = dataclasses.replace(self.settings, explain=True)
        pool = _process_pool(self.engine.rules, settings, workers) if len(head) > 1 else None
        window = workers * IN_FLIGHT_PER_WORKER if pool is not None else 1
        pending: deque = deque()
        base = 0  # lines before the block
        try:
            for block in chain(head, blocks):
                work = pool.submit(_task, _clean_block, self.job, block, base == 0) if pool is not None else None
                pending.append((block, base, work))
                base += block.count(b"\n")
                while len(pending) >= window:
                    self._write_block(*pending.popleft())
            while pending:
                self._write_block(*pending.popleft())
        except BrokenProcessPool:
            raise WorkerDied(WorkerDied.MESSAGE) from None
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _write_block(self, block: bytes, base: int, work: Future | None) -> None:
        outcome = work.result() if work is not None else None
        if not _told_in_full(outcome):
            self._clean_here(block, base)
            return
        if outcome.data:
            self.write(outcome.data)
        self._tell(outcome.tally, base)

    def _clean_here(self, block: bytes, base: int) -> None:
        stream = wrap_input(io.BytesIO(block), binary_check=False)
        shifted = _Shifted(self.tally, base)
        try:
            on_error = self.settings.on_error
            clean_items(self.format, stream, self.write, self.engine, shifted, on_error, at_start=base == 0)
        except RecordError as error:
            raise RecordError(base + error.line, error.message) from None

    def _tell(self, tally: Tally, base: int) -> None:
        """A worker's removals and problems, in record order, as clean_items tells them."""
        told = [(line, True, entry) for line, *entry in tally.problems]
        told += [(line, False, (record_id, *entry)) for record_id, line, *entry in tally.audit]
        for line, is_problem, entry in sorted(told, key=lambda item: item[0]):
            if is_problem:
                record_id, message, action = entry
                self.tally.problem(Malformed(base + line, message, b"", record_id), action)
            else:
                record_id, part, removal_line, code, removed = entry
                document = Document([], line=base + line, part=part, id=record_id)
                removal = Removal(0, len(removed), self.by_code[code], removal_line, False)
                self.tally.removal(document, removal, removed)


def _told_in_full(outcome: Outcome | None) -> bool:
    """Whether a worker cleaned the block as one process would, and listed all its problems."""
    if outcome is None or outcome.status != "done":
        return False
    return outcome.tally.skipped + outcome.tally.kept <= len(outcome.tally.problems)


class _Shifted:
    """A tally for one block, cleaned here, that tells the stream's tally in its line numbers."""

    def __init__(self, tally, base: int):
        self.tally, self.base = tally, base
        self.documents = 0

    def removal(self, document: Document, removal: Removal, removed: bytes) -> None:
        moved = Document([], line=document.line + self.base, part=document.part, id=document.id)
        self.tally.removal(moved, removal, removed)

    def problem(self, item: Malformed, action: str) -> None:
        self.tally.problem(Malformed(item.line + self.base, item.message, item.data, item.id), action)


def _clean_together(items: list, writer, engine: Engine, tally_of: Callable, on_error: str) -> None:
    """Clean whole documents (and pass the items between them) with one scan for all of them.
    `tally_of(item)` is the tally an item counts in."""
    texts = {position: b"".join(item.chunks) for position, item in enumerate(items) if isinstance(item, Document)}
    found = dict(zip(texts, candidates_each(engine, list(texts.values()))))
    for position, item in enumerate(items):
        tally = tally_of(item)
        if isinstance(item, Document):
            document = DocumentCleaner(engine, TidyWriter(writer.begin(item)), _recorder(tally, item))
            if texts[position]:
                document.feed(texts[position], found[position])
            document.close()
            writer.end(item)
            tally.documents += 1
        elif isinstance(item, Malformed):
            if on_error == "stop":
                raise RecordError(item.line, item.message)
            if on_error == "keep":
                writer.raw(item.data)
            tally.problem(item, "skipped" if on_error == "skip" else "kept")
        else:
            writer.raw(item.data)


def _recorder(tally, document: Document) -> Callable[[Removal, bytes], None]:
    return lambda removal, removed: tally.removal(document, removal, removed)


def document_label(name: str, format_name: str, record_id, line: int, part: int) -> str:
    """How the audit and the report name a document: the record's id if it has one, else the
    file, with the line of the record and the story (Multi-News) or the piece (text)."""
    if record_id is not None:
        return record_id
    if format_name == "text":
        return f"{name}#{part}" if part else name
    label = f"{name}:{line}"
    return f"{label}#{part}" if part else label


# --- planning: inputs, outputs, refusals --------------------------------------------------


@dataclass
class Job:
    index: int
    source: str  # the input path (as found: given or walked)
    output: str
    format: str
    compression: str | None
    size: int  # on disk


def plan(
    inputs: list[Path],
    outdir: Path,
    *,
    include: list[str] = (),
    exclude: list[str] = (),
    format: str | None = None,
) -> list[Job]:
    """The jobs for `inputs` (files and directories) with outputs under `outdir`.

    A directory's files keep their place relative to it; a file given by name goes to the top
    of `outdir`. Refuses (CleanerError, exit code 2) before anything is written: an input that
    does not exist, OUTDIR inside (or equal to) an input or an input inside OUTDIR (symbolic
    links resolved), an output that would be an input, an output that would leave OUTDIR
    through a link, two inputs with the same output.
    """
    out_real = os.path.realpath(outdir)
    if os.path.exists(out_real) and not os.path.isdir(out_real):
        raise _refusal(f"{outdir}: exists and is not a directory")
    found: list[tuple[str, str]] = []  # (input path, output path relative to OUTDIR)
    for given in inputs:
        real = os.path.realpath(given)
        if not os.path.exists(real):
            raise _refusal(f"{given}: No such file or directory")
        if os.path.isdir(real):
            if _inside(out_real, real):
                raise _refusal(f"refusing to write into the input tree: the output directory {outdir} is inside the input {given}")
            if _inside(real, out_real):
                raise _refusal(f"refusing to read from the output tree: the input {given} is inside the output directory {outdir}")
            for path, relative in _walk(Path(given), include, exclude):
                if _inside(os.path.realpath(path), out_real):
                    raise _refusal(f"refusing: the input {path} resolves into the output directory {outdir}")
                found.append((str(path), relative))
        else:
            name = Path(given).name
            if _inside(real, out_real):
                if os.path.realpath(os.path.join(outdir, name)) == real:
                    raise _refusal(f"refusing to overwrite the input {given} (the output directory is its own)")
                raise _refusal(f"refusing to read from the output tree: the input {given} is inside the output directory {outdir}")
            if _selected(name, include, exclude):
                found.append((str(given), name))
    inputs_seen = set()
    for path, _ in found:
        stat = os.stat(path)
        inputs_seen.add((stat.st_dev, stat.st_ino))
    jobs: list[Job] = []
    claimed: dict[str, str] = {}
    parents: dict[str, None] = {}
    for path, relative in found:
        output = os.path.join(outdir, *relative.split("/"))
        if output in claimed:
            raise _refusal(f"refusing: {claimed[output]} and {path} would both be written to {output}")
        claimed[output] = path
        _check_output(output, relative, out_real, inputs_seen, parents)
        jobs.append(
            Job(len(jobs), path, output, format or detect(path), compression_of(path), os.path.getsize(path))
        )
    return jobs


def _refusal(message: str) -> CleanerError:
    return CleanerError(message, exit_code=2)


def _inside(path: str, root: str) -> bool:
    """Whether `path` is `root` or below it (both real, absolute paths)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _check_output(output: str, relative: str, out_real: str, inputs_seen: set, parents: dict) -> None:
    parts = relative.split("/")
    if os.path.isabs(relative) or ".." in parts or "" in parts:
        raise _refusal(f"refusing: {output} would leave the output directory")
    parent = os.path.dirname(output)
    if parent not in parents and os.path.isdir(out_real):  # a new OUTDIR holds no links yet
        existing = os.path.abspath(parent)
        while not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not _inside(os.path.realpath(existing), out_real):
            raise _refusal(f"refusing: {output} would leave the output directory through the link {existing}")
        parents[parent] = None
    if os.path.islink(output):
        raise _refusal(f"refusing: the output {output} is a symbolic link")
    if os.path.exists(output):
        stat = os.stat(output)
        if (stat.st_dev, stat.st_ino) in inputs_seen:
            raise _refusal(f"refusing to overwrite the input {output}")


def _walk(root: Path, include, exclude) -> Iterator[tuple[Path, str]]:
    """Files under `root` (sorted, hidden names and directory links left out) with their path
    relative to it, filtered by the globs."""
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            raise _refusal(f"{directory}: {error.strerror}") from None
        subdirectories = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if not _excluded(relative, exclude):
                    subdirectories.append((Path(entry.path), relative + "/"))
            elif entry.is_file() and _selected(relative, include, exclude):
                yield Path(entry.path), relative
        stack.extend(reversed(subdirectories))


def _excluded(relative: str, patterns) -> bool:
    parts = relative.split("/")
    for pattern in patterns:
        if fnmatchcase(relative, pattern.strip("/")):
            return True
        if "/" not in pattern.strip("/") and any(fnmatchcase(part, pattern.strip("/")) for part in parts):
            return True
    return False


def _selected(relative: str, include, exclude) -> bool:
    """--exclude: the path, or any part of it for a pattern without '/'. --include (if any):
    the path, or its file name for a pattern without '/'."""
    if _excluded(relative, exclude):
        return False
    if not include:
        return True
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatchcase(relative, p) or ("/" not in p and fnmatchcase(name, p)) for p in include)


# --- atomic output ------------------------------------------------------------------------


class AtomicOutput:
    """A file that appears at `path` only complete: written to a temporary file beside it
    (named after this process, so that a later run can tell an orphan) and renamed into place.
    Any failure, or leaving the `with` block by an exception, removes the temporary file."""

    def __init__(self, path: str, compression: str | None = None, root: str | None = None):
        self.path = path
        self.compression = compression
        self.root = root  # the real OUTDIR: the file must land inside it
        self.temporary = None
        self.file = None
        self.stream = None
        self.written = 0

    def open(self) -> "AtomicOutput":
        directory, name = os.path.split(self.path)
        try:
            os.makedirs(directory or ".", exist_ok=True)
            if self.root is not None and not _inside(os.path.realpath(directory or "."), self.root):
                raise OutputError(f"{self.path}: refusing to write outside the output directory")
            self.temporary = os.path.join(directory, f".{name}.cleaner-{os.getpid()}-{secrets.token_hex(4)}.tmp")
            descriptor = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            self.file = open(descriptor, "wb", buffering=1 << 20)
            self.stream = compressing(self.file, self.compression)
        except OSError as error:
            self.abort()
            raise OutputError(f"{self.path}: {error.strerror or error}") from None
        return self

    def write(self, data) -> None:
        try:
            self.stream.write(data)
        except OSError as error:
            raise OutputError(f"{self.path}: {error.strerror or error}") from None
        self.written += len(data)

    def commit(self) -> None:
        try:
            self.stream.close()
            self.file.close()
            os.replace(self.temporary, self.path)
        except OSError as error:
            self.abort()
            raise OutputError(f"{self.path}: {error.strerror or error}") from None
        self.temporary = None

    def abort(self) -> None:
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
        if self.temporary is not None:
            try:
                os.unlink(self.temporary)
            except OSError:
                pass
            self.temporary = None

    def __enter__(self) -> "AtomicOutput":
        return self.open()

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def sweep_temporaries(outdir: str) -> int:
    """Remove temporary files under `outdir` left by processes that no longer run."""
    removed = 0
    for directory, _, files in os.walk(outdir):
        for name in files:
            match = _TEMPORARY.match(name)
            if match and not _alive(int(match.group(1))):
                try:
                    os.unlink(os.path.join(directory, name))
                    removed += 1
                except OSError:
                    pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the worker side ----------------------------------------------------------------------


@dataclass
class Settings:
    field: str = "text"
    id_field: str | None = None
    separator: SeparatorLines | None = None
    on_error: str = "stop"
    explain: bool = False
    root: str | None = None  # the real OUTDIR

    def format(self, name: str) -> Format:
        """The reader and writer of the format `name`, with these settings' field and separator."""
        return make_format(name, field=self.field, id_field=self.id_field, separator=self.separator)

    def block_separator(self, name: str) -> SeparatorLines | None:
        """The lines after which a block of a split file of format `name` must end, beyond a
        line break: separator lines for plain text, so that each document is whole in a block."""
        return self.separator if name == "text" else None

    def splits(self, name: str) -> bool:
        """Whether a large file of format `name` can be cut into blocks: records can, and plain
        text with separator lines (without, a file is one document)."""
        return name != "text" or self.separator is not None


@dataclass
class Outcome:
    status: str  # done, failed, binary
    tally: Tally | None = None
    message: str = ""
    line: int = 0  # where a record error is, in the file (a block: in the block)
    data: bytes = b""  # a block's output
    lines: int = 0  # a block's lines


class _Worker:
    def __init__(self, rules: list[Rule], settings: Settings):
        self.engine = Engine(rules)
        self.settings = settings
        self.formats: dict[str, Format] = {}

    def format(self, name: str) -> Format:
        if name not in self.formats:
            self.formats[name] = self.settings.format(name)
        return self.formats[name]

    def tally(self) -> Tally:
        return Tally(audit=[] if self.settings.explain else None)


_worker: _Worker | None = None
_busy = False


def _setup(rules: list[Rule], settings: Settings) -> None:
    global _worker
    _worker = _Worker(rules, settings)


def _start_worker(rules: list[Rule], settings: Settings, parent: int) -> None:
    """The pool's initializer: the engine is built here, once per process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.signal(signal.SIGTERM, _on_terminate)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _setup(rules, settings)


class _Terminated(BaseException):
    pass


def _on_terminate(signum, frame) -> None:
    if _busy:
        raise _Terminated  # unwinds the task, which removes its temporary file
    os._exit(1)


def _watch_parent(parent: int) -> None:
    """Stop when the parent is gone (killed with -9): nobody would collect the work."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _task(function, *args):
    global _busy
    _busy = True
    try:
        return function(*args)
    except _Terminated:
        os._exit(1)
    finally:
        _busy = False


def _clean_file(job: Job) -> Outcome:
    worker = _worker
    tally = worker.tally()
    try:
        with open_input(job.source, job.compression) as stream:
            with AtomicOutput(job.output, job.compression, worker.settings.root) as out:

                def write(data) -> None:
                    tally.bytes_out += len(data)
                    out.write(data)

                clean_items(worker.format(job.format), stream, write, worker.engine, tally, worker.settings.on_error)
                tally.bytes_in = stream.raw.bytes_read
    except OutputError:
        raise
    except BinaryInput:
        return Outcome("binary", message=f"{job.source}: binary file (NUL bytes), skipped")
    except RecordError as error:
        return Outcome("failed", message=error.message, line=error.line)
    except CorruptInput as error:
        return Outcome("failed", message=f"{job.source}: {error}")
    except OSError as error:
        return Outcome("failed", message=f"{job.source}: {error.strerror or error}")
    return Outcome("done", tally)


def _clean_small_files(jobs: list[Job]) -> list[Outcome]:
    """Several small plain-text files (each one document), read whole and scanned together;
    each output is still written and renamed on its own."""
    worker = _worker
    outcomes: list[Outcome | None] = [None] * len(jobs)
    documents: list[tuple[int, Document, int]] = []
    for position, job in enumerate(jobs):
        try:
            with open_input(job.source, job.compression) as stream:
                data = stream.read()
        except BinaryInput:
            outcomes[position] = Outcome("binary", message=f"{job.source}: binary file (NUL bytes), skipped")
        except CorruptInput as error:
            outcomes[position] = Outcome("failed", message=f"{job.source}: {error}")
        except OSError as error:
            outcomes[position] = Outcome("failed", message=f"{job.source}: {error.strerror or error}")
        else:
            documents.append((position, Document([data] if data else []), len(data)))
    tallies = {id(document): worker.tally() for _, document, _ in documents}
    collector = _Collector()
    _clean_together([d for _, d, _ in documents], collector, worker.engine, lambda d: tallies[id(d)], "stop")
    for position, document, size in documents:
        job, tally = jobs[position], tallies[id(document)]
        data = b"".join(collector.parts.pop(id(document)))
        with AtomicOutput(job.output, job.compression, worker.settings.root) as out:
            out.write(data)
        tally.bytes_in, tally.bytes_out = size, len(data)
        outcomes[position] = Outcome("done", tally)
    return outcomes


class _Collector:
    """A writer that keeps each document's cleaned text apart."""

    def __init__(self):
        self.parts: dict[int, list] = {}

    def begin(self, document: Document) -> Write:
        return self.parts.setdefault(id(document), []).append

    def end(self, document: Document) -> None:
        pass

    def raw(self, data: bytes) -> None:
        raise AssertionError("plain-text files read whole hand out documents only")


def _clean_block(job: Job, source: tuple[int, int] | bytes, at_start: bool = True) -> Outcome:
    """One block of whole lines of a split file: a byte range of the file, or the bytes;
    `at_start` when it is the file's first."""
    worker = _worker
    tally = worker.tally()
    try:
        if isinstance(source, tuple):
            with open(job.source, "rb") as handle:
                handle.seek(source[0])
                data = handle.read(source[1] - source[0])
        else:
            data = source
        parts: list[bytes] = []
        stream = wrap_input(io.BytesIO(data))
        fmt = worker.format(job.format)
        clean_items(fmt, stream, parts.append, worker.engine, tally, worker.settings.on_error, at_start=at_start)
    except BinaryInput:
        return Outcome("binary", message=f"{job.source}: binary file (NUL bytes), skipped")
    except RecordError as error:
        return Outcome("failed", message=error.message, line=error.line)
    except OSError as error:
        return Outcome("failed", message=f"{job.source}: {error.strerror or error}")
    output = b"".join(parts)
    tally.bytes_in, tally.bytes_out = len(data), len(output)
    tally.lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return Outcome("done", tally, data=compress(output, job.compression) if output else b"", lines=tally.lines)


def _process_pool(rules: list[Rule], settings: Settings, workers: int) -> ProcessPoolExecutor:
    """Worker processes with the engine built once each (see _start_worker)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods and sys.platform != "darwin" else "spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(rules, settings, os.getpid()))


class _Inline:
    """An executor that runs each task at once, in this process (one worker)."""

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as error:
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


# --- the run ------------------------------------------------------------------------------


@dataclass
class Summary:
    """Totals of a run, and the report."""

    workers: int = 1
    files: list = field(default_factory=list)
    counts: Report = field(default_factory=Report)
    documents: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    skipped_records: int = 0
    kept_records: int = 0
    problems: list = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0

    def status_count(self, status: str) -> int:
        return sum(1 for f in self.files if f["status"] == status)

    @property
    def exit_code(self) -> int:
        return 1 if self.status_count("failed") else 0

    def add_problem(self, entry: dict) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(entry)

    def as_dict(self) -> dict:
        by_rule = {
            code: {"category": self.counts.categories[code], "count": count, "bytes": self.counts.bytes_removed[code]}
            for code, count in sorted(self.counts.counts.items())
        }
        by_category: dict[str, dict[str, int]] = {}
        for entry in by_rule.values():
            total = by_category.setdefault(entry["category"], {"count": 0, "bytes": 0})
            total["count"] += entry["count"]
            total["bytes"] += entry["bytes"]
        return {
            "files": {
                "total": len(self.files),
                "cleaned": self.status_count("done"),
                "already_done": self.status_count("resumed"),
                "failed": self.status_count("failed"),
                "binary_skipped": self.status_count("binary"),
            },
            "documents": self.documents,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "removals": {
                "total": sum(self.counts.counts.values()),
                "bytes": sum(self.counts.bytes_removed.values()),
                "by_rule": by_rule,
                "by_category": dict(sorted(by_category.items())),
            },
            "records": {"malformed_skipped": self.skipped_records, "malformed_kept": self.kept_records},
            "errors": self.problems,
            "errors_total": self.problem_count,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "per_file": sorted(self.files, key=lambda entry: entry["input"]),
        }


class Batch:
    """One run over planned jobs: the pool, the order of split files, progress, totals."""

    def __init__(
        self,
        jobs: list[Job],
        rules: list[Rule],
        settings: Settings,
        *,
        workers: int,
        resume: bool = False,
        audit=None,
        progress: bool = False,
        say: Callable[[str], None] = lambda message: print(f"cleaner: {message}", file=sys.stderr),
        block_size: int = BLOCK_SIZE,
    ):
        self.jobs = jobs
        self.rules = rules
        self.by_code = {rule.code: rule for rule in rules}
        self.settings = settings
        self.workers = max(1, workers)
        self.resume = resume
        self.auditor = Report(audit) if audit is not None else None
        self.show_progress = progress
        self.say = say
        self.block_size = block_size
        self.summary = Summary(workers=self.workers)
        self.open_splits: set[_Split] = set()
        self.progress = None

    # -- running --

    def run(self) -> Summary:
        started = time.monotonic()
        root = self.settings.root
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as error:
            raise CleanerError(f"{root}: cannot create the output directory: {error.strerror}") from None
        sweep_temporaries(root)
        to_do = []
        for job in self.jobs:
            if self.resume and os.path.isfile(job.output) and not os.path.islink(job.output):
                self._file_entry(job, "resumed")
            else:
                to_do.append(job)
        splits = any(self._splits(job) for job in to_do)
        workers = self.workers if splits else min(self.workers, len(to_do))
        clean = False
        with _terminate_as_interrupt():
            pool = self._pool(workers)
            try:
                pool.submit(int).result()  # the processes start now, before the progress thread
                with self._progress(to_do):
                    self._schedule(pool, to_do, workers)
                clean = True
            finally:
                if not clean:
                    self._abort(pool)
                pool.shutdown(wait=True, cancel_futures=True)
                if not clean:
                    sweep_temporaries(root)
        self.summary.seconds = time.monotonic() - started
        if self.show_progress:
            self.say(self._closing_line(sum(job.size for job in to_do)))
        return self.summary

    def _closing_line(self, size: int) -> str:
        summary, seconds = self.summary, max(self.summary.seconds, 1e-9)
        others = [f"{summary.status_count(s)} {name}" for s, name in
                  (("resumed", "already done"), ("failed", "failed"), ("binary", "binary, skipped")) if summary.status_count(s)]
        more = f" ({', '.join(others)})" if others else ""
        return (f"cleaned {summary.status_count('done')} files{more}, {size / 1e6:.1f} MB in {seconds:.1f} s "
                f"({size / 1e6 / seconds:.1f} MB/s)")

    def _pool(self, workers: int):
        if workers <= 1:
            _setup(self.rules, self.settings)
            return _Inline()
        return _process_pool(self.rules, self.settings, workers)

    def _schedule(self, pool, jobs: list[Job], workers: int) -> None:
        window = 1 if isinstance(pool, _Inline) else workers * IN_FLIGHT_PER_WORKER
        tasks = self._tasks(jobs)
        pending: dict[Future, tuple] = {}
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    task = next(tasks, None)
                    if task is None:
                        exhausted = True
                        break
                    function, args, handler = task
                    pending[pool.submit(_task, function, *args)] = handler
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    handler = pending.pop(future)
                    try:
                        outcome = future.result()
                    except (OutputError, BrokenProcessPool):
                        raise
                    except Exception as error:  # a bug: that file fails, the run goes on
                        outcome = Outcome("failed", message=f"internal error: {type(error).__name__}: {error}")
                    handler(outcome)
        except BrokenProcessPool:
            raise CleanerError("a worker process died unexpectedly; run again with --resume to finish") from None
        except OutputError as error:
            raise CleanerError(error.message) from None
        finally:
            for future in pending:
                future.cancel()
            tasks.close()

    def _tasks(self, jobs: list[Job]) -> Iterator[tuple]:
        small = [job for job in jobs if self._small(job)]
        # enough tasks for every worker to have several, at most GROUP_FILES files to a task
        most = max(1, min(GROUP_FILES, len(small) // (self.workers * IN_FLIGHT_PER_WORKER)))
        group: list[Job] = []
        size = 0
        for job in jobs:
            if self._small(job):
                group.append(job)
                size += job.size
                if len(group) >= most or size >= BATCH_BYTES:
                    yield self._group_task(group)
                    group, size = [], 0
            elif self._splits(job):
                yield from self._blocks(job)
            else:
                yield _clean_file, (job,), lambda outcome, job=job: self._file_done(job, outcome)
        if group:
            yield self._group_task(group)

    def _small(self, job: Job) -> bool:
        return job.format == "text" and self.settings.separator is None and job.size <= SMALL_FILE

    def _group_task(self, jobs: list[Job]) -> tuple:
        def done(outcomes) -> None:
            if isinstance(outcomes, Outcome):  # the task as a whole failed
                outcomes = [outcomes] * len(jobs)
            for job, outcome in zip(jobs, outcomes):
                self._file_done(job, outcome)

        return _clean_small_files, (list(jobs),), done

    def _splits(self, job: Job) -> bool:
        """A large file of records, or of plain-text documents between separator lines, is cut
        into blocks of whole records or documents (a text without separators is one document)."""
        return job.size > self.block_size and self.settings.splits(job.format)

    def _blocks(self, job: Job) -> Iterator[tuple]:
        split = _Split(self, job)
        count = 0
        separator = self.settings.block_separator(job.format)
        try:
            with open(job.source, "rb") as handle:
                if job.compression is None:
                    blocks = _ranges(handle, job.size, self.block_size, separator)
                else:
                    blocks = _decompressed_blocks(handle, job.compression, self.block_size, separator)
                for source, on_disk in blocks:
                    if split.failed:
                        return
                    yield _clean_block, (job, source, count == 0), lambda o, i=count, n=on_disk: split.receive(i, o, n)
                    count += 1
        except CorruptInput as error:
            split.fail("failed", f"{job.source}: {error}")
            return
        except OSError as error:
            split.fail("failed", f"{job.source}: {error.strerror or error}")
            return
        split.total = count
        split.finish_if_complete()

    def _abort(self, pool) -> None:
        for split in list(self.open_splits):
            split.output.abort()
        if isinstance(pool, ProcessPoolExecutor):
            for child in multiprocessing.active_children():
                try:
                    child.terminate()  # SIGTERM: the task removes its temporary file
                except OSError:
                    pass

    # -- results --

    def _file_done(self, job: Job, outcome: Outcome) -> None:
        self._advance(job.size, files=1)
        if outcome.status != "done":
            message = outcome.message
            if outcome.line:
                message = f"{job.source}:{outcome.line}: {message}"
            self._fail(job, outcome.status, message, outcome.line)
            return
        self._absorb(job, outcome.tally, 0)
        self._file_entry(job, "done", outcome.tally)

    def _fail(self, job: Job, status: str, message: str, line: int = 0) -> None:
        self.say(message)
        entry = {"path": job.source, "message": message, "action": "skipped file" if status == "binary" else "stopped file"}
        if line:
            entry["line"] = line
        self.summary.add_problem(entry)
        self._file_entry(job, status)

    def _absorb(self, job: Job, tally: Tally, base_line: int, base_part: int = 0) -> None:
        """Add a file's (or block's) tally; `base_line` is the line before its first, `base_part`
        the plain-text document before its first."""
        summary = self.summary
        summary.documents += tally.documents
        summary.bytes_in += tally.bytes_in
        summary.bytes_out += tally.bytes_out
        summary.skipped_records += tally.skipped
        summary.kept_records += tally.kept
        _merge(summary.counts, tally.counts)
        for line, record_id, message, action in tally.problems:
            entry = {"path": job.source, "line": base_line + line, "message": message, "action": f"{action} record"}
            if record_id is not None:
                entry["id"] = record_id
            summary.add_problem(entry)
        if self.auditor is not None and tally.audit:
            for record_id, line, part, removal_line, code, removed in tally.audit:
                label = document_label(job.source, job.format, record_id, base_line + line, base_part + part)
                rule = self.by_code[code]
                self.auditor.record(label, Removal(0, len(removed), rule, removal_line, False), removed)

    def _file_entry(self, job: Job, status: str, tally: Tally | None = None) -> None:
        entry = {"input": job.source, "output": job.output, "status": status}
        if tally is not None:
            entry.update(
                documents=tally.documents,
                bytes_in=tally.bytes_in,
                bytes_out=tally.bytes_out,
                removals=sum(tally.counts.counts.values()),
            )
        self.summary.files.append(entry)

    # -- progress --

    def _progress(self, jobs: list[Job]):
        if not self.show_progress:
            return _NoProgress()
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        console = Console(stderr=True)
        progress = Progress(
            TextColumn("cleaning"),
            BarColumn(),
            TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = progress.add_task("clean", total=sum(j.size for j in jobs) or 1, files=0, total_files=len(jobs))
        self.progress = progress
        self.say = lambda message: console.print(f"cleaner: {message}", markup=False, highlight=False)
        return progress

    def _advance(self, size: int, files: int = 0) -> None:
        if self.progress is not None:
            task = self.progress.tasks[0]
            self.progress.update(self.task, advance=size, files=task.fields["files"] + files)


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


class _Split:
    """A large file cleaned in blocks: results are written in order as they arrive."""

    def __init__(self, batch: Batch, job: Job):
        self.batch = batch
        self.job = job
        self.output = AtomicOutput(job.output, None, batch.settings.root)  # blocks come compressed
        self.output.open()
        batch.open_splits.add(self)
        self.waiting: dict[int, tuple[Outcome, int]] = {}
        self.next = 0
        self.total: int | None = None
        self.failed = False
        self.lines = 0  # lines of the blocks written so far
        self.tally = Tally()
        self.advanced = 0  # bytes of the file shown as done

    def receive(self, index: int, outcome: Outcome, on_disk: int) -> None:
        self.batch._advance(min(on_disk, self.job.size - self.advanced))
        self.advanced = min(self.job.size, self.advanced + on_disk)
        if self.failed:
            return
        self.waiting[index] = (outcome, on_disk)
        while self.next in self.waiting:
            outcome, _ = self.waiting.pop(self.next)
            if outcome.status != "done":
                message = outcome.message
                if outcome.line:
                    message = f"{self.job.source}:{self.lines + outcome.line}: {message}"
                self.fail(outcome.status, message, self.lines + outcome.line if outcome.line else 0)
                return
            self.output.write(outcome.data)
            base_part = block_documents(self.job, outcome.tally, self.next == 0, self.tally.documents)
            self.batch._absorb(self.job, outcome.tally, self.lines, base_part)
            _add_tally(self.tally, outcome.tally)
            self.lines += outcome.lines
            self.next += 1
        self.finish_if_complete()

    def finish_if_complete(self) -> None:
        if self.failed or self.total is None or self.next < self.total:
            return
        if self.output.written == 0 and self.job.compression is not None:
            self.output.write(compress(b"", self.job.compression))  # a valid, empty compressed file
        self.output.commit()
        self.batch.open_splits.discard(self)
        self.batch._advance(self.job.size - self.advanced, files=1)
        self.advanced = self.job.size
        self.batch._file_entry(self.job, "done", self.tally)

    def fail(self, status: str, message: str, line: int = 0) -> None:
        self.failed = True
        self.output.abort()
        self.batch.open_splits.discard(self)
        self.batch._advance(self.job.size - self.advanced, files=1)
        self.advanced = self.job.size
        self.batch._fail(self.job, status, message, line)


def block_documents(job: Job, tally: Tally, first: bool, counted: int) -> int:
    """The plain-text document before the first of a block (`counted`: the documents of the
    blocks before). A block but the last ends after a separator line, past which it counts an
    empty document: the next block's first, which is taken off that block's count."""
    if job.format != "text" or first:
        return 0
    tally.documents -= 1
    return counted - 1


def _ranges(
    handle: BinaryIO, size: int, block_size: int, separator: SeparatorLines | None = None
) -> Iterator[tuple[tuple[int, int], int]]:
    """Byte ranges of about block_size that end at line ends (with `separator`: at the end of a
    separator line, so that each document is whole in one range)."""
    start = 0
    while start < size:
        end = min(block_start_at(handle, start + block_size, separator), size)
        yield (start, end), end - start
        start = end


def block_start_at(handle: BinaryIO, position: int, separator: SeparatorLines | None = None) -> int:
    """Where a block of a file meant to start at `position` starts: at the first line start at or
    after it (with `separator`: after the next separator line, where a document starts), or at
    the end of the file. Neighbouring blocks asking for the same position meet there."""
    if position <= 0:
        return 0
    handle.seek(position - 1)
    offset = position - 1
    while True:
        piece = handle.read(1 << 16)
        if not piece:
            return offset  # the end of the file
        newline = piece.find(b"\n")
        if newline >= 0:
            break
        offset += len(piece)
    start = offset + newline + 1
    if separator is None:
        return start
    handle.seek(start)
    return start + len(through_separator(handle, separator))


def _decompressed_blocks(
    handle: BinaryIO, compression: str, block_size: int, separator: SeparatorLines | None = None
) -> Iterator[tuple[bytes, int]]:
    """Blocks of about block_size decompressed bytes that end at line ends (with `separator`:
    at the end of a separator line), with how much of the compressed file each took."""
    stream = wrap_input(handle, compression, binary_check=False)
    consumed = 0
    while True:
        data = stream.read(block_size)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += stream.readline()
        if separator is not None:
            data += through_separator(stream, separator)
        position = handle.tell()
        yield data, position - consumed
        consumed = position


def through_separator(stream: BinaryIO, separator: SeparatorLines) -> bytes:
    """The stream's lines from where it stands up to and including the next separator line."""
    lines = []
    while line := stream.readline():
        lines.append(line)
        if separator.matches(line):
            break
    return b"".join(lines)


def _merge(into: Report, other: Report) -> None:
    into.counts.update(other.counts)
    into.bytes_removed.update(other.bytes_removed)
    into.categories.update(other.categories)


def _add_tally(into: Tally, other: Tally) -> None:
    into.documents += other.documents
    into.bytes_in += other.bytes_in
    into.bytes_out += other.bytes_out
    _merge(into.counts, other.counts)


class _terminate_as_interrupt:
    """While a run lasts, SIGTERM is handled like Ctrl-C: temporary files go, exit code 130."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_side_file(path: Path, inputs: list[Path], what: str) -> None:
    """Refuse a report or audit file that would land in an input tree or on an input."""
    real = os.path.realpath(path)
    for given in inputs:
        given_real = os.path.realpath(given)
        if real == given_real or (os.path.isdir(given_real) and _inside(real, given_real)):
            raise _refusal(f"refusing to write the {what} {path} into the input {given}")
