"""Batch throughput: `cleaner clean INPUT -o OUTDIR --workers N` over a directory tree of text files
and over one large JSONL.zst file, with 1 and 2 workers: MB/s and peak memory.

    python benchmarks/batch_bench.py --size 1GB                  # the issue's run: 1 GB of each
    python benchmarks/batch_bench.py --tree-size 10MB --jsonl-size 40MB --workdir /tmp   # a quick check
    python benchmarks/batch_bench.py --size 1GB -- --engine hyperscan     # after '--': cleaner options

Generated data, outputs, the per-run --report files and results.json go in
WORKDIR/cleaner-batch-bench/ (never the git tree); the corpora are made by batch_corpus.py on the
first run and reused while their sizes and seed stay the same. Each run is the command line as a
user runs it (shipped rules, --quiet) under /usr/bin/time -v (`apt-get install -y time`), writing
real output files, which are counted and checked after the run, then removed (--keep-outputs
keeps them).

Columns: MB in is uncompressed input bytes (from the run's --report), MB/s is that over wall-clock
seconds (start-up, about 1 s of CPU for loading the rules, included); out files and out MB are the
output files found after the run and their size on disk (compressed for .zst); CPU s is user +
system time of the whole process tree, and MB per CPU-second says more than MB/s on a shared
machine. max RSS is the largest resident set of any one process (time's "Maximum resident set
size"); tree PSS is the peak of the summed PSS of the process tree, sampled every 0.2 s (PSS shares
the pages the workers inherit from the parent, so the sum is the memory the run really holds); procs
is the most processes seen at once; load is the 1-minute load average before the run. A JSONL file
is split across workers only when it is larger than 4 MiB on disk (compressed), so give the JSONL
corpus at least about 40MB to see 2 workers share it.
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

from batch_corpus import DEFAULT_WORKDIR, JSONL, SUBDIRECTORY, TREE, data_directory, ensure_corpora

from cleaner.bench.corpus import parse_size

COLUMNS = [  # header, result key, format
    ("input", "input", "{}"), ("workers", "workers", "{}"), ("procs", "processes", "{}"),
    ("files", "files", "{}"), ("documents", "documents", "{}"), ("MB in", "mb_in", "{:.1f}"),
    ("out files", "output_files", "{}"), ("out MB", "output_mb_on_disk", "{:.1f}"),
    ("s", "seconds", "{:.1f}"), ("MB/s", "mb_per_s", "{:.2f}"), ("CPU s", "cpu_seconds", "{:.1f}"),
    ("MB/CPU s", "mb_per_cpu_s", "{:.2f}"), ("max RSS MB", "max_rss_mb", "{:.0f}"),
    ("tree PSS MB", "peak_pss_tree_mb", "{:.0f}"), ("load", "load_before", "{:.1f}"),
]


# -- memory of the process tree --

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
    """Peak summed PSS and process count of a process tree, until `stop`."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.peak_processes = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            tree = descendants(self.pid)[1:]  # without /usr/bin/time itself
            self.peak_kb = max(self.peak_kb, sum(pss_kb(p) for p in tree))
            self.peak_processes = max(self.peak_processes, len(tree))
            self.stopped.wait(0.2)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


# -- one run --

