"""The same cleaning on a Dask cluster, and in Spark or Ray: `pip install 'cleaner[dask]'`.

Three ways in:

- `clean_partition(items, field=None)`: a plain function over one partition (texts, bytes,
  records, or a Ray/pandas column batch). It needs nothing but this package, so Spark's
  `mapPartitions` and Ray Data's `map_batches` can call it as it is.
- `clean_bag(bag, field=None)` and `clean_dataframe(df, column)` for people already in Dask.
- `run_files(...)`, behind `cleaner clean INPUTS -o OUT --scheduler ...`: whole files (paths or
  fsspec URLs) cut into partitions by file and by byte ranges on record boundaries, each partition
  written atomically, the per-rule stats and the audit gathered into one report.

Rules are compiled once per worker process, not once per task: tasks carry a small, hashable
RuleSpec (the selection and the text of the user's rule files), and each process keeps the
Cleaner built for it. Dask itself is imported only when a Dask function is called.

What is cut how, as in the local batch: small plain-text files go several to a task (scanned
together, each written on its own); any other text file is one task (it may be one document,
which must not be split); an uncompressed JSONL or Multi-News file is cut into byte ranges; a large
compressed one is one task that cleans and compresses it block by block exactly as the local
batch does (a compressed stream cannot be entered in the middle), so its output is the same.
One difference: when a split file stops on a malformed record (--on-error stop), the removals
counted before the stop are those of the ranges before the failing one, where the local batch
counts those of its (smaller) blocks before it; the outputs are the same (none for that file).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .api import Cleaner
from .batch import (
    BLOCK_SIZE,
    GROUP_FILES,
    SMALL_FILE,
    Batch,
    Job,
    Outcome,
    OutputError,
    RecordError,
    Settings,
    Summary,
    Tally,
    _add_tally,
    _selected,
    block_documents,
    block_start_at,
    clean_items,
    default_workers,
    plan,
    through_separator,
)
from .errors import CleanerError
from .formats import (
    BinaryInput,
    CorruptInput,
    Document,
    compress,
    compressing,
    compression_of,
    detect,
    wrap_input,
)
from .rules import load_library, select_rules, shipped_dir, shipped_files

EXTRA = "the Dask extra is not installed: pip install 'cleaner[dask]' (dask, distributed, fsspec)"


def require_dask() -> None:
    """Raise one clear CleanerError when dask, distributed or fsspec is missing."""
    try:
        import dask.bag  # noqa: F401
        import distributed  # noqa: F401
        import fsspec  # noqa: F401
    except ImportError:
        raise CleanerError(EXTRA, exit_code=2) from None


# --- rules, compiled once per worker -------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """Which rules to use, in a form that travels to workers cheaply and keys their cache.

    The user's rule files travel as text (a worker may not see the client's paths); the shipped
    library is the worker's own, checked against the client's by a digest so that a cluster
    with another version of the rules fails loudly instead of cleaning differently.
    """

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # (file name, TOML text) of each user rule file
    library: str = ""  # digest of the shipped rule files where the spec was made
    shipped: bool = True  # False: only the rule files in `extra`

    @classmethod
    def of(cls, select=None, ignore=None, langs=None, rule_files=(), shipped: bool = True) -> "RuleSpec":
        shipped_paths = {p.resolve() for p in shipped_files()} if shipped else set()
        extra = []
        for path in rule_files or ():
            path = Path(path)
            if path.resolve() in shipped_paths:
                continue  # the shipped library counts a shipped file once
            try:
                extra.append((path.name, path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
                raise CleanerError(f"{path}: cannot read rule file: {reason}", exit_code=2) from None
        digest = library_digest() if shipped else ""
        return cls(tuple(select or ()), tuple(ignore or ()), tuple(langs or ()), tuple(extra), digest, shipped)

    def cleaner(self) -> Cleaner:
        """This process's Cleaner for the spec, built on first use."""
        cleaner = _CLEANERS.get(self)
        if cleaner is None:
            with _BUILDING:
                cleaner = _CLEANERS.get(self)
                if cleaner is None:
                    cleaner = self._build()
                    while len(_CLEANERS) >= KEEP_CLEANERS:
                        del _CLEANERS[next(iter(_CLEANERS))]  # the oldest
                    _CLEANERS[self] = cleaner
        return cleaner

    def _build(self) -> Cleaner:
        if self.library and self.library != library_digest():
            raise CleanerError(
                f"this machine's shipped rules ({shipped_dir()}, digest {library_digest()}) differ from the "
                f"client's ({self.library}): install the same version of cleaner everywhere"
            )
        with tempfile.TemporaryDirectory(prefix="cleaner-rules-") as directory:
            paths = []
            for index, (name, text) in enumerate(self.extra):
                path = Path(directory, str(index), name)
                path.parent.mkdir()
                path.write_text(text, encoding="utf-8")
                paths.append(path)
            library = load_library(paths, shipped=self.shipped)
        rules = select_rules(library, list(self.select), list(self.ignore), list(self.langs))
        return Cleaner(rules=rules)


