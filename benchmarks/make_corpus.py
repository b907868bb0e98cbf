"""Generate the benchmark corpus: see cleaner/bench/corpus.py (also `cleaner bench --size`)."""

from cleaner.bench.corpus import main

if __name__ == "__main__":
    main()
