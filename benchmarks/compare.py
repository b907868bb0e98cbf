"""Benchmark cleaner against its peers: see cleaner/bench/compare.py (also `cleaner bench`)."""

from cleaner.bench.compare import main

if __name__ == "__main__":
    main()
