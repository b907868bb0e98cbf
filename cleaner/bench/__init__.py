"""Benchmarks: the generated corpus, the peers, and the comparison (`cleaner bench`)."""

from __future__ import annotations

import compileall
from pathlib import Path


def as_installed() -> None:
    """Write the bytecode of cleaner's modules, as `pip install` does. Run from a checkout with
    PYTHONDONTWRITEBYTECODE set (some machines set it), every timed run would compile them
    anew: about 0.1 s of each start that an installed cleaner does not pay."""
    compileall.compile_dir(Path(__file__).parent.parent, quiet=2)  # an unwritable install has its bytecode already