def timed(command: list[str]) -> tuple[float, str, Sampler]:
    """Run `command` under /usr/bin/time -v: wall-clock seconds, time's report, the memory sampler."""
    started = time.monotonic()
    process = subprocess.Popen(["/usr/bin/time", "-v", *command], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.monotonic() - started
    sampler.stop()
    if process.returncode != 0:
        cleaner_says = stderr.split("\tCommand being timed")[0]  # without time's statistics
        raise SystemExit(f"run failed ({process.returncode}): {' '.join(command)}\n{cleaner_says}")
    return seconds, stderr, sampler


def time_field(stderr: str, label: str) -> float:
    return float(re.search(rf"{re.escape(label)}: ([\d.]+)", stderr).group(1))


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def clean_command(source: Path | str, out: Path | str, report: Path | str, workers: int | str,
                  extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "cleaner", "clean", str(source), "-o", str(out), "--workers", str(workers),
            "--quiet", "--report", str(report), *extra]


def run_once(name: str, source: Path, workers: int, data: Path, extra: list[str], keep: bool) -> dict:
    out, report = data / f"out-{name}-{workers}w", data / f"report-{name}-{workers}w.json"
    shutil.rmtree(out, ignore_errors=True)
    load = os.getloadavg()[0]
    seconds, stderr, sampler = timed(clean_command(source, out, report, workers, extra))
    summary = json.loads(report.read_text())
    outputs = files_under(out)
    if len(outputs) != summary["files"]["total"]:
        raise SystemExit(f"{name}: {len(outputs)} output files for {summary['files']['total']} inputs in {out}")
    mb_in = summary["bytes_in"] / 1e6
    cpu = time_field(stderr, "User time (seconds)") + time_field(stderr, "System time (seconds)")
    row = {
        "input": name, "workers": workers, "processes": sampler.peak_processes,
        "files": summary["files"]["total"], "documents": summary["documents"], "mb_in": mb_in,
        "output_files": len(outputs), "output_mb_on_disk": sum(p.stat().st_size for p in outputs) / 1e6,
        "seconds": seconds, "mb_per_s": mb_in / seconds, "cpu_seconds": cpu, "mb_per_cpu_s": mb_in / cpu,
        "max_rss_mb": time_field(stderr, "Maximum resident set size (kbytes)") / 1024,
        "peak_pss_tree_mb": sampler.peak_kb / 1024, "removals": summary["removals"]["total"],
        "load_before": load,
    }
    if not keep:
        shutil.rmtree(out)
    return row


# -- the table --

# a markdown table, padded so that it also reads in a terminal and rows can print as runs finish
WIDTHS = [max(len(header), 5) for header, _, _ in COLUMNS]


def table_line(cells: list[str]) -> str:
    return "| " + " | ".join(cell.rjust(width) for cell, width in zip(cells, WIDTHS)) + " |"


def print_header() -> None:
    print(table_line([header for header, _, _ in COLUMNS]))
    print("|" + "|".join("-" * (width + 1) + ":" for width in WIDTHS) + "|", flush=True)


def print_row(row: dict) -> None:
    print(table_line([form.format(row[key]) for _, key, form in COLUMNS]), flush=True)


# -- main --

def check_space(data: Path, tree_size: int, jsonl_size: int) -> None:
    """Enough free space for the corpora and one run's output (a JSONL.zst takes about 1/9 of its
    uncompressed size on disk; 1/5 leaves room)."""
    needed = 2 * (tree_size + jsonl_size // 5)
    data.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(data).free
    if free < needed:
        raise SystemExit(f"{data} has {free / 1e9:.1f} GB free; this run needs about {needed / 1e9:.1f} GB")


def parse_arguments() -> tuple[argparse.Namespace, list[str]]:
    """Options for this script, and what follows '--' for cleaner itself."""
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     usage="%(prog)s [options] [-- CLEANER-OPTIONS]")
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"),
                        help="uncompressed size of each corpus, e.g. 20MB or 1GB (binary units; default 1GB)")
    parser.add_argument("--tree-size", type=parse_size, help="size of the directory tree (default: --size)")
    parser.add_argument("--jsonl-size", type=parse_size,
                        help="uncompressed size of the JSONL.zst file (default: --size)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"everything generated goes in WORKDIR/{SUBDIRECTORY}/ (default {DEFAULT_WORKDIR})")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (default 1 2)")
    parser.add_argument("--only", choices=["tree", "jsonl"], help="run one of the two corpora")
    parser.add_argument("--seed", type=int, default=11, help="of the generated corpora (default 11)")
    parser.add_argument("--keep-outputs", action="store_true", help="leave each run's OUTDIR in the work directory")
    return parser.parse_args(own), extra


def main() -> None:
    args, extra = parse_arguments()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs /usr/bin/time (apt-get install -y time)")
    data = data_directory(args.workdir)
    tree_size, jsonl_size = args.tree_size or args.size, args.jsonl_size or args.size
    check_space(data, tree_size, jsonl_size)
    ensure_corpora(data, tree_size, jsonl_size, args.seed)
    sources = {"tree": data / TREE, "jsonl": data / JSONL}
    if args.only:
        sources = {args.only: sources[args.only]}
    print(f"{os.cpu_count()} CPUs; each run: /usr/bin/time -v "
          f"{' '.join(clean_command('INPUT', 'OUTDIR', 'REPORT', 'N', extra))}")
    print_header()
    results, target = [], data / "results.json"
    for name, source in sources.items():
        for workers in args.workers:
            results.append(run_once(name, source, workers, data, extra, args.keep_outputs))
            print_row(results[-1])
            # after every run, so a long run that fails later still leaves what it measured
            target.write_text(json.dumps({"cpus": os.cpu_count(), "cleaner_options": extra, "results": results},
                                         indent=1))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
