"""Cleaning a corpus: mirrored trees, refusals, atomic outputs, resume after a kill, the report."""

import errno
import gzip
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cleaner import batch as batch_module
from cleaner.batch import BLOCK_SIZE, AtomicOutput, Batch, Settings, plan
from cleaner.errors import CleanerError
from cleaner.formats import compress, open_input
from cleaner.reader import separator_pattern
from cleaner.rules import load_rules

RULES = """
[[rule]]
code = "TST001"
category = "ads"
description = "Advertisement label"
kind = "line"
anchors = ["advertisement"]
whole_line = true
examples = ["Advertisement"]

[[rule]]
code = "TST002"
category = "comments"
description = "Comment section"
kind = "tail"
anchors = ["join the conversation"]
max_lines = 3
max_len = 40
examples = ["Join the conversation\\n3 comments"]
"""

ARTICLE = "Title {n}\n\nAdvertisement\n\nThe council met on day {n}. Résumé of the “debate”.\nJoin the conversation\n4 comments\n"
CLEANED = "Title {n}\n\nThe council met on day {n}. Résumé of the “debate”.\n"
TEMPORARY = re.compile(r"^\..+\.cleaner-\d+-[0-9a-f]+\.tmp$")
SUFFIX = {None: "", "gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}


@pytest.fixture(scope="module")
def rules_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "test-rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rules(rules_path):
    return load_rules([rules_path])


def run_batch(inputs, out, rules, *, workers=1, resume=False, block_size=BLOCK_SIZE, audit=None, **options):
    plan_options = {k: options.pop(k) for k in ("include", "exclude", "format") if k in options}
    jobs = plan([Path(p) for p in inputs], Path(out), **plan_options)
    settings = Settings(root=os.path.realpath(out), explain=audit is not None, **options)
    messages = []
    runner = Batch(jobs, rules, settings, workers=workers, resume=resume, block_size=block_size, audit=audit, say=messages.append)
    summary = runner.run()
    summary.messages = messages
    return summary


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def decompressed(path: Path) -> bytes:
    with open_input(path, binary_check=False) as stream:
        return stream.read()


def articles(count: int, start: int = 0) -> list[str]:
    return [ARTICLE.format(n=n) for n in range(start, start + count)]


def write_formats(directory: Path, documents: list[str], compression=None, name="corpus") -> None:
    """The same documents as a JSONL file, a Multi-News file and a directory of text files."""
    suffix = SUFFIX[compression]
    directory.mkdir(parents=True, exist_ok=True)
    jsonl = "".join(json.dumps({"id": f"doc-{i}", "text": d, "lang": "en"}) + "\n" for i, d in enumerate(documents))
    (directory / f"{name}.jsonl{suffix}").write_bytes(compress(jsonl.encode(), compression))
    multinews = "".join(
        " ||||| ".join(d.replace("\n", "NEWLINE_CHAR") for d in documents[i : i + 3]) + "\n"
        for i in range(0, len(documents), 3)
    )
    (directory / f"{name}.src{suffix}").write_bytes(compress(multinews.encode(), compression))
    texts = directory / f"{name}-texts"
    texts.mkdir(exist_ok=True)
    for i, d in enumerate(documents):
        (texts / f"{i:04d}.txt{suffix}").write_bytes(compress(d.encode(), compression))


def documents_in(directory: Path, compression=None, name="corpus") -> dict[str, list[str]]:
    suffix = SUFFIX[compression]
    jsonl = [json.loads(line)["text"] for line in decompressed(directory / f"{name}.jsonl{suffix}").decode().splitlines()]
    multinews = [
        story.replace("NEWLINE_CHAR", "\n")
        for line in decompressed(directory / f"{name}.src{suffix}").decode().splitlines()
        for story in line.split(" ||||| ")
    ]
    texts = [decompressed(p).decode() for p in sorted((directory / f"{name}-texts").iterdir())]
    return {"jsonl": jsonl, "multinews": multinews, "text": texts}


# --- formats, compression, mirroring ------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "gzip", "bz2", "xz", "zstd"])
def test_every_format_and_compression_cleans_the_same_and_mirrors_the_tree(compression, rules, tmp_path):
    documents = articles(12)
    write_formats(tmp_path / "in" / "nested", documents, compression)
    summary = run_batch([tmp_path / "in"], tmp_path / "out", rules, workers=2)
    assert summary.exit_code == 0
    expected = [CLEANED.format(n=n) for n in range(12)]
    found = documents_in(tmp_path / "out" / "nested", compression)
    assert found == {"jsonl": expected, "multinews": expected, "text": expected}
    assert sorted(files_under(tmp_path / "out")) == sorted(files_under(tmp_path / "in"))
    report = summary.as_dict()
    assert report["documents"] == 36 and report["files"]["cleaned"] == 14
    assert report["removals"]["by_rule"]["TST001"]["count"] == 36
    assert report["removals"]["by_category"]["comments"]["count"] == 36


@pytest.mark.parametrize("compression", [None, "gzip", "bz2", "xz", "zstd"])
def test_round_trip_without_hits_is_byte_identical(compression, rules, tmp_path):
    documents = [d.replace("Advertisement", "Advertising works").replace("Join the conversation", "Join us")
                 for d in articles(30)]
    write_formats(tmp_path / "in", documents, compression)
    (tmp_path / "in" / "odd.jsonl").write_bytes(b'{ "text" : "caf\\u00e9 \\/" ,"n":1}\r\n\n{"text": "x"}')
    for block_size in (BLOCK_SIZE, 300):  # whole files, then files cut into many blocks
        out = tmp_path / f"out-{block_size}"
        run_batch([tmp_path / "in"], out, rules, workers=2, block_size=block_size)
        inputs = files_under(tmp_path / "in")
        outputs = files_under(out)
        assert outputs.keys() == inputs.keys()
        for name in inputs:
            assert decompressed(out / name) == decompressed(tmp_path / "in" / name), name


def test_split_files_come_out_in_order_with_the_right_line_numbers(rules, tmp_path):
    documents = articles(150)
    for compression in (None, "zstd", "gzip"):
        write_formats(tmp_path / "in", documents, compression, name=f"c-{compression}")
    audits = {}
    for block_size, workers in ((BLOCK_SIZE, 1), (2000, 2)):
        out = tmp_path / f"out-{block_size}"
        with open(tmp_path / f"audit-{block_size}.jsonl", "w") as audit:
            run_batch([tmp_path / "in"], out, rules, workers=workers, block_size=block_size, audit=audit, id_field="id")
        audits[block_size] = sorted(Path(audit.name).read_text().splitlines())
    whole, split = tmp_path / f"out-{BLOCK_SIZE}", tmp_path / "out-2000"
    for name, data in files_under(whole).items():
        assert decompressed(split / name) == decompressed(whole / name), name
    assert audits[BLOCK_SIZE] == audits[2000]
    labels = {json.loads(line)["document"] for line in audits[2000]}
    assert "doc-149" in labels and any(label.endswith("c-None.src:34#1") for label in labels)


@pytest.mark.parametrize("doc_sep, doc_sep_regex", [("\\f", None), (None, r"=+ \d+ =+")])
def test_separated_text_is_split_into_whole_documents(doc_sep, doc_sep_regex, rules, tmp_path, monkeypatch):
    """A large plain-text file of documents between separator lines is cleaned in blocks that
    end after a separator line: output, audit (documents by number) and report are those of
    the file cleaned whole. A tail rule shows a document cut in two."""
    separator = separator_pattern(doc_sep, doc_sep_regex)
    marks = ["\f\n" if doc_sep else f"=== {n} ===\n" for n in range(150)]
    data = "".join(ARTICLE.format(n=n) + marks[n] for n in range(150)) + ARTICLE.format(n=150)
    (tmp_path / "in").mkdir()
    for compression in (None, "gzip"):
        (tmp_path / "in" / f"dump.txt{SUFFIX[compression]}").write_bytes(compress(data.encode(), compression))
    results = {}
    blocks = []
    clean_block = batch_module._clean_block
    for block_size, workers in ((BLOCK_SIZE, 1), (300, 1), (300, 2)):
        out = tmp_path / f"out-{block_size}-{workers}"
        with monkeypatch.context() as patch, open(tmp_path / f"audit-{block_size}-{workers}.jsonl", "w") as audit:
            if workers == 1:  # counted in this process
                patch.setattr(batch_module, "_clean_block", lambda *args: blocks.append(args) or clean_block(*args))
            summary = run_batch([tmp_path / "in"], out, rules, workers=workers, block_size=block_size, audit=audit,
                                separator=separator)
        assert summary.exit_code == 0
        outputs = {name: decompressed(out / name) for name in files_under(out)}  # gzip: one member per block
        results[block_size, workers] = (outputs, sorted(Path(audit.name).read_text().splitlines()),
                                        summary.as_dict()["documents"])
    assert len(blocks) > 40 and len({job.source for job, *_ in blocks}) == 2  # both files went in blocks
    assert results[300, 1] == results[300, 2] == results[BLOCK_SIZE, 1]
    outputs, audit, documents = results[300, 2]
    expected = "".join(CLEANED.format(n=n) + marks[n] for n in range(150)) + CLEANED.format(n=150)
    assert outputs["dump.txt.gz"].decode() == expected
    assert documents == 2 * 151
    labels = [json.loads(line)["document"] for line in audit]
    assert labels.count(str(tmp_path / "in" / "dump.txt") + "#151") == 2  # the label and the tail


def test_blocks_of_separated_text_end_after_a_separator_line(tmp_path):
    separator = separator_pattern("")
    data = b"".join(b"Line %d of a story.\n" % n + (b"\n" if n % 7 == 6 else b"") for n in range(400))
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        ranges = [span for span, _ in batch_module._ranges(handle, len(data), 100, separator)]
        handle.seek(0)
        blocks = [block for block, _ in batch_module._decompressed_blocks(handle, None, 100, separator)]
    assert [data[a:b] for a, b in ranges] == blocks and b"".join(blocks) == data and len(blocks) > 10
    assert all(block.endswith(b"\n\n") for block in blocks[:-1])


def test_a_byte_order_mark_is_the_files_own_however_the_file_is_split(rules, tmp_path):
    """Before a later record (files joined with `cat`), a mark makes that record malformed: kept
    as it is under --on-error keep, whether or not a block of the split file starts there."""
    lines = [json.dumps({"id": i, "text": f"Story {i}.\nAdvertisement\n"}).encode() for i in range(80)]
    data = b"\xef\xbb\xbf" + b"\n".join(b"\xef\xbb\xbf" + line if i % 4 == 3 else line for i, line in enumerate(lines))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "joined.jsonl").write_bytes(data + b"\n")
    outputs = {}
    for block_size in (BLOCK_SIZE, 200):
        run_batch([tmp_path / "in"], tmp_path / f"out-{block_size}", rules, workers=2, block_size=block_size,
                  on_error="keep")
        outputs[block_size] = (tmp_path / f"out-{block_size}" / "joined.jsonl").read_bytes()
    assert outputs[200] == outputs[BLOCK_SIZE]
    assert outputs[200].count(b"\xef\xbb\xbf") == 21 and outputs[200].count(b"Advertisement") == 20


