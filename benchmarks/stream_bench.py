"""One large stream: `cleaner clean --workers N CORPUS > OUT` with 1 worker and with all cores.

    python benchmarks/stream_bench.py --size 1GB --data /tmp/benchdata
    python benchmarks/stream_bench.py --size 1GB --data /tmp/benchdata -- --doc-sep ''   # cleaner options after --

The corpus is the generated one of compare.py (made on the first run, reused after). The commands
run in --runs rounds, each round running every worker count once in turn, so that a noisy stretch
of a shared machine falls on all of them; each run is timed with a wall clock and, when GNU time is
installed (`bash benchmarks/setup.sh`), under `/usr/bin/time -v` for its peak RSS. Prints the
median MB/s with the slowest and fastest round, the ratio to 1 worker (paired round by round,
as in compare.py), the largest peak RSS, and checks that every worker count wrote the same bytes
(exit 1 if not).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cleaner.bench import as_installed
from cleaner.bench.compare import paired
from cleaner.bench.corpus import generate, parse_size

GNU_TIME = Path("/usr/bin/time")


def run_once(corpus: Path, workers: int, extra: list[str], output: Path) -> tuple[float, float | None]:
    """Seconds and peak RSS (MB, None without GNU time) of one run."""
    command = [sys.executable, "-m", "cleaner", "clean", "--workers", str(workers), *extra, str(corpus)]
    if GNU_TIME.exists():
        command = [str(GNU_TIME), "-v", *command]
    with open(output, "wb") as sink:
        start = time.perf_counter()
        result = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - start
    errors = result.stderr.decode(errors="replace")
    if result.returncode:
        raise SystemExit(f"cleaner with {workers} workers failed: {errors.strip().splitlines()[-1:]}")
    rss = [int(line.split(":")[1]) / 1024 for line in errors.splitlines() if "Maximum resident set size" in line]
    return seconds, (rss[0] if rss else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"))
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="the all-cores run")
    parser.add_argument("cleaner_options", nargs="*", help="after --: passed to every cleaner run")
    args = parser.parse_args(argv)

    as_installed()
    args.data.mkdir(parents=True, exist_ok=True)
    corpus = args.data / f"corpus-{args.size}.txt"
    if not corpus.exists():
        generate(corpus, args.size)
    size = corpus.stat().st_size
    counts = sorted({1, args.workers})
    seconds: dict[int, list[float]] = {n: [] for n in counts}
    peaks: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(args.runs):
        for workers in counts:
            took, rss = run_once(corpus, workers, args.cleaner_options, args.data / f"stream-out-{workers}.txt")
            seconds[workers].append(took)
            if rss is not None:
                peaks[workers].append(rss)
            print(f"  {workers} worker(s): {took:.1f} s", file=sys.stderr)

    options = shlex.join(args.cleaner_options) or "no options"
    print(f"corpus: {size / 1e6:.0f} MB ({options}), median of {args.runs} rounds, {os.cpu_count()} cores")
    print("| workers | s | MB/s | slowest-fastest round | vs 1 worker | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|")
    speeds = {str(workers): [1 / took for took in seconds[workers]] for workers in counts}
    for workers in counts:
        median = statistics.median(seconds[workers])
        spread = f"{size / max(seconds[workers]) / 1e6:.1f}-{size / min(seconds[workers]) / 1e6:.1f}"
        rss = f"{max(peaks[workers]):.0f} MB" if peaks[workers] else "n/a (no /usr/bin/time)"
        ratio = paired(speeds, str(workers), "1")
        print(f"| {workers} | {median:.1f} | {size / median / 1e6:.1f} | {spread} | {ratio:.2f}x | {rss} |")
    outputs = [args.data / f"stream-out-{n}.txt" for n in counts]
    same = all(filecmp.cmp(outputs[0], other, shallow=False) for other in outputs[1:])
    print("outputs: identical for every worker count" if same else "outputs: DIFFER between worker counts")
    for output in outputs:
        output.unlink()
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