KEEP_CLEANERS = 8  # rule selections a process keeps built
_CLEANERS: dict[RuleSpec, Cleaner] = {}
_BUILDING = threading.Lock()


@functools.cache
def library_digest() -> str:
    digest = hashlib.sha256()
    root = shipped_dir()
    for path in shipped_files():
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _spec(rules: RuleSpec | None, select, ignore, langs, rule_files) -> RuleSpec:
    if rules is not None:
        if select or ignore or langs or rule_files:
            raise TypeError("give either rules=RuleSpec(...) or select/ignore/langs/rule_files, not both")
        return rules
    return RuleSpec.of(select, ignore, langs, rule_files)


# --- one partition: texts, records or a column batch ---------------------------------------


def clean_partition(
    items,
    field: str | None = None,
    *,
    rules: RuleSpec | None = None,
    select=None,
    ignore=None,
    langs=None,
    rule_files=(),
):
    """Clean one partition: a plain function for Spark's `mapPartitions`, Ray Data's
    `map_batches`, Dask's `map_partitions` or a plain loop.

    - An iterable of texts (str or bytes): an iterator of the cleaned texts, each one document.
    - An iterable of records (dicts, Spark Rows, named tuples) with `field` naming the text:
      an iterator of the records with that field cleaned; the other fields are untouched.
    - A column batch (a dict of arrays as Ray hands out, or a pandas DataFrame): the same kind
      of batch with column `field` (default "text") cleaned.

    Values that are not text (None, NaN, numbers) and records without the field pass through
    unchanged. The rules are built once per process: pass `rules=RuleSpec.of(...)` made where
    the rule files are, or select/ignore/langs as in the command line.
    """
    cleaner = _spec(rules, select, ignore, langs, rule_files).cleaner()
    if _is_frame(items):
        return _clean_frame(items, field or "text", cleaner)
    if isinstance(items, Mapping):
        return _clean_columns(items, field or "text", cleaner)
    return _clean_records(cleaner, items, field)


GROUP_BYTES = 1 << 20  # texts are scanned together, about this much at a time


def clean_values(cleaner: Cleaner, values: list) -> list:
    """Each str or bytes value cleaned as one document (anything else comes back as it is).

    The texts go through the same pipeline as JSONL records, so that one scan of the automaton
    covers many of them (about twice as fast as cleaning them one by one, and the same result).
    """
    texts, places = [], []
    for index, value in enumerate(values):
        if isinstance(value, str):
            texts.append(value.encode("utf-8", "surrogatepass"))
            places.append((index, True))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            texts.append(bytes(value))
            places.append((index, False))
    if not texts:
        return list(values)
    source = _Texts(texts)
    clean_items(source, None, None, cleaner.engine, _Tallies(source, None), "stop")
    cleaned = list(values)
    for (index, is_str), data in zip(places, source.cleaned):
        cleaned[index] = data.decode("utf-8", "surrogatepass") if is_str else data
    return cleaned


class _Texts:
    """Texts in memory, read and written back as a format for `clean_items`."""

    name = "texts"

    def __init__(self, texts: list[bytes]):
        self.documents = [Document([text] if text else []) for text in texts]
        self.cleaned: list[bytes] = []
        self.parts: list[bytes] = []

    def read(self, stream, at_start: bool = True) -> Iterator[Document]:
        return iter(self.documents)

    def writer(self, write) -> "_Texts":
        return self

    def begin(self, document: Document):
        self.parts = []
        return self.parts.append

    def end(self, document: Document) -> None:
        self.cleaned.append(b"".join(self.parts))

    def raw(self, data: bytes) -> None:
        pass


class _Tallies:
    """Hands each document's removals to its own Tally (None: they are not kept)."""

    def __init__(self, texts: _Texts, tallies: list[Tally] | None):
        self.documents = 0
        self.tallies = {id(d): t for d, t in zip(texts.documents, tallies)} if tallies is not None else None

    def removal(self, document: Document, removal, removed: bytes) -> None:
        if self.tallies is not None:
            self.tallies[id(document)].removal(document, removal, removed)

    def problem(self, item, action: str) -> None:
        raise AssertionError("texts in memory hand out documents only")


_MISSING = object()


