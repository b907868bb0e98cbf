"""Compiled rule regexes, kept between runs.

`regex` parses a pattern in Python: about 4 ms for one rule's alternation, 0.3 s for the rules a
corpus typically meets, paid again by every process (each run, each worker). A compiled `regex`
pattern pickles as its compiled code and loads in a small fraction of that, so patterns are
kept in one pickle per `regex` and Python version in the user's cache directory:
$CLEANER_CACHE_DIR, else $XDG_CACHE_HOME/cleaner, else ~/.cache/cleaner. An empty
CLEANER_CACHE_DIR turns the cache off.

The cache only saves time. A missing, unreadable or unwritable cache, a file from another
version, or one that another user could have written (a pickle runs code when loaded) all mean
compiling as before, without a message.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path

import regex

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
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".regex-")  # mode 0600
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as out:
            pickle.dump(merged, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except Exception:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def cache_file() -> Path | None:
    """Where compiled patterns are kept, or None when the cache is off."""
    folder = os.environ.get("CLEANER_CACHE_DIR")
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "cleaner")
    if not folder or folder.startswith("~"):  # off, or no home to expand
        return None
    version = f"{regex.__version__}-py{sys.version_info.major}.{sys.version_info.minor}"
    return Path(folder) / f"regex-{version}.pickle"


def _load(path: Path | None) -> dict[_Key, regex.Pattern]:
    if path is None:
        return {}
    try:
        with open(path, "rb") as cached:
            if not _trusted(os.fstat(cached.fileno())):
                return {}
            found = pickle.load(cached)
    except Exception:  # absent, unreadable, truncated, or written by another version
        return {}
    if not isinstance(found, dict):
        return {}
    return {key: value for key, value in found.items() if isinstance(value, regex.Pattern)}


def _trusted(info: os.stat_result) -> bool:
    """A regular file of this user's that no one else may write."""
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISREG(info.st_mode) and mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
