"""The peer most corpora use today: one `re` alternation of the phrases, ignore-case, a loop
over lines that drops every line with a hit.

    python -m cleaner.bench.re_peer ANCHORS_FILE INPUT > OUTPUT
"""

import re
import sys


def main() -> None:
    anchors_file, source = sys.argv[1:3]
    with open(anchors_file, encoding="utf-8") as handle:
        phrases = [line.rstrip("\n") for line in handle if line.strip()]
    pattern = re.compile("|".join(re.escape(p) for p in phrases), re.IGNORECASE)
    out = sys.stdout
    out.reconfigure(errors="surrogateescape")
    with open(source, encoding="utf-8", errors="surrogateescape", newline="") as lines:
        for line in lines:
            if not pattern.search(line):
                out.write(line)


if __name__ == "__main__":
    main()
