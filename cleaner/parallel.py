"""All cores on one input: worker processes run the scan, the caller decides and writes in order.

The scan (normalising a chunk and running the automaton) is most of the work and needs nothing
but the chunk, so it parallelises cleanly; the decisions need the order of the document and
stay in one process. Memory stays flat: at most a few chunks per worker are in flight.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import Iterable, Iterator

from .matcher import Candidate, Matcher

IN_FLIGHT_PER_WORKER = 2
_worker_matcher: Matcher | None = None


def scanned_chunks(matcher: Matcher, chunks: Iterable[bytes], workers: int = 1) -> Iterator[tuple[bytes, list[Candidate]]]:
    """Each chunk with the matcher's candidates for it, in input order.

    The pool starts only once the input has more than two chunks, so small inputs never pay
    for starting processes.
    """
    chunks = iter(chunks)
    head = list(islice(chunks, 2))
    if workers <= 1 or len(head) < 2:
        for chunk in head:
            yield chunk, matcher.scan(chunk)
        for chunk in chunks:
            yield chunk, matcher.scan(chunk)
        return
    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(matcher.rules, matcher.engine)) as pool:
        pending: deque = deque()
        for chunk in _chain(head, chunks):
            pending.append((chunk, pool.submit(_scan, chunk)))
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
    global _worker_matcher
    _worker_matcher = Matcher(rules, engine)  # built once per worker, not once per chunk


def _scan(chunk: bytes) -> list[Candidate]:
    return _worker_matcher.scan(chunk)
