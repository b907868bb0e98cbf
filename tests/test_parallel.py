"""Worker processes and pipes change nothing in the output: a regular file (workers read their
chunks by offset), a pipe (chunks go through the pool) and one process all agree."""

import subprocess
import sys

import pytest

from cleaner import Cleaner
from cleaner.bench.corpus import sample

CLEANER = Cleaner()


@pytest.fixture(scope="module")
def data() -> bytes:
    return sample(3 << 20, seed=5)


@pytest.fixture(scope="module")
def expected(data) -> bytes:
    cleaned = CLEANER.clean_bytes(data)
    assert cleaned != data  # noise was removed: the comparisons below are not vacuous
    return cleaned


@pytest.mark.skipif(sys.platform == "win32", reason="workers fork")
def test_workers_reading_a_file_by_offset_give_the_one_process_output(tmp_path, data, expected):
    path = tmp_path / "in.txt"
    path.write_bytes(b"skipped header\n" + data)
    out = []
    with open(path, "rb") as stream:
        stream.readline()  # the workers must start where the stream stands, not at byte 0
        CLEANER.clean_stream(stream, out.append, chunk_size=256 << 10, workers=2)
    assert b"".join(out) == expected


@pytest.mark.parametrize("workers", [2, 3])
def test_documents_cleaned_by_the_workers_give_the_one_process_output_and_report(tmp_path, data, workers):
    """With separators, workers clean the documents wholly inside their chunks and hand back the
    output and the removals: the bytes, the audit (document numbers, lines) and the counts agree."""
    import io

    from cleaner import Report
    from cleaner.reader import separator_pattern

    def run(workers: int) -> tuple[bytes, str, dict]:
        out, audit = [], io.StringIO()
        report = Report(audit)
        with open(path, "rb") as stream:
            CLEANER.clean_stream(
                stream, out.append, name="in", separator=separator_pattern(""), chunk_size=64 << 10,
                report=report, workers=workers,
            )
        return b"".join(out), audit.getvalue(), dict(report.counts)

    path = tmp_path / "in.txt"
    path.write_bytes(data)
    one = run(1)
    assert one[0] != data and '"document": "in#2' in one[1]  # removals in numbered documents
    assert run(workers) == one


def test_a_pipe_fed_in_small_writes_gives_the_file_output(tmp_path, data, expected):
    """Another process writes 10 kB at a time, as a producer in a shell pipeline does."""
    source = tmp_path / "in.txt"
    source.write_bytes(data)
    writer = (
        "import sys\n"
        f"data = open({str(source)!r}, 'rb').read()\n"
        "for start in range(0, len(data), 10_000):\n"
        "    sys.stdout.buffer.write(data[start : start + 10_000]); sys.stdout.buffer.flush()\n"
    )
    producer = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE)
    out = []
    CLEANER.clean_stream(producer.stdout, out.append, chunk_size=1 << 20, workers=2)
    assert producer.wait() == 0
    assert b"".join(out) == expected


@pytest.mark.skipif(sys.platform == "win32", reason="workers fork")
def test_a_worker_that_dies_gives_a_one_line_error_naming_the_input(tmp_path, data):
    """A worker killed mid-run (the OOM killer, a signal) must not end in a traceback."""
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    driver = (
        "import os, sys\n"
        "from cleaner import engine, cli\n"
        "engine.Engine.candidates = lambda self, chunk: os._exit(9)  # each worker dies at its first chunk\n"
        f"sys.argv = ['cleaner', 'clean', '--workers', '2', '--chunk-size', '262144', {str(path)!r}]\n"
        "cli.main()\n"
    )
    run = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"cleaner: {path}: a worker process died unexpectedly (killed, or out of memory?); the output is incomplete"
    ]


def test_a_small_input_without_a_final_line_break_starts_no_workers(tmp_path, monkeypatch):
    """Its last line used to come out as a chunk of its own: two chunks, and a pool of processes
    started (some 30 ms) for a few kilobytes."""
    import io

    from cleaner import parallel
    from cleaner.reader import line_chunks

    text = b"Crowds gathered.\nAdvertisement\nThe vote is on Sunday."
    path = tmp_path / "in.txt"
    path.write_bytes(text)
    with open(path, "rb") as stream:
        assert list(line_chunks(stream)) == [text]
    assert list(line_chunks(io.BytesIO(text))) == [text]
    assert list(line_chunks(io.BytesIO(text), 20)) == [b"Crowds gathered.\n", b"Advertisement\n", b"The vote is on Sunday."]

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool started for a small input")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", no_pool)
    out = []
    with open(path, "rb") as stream:
        CLEANER.clean_stream(stream, out.append, workers=2)
    assert b"".join(out) == b"Crowds gathered.\nThe vote is on Sunday."
