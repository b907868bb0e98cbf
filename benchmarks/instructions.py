"""Instructions per MB of cleaning, counted by valgrind: a figure the machine's noise cannot move.

    python benchmarks/instructions.py [--size 4MB] [--data /tmp/benchdata]

On a shared VM two runs of the same command differ by 20-40% in time, which hides a change of a
few percent. Callgrind counts the instructions executed instead: the same code, input and hash
seed give the same count, whatever else the machine is doing. The script cleans the first
--size of the generated corpus in one process (`Cleaner.clean_stream`, `--doc-sep ''`, as
compare.py does), and its first 100 kB in another, both under `valgrind --tool=callgrind` with
PYTHONHASHSEED=0; the difference divided by the difference in size is the cleaning's work, with
start-up and the first loads (the regex cache) left out. Run it in two
checkouts to compare them (valgrind: `apt install valgrind`; a run takes a minute or two).
Instructions are not time: a cache miss costs more than an addition. Time is what compare.py
and stream_bench.py measure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cleaner.bench.corpus import generate, parse_size

HEAD = 100_000  # bytes cleaned by the baseline run
RUN = """
import io, sys
from cleaner import Cleaner
from cleaner.reader import separator_pattern
data = open(sys.argv[1], "rb").read()
Cleaner().clean_stream(io.BytesIO(data), lambda part: None, separator=separator_pattern(""))
"""


def instructions(sample: Path, folder: Path) -> int:
    """Instructions executed by cleaning `sample` in a new process."""
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder / 'callgrind.out'}",
               sys.executable, "-c", RUN, str(sample)]
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode:
        raise SystemExit(f"valgrind failed: {result.stderr.strip().splitlines()[-1:]}")
    found = re.search(r"Collected\s*:\s*([\d,]+)", result.stderr) or re.search(r"refs:\s*([\d,]+)", result.stderr)
    if found is None:
        raise SystemExit("no instruction count in valgrind's output")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("4MB"))
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt install valgrind)")

    args.data.mkdir(parents=True, exist_ok=True)
    corpus = args.data / "corpus-209715200.txt"
    if not corpus.exists():
        generate(corpus, parse_size("200MB"))
    with open(corpus, "rb") as source:
        text = source.read(args.size)
    text = text[: text.rfind(b"\n") + 1]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        head = text[: text.rfind(b"\n", 0, HEAD) + 1]
        (folder / "sample.txt").write_bytes(text)
        (folder / "head.txt").write_bytes(head)
        cleaning = instructions(folder / "sample.txt", folder) - instructions(folder / "head.txt", folder)
    megabytes = (len(text) - len(head)) / 1e6
    print(f"{cleaning / megabytes / 1e6:.1f} million instructions per MB ({megabytes:.1f} MB of the corpus, one process)")


if __name__ == "__main__":
    main()