def _clean_records(cleaner: Cleaner, items: Iterable, field: str | None) -> Iterator:
    """Texts or records, cleaned in groups of about GROUP_BYTES of text, lazily and in order."""
    group, values, size = [], [], 0
    for item in items:
        value = _value(item, field)
        group.append(item)
        values.append(value)
        size += len(value) if isinstance(value, (str, bytes, bytearray, memoryview)) else 0
        if size >= GROUP_BYTES:
            yield from _rebuilt(group, clean_values(cleaner, values), field)
            group, values, size = [], [], 0
    yield from _rebuilt(group, clean_values(cleaner, values), field)


def _value(item, field: str | None):
    if field is None:
        if isinstance(item, (Mapping, tuple)):
            raise TypeError("clean_partition got records: name the text with field='...'")
        return item
    if isinstance(item, Mapping):
        return item.get(field, _MISSING)
    if hasattr(item, "asDict"):  # a Spark Row
        return item.asDict().get(field, _MISSING)
    if hasattr(item, "_replace") and field in getattr(item, "_fields", ()):  # a named tuple
        return getattr(item, field)
    raise TypeError(f"cannot take field '{field}' from a {type(item).__name__}")


def _rebuilt(items: list, values: list, field: str | None) -> Iterator:
    for item, value in zip(items, values):
        if field is None:
            yield value
        elif value is _MISSING:
            yield item
        elif isinstance(item, Mapping):
            yield {**item, field: value}
        elif hasattr(item, "asDict"):
            yield type(item)(**{**item.asDict(), field: value})
        else:
            yield item._replace(**{field: value})


def _is_frame(items) -> bool:
    return hasattr(items, "columns") and hasattr(items, "iloc") and hasattr(items, "copy")


def _clean_frame(frame, column: str, cleaner: Cleaner):
    if column not in frame.columns:
        raise KeyError(f"no column '{column}' in the partition (columns: {', '.join(map(str, frame.columns))})")
    out = frame.copy()
    out[column] = _clean_series(frame[column], cleaner)
    return out


def _clean_series(series, cleaner: Cleaner):
    import pandas

    values = clean_values(cleaner, list(series))
    return pandas.Series(values, index=series.index, dtype=series.dtype, name=series.name)


def _clean_columns(batch: Mapping, column: str, cleaner: Cleaner) -> dict:
    import numpy

    if column not in batch:
        raise KeyError(f"no column '{column}' in the batch (columns: {', '.join(map(str, batch))})")
    values = clean_values(cleaner, list(batch[column]))
    array = numpy.empty(len(values), dtype=object)
    array[:] = values
    return {**batch, column: array}


# --- Dask collections ----------------------------------------------------------------------


def clean_bag(bag, field: str | None = None, *, rules: RuleSpec | None = None, select=None, ignore=None,
              langs=None, rule_files=()):
    """A dask.bag of texts (or of records, with `field`) -> the bag of cleaned texts (records),
    e.g. clean_bag(db.read_text("dump/*.jsonl").map(json.loads), field="text")."""
    require_dask()
    spec = _spec(rules, select, ignore, langs, rule_files)
    spec.cleaner()  # a bad selection or rule file fails here, not in the workers
    return bag.map_partitions(functools.partial(_bag_partition, field=field, spec=spec))


def _bag_partition(items: Iterable, field: str | None, spec: RuleSpec) -> list:
    return list(_clean_records(spec.cleaner(), items, field))


def clean_dataframe(df, column: str | None = "text", *, rules: RuleSpec | None = None, select=None, ignore=None,
                    langs=None, rule_files=()):
    """A dask DataFrame -> the same DataFrame with its text `column` cleaned (other columns,
    the index and the partitions unchanged). A dask Series is cleaned as a whole."""
    require_dask()
    spec = _spec(rules, select, ignore, langs, rule_files)
    spec.cleaner()
    if not hasattr(df, "columns"):  # a Series
        return df.map_partitions(functools.partial(_series_partition, spec=spec), meta=df._meta)
    if column not in df.columns:
        raise CleanerError(f"no column '{column}' (columns: {', '.join(map(str, df.columns))})", exit_code=2)
    return df.map_partitions(functools.partial(_frame_partition, column=column, spec=spec), meta=df._meta)


def _frame_partition(frame, column: str, spec: RuleSpec):
    return _clean_frame(frame, column, spec.cleaner())


def _series_partition(series, spec: RuleSpec):
    return _clean_series(series, spec.cleaner())


# --- files on a cluster: planning ----------------------------------------------------------

PARTITION_BLOCKS = 16  # byte ranges of an uncompressed JSONL or Multi-News file: at most 16 blocks
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)")
_GLOB = re.compile(r"[*?\[]")
_TEMPORARY = re.compile(r"^\..+\.cleaner-dask-[0-9a-f]+\.tmp$")
_PARTS = ".cleaner-parts"