def test_small_files_cleaned_together_come_out_as_when_cleaned_alone(rules, tmp_path, monkeypatch):
    for n, text in enumerate(articles(40) + ["", "no line break", "Advertisement", "Join the conversation\n"]):
        (tmp_path / "in" / f"d{n % 3}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / f"d{n % 3}" / f"{n}.txt").write_text(text)
    big = "".join(articles(20)) + "An ordinary line of the article.\n" * 10000 + "".join(articles(20))
    (tmp_path / "in" / "d0" / "big.txt").write_text(big)  # not small: cleaned alone
    run_batch([tmp_path / "in"], tmp_path / "together", rules, workers=2)
    monkeypatch.setattr(batch_module, "SMALL_FILE", -1)
    run_batch([tmp_path / "in"], tmp_path / "alone", rules, workers=2)
    assert files_under(tmp_path / "together") == files_under(tmp_path / "alone")
    assert (tmp_path / "together" / "d1" / "43.txt").read_text() == ""


def test_include_and_exclude(rules, tmp_path):
    source = tmp_path / "in"
    for name in ["a.txt", "b.jsonl", "drafts/c.txt", "sub/d.txt", "sub/e.txt.gz", ".hidden.txt", "sub/drafts/f.txt"]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"text": "x"}) if name.endswith(".jsonl") else "x\n"
        (source / name).write_bytes(gzip.compress(data.encode()) if name.endswith(".gz") else data.encode())
    run_batch([source], tmp_path / "out", rules, include=["*.txt", "*.txt.gz"], exclude=["drafts"])
    assert sorted(files_under(tmp_path / "out")) == ["a.txt", "sub/d.txt", "sub/e.txt.gz"]
    run_batch([source], tmp_path / "out2", rules, exclude=["sub/*.gz", "*.jsonl"])
    assert sorted(files_under(tmp_path / "out2")) == ["a.txt", "drafts/c.txt", "sub/d.txt", "sub/drafts/f.txt"]


