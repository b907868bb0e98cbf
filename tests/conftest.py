import atexit
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest

from cleaner import Cleaner, load_rules

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "seeds"

# Compiled rule regexes go to a cache of the test run's own, not the user's (subprocesses inherit it).
if "CLEANER_CACHE_DIR" not in os.environ:
    os.environ["CLEANER_CACHE_DIR"] = tempfile.mkdtemp(prefix="cleaner-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CLEANER_CACHE_DIR"], ignore_errors=True)


def write_rules(tmp_path: Path, toml: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(toml), encoding="utf-8")
    return path


@pytest.fixture
def make_cleaner(tmp_path):
    """A Cleaner over rules written inline in a test, without the shipped library."""

    def make(toml: str) -> Cleaner:
        return Cleaner(rules=load_rules([write_rules(tmp_path, toml)]))

    return make


def seed_files() -> list[Path]:
    files = sorted(p for p in SEEDS.glob("*.txt") if not p.name.endswith(".clean.txt"))
    if not files:
        if os.environ.get("CLEANER_REQUIRE_SEEDS"):
            pytest.fail(f"seed fixtures missing: {SEEDS}")
        pytest.skip(f"seed fixtures not found beside the checkout ({SEEDS})")
    return files