def as_url(value) -> str:
    """A path or URL as given, with the '//' that pathlib takes out of 's3://b/k' put back."""
    text = str(value)
    found = _SCHEME.match(text)
    if found and not isinstance(value, str):
        scheme, rest = found.group(1), text[found.end() - 1 :]
        return f"file://{rest}" if scheme == "file" else f"{scheme}://{rest.lstrip('/')}"
    return text


def _is_url(text: str) -> bool:
    return "://" in text


@dataclass(frozen=True)
class Work:
    """One planned file: `job` names it in the report and the audit as the user gave it;
    `source` and `output` are where the workers read and write (absolute paths or URLs)."""

    job: Job
    source: str
    output: str


def plan_work(inputs, output, *, include=(), exclude=(), input_format: str | None = None) -> list[Work]:
    """Files and directories (paths or fsspec URLs) and their outputs under `output`.

    Local paths are planned exactly as the local batch plans them (the same refusals, the same
    names); URLs by walking their filesystem the same way: a directory's files keep their place
    below it, a file (or each match of a glob) goes to the top of `output`.
    """
    inputs = [as_url(i) for i in inputs]
    output = as_url(output)
    if not any(_is_url(text) for text in [*inputs, output]):
        jobs = plan([Path(i) for i in inputs], Path(output), include=list(include), exclude=list(exclude),
                    format=input_format)
        return [Work(job, os.path.abspath(job.source), os.path.abspath(job.output)) for job in jobs]
    from fsspec.core import url_to_fs

    out_fs, out_root = url_to_fs(output)
    out_root = out_root.rstrip("/")
    out_url = out_fs.unstrip_protocol(out_root)
    found: list[tuple[str, str, int]] = []  # (input URL, path relative to the output, size)
    for given in inputs:
        fs, path = url_to_fs(given)
        root_url = fs.unstrip_protocol(path.rstrip("/"))
        if _nested(out_url, root_url) or _nested(root_url, out_url):
            raise CleanerError(f"refusing: the output {output} and the input {given} are one inside the other", 2)
        if _GLOB.search(path):
            matches = [(p, info) for p, info in sorted(fs.glob(path, detail=True).items()) if info["type"] == "file"]
            found += [(fs.unstrip_protocol(p), p.rsplit("/", 1)[-1], info["size"]) for p, info in matches]
            continue
        if fs.isdir(path):
            root = path.rstrip("/")
            for p, info in sorted(fs.find(root, detail=True).items()):
                relative = p[len(root) :].lstrip("/")
                if any(part.startswith(".") for part in relative.split("/")):
                    continue
                if _selected(relative, list(include), list(exclude)):
                    found.append((fs.unstrip_protocol(p), relative, info["size"]))
        elif fs.isfile(path):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if _selected(name, list(include), list(exclude)):
                found.append((fs.unstrip_protocol(path), name, fs.size(path)))
        else:
            raise CleanerError(f"{given}: No such file or directory", exit_code=2)
    works, claimed = [], {}
    for source, relative, size in found:
        target = out_fs.unstrip_protocol(f"{out_root}/{relative}")
        if target in claimed:
            raise CleanerError(f"refusing: {claimed[target]} and {source} would both be written to {target}", 2)
        if target == source:
            raise CleanerError(f"refusing to overwrite the input {source}", exit_code=2)
        claimed[target] = source
        job = Job(len(works), source, target, input_format or detect(source), compression_of(source), size)
        works.append(Work(job, source, target))
    return works


def _nested(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


# --- files on a cluster: the tasks (they run in the workers) -------------------------------


class _Atomic:
    """A file on any fsspec filesystem that appears at `path` only complete: written to a
    temporary name beside it and moved into place (a rename on local disks). Whatever happens
    to the task (an exception, the worker killed), `path` holds a complete file or its old one."""

    def __init__(self, url: str, compression: str | None = None):
        from fsspec.core import url_to_fs

        self.url = url
        self.fs, self.path = url_to_fs(url)
        self.compression = compression
        self.temporary = self.file = self.stream = None
        self.written = 0

    def __enter__(self) -> "_Atomic":
        parent, name = self.path.rsplit("/", 1)
        try:
            self.fs.makedirs(parent, exist_ok=True)
            self.temporary = f"{parent}/.{name}.cleaner-dask-{secrets.token_hex(6)}.tmp"
            self.file = self.fs.open(self.temporary, "wb")
            self.stream = compressing(self.file, self.compression)
        except OSError as error:
            self._abort()
            raise OutputError(f"{self.url}: {error.strerror or error}") from None
        return self

    def write(self, data) -> None:
        try:
            self.stream.write(data)
        except OSError as error:
            raise OutputError(f"{self.url}: {error.strerror or error}") from None
        self.written += len(data)

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            self._abort()
            return
        try:
            self.stream.close()
            self.file.close()
            self.fs.mv(self.temporary, self.path)
        except OSError as error:
            self._abort()
            raise OutputError(f"{self.url}: {error.strerror or error}") from None

    def _abort(self) -> None:
        for handle in (self.stream, self.file):
            try:
                if handle is not None:
                    handle.close()
            except Exception:
                pass
        if self.temporary is not None:
            try:
                self.fs.rm(self.temporary)
            except Exception:
                pass


def _open(url: str):
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url)
    return fs.open(path, "rb")


