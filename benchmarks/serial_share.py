"""The ordered process's share of a multi-worker run: what caps one stream however many cores.

    python benchmarks/serial_share.py --size 200MB --data /tmp/benchdata [--workers 2] [--doc-sep '']

With several workers, one process still reads the input in order, cleans what no worker can
(one stream without separators; the documents that run across chunk boundaries), writes, and
receives the workers' results. Its CPU time per MB bounds the speed of one stream from above:
1000 / (ms per MB) MB/s on this machine, with any number of cores. This runs `Cleaner.clean_stream`
in this process (the rules built first, not counted) and prints that CPU time (all threads of the
process), the workers' CPU time, and the wall time, per MB, for --runs runs (median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from cleaner import Cleaner
from cleaner.bench.corpus import generate, parse_size
from cleaner.reader import separator_pattern


def run_once(cleaner: Cleaner, corpus: Path, workers: int, separator, output: Path) -> tuple[float, float, float]:
    """Seconds of wall time, of this process's CPU and of the workers' CPU."""
    before, start = os.times(), time.perf_counter()
    with open(corpus, "rb") as stream, open(output, "wb", buffering=1 << 20) as out:
        cleaner.clean_stream(stream, out.write, separator=separator, workers=workers)
    wall, after = time.perf_counter() - start, os.times()
    own = (after.user - before.user) + (after.system - before.system)
    workers_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, own, workers_cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("200MB"))
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--doc-sep", default="", help="the document separator line ('' = a blank line); "
                        "--no-doc-sep for one stream")
    parser.add_argument("--no-doc-sep", action="store_true")
    args = parser.parse_args(argv)

    args.data.mkdir(parents=True, exist_ok=True)
    corpus = args.data / f"corpus-{args.size}.txt"
    if not corpus.exists():
        generate(corpus, args.size)
    megabytes = corpus.stat().st_size / 1e6
    separator = None if args.no_doc_sep else separator_pattern(args.doc_sep)
    cleaner = Cleaner()
    runs = [run_once(cleaner, corpus, args.workers, separator, args.data / "serial-out.txt") for _ in range(args.runs)]
    wall, own, workers = (statistics.median(column) * 1000 / megabytes for column in zip(*runs))
    print(f"{megabytes:.0f} MB, {args.workers} workers, {'one stream' if separator is None else 'documents'}; "
          f"median of {args.runs} runs, ms per MB:")
    print(f"  wall {wall:.1f} ({1000 / wall:.1f} MB/s)")
    print(f"  the ordered process's CPU {own:.1f}: at most {1000 / own:.0f} MB/s for one stream on any number of cores")
    print(f"  the workers' CPU {workers:.1f}")


if __name__ == "__main__":
    main()