def test_format_option_overrides_the_extension(rules, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "records.txt").write_text(json.dumps({"body": ARTICLE.format(n=1)}) + "\n")
    run_batch([tmp_path / "in"], tmp_path / "out", rules, format="jsonl", field="body")
    assert json.loads((tmp_path / "out" / "records.txt").read_text()) == {"body": CLEANED.format(n=1)}


# --- refusals -----------------------------------------------------------------------------


def test_refusals_before_anything_is_written(tmp_path):
    source = tmp_path / "in"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("A.\n")
    (source / "sub" / "a.txt").write_text("A.\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    def refused(inputs, out, pattern):
        with pytest.raises(CleanerError, match=pattern) as error:
            plan([Path(p) for p in inputs], Path(out))
        assert error.value.exit_code == 2

    refused([source], source / "clean", "output directory .* is inside the input")
    refused([source], source, "output directory .* is inside the input")
    refused([source / "sub"], source, "input .* is inside the output directory")
    refused([source / "a.txt"], source, "refusing to overwrite the input")
    refused([source, source / "sub"], tmp_path / "o", "would both be written to")
    refused([tmp_path / "missing"], tmp_path / "o", "No such file or directory")
    # an output directory whose subdirectory is a link out of it
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(outside, target_is_directory=True)
    refused([source], out, "would leave the output directory through the link")
    # an input (a link inside the input tree) that resolves into the output directory
    linked = tmp_path / "in2"
    linked.mkdir()
    (tmp_path / "out2").mkdir()
    (tmp_path / "out2" / "x.txt").write_text("X\n")
    (linked / "x.txt").symlink_to(tmp_path / "out2" / "x.txt")
    refused([linked], tmp_path / "out2", "resolves into the output directory")
    assert list(outside.iterdir()) == [] and not (source / "clean").exists()


def test_cli_refusal_is_one_line_and_exit_2(rules_path, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("A.\n")
    result = cli("clean", "in", "-o", "in/clean", "--rules", str(rules_path), "--select", "TST", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1 and "inside the input" in result.stderr.decode()
    assert not (tmp_path / "in" / "clean").exists()


# --- nothing lost, nothing half-written ---------------------------------------------------


def test_malformed_jsonl_stops_that_file_or_is_skipped_or_kept(rules, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    good = "".join(json.dumps({"text": a}) + "\n" for a in articles(50))
    (source / "bad.jsonl").write_text(good + '{"text": oops}\n' + good)
    (source / "fine.jsonl").write_text(good)
    for block_size in (BLOCK_SIZE, 1000):
        out = tmp_path / f"stop-{block_size}"
        summary = run_batch([source], out, rules, workers=2, block_size=block_size)
        assert summary.exit_code == 1
        assert sorted(files_under(out)) == ["fine.jsonl"]  # no output, no temporary for bad.jsonl
        assert any(m.startswith(f"{source / 'bad.jsonl'}:51: invalid JSON") for m in summary.messages)
        assert summary.as_dict()["errors"][0]["line"] == 51
    for policy, lines in (("skip", 100), ("keep", 101)):
        summary = run_batch([source], tmp_path / policy, rules, on_error=policy, block_size=1000, workers=2)
        assert summary.exit_code == 0
        assert len((tmp_path / policy / "bad.jsonl").read_text().splitlines()) == lines
        report = summary.as_dict()
        assert report["records"]["malformed_skipped" if policy == "skip" else "malformed_kept"] == 1
        assert report["errors"] == [
            {"path": str(source / "bad.jsonl"), "line": 51, "message": "invalid JSON: Expecting value (column 10)",
             "action": f"{'skipped' if policy == 'skip' else 'kept'} record"}
        ]


def test_binary_and_corrupt_inputs(rules, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.txt").write_text(ARTICLE.format(n=1))
    (source / "image.txt").write_bytes(b"GIF89a\x00\x00")
    blob = gzip.compress(("\n".join(articles(2000))).encode())
    (source / "cut.txt.gz").write_bytes(blob[: len(blob) // 2])
    blob = gzip.compress(b"".join(b'{"text": "record %d"}\n' % n for n in range(100000)))
    (source / "cut.jsonl.gz").write_bytes(blob[: len(blob) // 2])
    summary = run_batch([source], tmp_path / "out", rules, block_size=1000, workers=2)
    assert summary.exit_code == 1
    assert sorted(files_under(tmp_path / "out")) == ["a.txt"]
    messages = "\n".join(summary.messages)
    assert "image.txt: binary file (NUL bytes), skipped" in messages
    assert "cut.txt.gz: corrupt or truncated gzip data" in messages
    assert "cut.jsonl.gz: corrupt or truncated gzip data" in messages
    statuses = {f["input"].rsplit("/", 1)[-1]: f["status"] for f in summary.files}
    assert statuses == {"a.txt": "done", "image.txt": "binary", "cut.txt.gz": "failed", "cut.jsonl.gz": "failed"}


@pytest.mark.parametrize("block_size", [BLOCK_SIZE, 500])
def test_full_disk_stops_the_run_with_one_message_and_no_partial_files(rules, tmp_path, monkeypatch, block_size):
    source = tmp_path / "in"
    write_formats(source, articles(20))
    expected = files_under(run_batch([source], tmp_path / "reference", rules) and tmp_path / "reference")
    calls = []

    def write(self, data):
        calls.append(1)
        if len(calls) > 3:
            raise batch_module.OutputError(f"{self.path}: {os.strerror(errno.ENOSPC)}")
        original(self, data)

    original = AtomicOutput.write
    monkeypatch.setattr(AtomicOutput, "write", write)
    with pytest.raises(CleanerError, match="No space left on device"):
        run_batch([source], tmp_path / "out", rules, block_size=block_size)
    left = files_under(tmp_path / "out")
    assert len(left) < len(expected) and all(left[name] == expected[name] for name in left)  # no partial file


def test_permission_error_on_an_input_fails_that_file(rules, tmp_path, monkeypatch):
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.txt").write_text("A.\n")
    (source / "locked.txt").write_text("B.\n")
    real_open = batch_module.open_input

    def open_input(path, *args, **kwargs):
        if str(path).endswith("locked.txt"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(batch_module, "open_input", open_input)
    summary = run_batch([source], tmp_path / "out", rules)
    assert summary.exit_code == 1 and sorted(files_under(tmp_path / "out")) == ["a.txt"]
    assert summary.messages == [f"{source / 'locked.txt'}: Permission denied"]


def test_resume_skips_complete_outputs_and_sweeps_orphans(rules, tmp_path):
    source = tmp_path / "in"
    write_formats(source, articles(9))
    out = tmp_path / "out"
    run_batch([source], out, rules)
    first = files_under(out)
    (out / "corpus.jsonl").write_text("already done\n")
    (out / "corpus-texts" / "0003.txt").unlink()
    orphan = out / "corpus-texts" / ".0003.txt.cleaner-999999999-0123abcd.tmp"
    orphan.write_text("half")
    summary = run_batch([source], out, rules, resume=True)
    assert (out / "corpus.jsonl").read_text() == "already done\n"  # an output that exists is complete
    assert (out / "corpus-texts" / "0003.txt").read_bytes() == first["corpus-texts/0003.txt"]
    assert not orphan.exists()
    assert summary.as_dict()["files"]["already_done"] == 10 and summary.as_dict()["files"]["cleaned"] == 1
    run_batch([source], out, rules)  # without --resume, outputs are made again
    assert files_under(out) == first


_CRASH_ON = "/p2/corpus.jsonl.gz"  # the worker that cleans this file is killed


def _crashing_clean_file(job):
    """`_clean_file` in a worker that is killed (SIGKILL) on one file: the same crash in every
    run, where killing a worker from outside races with the run's end."""
    if job.source.endswith(_CRASH_ON):
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_clean_file(job)


_real_clean_file = batch_module._clean_file


def test_a_worker_crash_leaves_no_partial_output_and_resume_finishes(rules, tmp_path, monkeypatch):
    source = tmp_path / "in"
    for part in range(4):
        write_formats(source / f"p{part}", articles(60, part * 1000), "gzip")
    reference = tmp_path / "reference"
    run_batch([source], reference, rules, workers=2, block_size=5000)
    out = tmp_path / "out"
    with monkeypatch.context() as patch:  # forked workers inherit the patched module
        patch.setattr(batch_module, "_clean_file", _crashing_clean_file)
        with pytest.raises(CleanerError, match="a worker process died unexpectedly"):
            run_batch([source], out, rules, workers=2, block_size=5000)
    expected = files_under(reference)
    partial = files_under(out)
    assert 0 < len(partial) < len(expected) and "p2/corpus.jsonl.gz" not in partial, len(partial)
    assert all(partial[name] == expected[name] for name in partial)  # no temporaries, nothing partial
    run_batch([source], out, rules, workers=2, block_size=5000, resume=True)
    assert files_under(out) == expected


# --- the command line ---------------------------------------------------------------------


def cli(*args, cwd, **kwargs):
    return subprocess.run([sys.executable, "-m", "cleaner", *args], capture_output=True, cwd=cwd, timeout=300, **kwargs)


def make_big_tree(root: Path) -> None:
    """Enough to take a few seconds: text files (some compressed) before and after two large
    JSONL files (one compressed), which are cleaned in blocks."""
    filler = "The committee heard evidence from residents about the new bridge and the road works. " * 12 + "\n"
    body = "".join(ARTICLE.format(n=n) + filler * 3 for n in range(8))
    for folder, count in (("a-texts", 150), ("z-texts", 100)):
        (root / folder).mkdir(parents=True)
        for n in range(count):
            data = (f"File {folder}-{n}\n" + body).encode()
            if n % 5 == 0:
                (root / folder / f"{n:03d}.txt.gz").write_bytes(gzip.compress(data, 1, mtime=0))
            else:
                (root / folder / f"{n:03d}.txt").write_bytes(data)
    records = "".join(json.dumps({"id": n, "text": ARTICLE.format(n=n) + filler}) + "\n" for n in range(10000))
    (root / "big.jsonl").write_text(records)
    (root / "big.jsonl.zst").write_bytes(compress(records.encode(), "zstd"))


def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_output(rules, rules_path, tmp_path):
    make_big_tree(tmp_path / "in")
    summary = run_batch([tmp_path / "in"], tmp_path / "reference", rules, workers=2, block_size=400000)
    expected = files_under(tmp_path / "reference")
    assert len(expected) == 252 and summary.exit_code == 0

    common = ["--rules", str(rules_path), "--select", "TST", "--workers", "2", "--block-size", "400000", "--quiet"]
    process = subprocess.Popen(
        [sys.executable, "-m", "cleaner", "clean", "in", "-o", "out", *common],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    out = tmp_path / "out"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and sum(1 for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")) >= 20:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30  # the workers notice that their parent is gone, and stop
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("worker processes outlived their parent")

    left = files_under(out)
    visible = {name: data for name, data in left.items() if not name.rsplit("/", 1)[-1].startswith(".")}
    hidden = set(left) - set(visible)
    assert 0 < len(visible) < len(expected)
    assert all(visible[name] == expected[name] for name in visible)  # every output there is complete
    assert all(TEMPORARY.match(name.rsplit("/", 1)[-1]) for name in hidden)  # the rest are temporaries

    resumed = cli("clean", "in", "-o", "out", *common, "--resume", "--report", "report.json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert files_under(out) == expected  # and no temporary is left
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["files"]["already_done"] == len(visible)
    assert report["files"]["cleaned"] == len(expected) - len(visible) and report["errors"] == []
    assert report["bytes_in"] > report["bytes_out"] > 0 and report["workers"] == 2


def test_the_report(rules, tmp_path):
    source = tmp_path / "in"
    write_formats(source, articles(6), "gzip")
    (source / "bad.jsonl").write_text('{"text": "Advertisement\\nA.", "id": "r1"}\n{"text": 1, "id": "r2"}\n')
    summary = run_batch([source], tmp_path / "out", rules, on_error="skip", id_field="id")
    report = json.loads(json.dumps(summary.as_dict()))
    assert report["files"] == {"total": 9, "cleaned": 9, "already_done": 0, "failed": 0, "binary_skipped": 0}
    assert report["documents"] == 19
    assert report["removals"]["by_rule"] == {
        "TST001": {"category": "ads", "count": 19, "bytes": 19 * len("Advertisement\n")},
        "TST002": {"category": "comments", "count": 18, "bytes": 18 * len("Join the conversation\n4 comments\n")},
    }
    assert report["removals"]["by_category"]["ads"] == {"count": 19, "bytes": 19 * 14}
    assert report["records"] == {"malformed_skipped": 1, "malformed_kept": 0}
    assert report["errors"] == [
        {"path": str(source / "bad.jsonl"), "line": 2, "message": "field 'text' is not a string", "action": "skipped record", "id": "r2"}
    ]
    per_file = {Path(f["input"]).name: f for f in report["per_file"]}
    assert per_file["bad.jsonl"]["documents"] == 1 and per_file["bad.jsonl"]["removals"] == 1
    assert report["bytes_in"] == sum(f["bytes_in"] for f in report["per_file"])


def test_cli_formats_on_standard_output(rules_path, tmp_path):
    records = "".join(json.dumps({"id": n, "text": a}, ensure_ascii=False) + "\n" for n, a in enumerate(articles(3)))
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(records.encode()))
    result = cli(
        "clean", "--format", "jsonl", "--id-field", "id", "--explain", "audit.jsonl", "-", "a.jsonl.gz",
        "--rules", str(rules_path), "--select", "TST", input=records.encode(), cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr.decode()
    cleaned = [json.loads(line)["text"] for line in result.stdout.decode().splitlines()]
    assert cleaned == [CLEANED.format(n=n) for n in range(3)] * 2
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [a["document"] for a in audit[:2]] == ["0", "0"] and len(audit) == 12