def _new_tally(settings: Settings) -> Tally:
    return Tally(audit=[] if settings.explain else None)


def _failure(job: Job, error: Exception) -> Outcome:
    if isinstance(error, BinaryInput):
        return Outcome("binary", message=f"{job.source}: binary file (NUL bytes), skipped")
    if isinstance(error, RecordError):
        return Outcome("failed", message=error.message, line=error.line)
    if isinstance(error, CorruptInput):
        return Outcome("failed", message=f"{job.source}: {error}")
    return Outcome("failed", message=f"{job.source}: {getattr(error, 'strerror', None) or error}")


_EXPECTED = (BinaryInput, RecordError, CorruptInput, OSError)


def _clean_file_task(work: Work, spec: RuleSpec, settings: Settings) -> list[Outcome]:
    """A whole file, streamed from its filesystem to its output: one piece."""
    engine = spec.cleaner().engine
    job, tally = work.job, _new_tally(settings)
    try:
        with _open(work.source) as raw:
            stream = wrap_input(raw, job.compression)
            with _Atomic(work.output, job.compression) as out:

                def write(data) -> None:
                    tally.bytes_out += len(data)
                    out.write(data)

                clean_items(settings.format(job.format), stream, write, engine, tally, settings.on_error)
                tally.bytes_in = stream.raw.bytes_read
    except OutputError:
        raise
    except _EXPECTED as error:
        return [_failure(job, error)]
    return [Outcome("done", tally)]


def _clean_small_files_task(works: list[Work], spec: RuleSpec, settings: Settings) -> list[list[Outcome]]:
    """Several small plain-text files (each one document), read whole and scanned together, as
    the local batch groups them; each output is still written and renamed on its own."""
    engine = spec.cleaner().engine
    results: list[list[Outcome] | None] = [None] * len(works)
    texts, owners = [], []
    for position, work in enumerate(works):
        try:
            with _open(work.source) as raw:
                texts.append(wrap_input(raw, work.job.compression).read())
            owners.append(position)
        except _EXPECTED as error:
            results[position] = [_failure(work.job, error)]
    source = _Texts(texts)
    tallies = [_new_tally(settings) for _ in texts]
    clean_items(source, None, None, engine, _Tallies(source, tallies), "stop")
    for position, data, cleaned, tally in zip(owners, texts, source.cleaned, tallies):
        work = works[position]
        with _Atomic(work.output, work.job.compression) as out:
            out.write(cleaned)
        tally.documents, tally.bytes_in, tally.bytes_out = 1, len(data), len(cleaned)
        results[position] = [Outcome("done", tally)]
    return results


def _clean_block(job: Job, data: bytes, engine, settings: Settings, at_start: bool = True) -> Outcome:
    """One piece of whole lines of a split file, cleaned in memory (the output in `data`);
    `at_start` when it is the file's first."""
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    tally = _new_tally(settings)
    parts: list[bytes] = []
    try:
        clean_items(settings.format(job.format), wrap_input(io.BytesIO(data)), parts.append, engine, tally,
                    settings.on_error, at_start=at_start)
    except _EXPECTED as error:
        outcome = _failure(job, error)
        outcome.lines = lines
        return outcome
    output = b"".join(parts)
    tally.bytes_in, tally.bytes_out, tally.lines = len(data), len(output), lines
    return Outcome("done", tally, data=output, lines=lines)


def _clean_blocks_task(work: Work, spec: RuleSpec, settings: Settings, block_size: int) -> list[Outcome]:
    """A large compressed JSONL, Multi-News or separated plain-text file: read through once,
    cleaned in blocks of `block_size` decompressed bytes (whole lines; for plain text, up to a
    separator line) and each block compressed on its own, exactly
    as the local batch cuts it, so that the output is the same bytes. One piece per block."""
    engine = spec.cleaner().engine
    job, outcomes = work.job, []
    separator = settings.block_separator(job.format)
    try:
        with _open(work.source) as raw, _Atomic(work.output) as out:
            stream = wrap_input(raw, job.compression, binary_check=False)
            while True:
                data = stream.read(block_size)
                if not data:
                    break
                if not data.endswith(b"\n"):
                    data += stream.readline()
                if separator is not None:
                    data += through_separator(stream, separator)
                outcome = _clean_block(job, data, engine, settings, at_start=not outcomes)
                outcomes.append(outcome)
                if outcome.status != "done":
                    raise _Stop
                if outcome.data:
                    out.write(compress(outcome.data, job.compression))
                outcome.data = b""
            if out.written == 0 and job.compression is not None:
                out.write(compress(b"", job.compression))  # a valid, empty compressed file
    except _Stop:
        pass
    except OutputError:
        raise
    except _EXPECTED as error:
        outcomes.append(_failure(job, error))
    return outcomes


