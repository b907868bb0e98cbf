"""All cores on one input: worker processes find each chunk's candidate lines, the caller
decides and writes in order.

Finding candidates (normalising a chunk, running the automaton, checking each hit line against
its rules' text conditions) is most of the work and needs nothing but the chunk, so it
parallelises cleanly; the decisions need the order of the document and stay in one process.
Memory stays flat: at most a few chunks per worker are in flight.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import Iterable, Iterator

from .engine import Engine
from .matcher import Candidate

IN_FLIGHT_PER_WORKER = 2
_worker_engine: Engine | None = None


def scanned_chunks(engine: Engine, chunks: Iterable[bytes], workers: int = 1) -> Iterator[tuple[bytes, list[Candidate]]]:
    """Each chunk with the engine's candidates for it, in input order.

    The pool starts only once the input has more than two chunks, so small inputs never pay
    for starting processes.
    """
    chunks = iter(chunks)
    head = list(islice(chunks, 2))
    if workers <= 1 or len(head) < 2:
        for chunk in head:
            yield chunk, engine.candidates(chunk)
        for chunk in chunks:
            yield chunk, engine.candidates(chunk)
        return
    global _worker_engine
    fork = "fork" in multiprocessing.get_all_start_methods()
    _worker_engine = engine if fork else None  # a forked worker inherits it, built and warm
    context = multiprocessing.get_context("fork") if fork else None
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(engine.rules, engine.matcher.engine)) as pool:
        pending: deque = deque()
        for chunk in _chain(head, chunks):
            pending.append((chunk, pool.submit(_candidates, chunk)))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                chunk, future = pending.popleft()
                yield chunk, future.result()
        while pending:
            chunk, future = pending.popleft()
            yield chunk, future.result()


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from head
    yield from rest


def _start(rules, engine: str) -> None:
    global _worker_engine
    if _worker_engine is None:
        _worker_engine = Engine(rules, engine)  # built once per worker, not once per chunk


def _candidates(chunk: bytes) -> list[Candidate]:
    return _worker_engine.candidates(chunk)
