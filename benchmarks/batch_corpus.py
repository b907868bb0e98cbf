"""Generate the corpora for benchmarks/batch_bench.py: a directory tree of plain-text articles and
one JSONL.zst dump, each of about --size uncompressed bytes (default 1 GB).

    python benchmarks/batch_corpus.py --size 1GB            # -> benchmarks/data/batch/{tree,corpus.jsonl.zst}

The prose and the noise come from the benchmark corpus generator (cleaner/bench/corpus.py:
news-like paragraphs, about 3% publisher-noise lines, some non-ASCII and CRLF). In the tree,
each file is one long article (several generated documents run together, about 20 KB), 1000
files to a directory; in the JSONL dump each record is one generated document with an id, a
title, a url and a date around its text. Both are deterministic for a given seed and size.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import zstandard

from cleaner.bench.corpus import Generator, parse_size

DATA = Path(__file__).resolve().parent / "data" / "batch"
FILES_PER_DIRECTORY = 1000


def article(generator: Generator, parts: int) -> str:
    lines: list[str] = []
    for _ in range(parts):
        document, _, _ = generator.document()
        lines.extend(document)
        lines.append("")
    return "\n".join(lines)


def make_tree(root: Path, size: int, seed: int) -> tuple[int, int]:
    generator = Generator(seed)
    written = files = 0
    while written < size:
        directory = root / f"part-{files // FILES_PER_DIRECTORY:04d}"
        if files % FILES_PER_DIRECTORY == 0:
            directory.mkdir(parents=True, exist_ok=True)
        data = article(generator, generator.random.randint(5, 11)).encode("utf-8")
        (directory / f"article-{files:07d}.txt").write_bytes(data)
        written += len(data)
        files += 1
    return files, written


def make_jsonl(path: Path, size: int, seed: int) -> tuple[int, int]:
    generator = Generator(seed + 1)
    written = records = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
        while written < size:
            lines, _, _ = generator.document()
            record = {
                "id": f"doc-{records:08d}",
                "url": f"https://news.example/{records % 97}/{records}",
                "title": lines[0],
                "text": "\n".join(lines) + "\n",
                "date": f"20{10 + records % 15:02d}-{1 + records % 12:02d}-{1 + records % 28:02d}",
            }
            line = (json.dumps(record, ensure_ascii=records % 2 == 0) + "\n").encode("utf-8")
            out.write(line)
            written += len(line)
            records += 1
    return records, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"), help="of each corpus (default 1GB)")
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.monotonic()
    files, tree_bytes = make_tree(args.out / "tree", args.size, args.seed)
    print(f"tree: {files} files, {tree_bytes / 1e6:.0f} MB ({time.monotonic() - started:.0f} s)")
    records, jsonl_bytes = make_jsonl(args.out / "corpus.jsonl.zst", args.size, args.seed)
    compressed = (args.out / "corpus.jsonl.zst").stat().st_size
    print(f"corpus.jsonl.zst: {records} records, {jsonl_bytes / 1e6:.0f} MB ({compressed / 1e6:.0f} MB compressed)")


if __name__ == "__main__":
    main()