class _Stop(Exception):
    """A block failed: the output is abandoned (the `with` removes its temporary file)."""


def _clean_range_task(work: Work, spec: RuleSpec, settings: Settings, index: int, start: int, end: int) -> Outcome:
    """The records (or separated plain-text documents) that start in bytes [start, end) of an
    uncompressed file: from the first line (document) start at or after `start` to the first at
    or after `end`. Neighbouring ranges meet on
    the same line start, so every record is in exactly one range. The cleaned bytes go to part
    `index` of the file, written atomically, so a retried task writes the same part again."""
    engine = spec.cleaner().engine
    job = work.job
    try:
        with _open(work.source) as handle:
            separator = settings.block_separator(job.format)
            first = block_start_at(handle, start, separator)
            last = block_start_at(handle, end, separator)
            handle.seek(first)
            data = handle.read(last - first) if last > first else b""
    except OSError as error:
        return _failure(job, error)
    outcome = _clean_block(job, data, engine, settings, at_start=first == 0)
    if outcome.status == "done":
        with _Atomic(_part(work.output, index)) as out:
            out.write(outcome.data)
        outcome.data = b""
    return outcome


def _parts_dir(output: str) -> str:
    parent, name = output.rsplit("/", 1)
    return f"{parent}/.{name}{_PARTS}"


def _part(output: str, index: int) -> str:
    return f"{_parts_dir(output)}/{index:06d}"


def _assemble_task(work: Work, count: int) -> int:
    """Join the parts of a split file into its output (atomically) and remove them.

    Parts are only removed after the output is in place, so a retry that finds a part missing
    knows the output was already assembled."""
    from fsspec.core import url_to_fs

    fs, parts = url_to_fs(_parts_dir(work.output))
    names = [f"{parts}/{index:06d}" for index in range(count)]
    if not all(fs.exists(name) for name in names):
        if fs.exists(url_to_fs(work.output)[1]):
            fs.rm(parts, recursive=True)
            return 0
        raise OutputError(f"{work.output}: parts of the output are missing")
    with _Atomic(work.output) as out:
        for name in names:
            with fs.open(name, "rb") as part:
                while data := part.read(1 << 22):
                    out.write(data)
    fs.rm(parts, recursive=True)
    return out.written


# --- files on a cluster: the run (on the client) -------------------------------------------


@contextmanager
def connect(scheduler, workers: int | None = None) -> Iterator:
    """A distributed.Client for `scheduler`: 'tcp://HOST:PORT' (any scheduler address),
    'local:N' (a cluster of N single-threaded worker processes on this machine, started and
    stopped here; 'local' alone: one per core), or a Client already made (used as it is)."""
    require_dask()
    import logging

    from distributed import Client, LocalCluster

    if not isinstance(scheduler, str):
        yield scheduler
        return
    if scheduler == "local" or scheduler.startswith("local:"):
        count = scheduler.partition(":")[2]
        if count and not (count.isdigit() and int(count) > 0):
            raise CleanerError(f"bad --scheduler '{scheduler}' (expected local:N with N >= 1)", exit_code=2)
        n = int(count) if count else workers or default_workers()
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler)  # waits distributed.comm.timeouts.connect (30 s unless configured)
    except (OSError, TimeoutError, ValueError) as error:
        raise CleanerError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKERS_SECONDS)
        except TimeoutError:
            raise CleanerError(f"the Dask scheduler at {scheduler} has no workers") from None
        yield client


WORKERS_SECONDS = 60


