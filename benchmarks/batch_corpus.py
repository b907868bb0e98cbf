"""Generate the corpora for benchmarks/batch_bench.py: a directory tree of plain-text articles and
one JSONL.zst dump, of about the given uncompressed sizes (binary units: 1GB = 1 GiB).

    python benchmarks/batch_corpus.py --size 1GB      # -> /tmp/cleaner-batch-bench/{tree,corpus.jsonl.zst}

batch_bench.py calls this itself; run it alone only to prepare the data ahead of time.
The prose and the noise come from the benchmark corpus generator (cleaner/bench/corpus.py:
news-like paragraphs, about 3% publisher-noise lines, some non-ASCII and CRLF). In the tree,
each file is one long article (several generated documents run together, about 20 KB), 1000
files to a directory; in the JSONL dump each record is one generated document with an id, a
title, a url and a date around its text. Both are deterministic for a given seed and size, and
`manifest.json` records what was made, so a second run with the same sizes reuses them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import zstandard

from cleaner.bench.corpus import Generator, parse_size

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = Path("/tmp")
SUBDIRECTORY = "cleaner-batch-bench"  # everything generated goes here, under the work directory
FILES_PER_DIRECTORY = 1000
TREE, JSONL, MANIFEST = "tree", "corpus.jsonl.zst", "manifest.json"


def article(generator: Generator, parts: int) -> str:
    lines: list[str] = []
    for _ in range(parts):
        document, _, _ = generator.document()
        lines.extend(document)
        lines.append("")
    return "\n".join(lines)


def make_tree(root: Path, size: int, seed: int) -> tuple[int, int]:
    shutil.rmtree(root, ignore_errors=True)  # files of an earlier, larger tree would be counted too
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


def jsonl_record(generator: Generator, number: int) -> bytes:
    lines, _, _ = generator.document()
    record = {
        "id": f"doc-{number:08d}",
        "url": f"https://news.example/{number % 97}/{number}",
        "title": lines[0],
        "text": "\n".join(lines) + "\n",
        "date": f"20{10 + number % 15:02d}-{1 + number % 12:02d}-{1 + number % 28:02d}",
    }
    # every other record \u-escaped, so both string styles of the JSONL writer are exercised
    return (json.dumps(record, ensure_ascii=number % 2 == 0) + "\n").encode("utf-8")


def make_jsonl(path: Path, size: int, seed: int) -> tuple[int, int]:
    generator = Generator(seed + 1)
    written = records = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
        while written < size:
            line = jsonl_record(generator, records)
            out.write(line)
            written += len(line)
            records += 1
    return records, written


def data_directory(workdir: Path) -> Path:
    """WORKDIR/cleaner-batch-bench, refused inside the repository: a gigabyte of generated files
    does not belong in the git tree."""
    data = (workdir / SUBDIRECTORY).resolve()
    if data.is_relative_to(REPOSITORY):
        raise SystemExit(f"refusing to generate data inside the repository ({data}): "
                         f"pick a --workdir outside {REPOSITORY}")
    return data


def ensure_corpora(data: Path, tree_size: int, jsonl_size: int, seed: int) -> dict:
    """Make (or reuse, when the manifest says they match) both corpora under `data`."""
    wanted = {"tree_size": tree_size, "jsonl_size": jsonl_size, "seed": seed}
    manifest_path = data / MANIFEST
    if manifest_path.exists() and (data / TREE).is_dir() and (data / JSONL).is_file():
        manifest = json.loads(manifest_path.read_text())
        if {key: manifest.get(key) for key in wanted} == wanted:
            print(f"reusing the corpora in {data}")
            return manifest
    manifest_path.unlink(missing_ok=True)  # until both are complete, nothing claims to be there
    data.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    files, tree_bytes = make_tree(data / TREE, tree_size, seed)
    print(f"made {data / TREE}: {files} files, {tree_bytes / 1e6:.0f} MB ({time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    records, jsonl_bytes = make_jsonl(data / JSONL, jsonl_size, seed)
    compressed = (data / JSONL).stat().st_size
    print(f"made {data / JSONL}: {records} records, {jsonl_bytes / 1e6:.0f} MB "
          f"({compressed / 1e6:.0f} MB compressed, {time.monotonic() - started:.0f} s)")
    manifest = {**wanted, "tree_files": files, "tree_bytes": tree_bytes, "jsonl_records": records,
                "jsonl_bytes": jsonl_bytes, "jsonl_compressed_bytes": compressed}
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"),
                        help="uncompressed size of each corpus, e.g. 20MB or 1GB (default 1GB)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"the data goes in WORKDIR/{SUBDIRECTORY}/ (default {DEFAULT_WORKDIR})")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    ensure_corpora(data_directory(args.workdir), args.size, args.size, args.seed)


if __name__ == "__main__":
    main()
