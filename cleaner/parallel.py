"""A plain-text stream cleaned a chunk at a time (`clean_stream`, for standard output, the API
and each file or block of a batch), and all cores on one input: worker processes scan each
chunk and clean its complete documents, the caller cleans what is left and writes in order.

Finding candidates (normalising a chunk, running the automaton, checking each hit line against
its rules' text conditions) is most of the work and needs nothing but the chunk, so it
parallelises cleanly. So does cleaning the documents that lie wholly between two separator
lines of the chunk: a worker hands back their output (see `documents`). The rest (one stream
without separators, and the documents that run across chunk boundaries) needs the order of the
document and stays in one process, which would otherwise cap the speed however many cores work.
Memory stays flat: at most a few chunks per worker are in flight. When the input is a plain
file, a worker reads its chunk from the file itself (by offset), so chunks are not copied
through a pipe.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import BinaryIO, Iterable, Iterator

from .documents import Cleaned, Documents, Record, clean_chunk, scan_chunk
from .engine import Engine
from .errors import CleanerError
from .output import Write
from .reader import CHUNK_SIZE, SeparatorLines, is_regular_file, line_chunks

IN_FLIGHT_PER_WORKER = 2
_worker_engine: Engine | None = None
_worker_file: int | None = None  # the input's descriptor, inherited by forked workers
_worker_task: tuple[SeparatorLines | None, bool] = (None, False)  # the separator; whether removals are recorded


def clean_stream(
    engine: Engine,
    stream: BinaryIO,
    write: Write,
    record: Record | None = None,
    separator: SeparatorLines | None = None,
    chunk_size: int = CHUNK_SIZE,
    workers: int = 1,
) -> int:
    """Clean a text stream into `write`: one document, or several between `separator` lines,
    which pass through. The stream is scanned a chunk at a time, however many documents a chunk
    holds: a scan has a fixed cost that one short article would pay on its own. `record(number,
    removal, removed)` hears of each removal, with the document's number from 1. Returns the
    number of documents."""
    documents = Documents(engine, write, record)
    chunks = line_chunks(stream, chunk_size)
    for chunk, found in scanned_chunks(engine, chunks, workers, stream, separator, record is not None):
        if separator is None:
            documents.feed(chunk, found.candidates, 0, 0)
        else:
            documents.take(chunk, found)
    documents.finish()
    return documents.count


def scanned_chunks(
    engine: Engine,
    chunks: Iterable[bytes],
    workers: int = 1,
    stream: BinaryIO | None = None,
    separator: SeparatorLines | None = None,
    recording: bool = False,
) -> Iterator[tuple[bytes, Cleaned]]:
    """Each chunk with what was found (and, by workers, cleaned) in it, in input order. `stream`
    is where the chunks come from, read from its current position on; `recording` asks workers
    to hand back the removals they made.

    The pool starts only once the input has two chunks or more, so small inputs never pay
    for starting processes.
    """
    source = _plain_file(stream)
    offset = stream.tell() if source is not None else 0
    chunks = iter(chunks)
    head = list(islice(chunks, 2))
    if workers <= 1 or len(head) < 2:
        for chunk in _chain(head, chunks):
            yield chunk, scan_chunk(engine, chunk, separator)
        return
    global _worker_engine, _worker_file
    fork = "fork" in multiprocessing.get_all_start_methods()
    _worker_engine = engine if fork else None  # a forked worker inherits it, built and warm
    _worker_file = source if fork else None
    context = multiprocessing.get_context("fork") if fork else None
    start = (engine.rules, engine.matcher.engine, (separator, recording))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=start) as pool:
        pending: deque = deque()
        for chunk in _chain(head, chunks):
            if _worker_file is not None:
                pending.append((chunk, pool.submit(_clean_at, offset, len(chunk))))
            else:
                pending.append((chunk, pool.submit(_clean, chunk)))
            offset += len(chunk)
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                chunk, future = pending.popleft()
                yield chunk, _result(future)
        while pending:
            chunk, future = pending.popleft()
            yield chunk, _result(future)


class WorkerDied(CleanerError):
    """A worker process ended without an answer: killed by a signal, or out of memory."""

    MESSAGE = "a worker process died unexpectedly (killed, or out of memory?); the output is incomplete"


def _result(future: Future) -> Cleaned:
    try:
        return future.result()
    except BrokenProcessPool:
        raise WorkerDied(WorkerDied.MESSAGE) from None


def _plain_file(stream: BinaryIO | None) -> int | None:
    """The descriptor of a stream that reads a regular file as it is (not decompressed)."""
    if not isinstance(stream, io.BufferedReader) or not isinstance(stream.raw, io.FileIO) or stream.closed:
        return None
    return stream.fileno() if is_regular_file(stream.fileno()) else None


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from head
    yield from rest


def _start(rules, engine: str, task: tuple[SeparatorLines | None, bool]) -> None:
    global _worker_engine, _worker_task
    if _worker_engine is None:
        _worker_engine = Engine(rules, engine)  # built once per worker, not once per chunk
    _worker_task = task


def _clean(chunk: bytes) -> Cleaned:
    return clean_chunk(_worker_engine, chunk, *_worker_task)


def _clean_at(offset: int, length: int) -> Cleaned:
    parts, size = [], 0
    while size < length:
        part = os.pread(_worker_file, length - size, offset + size)
        if not part:
            raise OSError(f"the input changed while it was read (short read at byte {offset + size})")
        parts.append(part)
        size += len(part)
    return _clean(b"".join(parts) if len(parts) > 1 else parts[0])