def run_files(
    scheduler,
    inputs,
    output,
    rules: RuleSpec,
    settings: Settings | None = None,
    *,
    input_format: str | None = None,
    include=(),
    exclude=(),
    resume: bool = False,
    audit=None,
    block_size: int = BLOCK_SIZE,
    partition_size: int | None = None,
    workers: int | None = None,
    say=lambda message: print(f"cleaner: {message}", file=sys.stderr),
    on_result=None,
    client_rules: list | None = None,
) -> Summary:
    """Clean files and directories (paths or fsspec URLs) into `output` on a Dask cluster, the
    same bytes as the local batch (`cleaner clean -o`), and return the same Summary (the JSON
    `--report`); `audit` (a text file) receives the JSONL audit when settings.explain is on.

    Work is cut by file, and an uncompressed JSONL or Multi-News file larger than
    `partition_size` (default: a quarter of each worker's share of the input, between one block
    and 16) by byte ranges on line boundaries; its parts are
    written atomically and joined into the output by one more task. A task that dies with its
    worker runs again elsewhere and writes the same bytes under the same name, so a killed
    worker neither corrupts nor duplicates output. `on_result(client, finished, total)` is
    called on the client after each task (for progress; the tests use it to kill a worker).
    `client_rules`: the rules `rules` selects, when the caller has them already (the command
    line does); otherwise they are built here, which also checks the selection before any task.
    """
    require_dask()
    started = time.monotonic()
    settings = dataclasses.replace(settings or Settings(), explain=audit is not None)
    works = plan_work(inputs, output, include=include, exclude=exclude, input_format=input_format)
    chosen = client_rules if client_rules is not None else rules.cleaner().rules
    directories = _output_dirs(works)
    with connect(scheduler, workers) as client:
        collector = Batch([w.job for w in works], chosen, settings, workers=1, audit=audit, say=say)
        collector.summary.workers = sum(client.nthreads().values())
        _sweep(directories)  # what an earlier, killed run left
        to_do = []
        for work in works:
            if resume and _is_file(work.output):
                collector._file_entry(work.job, "resumed")
            else:
                to_do.append(work)
        try:
            threads = collector.summary.workers
            size = partition_size or _partition_size(to_do, threads, block_size)
            _Run(client, collector, rules, settings, block_size, size, on_result, threads).run(to_do)
        finally:
            _sweep(directories)  # what tasks on workers that died left
    collector.summary.seconds = time.monotonic() - started
    return collector.summary


