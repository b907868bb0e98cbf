"""The Dask path against the local process pool, on the same generated corpus, on this machine.

    python benchmarks/dask_bench.py --size 48MB --workers 2

Writes a corpus of JSONL files (one of them large enough to be cut into byte ranges), text files
and a gzipped JSONL file, then cleans it into a fresh directory three ways and checks that all
outputs are byte for byte the same:

- local pool: the batch of `cleaner clean -o OUT --workers N` (processes started, rules built);
- dask cold:  `--scheduler local:N` (a LocalCluster started, rules built in each worker);
- dask warm:  a second run on the same cluster (workers up, rules already built).

Throughput is input MB (decompressed) per wall-clock second: the best and the median of --repeat
runs of the local pool and the warm cluster, taken in turns (one cold run).
Needs the extra: pip install '.[dask]'.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cleaner.batch import Batch, Settings, default_workers, plan
from cleaner.bench.corpus import Generator, parse_size
from cleaner.dask import RuleSpec, run_files


def make_corpus(root: Path, size: int, seed: int = 3) -> int:
    """About `size` bytes: 40% one big JSONL, 35% in 7 JSONL files, 15% text, 10% gzipped JSONL."""
    generator = Generator(seed)

    def document() -> str:
        return "\n".join(generator.document()[0]) + "\n"

    def jsonl(target: int) -> bytes:
        lines, total = [], 0
        while total < target:
            line = json.dumps({"id": f"d{len(lines)}", "text": document()}) + "\n"
            lines.append(line)
            total += len(line)
        return "".join(lines).encode("utf-8")

    (root / "crawl").mkdir(parents=True)
    (root / "crawl" / "big.jsonl").write_bytes(jsonl(int(size * 0.40)))
    for index in range(7):
        (root / "crawl" / f"part-{index}.jsonl").write_bytes(jsonl(int(size * 0.05)))
    (root / "text").mkdir()
    for index in range(3):
        (root / "text" / f"dump-{index}.txt").write_text(
            "\f\n".join(document() for _ in range(max(1, int(size * 0.05) // 2400))), encoding="utf-8"
        )
    (root / "crawl" / "archive.jsonl.gz").write_bytes(gzip.compress(jsonl(int(size * 0.10)), mtime=0))
    return sum(p.stat().st_size if not p.name.endswith(".gz") else len(gzip.decompress(p.read_bytes()))
               for p in root.rglob("*") if p.is_file())


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("48MB"))
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the corpus (default: a temp directory)")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    base = Path(tempfile.mkdtemp(prefix="dask-bench-", dir=args.dir))
    corpus = base / "corpus"
    total = make_corpus(corpus, args.size)
    spec = RuleSpec.of()
    rules = spec.cleaner().rules
    settings = Settings(separator=None)
    print(f"corpus: {total / 1e6:.1f} MB in {sum(1 for p in corpus.rglob('*') if p.is_file())} files, "
          f"{len(rules)} rules, {args.workers} workers, {os.cpu_count()} cores", flush=True)

    seconds: dict[str, list[float]] = {"local pool": [], "dask cold": [], "dask warm": []}
    trees: dict[str, Path] = {}

    def timed(name: str, run) -> None:
        out = base / f"out-{name.replace(' ', '-')}-{len(seconds[name])}"
        started = time.perf_counter()
        run(out)
        seconds[name].append(time.perf_counter() - started)
        trees[name] = out

    def local(out: Path) -> None:
        local_settings = Settings(**vars(settings))
        local_settings.root = os.path.realpath(out)
        Batch(plan([corpus], out), rules, local_settings, workers=args.workers).run()

    timed("dask cold", lambda out: run_files(f"local:{args.workers}", [corpus], out, spec, Settings(**vars(settings)),
                                             client_rules=rules))
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.run(lambda: spec.cleaner() and None)  # the workers build the rules once, before the clock
        for _ in range(args.repeat):  # interleaved, so that a busy moment of the machine hits both
            timed("local pool", local)
            timed("dask warm", lambda out: run_files(client, [corpus], out, spec, Settings(**vars(settings)),
                                                     client_rules=rules))
    for name, runs in seconds.items():
        best, median = min(runs), statistics.median(runs)
        print(f"{name:<11} best {best:6.2f} s = {total / 1e6 / best:6.2f} MB/s   "
              f"median {median:6.2f} s = {total / 1e6 / median:6.2f} MB/s   ({len(runs)} runs)", flush=True)

    reference = tree(trees["local pool"])
    same = all(tree(path) == reference for path in trees.values())
    print(f"outputs identical: {same}")
    shutil.rmtree(base, ignore_errors=True)
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
