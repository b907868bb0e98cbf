"""The user's cache directory: pickles that save start-up time, and only that.

Kept in $CLEANER_CACHE_DIR, else $XDG_CACHE_HOME/cleaner, else ~/.cache/cleaner; an empty
CLEANER_CACHE_DIR turns every cache off. A missing, unreadable or unwritable cache, a damaged
file, or one that another user could have written (a pickle runs code when it loads) all mean
doing the work as before, without a message. Files are replaced in one rename, so a reader never
sees half a file.

What is kept: compiled rule regexes (`compiled`), the rules read from the rule files
(`rules.load_rules`), the scan's tables (`matcher.scan_tables`) and the Hyperscan database, each
keyed by everything it is made from, this package's own code included, so that a cached result
can never differ from a fresh one.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path

import numpy
import regex

PACKAGE = Path(__file__).resolve().parent


def folder() -> Path | None:
    """The cache directory, or None when caching is off."""
    chosen = os.environ.get("CLEANER_CACHE_DIR")
    if chosen is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        chosen = os.path.join(base, "cleaner")
    if not chosen or chosen.startswith("~"):  # off, or no home to expand
        return None
    return Path(chosen)


def load(path: Path | None):
    """What the pickle at `path` holds, or None (absent, unreadable, damaged, untrusted)."""
    if path is None:
        return None
    try:
        with open(path, "rb") as cached:
            if not _trusted(os.fstat(cached.fileno())):
                return None
            return pickle.load(cached)
    except Exception:  # absent, unreadable, truncated, or written by another version
        return None


def store(path: Path | None, value) -> None:
    """Write `value` to `path` as a pickle (mode 0600), in one rename; failures are silent."""
    if path is None:
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except Exception:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def prune(pattern: str, keep: int) -> None:
    """Delete all but the `keep` most recently written files matching `pattern`."""
    where = folder()
    if where is None:
        return
    with contextlib.suppress(OSError):
        found = sorted(where.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in found[keep:]:
            with contextlib.suppress(OSError):
                old.unlink()


@functools.cache
def code_fingerprint() -> bytes:
    """A digest of this package's source and the Python it runs on: any change to the code
    that turns rule files into rules and scans makes every cached result of it stale."""
    digest = hashlib.sha256(f"{sys.version} regex {regex.__version__} numpy {numpy.__version__}".encode())
    for source in sorted(PACKAGE.rglob("*.py")):
        with contextlib.suppress(OSError):
            digest.update(source.relative_to(PACKAGE).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.digest()


def memo(kind: str, key: bytes, make, keep: int = 8, valid=lambda value: True):
    """`make()`, or what an earlier run's `make()` gave for the same `kind` and `key` (and the
    same code). The `keep` newest results of a kind stay: every edit of a rule file adds one."""
    where = folder()
    digest = hashlib.sha256(code_fingerprint() + key).hexdigest()[:40]
    path = where / f"{kind}-{digest}.pickle" if where is not None else None
    found = load(path)
    if found is not None and valid(found):
        return found
    value = make()
    if path is not None:
        store(path, value)
        prune(f"{kind}-*.pickle", keep)
    return value


def _trusted(info: os.stat_result) -> bool:
    """A regular file of this user's that no one else may write."""
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISREG(info.st_mode) and mine and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
