"""Compiled rule regexes, kept between runs.

`regex` parses a pattern in Python: about 4 ms for one rule's alternation, 0.3 s for the rules a
corpus typically meets, paid again by every process (each run, each worker). A compiled `regex`
pattern pickles as its compiled code and loads in a small fraction of that, so patterns are
kept in one pickle per `regex` and Python version in the user's cache directory (see `cache`).
The cache only saves time: whatever goes wrong with it means compiling as before.
"""

from __future__ import annotations

import sys
from pathlib import Path

import regex

from . import cache

_Key = tuple[str, int]

# Every version of a rule file being edited adds a pattern; loading costs about 0.1 ms per pattern.
KEPT_PATTERNS = 1000

_known: dict[_Key, regex.Pattern] | None = None  # loaded on first use, inherited by forked workers
_added: dict[_Key, regex.Pattern] = {}  # compiled by this process since its last save


def pattern(source: str, flags: int) -> regex.Pattern:
    """`regex.compile(source, flags)`, from the cache when an earlier run compiled it."""
    global _known
    if _known is None:
        _known = _load(cache_file())
    key = (source, flags)
    found = _known.get(key)
    if found is None:
        found = _known[key] = _added[key] = regex.compile(source, flags)
    return found


def save() -> None:
    """Add the patterns this process compiled to the cache file (merged with what other
    processes added meanwhile); replaced in one rename, so a reader never sees half a file."""
    if not _added:  # the usual case: every pattern came from the cache
        return
    path = cache_file()
    if path is None:
        _added.clear()
        return
    merged = _load(path)
    for key in _added:  # newest last, so that trimming drops patterns no run has compiled lately
        merged.pop(key, None)
    merged.update(_added)
    merged = dict(list(merged.items())[-KEPT_PATTERNS:])
    _added.clear()  # also when the cache cannot be written: one try per pattern
    cache.store(path, merged)


def cache_file() -> Path | None:
    """Where compiled patterns are kept, or None when the cache is off."""
    folder = cache.folder()
    if folder is None:
        return None
    version = f"{regex.__version__}-py{sys.version_info.major}.{sys.version_info.minor}"
    return folder / f"regex-{version}.pickle"


def _load(path: Path | None) -> dict[_Key, regex.Pattern]:
    found = cache.load(path)
    if not isinstance(found, dict):
        return {}
    return {key: value for key, value in found.items() if isinstance(value, regex.Pattern)}
