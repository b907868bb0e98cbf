"""Batch throughput: `cleaner clean DIR -o OUT` over a tree of text files and over one large
JSONL.zst file, with 1 and 2 workers: MB/s and peak memory.

    python benchmarks/batch_corpus.py --size 1GB        # once: benchmarks/data/batch/
    python benchmarks/batch_bench.py                     # runs, prints a table, writes results.json

Each run is the command line as a user runs it (shipped rules, --quiet), under /usr/bin/time -v
(install it with `apt-get install -y time`). MB/s is uncompressed input bytes (from the run's
--report) over wall-clock seconds. Memory: the largest resident set of any one process (time's
"Maximum resident set size") and the peak of the summed PSS of the whole process tree, sampled
every 0.2 s (PSS shares the pages the workers inherit from the parent, so the sum is the memory
the run really holds). On a shared machine, MB per CPU-second says more than MB/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "batch"


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.peak_processes = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            tree = descendants(self.pid)
            self.peak_kb = max(self.peak_kb, sum(pss_kb(p) for p in tree))
            self.peak_processes = max(self.peak_processes, len(tree))
            time.sleep(0.2)


def run_once(source: Path, workers: int, scratch: Path, extra: list[str]) -> dict:
    out = scratch / f"out-{source.name}-{workers}"
    report = scratch / f"report-{source.name}-{workers}.json"
    shutil.rmtree(out, ignore_errors=True)
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "cleaner", "clean", str(source), "-o", str(out),
               "--workers", str(workers), "--quiet", "--report", str(report), *extra]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.monotonic() - started
    sampler.running = False
    if process.returncode != 0:
        raise SystemExit(f"run failed ({process.returncode}): {' '.join(command)}\n{stderr}")
    max_rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", stderr).group(1)) for kind in ("User", "System"))
    summary = json.loads(report.read_text())
    on_disk = sum(p.stat().st_size for p in ([source] if source.is_file() else source.rglob("*")) if p.is_file())
    shutil.rmtree(out, ignore_errors=True)
    return {
        "input": source.name,
        "workers": workers,
        "files": summary["files"]["total"],
        "documents": summary["documents"],
        "mb_in": summary["bytes_in"] / 1e6,
        "mb_on_disk": on_disk / 1e6,
        "seconds": seconds,
        "mb_per_s": summary["bytes_in"] / 1e6 / seconds,
        "cpu_seconds": cpu,
        "mb_per_cpu_s": summary["bytes_in"] / 1e6 / cpu,
        "max_rss_mb": max_rss / 1024,
        "peak_pss_tree_mb": sampler.peak_kb / 1024,
        "removals": summary["removals"]["total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="where batch_corpus.py wrote tree/ and corpus.jsonl.zst")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", choices=["tree", "jsonl"], help="one of the two corpora")
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default: DATA/results.json)")
    args, extra = parser.parse_known_args()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs /usr/bin/time (apt-get install -y time)")
    sources = {"tree": args.data / "tree", "jsonl": args.data / "corpus.jsonl.zst"}
    if args.only:
        sources = {args.only: sources[args.only]}
    missing = [str(p) for p in sources.values() if not p.exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: run benchmarks/batch_corpus.py first")
    results = []
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'input':<18} {'workers':>7} {'files':>7} {'documents':>9} {'MB in':>8} {'s':>8} {'MB/s':>6} "
          f"{'CPU s':>8} {'MB/CPU s':>8} {'max RSS MB':>10} {'tree PSS MB':>11}")
    for name, source in sources.items():
        for workers in args.workers:
            row = run_once(source, workers, args.data, extra)
            results.append(row)
            print(f"{row['input']:<18} {workers:>7} {row['files']:>7} {row['documents']:>9} {row['mb_in']:>8.0f} "
                  f"{row['seconds']:>8.1f} {row['mb_per_s']:>6.2f} {row['cpu_seconds']:>8.1f} "
                  f"{row['mb_per_cpu_s']:>8.2f} {row['max_rss_mb']:>10.0f} "
                  f"{row['peak_pss_tree_mb']:>11.0f}", flush=True)
    target = args.out or args.data / "results.json"
    target.write_text(json.dumps({"cpus": os.cpu_count(), "load": os.getloadavg(), "results": results}, indent=1))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