def _groups(small: list[Work], threads: int) -> Iterator[list[Work]]:
    """Small files in groups: enough groups for every worker to have several, at most
    GROUP_FILES files (and about GROUP_BYTES of text) to a group."""
    most = max(1, min(GROUP_FILES, len(small) // max(1, threads * 4)))
    group, size = [], 0
    for work in small:
        group.append(work)
        size += work.job.size
        if len(group) >= most or size >= GROUP_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def _partition_size(works: list[Work], threads: int, block_size: int) -> int:
    """Ranges small enough that every worker gets several tasks (a corpus of a few large files
    still spreads evenly), large enough that per-task costs vanish: between one block and 16."""
    total = sum(work.job.size for work in works)
    return max(block_size, min(block_size * PARTITION_BLOCKS, total // max(1, threads * 4)))


class _Run:
    """Submits the tasks, joins split files when all their parts are in, absorbs the results."""

    def __init__(self, client, collector: Batch, rules: RuleSpec, settings: Settings, block_size: int,
                 partition_size: int, on_result, threads: int = 1):
        self.client = client
        self.threads = threads
        self.collector = collector
        self.rules = rules
        self.settings = settings
        self.block_size = block_size
        self.partition_size = partition_size
        self.on_result = on_result
        self.token = secrets.token_hex(4)
        self.pieces: dict[int, list] = {}  # job index -> outcomes of its ranges, in order
        self.missing: dict[int, int] = {}  # job index -> ranges not yet in

    def run(self, works: list[Work]) -> None:
        from distributed import as_completed

        futures = {}
        small = [work for work in works if self._small(work)]
        for group in _groups(small, self.threads):
            future = self.client.submit(_clean_small_files_task, group, self.rules, self.settings,
                                        key=self._key("small", group[0]), pure=False)
            futures[future] = functools.partial(self._group_done, group)
        rest = [work for work in works if not self._small(work)]
        for work in sorted(rest, key=lambda w: -w.job.size):  # the longest first: no straggler at the end
            for future, handler in self._submit(work):
                futures[future] = handler
        total, finished = len(futures), 0
        queue = as_completed(list(futures), with_results=True, raise_errors=False)
        try:
            for future, result in queue:
                handler = futures.pop(future)
                finished += 1
                if future.status == "error":
                    result = self._error(future)
                for follow_up in handler(result) or ():
                    new, new_handler = follow_up
                    futures[new] = new_handler
                    queue.add(new)
                    total += 1
                if self.on_result is not None:
                    self.on_result(self.client, finished, total)
        except BaseException:
            self.client.cancel(list(futures))
            raise

    def _small(self, work: Work) -> bool:
        job = work.job
        return job.format == "text" and self.settings.separator is None and job.size <= SMALL_FILE

    def _group_done(self, group: list[Work], result) -> None:
        failed = isinstance(result, list) and result and isinstance(result[0], Outcome)  # the task raised
        for position, work in enumerate(group):
            self._finish(work, result if failed else result[position])

    def _key(self, kind: str, work: Work, index: int = 0) -> str:
        return f"cleaner-{kind}-{self.token}-{work.job.index}-{index}"

    def _submit(self, work: Work) -> list:
        job, submit = work.job, self.client.submit
        splits = self.settings.splits(job.format)
        if splits and job.compression is None and job.size > self.partition_size:
            count = -(-job.size // self.partition_size)
            self.pieces[job.index], self.missing[job.index] = [None] * count, count
            return [
                (submit(_clean_range_task, work, self.rules, self.settings, i, i * self.partition_size,
                        (i + 1) * self.partition_size, key=self._key("range", work, i), pure=False),
                 functools.partial(self._range_done, work, i))
                for i in range(count)
            ]
        if splits and job.compression is not None and job.size > self.block_size:
            future = submit(_clean_blocks_task, work, self.rules, self.settings, self.block_size,
                            key=self._key("blocks", work), pure=False)
        else:
            future = submit(_clean_file_task, work, self.rules, self.settings, key=self._key("file", work), pure=False)
        return [(future, functools.partial(self._finish, work))]

    def _error(self, future):
        """A task that raised: an output error stops the run; a worker that kept dying on it
        (Dask gives up after a few tries) or a bug fails that file and the run goes on."""
        error = future.exception()
        if isinstance(error, (OutputError, CleanerError)):  # a full disk, rules that differ
            raise CleanerError(error.message)
        kind = type(error).__name__
        if kind == "KilledWorker":
            return [Outcome("failed", message="the Dask workers running it died repeatedly")]
        return [Outcome("failed", message=f"internal error: {kind}: {error}")]

    def _range_done(self, work: Work, index: int, result) -> list:
        outcome = result[0] if isinstance(result, list) else result
        pieces = self.pieces[work.job.index]
        pieces[index] = outcome
        self.missing[work.job.index] -= 1
        if self.missing[work.job.index]:
            return []
        failed = next((i for i, piece in enumerate(pieces) if piece.status != "done"), None)
        if failed is not None:
            self._remove_parts(work)
            self._finish(work, pieces[: failed + 1])
            return []
        future = self.client.submit(_assemble_task, work, len(pieces), key=self._key("join", work), pure=False)
        return [(future, functools.partial(self._joined, work))]

    def _joined(self, work: Work, result) -> None:
        if isinstance(result, list):  # the join failed: the parts go, the file fails
            self._remove_parts(work)
            self._finish(work, result)
        else:
            self._finish(work, self.pieces.pop(work.job.index))

    def _remove_parts(self, work: Work) -> None:
        from fsspec.core import url_to_fs

        fs, parts = url_to_fs(_parts_dir(work.output))
        try:
            fs.rm(parts, recursive=True)
        except (OSError, FileNotFoundError):
            pass

    def _finish(self, work: Work, outcomes: list[Outcome]) -> None:
        """The pieces of one file, in order: absorbed as the local batch absorbs them (a file
        that fails keeps the removals of the pieces before the failing one)."""
        job, collector = work.job, self.collector
        total, base = Tally(), 0
        for index, outcome in enumerate(outcomes):
            if outcome.status != "done":
                message = outcome.message
                if outcome.line:
                    message = f"{job.source}:{base + outcome.line}: {message}"
                collector._fail(job, outcome.status, message, base + outcome.line if outcome.line else 0)
                return
            collector._absorb(job, outcome.tally, base, block_documents(job, outcome.tally, index == 0, total.documents))
            _add_tally(total, outcome.tally)
            base += outcome.lines
        collector._file_entry(job, "done", total)


def _output_dirs(works: list[Work]) -> list[str]:
    """The directories the outputs go to: where temporary files and parts can be left."""
    return sorted({work.output.rsplit("/", 1)[0] for work in works})


def _is_file(url: str) -> bool:
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url)
    return fs.isfile(path)


def _sweep(directories: list[str]) -> int:
    """Remove what a killed or failed task left in the output directories: temporary files and
    the parts of split files (a task that is still wanted writes them again)."""
    from fsspec.core import url_to_fs

    removed = 0
    for directory in directories:
        fs, path = url_to_fs(directory)
        try:
            entries = fs.ls(path, detail=True)
        except (OSError, FileNotFoundError):
            continue  # not made yet
        for entry in entries:
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            try:
                if entry["type"] == "directory" and name.startswith(".") and name.endswith(_PARTS):
                    fs.rm(entry["name"], recursive=True)
                elif entry["type"] == "file" and _TEMPORARY.match(name):
                    fs.rm(entry["name"])
                else:
                    continue
                removed += 1
            except (OSError, FileNotFoundError):
                pass
    return removed
