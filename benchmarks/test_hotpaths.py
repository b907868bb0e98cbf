"""pytest-benchmark suite for the engine's hot paths (not part of the default test run):

    pytest benchmarks/test_hotpaths.py --benchmark-only

Each benchmark works on the same 4 MB slice of a generated corpus.
"""

import io

import pytest

from cleaner import Cleaner
from cleaner.bench.corpus import sample
from cleaner.normalize import normalize, scan_view
from cleaner.output import TidyWriter


@pytest.fixture(scope="module")
def chunk() -> bytes:
    return sample(4 << 20, seed=3)


@pytest.fixture(scope="module")
def cleaner() -> Cleaner:
    return Cleaner()


def test_scan_view(benchmark, chunk):
    benchmark(scan_view, chunk)


def test_scan_candidates(benchmark, chunk, cleaner):
    benchmark(cleaner.engine.matcher.scan, chunk)


def test_rule_confirmation(benchmark, chunk, cleaner):
    """Each hit line checked against its rules' text conditions (the remembered lines forgotten
    first, so that every round does the work)."""
    engine = cleaner.engine
    hits = [(chunk[c.start : c.end], c.starts) for c in engine.matcher.scan(chunk)]

    def confirm_all():
        engine._confirmed.clear()
        for raw, starts in hits:
            engine._confirm(raw, starts)

    benchmark(confirm_all)


def test_decisions(benchmark, chunk, cleaner):
    candidates = cleaner.engine.candidates(chunk)
    benchmark(cleaner.engine.decide, chunk, 0, True, 0, candidates)


def test_normalize_lines(benchmark, chunk):
    lines = chunk.decode().splitlines()[:20000]
    benchmark(lambda: [normalize(line) for line in lines])


def test_writing_kept_bytes(benchmark, chunk):
    def write_all():
        sink = io.BytesIO()
        TidyWriter(sink.write).kept(chunk, 0, len(chunk))

    benchmark(write_all)


def test_end_to_end(benchmark, chunk, cleaner):
    benchmark(cleaner.clean_bytes, chunk)
